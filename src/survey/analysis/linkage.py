"""Linkage: which support functions' shortfalls line up with, and come before, customers' bad experiences, at which
teams, since when, and for as long as they last.

Pure (no web, no database): it reads released rounds (`release.ReleasedRound`, oldest first, the analysed round
last), so every number it gives is a function of numbers that passed the release gate. For each support function
f and each measure (the overall score and each dimension), across front-line teams:

- same round: Spearman of f's score with the customer outcome;
- time order: f's score last round with the outcome this round, and the reverse direction (the outcome last
  round with f's score this round), which a claim of direction must beat;
- within team, over the whole history: the teams whose score of f shifted down against their own level before,
  at whatever round it began, and is still down (`statistics.sustained_shifts`), against the other teams, on how
  their customers' outcome moved from the round after the shift on (`statistics.shift_test`, an event study with
  staggered starts: permutations of which teams carry the shifts);

then Benjamini-Hochberg over every test of the round. A function is claimed as a driver when its shift test (on
the overall score, or else on one dimension) has q at most `FDR` with customers falling: "precedes" when the
customers fell after the ratings did, "lines up with" when they fell at once or the reverse direction is as
strong. A claim is a finding: since when, at which teams, how far below their own level the ratings and the
customers still are. It lasts while the ratings stay down and ends, saying so, when they recover. Correlations
across teams alone are a pattern, not a claim: stable differences between teams produce them too.

Hotspots are the teams that carry a finding's evidence: shifted down on the claimed function, with customers who
fell against the other teams, ranked by both. Key drivers: each function's share of the outcome's variance across
teams (relative weights).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from survey.analysis.release import ReleasedRound
from survey.analysis.statistics import (
    MIN_TEAMS,
    RESAMPLES,
    DriverWeights,
    ShiftTest,
    benjamini_hochberg,
    relative_weights,
    shift_test,
    spearman_test,
    sustained_shifts,
)
from survey.numbers import difference, number, signed
from survey.vocabulary import CSAT_PCT, DIMENSIONS, OUTCOME_LABELS, OVERALL, outcome_decimals

MEASURES = (OVERALL, *DIMENSIONS)
FDR = 0.10  # the false discovery rate claims are held to (a common level for exploratory findings)
SHIFT_Z = -3.0  # a team's score shifted down: its mean since the shift, against its mean before, in z
STILL_Z = -1.0  # ... and its latest score is still this far below that level (else the shortfall has ended)
SAME, LAGGED, REVERSE, CHANGE = "same_round", "lagged", "reverse", "change"
ONGOING, ENDED = "ongoing", "ended"


@dataclass(frozen=True)
class Named:
    id: int
    name: str


@dataclass(frozen=True)
class Test:
    """One test of the round. `effect` is Spearman's rho, or for the within-team shift test the difference in the
    customers' shift (the shifted teams' minus the other teams', in outcome points); `low`/`high` its 90%
    interval; p and q (after Benjamini-Hochberg over every test of the round). All None when there was not enough
    data. For the shift test, `flagged` lists the shifted teams and `since` the round each shift began (its id);
    `same_round` how much of the customers' shift came in that very round."""

    function_id: int
    measure: str
    kind: str
    n: int
    effect: float | None
    low: float | None
    high: float | None
    p: float | None
    q: float | None = None
    flagged: tuple[int, ...] = ()
    since: tuple[int, ...] = ()
    team_effects: tuple[float, ...] = ()
    same_round: float | None = None

    @property
    def supports(self) -> bool:
        """Significant after FDR control, with the sign an internal failure hurting customers would give."""
        if self.q is None or self.q > FDR or self.effect is None:
            return False
        return self.effect < 0 if self.kind == CHANGE else self.effect > 0 and self.kind != REVERSE


@dataclass(frozen=True)
class Driver:
    function: Named
    measure: str  # the score the evidence is about: overall, or the one dimension that carries it
    weight: float | None  # share of the outcome's variance across teams (relative weight), 0..1
    weight_low: float | None
    weight_high: float | None
    n: int | None  # teams in the key-driver analysis
    same: Test | None
    lagged: Test | None
    reverse: Test | None
    change: Test | None
    claim: str | None  # "precedes", "lines up with" or None
    sentence: str


@dataclass(frozen=True)
class TeamShift:
    """One team's part in a finding: its score of the function and its customers' outcome before the shift
    (means over the rounds before `since`) and in the latest round, with the latest n."""

    team: Named
    since: int  # the round id the team's shift began
    score_before: float
    score: float | None  # None: not shown this round
    score_n: int | None
    outcome_before: float | None
    outcome: float | None
    outcome_n: int | None
    outcome_shift: float | None  # the customers' shift since, against the other teams' over the same rounds


@dataclass(frozen=True)
class Finding:
    """A claimed link, or one that has just ended: since when, at which teams, how far below their own level the
    ratings and the customers still are. `effect`, `low`, `high`, `q`, `n`: the shift test of an ongoing finding
    (None when ended)."""

    function: Named
    measure: str
    status: str  # ONGOING or ENDED
    claim: str | None
    since: int  # the round id the earliest of its teams' shifts began
    teams: tuple[TeamShift, ...]
    effect: float | None
    low: float | None
    high: float | None
    q: float | None
    n: int | None
    sentence: str


@dataclass(frozen=True)
class Hotspot:
    """A team that carries a finding's evidence: its rating of the function shifted down and its customers fell
    against the other teams."""

    function: Named
    measure: str
    shift: TeamShift
    sentence: str

    @property
    def team(self) -> Named:
        return self.shift.team


@dataclass(frozen=True)
class EarlierFinding:
    """An ongoing finding of the round before, so that this round can say it has ended."""

    function_id: int
    measure: str
    since: int  # round id
    team_ids: tuple[int, ...]


@dataclass
class Linkage:
    round_id: int
    outcome: str
    teams: int  # teams with both an internal and a customer number shown
    enough: bool
    message: str
    r2: float | None = None
    tests: list[Test] = field(default_factory=list)
    drivers: list[Driver] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    hotspots: list[Hotspot] = field(default_factory=list)


@dataclass(frozen=True)
class _History:
    """The released numbers the tests read, as rounds x teams arrays (NaN: suppressed or not measured)."""

    rounds: Sequence[ReleasedRound]
    team_ids: list[int]
    names: list[str]  # each round's name, oldest first
    outcome: np.ndarray
    outcome_n: np.ndarray
    outcome_measure: str

    def scores(self, function_id: int, measure: str) -> tuple[np.ndarray, np.ndarray]:
        """A function's score of each team in each round, and its n."""
        means = np.full((len(self.rounds), len(self.team_ids)), np.nan)
        counts = np.zeros_like(means)
        for r, released in enumerate(self.rounds):
            cells = released.internal.get(function_id, {})
            for t, team in enumerate(self.team_ids):
                shown = cells.get(team, {}).get(measure)
                if shown is not None and shown.mean is not None:
                    means[r, t], counts[r, t] = shown.mean, shown.n or 0
        return means, counts

    def round_index(self, round_id: int) -> int | None:
        return next((i for i, r in enumerate(self.rounds) if r.round_id == round_id), None)


def _history(
    rounds: Sequence[ReleasedRound], team_ids: list[int], outcome: str, names: list[str]
) -> _History:
    means = np.full((len(rounds), len(team_ids)), np.nan)
    counts = np.zeros_like(means)
    for r, released in enumerate(rounds):
        for t, team in enumerate(team_ids):
            shown = released.external.get(team, {}).get(outcome)
            if shown is not None and shown.mean is not None:
                means[r, t], counts[r, t] = shown.mean, shown.n or 0
    return _History(rounds, team_ids, names, means, counts, outcome)


class _Resampled(Protocol):
    @property
    def p(self) -> float | None: ...


R = TypeVar("R", bound=_Resampled)


def _precise(run: Callable[[int], R], resamples: int) -> R:
    """Run a resampling test; if its p is near the smallest `resamples` can give, run it once more with ten times
    as many. Small p-values must be told apart for the false discovery rate control of hundreds of tests (with
    240 tests and 2,000 resamples, the smallest p, 1/2001, is above the first threshold of BH at 0.10, 0.10/240);
    ten times as many resamples put the smallest p well below it, and only the few tests that need it pay. Tests
    on many teams use large-sample approximations instead, whose p needs no second run."""
    result = run(resamples)
    if result.p is not None and result.p <= 10 / (resamples + 1):
        result = run(resamples * 10)
    return result


def _correlation(
    function_id: int,
    measure: str,
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    resamples: int,
) -> Test:
    result = _precise(lambda r: spearman_test(x, y, rng, r), resamples)
    return Test(function_id, measure, kind, result.n, result.rho, result.low, result.high, result.p)


def link_round(
    rounds: Sequence[ReleasedRound],
    functions: Sequence[Named],
    teams: Sequence[Named],
    outcome: str = CSAT_PCT,
    seed: int = 0,
    resamples: int = RESAMPLES,
    round_names: Sequence[str] | None = None,
    earlier: Sequence[EarlierFinding] = (),
) -> Linkage:
    """The linkage of the last of `rounds` (oldest first), from released numbers only. `earlier`: the ongoing
    findings of the round before, so that those that ended can say so. Reproducible: the same rounds and seed
    give the same result.

    Its matrix products are small (teams x a few columns): one BLAS thread does them as fast as several, and
    never spins waiting for a core another process holds, which on a busy 2-core machine made the linkage of
    2,000 teams ten times slower."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _link_round(rounds, functions, teams, outcome, seed, resamples, round_names, earlier)


def _link_round(
    rounds: Sequence[ReleasedRound],
    functions: Sequence[Named],
    teams: Sequence[Named],
    outcome: str,
    seed: int,
    resamples: int,
    round_names: Sequence[str] | None,
    earlier: Sequence[EarlierFinding],
) -> Linkage:
    rng = np.random.default_rng(seed)
    names = list(round_names) if round_names else [f"round {r.round_id}" for r in rounds]
    history = _history(rounds, [t.id for t in teams], outcome, names)
    label, unit = OUTCOME_LABELS[outcome]
    scored = {f.id: history.scores(f.id, OVERALL)[0][-1] for f in functions}
    rated = np.zeros(len(teams), dtype=bool)
    for latest in scored.values():
        rated |= np.isfinite(latest)
    with_data = int(np.sum(rated & np.isfinite(history.outcome[-1])))
    if with_data < MIN_TEAMS:
        return Linkage(
            rounds[-1].round_id,
            outcome,
            with_data,
            False,
            f"Not enough data: {with_data} teams have both staff ratings and {label} shown this round; "
            f"at least {MIN_TEAMS} are needed.",
        )
    tests = [  # in this order: the random draws of each test depend on those before it
        test
        for f in functions
        for measure in MEASURES
        for test in _tests(history, f.id, measure, rng, resamples)
    ]
    q = benjamini_hochberg(np.array([np.nan if t.p is None else t.p for t in tests]))
    tests = [replace(t, q=_number(qv)) for t, qv in zip(tests, q, strict=True)]
    linkage = Linkage(rounds[-1].round_id, outcome, with_data, True, "", tests=tests)
    weights, column_of = _key_drivers(scored, functions, history.outcome[-1], rng, resamples)
    linkage.r2 = None if weights is None else weights.r2
    named = {t.id: t for t in teams}
    for f in functions:
        linkage.drivers.append(_driver(f, column_of.get(f.id), weights, tests, label, unit, history))
    linkage.drivers.sort(key=lambda d: (d.claim is None, -(d.weight or 0.0)))
    linkage.findings = [
        _finding(d, history, named, label, unit) for d in linkage.drivers if d.claim and d.change
    ] + _ended(earlier, linkage.drivers, history, functions, named, label)
    linkage.hotspots = _hotspots(linkage.findings, history, label, unit)
    supported = sum(d.claim is not None for d in linkage.drivers)
    linkage.message = (
        f"{with_data} teams with staff ratings and {label} shown; "
        f"{supported or 'no'} support function{'' if supported == 1 else 's'} with supported evidence."
    )
    return linkage


def _tests(
    history: _History, function_id: int, measure: str, rng: np.random.Generator, resamples: int
) -> list[Test]:
    """One function's score against the outcome. On the overall score, the correlations across teams: same
    round and, with a round before, lagged and reverse. On every score, with a round before, the shift test over
    the whole history. Correlations of each dimension would add tests to the false discovery control (and dilute
    the within-team evidence, the only one claimed) for patterns the overall score already shows."""
    scores = history.scores(function_id, measure)[0]
    outcome = history.outcome
    tests = []
    if measure == OVERALL:
        tests.append(_correlation(function_id, measure, SAME, scores[-1], outcome[-1], rng, resamples))
    if len(scores) < 2:
        return tests
    if measure == OVERALL:
        tests.append(_correlation(function_id, measure, LAGGED, scores[-2], outcome[-1], rng, resamples))
        tests.append(_correlation(function_id, measure, REVERSE, outcome[-2], scores[-1], rng, resamples))
    start = _tested_shifts(sustained_shifts(scores, SHIFT_Z, STILL_Z).start, len(scores) - 1)
    # Compared: the teams that could have shown a shift (rated now and before), less those left out as too new.
    compared = np.isfinite(scores[-1]) & np.isfinite(scores[:-1]).any(axis=0) & (start != _TOO_NEW)
    result: ShiftTest = _precise(lambda r: shift_test(outcome, start, compared, rng, r), resamples)
    team_ids = history.team_ids
    return [
        *tests,
        Test(
            function_id,
            measure,
            CHANGE,
            result.n,
            result.effect,
            result.low,
            result.high,
            result.p,
            flagged=tuple(team_ids[i] for i in result.shifted),
            since=tuple(history.rounds[start[i]].round_id for i in result.shifted),
            team_effects=result.team_effect,
            same_round=result.same_round,
        ),
    ]


_TOO_NEW = -2  # a shift that began in the latest round, left out while older ones are tested


def _tested_shifts(start: np.ndarray, latest: int) -> np.ndarray:
    """The shifts the test reads: those that began before the latest round, whose customers are read from the
    round after the shift on; only when there are none, those that began in the latest round (read in that same
    round). A shift that is new this round would otherwise dilute older ones with customers who, if they feel it
    a round later, have not felt it yet; it is read from the next round on."""
    older = (start >= 0) & (start < latest)
    if not older.any():
        return start
    return np.where(start == latest, _TOO_NEW, start)


def _number(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _key_drivers(
    scored: dict[int, np.ndarray],
    functions: Sequence[Named],
    outcome_now: np.ndarray,
    rng: np.random.Generator,
    resamples: int,
) -> tuple[DriverWeights | None, dict[int, int]]:
    """Relative weights of every function's overall score on the outcome across teams, and which column is
    whose. A team's suppressed score is filled with the function's median across the teams shown (itself a
    released number); a function with no score shown at all is left out."""
    columns: list[np.ndarray] = []
    column_of: dict[int, int] = {}
    for f in functions:
        scores = scored[f.id]
        finite = np.isfinite(scores)
        if finite.any():
            column_of[f.id] = len(columns)
            columns.append(np.where(finite, scores, np.median(scores[finite])))
    if not columns:
        return None, column_of
    return relative_weights(np.column_stack(columns), outcome_now, rng, resamples), column_of


def _find(tests: Sequence[Test], function_id: int, kind: str, measure: str) -> Test | None:
    return next(
        (t for t in tests if t.function_id == function_id and t.kind == kind and t.measure == measure), None
    )


def _evidence_measure(tests: Sequence[Test], function_id: int) -> str:
    """The score the within-team evidence is about: the overall score if its shift test supports a link (or no
    shift test does), else the dimension whose shift test is the most significant, at a fifth of the false
    discovery level. A failure confined to one dimension (say, broken tools: tangibles) may barely move the
    overall score."""
    supporting = [t for t in tests if t.function_id == function_id and t.kind == CHANGE and t.supports]
    if not supporting or any(t.measure == OVERALL for t in supporting):
        return OVERALL
    # The overall score is each function's primary test; the five dimensions are secondary and share the level.
    strong = [t for t in supporting if t.q is not None and t.q <= FDR / len(DIMENSIONS)]
    return min(strong, key=lambda t: (t.q or 0.0, t.p or 0.0)).measure if strong else OVERALL


def _reverse_is_stronger(lagged: Test | None, reverse: Test | None) -> bool:
    """Customers' experience last round predicts the function's score this round significantly, and at least as
    well as the function's score last round predicts customers: then the order in time is not clear."""
    if (
        reverse is None
        or reverse.q is None
        or reverse.q > FDR
        or reverse.effect is None
        or reverse.effect <= 0
    ):
        return False
    return lagged is None or lagged.effect is None or reverse.effect >= lagged.effect


def _customers_fell_after(change: Test) -> bool:
    """Most of the customers' shift came after the round the ratings shifted (less than half of it in that very
    round). Unknown while every shift is in the latest round: then they fell at once, as far as anyone can tell."""
    if change.same_round is None or change.effect is None:
        return False
    return change.same_round > change.effect / 2


def _driver(
    f: Named,
    index: int | None,
    weights: DriverWeights | None,
    tests: Sequence[Test],
    label: str,
    unit: str,
    history: _History,
) -> Driver:
    """A function is claimed only on within-team evidence (its shift test), which stable differences between
    teams cannot produce: well-run teams rate everything higher and have happier customers, so correlations
    across teams alone are reported as a pattern, not claimed."""
    measure = _evidence_measure(tests, f.id)
    same, lagged = _find(tests, f.id, SAME, OVERALL), _find(tests, f.id, LAGGED, OVERALL)
    reverse, change = _find(tests, f.id, REVERSE, OVERALL), _find(tests, f.id, CHANGE, measure)
    claim = None
    if change is not None and change.supports:
        precedes = _customers_fell_after(change) and not _reverse_is_stronger(lagged, reverse)
        claim = "precedes" if precedes else "lines up with"
    weight = low = high = None
    if index is not None and weights is not None and weights.weights and weights.low and weights.high:
        r2 = weights.r2 or 0.0
        if r2:
            weight = weights.weights[index] / r2
            low, high = weights.low[index] / r2, weights.high[index] / r2
    n = None if weights is None else weights.n
    driver = Driver(f, measure, weight, low, high, n, same, lagged, reverse, change, claim, "")
    return replace(driver, sentence=_driver_sentence(driver, label, unit, history))


def _interval(test: Test, digits: int = 2) -> str:
    return f"90% interval {test.low or 0.0:.{digits}f} to {test.high or 0.0:.{digits}f}"


def _rho(test: Test, what: str) -> str:
    return f"{what} (rho {test.effect or 0.0:.2f}, {_interval(test)}, q {test.q or 0.0:.3f}, {test.n} teams)"


def _scored_name(f: Named, measure: str) -> str:
    return f.name if measure == OVERALL else f"{f.name} in {measure}"


def _driver_sentence(driver: Driver, label: str, unit: str, history: _History) -> str:
    f, same, change = driver.function, driver.same, driver.change
    if same is None or same.effect is None:
        return f"{f.name}: not enough teams with numbers shown to test ({same.n if same else 0})."
    across = [t for t in (same, driver.lagged) if t is not None and t.supports]
    if driver.claim is None or change is None:
        if across:
            what = "this round's scores" if across[0].kind == SAME else "last round's scores"
            return (
                f"Scores of {f.name} line up with {label} across teams: {_rho(across[0], what)}; but the "
                f"customers of teams whose rating of it fell did not fall more than others', so stable "
                f"differences between teams may explain the pattern. Not claimed as a driver."
            )
        return (
            f"{f.name}: no supported link with {label} (same round rho {same.effect:.2f}, "
            f"{_interval(same)}, q {same.q or 0.0:.2f}, {same.n} teams)."
        )
    since = history.names[min(history.round_index(s) or 0 for s in change.since)]
    evidence = (
        f"since {since}, the customers of the {len(change.flagged)} teams whose rating of it fell and stayed "
        f"down moved {change.effect or 0.0:+.1f} {unit} against the other teams' ({_interval(change, 1)}, "
        f"q {change.q or 0.0:.3f}, {change.n} teams compared)"
    )
    if driver.claim == "precedes":
        timing = "; the ratings fell first, the customers after"
    elif _reverse_is_stronger(driver.lagged, driver.reverse):
        timing = (
            f"; which came first is not clear (last round's {label} predicts this round's ratings as well)"
        )
    else:
        timing = "; the customers fell in the same round as the ratings, so which came first is not clear"
    verb = "precede" if driver.claim == "precedes" else "line up with"
    return f"Shortfalls of {_scored_name(f, driver.measure)} {verb} lower {label}: {evidence}{timing}."


def _team_shift(
    history: _History,
    team_index: int,
    since: int,
    scores: np.ndarray,
    counts: np.ndarray,
    shift: float | None,
) -> TeamShift:
    start = history.round_index(since) or 0
    before = scores[:start, team_index]
    outcome_before = history.outcome[:start, team_index]
    outcome_before = outcome_before[np.isfinite(outcome_before)]
    latest = scores[-1, team_index]
    outcome = history.outcome[-1, team_index]
    return TeamShift(
        Named(history.team_ids[team_index], ""),
        since,
        float(np.nanmean(before)),
        _number(latest),
        int(counts[-1, team_index]) if math.isfinite(latest) else None,
        float(outcome_before.mean()) if len(outcome_before) else None,
        _number(outcome),
        int(history.outcome_n[-1, team_index]) if math.isfinite(outcome) else None,
        shift,
    )


def _finding(driver: Driver, history: _History, named: dict[int, Named], label: str, unit: str) -> Finding:
    change = driver.change
    assert change is not None
    scores, counts = history.scores(driver.function.id, driver.measure)
    index = {team: i for i, team in enumerate(history.team_ids)}
    effects = dict(zip(change.flagged, change.team_effects, strict=False))
    teams = tuple(
        replace(_team_shift(history, index[team], since, scores, counts, effects.get(team)), team=named[team])
        for team, since in zip(change.flagged, change.since, strict=True)
    )
    since = min(change.since, key=lambda s: history.round_index(s) or 0)
    finding = Finding(
        driver.function,
        driver.measure,
        ONGOING,
        driver.claim,
        since,
        teams,
        change.effect,
        change.low,
        change.high,
        change.q,
        change.n,
        "",
    )
    return replace(finding, sentence=_finding_sentence(finding, history, label, unit))


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _finding_sentence(finding: Finding, history: _History, label: str, unit: str) -> str:
    name = _scored_name(finding.function, finding.measure)
    since = history.names[history.round_index(finding.since) or 0]
    teams = finding.teams
    before = _mean([t.score_before for t in teams])
    now = _mean([t.score for t in teams])
    team_names = ", ".join(t.team.name for t in teams)
    if finding.status == ENDED:
        return (
            f"The shortfall of {name} that began in {since} has ended: the {len(teams)} teams concerned "
            f"({team_names}) rate it {now or 0.0:.1f} now, against {before or 0.0:.1f} before it began."
        )
    below = difference(before or 0.0, now or 0.0)  # of the printed figures, so that the sentence adds up
    return (
        f"Since {since}, {len(teams)} team{'' if len(teams) == 1 else 's'} ({team_names}) rate {name} "
        f"{number(below)} points below their own level before ({number(now or 0.0)} against "
        f"{number(before or 0.0)}); over the same rounds their customers' {label} moved "
        f"{finding.effect or 0.0:+.1f} {unit} against the other teams' (90% interval {finding.low or 0.0:+.1f} "
        f"to {finding.high or 0.0:+.1f}, q {finding.q or 0.0:.3f}, {finding.n} teams compared). This is "
        f"consistent with the ratings weighing on the customers, not proof of it."
    )


def _ended(
    earlier: Sequence[EarlierFinding],
    drivers: Sequence[Driver],
    history: _History,
    functions: Sequence[Named],
    named: dict[int, Named],
    label: str,
) -> list[Finding]:
    """The earlier round's ongoing findings whose function has no finding now: ended, with where the ratings
    stand against their level before."""
    claimed = {d.function.id for d in drivers if d.claim}
    by_id = {f.id: f for f in functions}
    index = {team: i for i, team in enumerate(history.team_ids)}
    ended = []
    for found in earlier:
        start = history.round_index(found.since)
        teams = [team for team in found.team_ids if team in index and team in named]
        if found.function_id in claimed or found.function_id not in by_id or start is None or not teams:
            continue
        scores, counts = history.scores(found.function_id, found.measure)
        shifts = tuple(
            replace(_team_shift(history, index[team], found.since, scores, counts, None), team=named[team])
            for team in teams
        )
        finding = Finding(
            by_id[found.function_id], found.measure, ENDED, None, found.since, shifts, *(None,) * 5, ""
        )
        ended.append(replace(finding, sentence=_finding_sentence(finding, history, label, "")))
    return ended


def _hotspots(findings: Sequence[Finding], history: _History, label: str, unit: str) -> list[Hotspot]:
    """The teams of the ongoing findings whose customers fell against the other teams, largest shortfalls first
    (the rating's fall and the customers' fall, each in its own spread across the teams concerned, added)."""
    found: list[tuple[float, Hotspot]] = []
    for finding in findings:
        if finding.status != ONGOING:
            continue
        carrying = [t for t in finding.teams if t.outcome_shift is not None and t.outcome_shift < 0]
        rating_spread = _spread([t.score_before - (t.score or t.score_before) for t in carrying])
        outcome_spread = _spread([t.outcome_shift or 0.0 for t in carrying])
        for shift in carrying:
            drop = shift.score_before - (shift.score if shift.score is not None else shift.score_before)
            size = drop / rating_spread - (shift.outcome_shift or 0.0) / outcome_spread
            sentence = _hotspot_sentence(finding, shift, history, label, unit)
            found.append((size, Hotspot(finding.function, finding.measure, shift, sentence)))
    found.sort(key=lambda item: -item[0])
    return [hotspot for _, hotspot in found]


def _spread(values: Sequence[float]) -> float:
    return float(np.std(values)) if len(values) > 1 and np.std(values) > 0 else 1.0


def _hotspot_sentence(finding: Finding, shift: TeamShift, history: _History, label: str, unit: str) -> str:
    since = history.names[history.round_index(shift.since) or 0]
    score = "not shown this round" if shift.score is None else f"{number(shift.score)} (n = {shift.score_n})"
    decimals = outcome_decimals(history.outcome_measure)  # printed as every table prints the outcome
    customers = (
        f"its {label} is {number(shift.outcome, decimals)} (n = {shift.outcome_n}) against "
        f"{number(shift.outcome_before, decimals)} before"
        if shift.outcome is not None and shift.outcome_before is not None
        else f"its {label} is not shown this round"
    )
    return (
        f"{shift.team.name} has rated {_scored_name(finding.function, finding.measure)} lower since {since}: "
        f"{score} against {shift.score_before:.1f} before; {customers}, "
        f"{signed(shift.outcome_shift or 0.0, decimals)} {unit} against the other teams over the same rounds."
    )
