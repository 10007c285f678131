"""Linkage: which support functions' shortfalls line up with, and come before, customers' bad experiences, and
for which teams.

Pure (no web, no database): it reads released rounds (`release.ReleasedRound`, oldest first, the analysed round
last), so every number it gives is a function of numbers that passed the release gate. For each support function
f and each measure (the overall score and each dimension), across front-line teams:

- same round: Spearman of f's score with the customer outcome;
- time order: f's score last round with the outcome this round, and the reverse direction (the outcome last
  round with f's score this round), which a claim of direction must beat;
- within team: teams whose score for f fell well below their own history last round (robust z) against the
  other teams, on the change in their customers' outcome from last round to this (team-label permutation);

then Benjamini-Hochberg over every test of the round. A function is claimed as a driver when its change test (on
the overall score, or else on one dimension) has q at most `FDR` with the expected sign: "precedes", or "lines up
with" when the reverse direction is significant and at least as strong. Correlations across teams alone are
reported as a pattern, not claimed: stable differences between teams produce them too. Key drivers: each
function's share of the outcome's variance across teams (relative weights). Hotspots: (function, team) pairs
where a supported driver is rated well below its norm by a team whose customers are below theirs, ranked by the
driver's slope times the shortfall.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Protocol, TypeVar

import numpy as np

from survey.analysis.release import ReleasedRound
from survey.analysis.statistics import (
    MIN_TEAMS,
    RESAMPLES,
    DriverWeights,
    benjamini_hochberg,
    change_test,
    ols_slope,
    relative_weights,
    robust_drop,
    spearman_test,
)
from survey.vocabulary import CSAT_PCT, DIMENSIONS, OUTCOME_LABELS, OVERALL

MEASURES = (OVERALL, *DIMENSIONS)
FDR = 0.10  # the false discovery rate claims are held to (a common level for exploratory findings)
DROP_Z = -1.5  # a team's score "fell well below its own history": robust z at or below this
SHORTFALL_Z = -1.5  # a team rates a function "well below its norm" (robust z across teams)
CUSTOMERS_BELOW_Z = -1.0  # a team's customers are "below their norm"
SAME, LAGGED, REVERSE, CHANGE = "same_round", "lagged", "reverse", "change"


@dataclass(frozen=True)
class Named:
    id: int
    name: str


@dataclass(frozen=True)
class Test:
    """One test of the round. `effect` is Spearman's rho, or for the change test the difference in outcome change
    (flagged teams minus the others, in outcome points); `low`/`high` its 90% interval; p and q (after
    Benjamini-Hochberg over every test of the round). All None when there was not enough data."""

    function_id: int
    measure: str
    kind: str
    n: int
    effect: float | None
    low: float | None
    high: float | None
    p: float | None
    q: float | None = None
    flagged: tuple[int, ...] = ()  # change test: the teams whose score fell

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
class Hotspot:
    function: Named
    team: Named
    score: float  # the team's score for the function this round
    score_n: int
    norm: float  # the function's median across teams
    outcome: float  # the team's customer outcome this round
    outcome_n: int
    outcome_norm: float  # the team's own earlier median, or the median across teams without history
    slope: float  # outcome points per point of the function's score, across teams
    impact: float  # estimated outcome points lost: slope times shortfall
    sentence: str


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
    hotspots: list[Hotspot] = field(default_factory=list)


def _scores(released: ReleasedRound, function_id: int, measure: str, team_ids: Sequence[int]) -> np.ndarray:
    values = [released.team_score(function_id, team, measure) for team in team_ids]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _outcomes(released: ReleasedRound, outcome: str, team_ids: Sequence[int]) -> np.ndarray:
    values = [released.team_outcome(team, outcome) for team in team_ids]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


class _Resampled(Protocol):
    @property
    def p(self) -> float | None: ...


R = TypeVar("R", bound=_Resampled)


def _precise(run: Callable[[int], R], resamples: int) -> R:
    """Run a resampling test; if its p is near the smallest `resamples` can give, run it once more with ten times
    as many. Small p-values must be told apart for the false discovery rate control of hundreds of tests (with
    240 tests and 2,000 resamples, the smallest p, 1/2001, is above the first threshold of BH at 0.10, 0.10/240);
    ten times as many resamples put the smallest p well below it, and only the few tests that need it pay."""
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


def _robust_z(values: np.ndarray) -> np.ndarray:
    """How far each value is from the median across teams, in robust standard deviations."""
    return robust_drop(values, np.zeros((1, len(values))))


def link_round(
    rounds: Sequence[ReleasedRound],
    functions: Sequence[Named],
    teams: Sequence[Named],
    outcome: str = CSAT_PCT,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> Linkage:
    """The linkage of the last of `rounds` (oldest first), from released numbers only. Reproducible: the same
    rounds and seed give the same result."""
    rng = np.random.default_rng(seed)
    current = rounds[-1]
    team_ids = [t.id for t in teams]
    label, unit = OUTCOME_LABELS[outcome]
    outcome_now = _outcomes(current, outcome, team_ids)
    rated = np.zeros(len(team_ids), dtype=bool)
    for f in functions:
        rated |= np.isfinite(_scores(current, f.id, OVERALL, team_ids))
    with_data = int(np.sum(rated & np.isfinite(outcome_now)))
    if with_data < MIN_TEAMS:
        return Linkage(
            current.round_id,
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
        for test in _tests(rounds, f.id, measure, team_ids, outcome, rng, resamples)
    ]
    q = benjamini_hochberg(np.array([np.nan if t.p is None else t.p for t in tests]))
    tests = [
        Test(t.function_id, t.measure, t.kind, t.n, t.effect, t.low, t.high, t.p, _number(qv), t.flagged)
        for t, qv in zip(tests, q, strict=True)
    ]
    linkage = Linkage(current.round_id, outcome, with_data, True, "", tests=tests)
    weights, column_of = _key_drivers(current, functions, team_ids, outcome_now, rng, resamples)
    linkage.r2 = None if weights is None else weights.r2
    for f in functions:
        linkage.drivers.append(_driver(f, column_of.get(f.id), weights, tests, label, unit, teams))
    linkage.drivers.sort(key=lambda d: (d.claim is None, -(d.weight or 0.0)))
    linkage.hotspots = _hotspots(rounds, linkage.drivers, teams, outcome, label, unit)
    supported = sum(d.claim is not None for d in linkage.drivers)
    linkage.message = (
        f"{with_data} teams with staff ratings and {label} shown; "
        f"{supported or 'no'} support function{'' if supported == 1 else 's'} with supported evidence."
    )
    return linkage


def _tests(
    rounds: Sequence[ReleasedRound],
    function_id: int,
    measure: str,
    team_ids: Sequence[int],
    outcome: str,
    rng: np.random.Generator,
    resamples: int,
) -> list[Test]:
    """One function's score against the outcome: same round; with a round before, lagged and reverse; with
    rounds before that too, the within-team change test."""
    now = _scores(rounds[-1], function_id, measure, team_ids)
    outcome_now = _outcomes(rounds[-1], outcome, team_ids)
    tests = [_correlation(function_id, measure, SAME, now, outcome_now, rng, resamples)]
    if len(rounds) < 2:
        return tests
    before = _scores(rounds[-2], function_id, measure, team_ids)
    outcome_before = _outcomes(rounds[-2], outcome, team_ids)
    tests.append(_correlation(function_id, measure, LAGGED, before, outcome_now, rng, resamples))
    tests.append(_correlation(function_id, measure, REVERSE, outcome_before, now, rng, resamples))
    history = np.array([_scores(r, function_id, measure, team_ids) for r in rounds[:-2]]).reshape(
        -1, len(team_ids)
    )
    if len(history) == 0:
        return tests
    drop, outcome_change = robust_drop(before, history), outcome_now - outcome_before
    change = _precise(partial(change_test, drop, outcome_change, rng, DROP_Z), resamples)
    flagged = tuple(team_ids[i] for i in change.flagged)
    tests.append(
        Test(
            function_id,
            measure,
            CHANGE,
            change.n,
            change.effect,
            change.low,
            change.high,
            change.p,
            None,
            flagged,
        )
    )
    return tests


def _number(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _key_drivers(
    current: ReleasedRound,
    functions: Sequence[Named],
    team_ids: Sequence[int],
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
        scores = _scores(current, f.id, OVERALL, team_ids)
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
    """The score the within-team evidence is about: the overall score if its change test supports a link (or no
    change test does), else the dimension whose change test is the most significant, at a fifth of the false
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


def _driver(
    f: Named,
    index: int | None,
    weights: DriverWeights | None,
    tests: Sequence[Test],
    label: str,
    unit: str,
    teams: Sequence[Named],
) -> Driver:
    """A function is claimed only on within-team evidence (its change test), which stable differences between
    teams cannot produce: well-run teams rate everything higher and have happier customers, so correlations
    across teams alone are reported as a pattern, not claimed."""
    measure = _evidence_measure(tests, f.id)
    same, lagged = _find(tests, f.id, SAME, measure), _find(tests, f.id, LAGGED, measure)
    reverse, change = _find(tests, f.id, REVERSE, measure), _find(tests, f.id, CHANGE, measure)
    if change is not None and change.supports:
        claim = "lines up with" if _reverse_is_stronger(lagged, reverse) else "precedes"
    else:
        claim = None
    weight = low = high = None
    if index is not None and weights is not None and weights.weights and weights.low and weights.high:
        r2 = weights.r2 or 0.0
        if r2:
            weight = weights.weights[index] / r2
            low, high = weights.low[index] / r2, weights.high[index] / r2
    n = None if weights is None else weights.n
    driver = Driver(f, measure, weight, low, high, n, same, lagged, reverse, change, claim, "")
    return replace(driver, sentence=_driver_sentence(driver, label, unit, {t.id: t.name for t in teams}))


def _interval(test: Test, digits: int = 2) -> str:
    return f"90% interval {test.low or 0.0:.{digits}f} to {test.high or 0.0:.{digits}f}"


def _rho(test: Test, what: str) -> str:
    return f"{what} (rho {test.effect or 0.0:.2f}, {_interval(test)}, q {test.q or 0.0:.3f}, {test.n} teams)"


def _driver_sentence(driver: Driver, label: str, unit: str, names: dict[int, str]) -> str:
    f, same, change = driver.function, driver.same, driver.change
    if same is None or same.effect is None:
        return f"{f.name}: not enough teams with numbers shown to test ({same.n if same else 0})."
    across = [t for t in (same, driver.lagged) if t is not None and t.supports]
    if driver.claim is None or change is None:
        if across:
            what = "this round's scores" if across[0].kind == SAME else "last round's scores"
            return (
                f"Scores of {f.name} line up with {label} across teams: "
                f"{_rho(across[0], what)}; but teams whose rating of it fell did not see their customers fall "
                f"more, so stable differences between teams may explain the pattern. Not claimed as a driver."
            )
        return (
            f"{f.name}: no supported link with {label} (same round rho {same.effect:.2f}, "
            f"{_interval(same)}, q {same.q or 0.0:.2f}, {same.n} teams)."
        )
    flagged = ", ".join(names[t] for t in change.flagged[:4]) + (" …" if len(change.flagged) > 4 else "")
    parts = [
        f"the {len(change.flagged)} teams whose rating of it fell well below their own history ({flagged}) "
        f"saw {label} change by {change.effect or 0.0:+.1f} {unit} more than the other teams the next round "
        f"({_interval(change, 1)}, q {change.q or 0.0:.3f}, {change.n} teams)"
    ]
    parts += [
        _rho(
            t,
            f"across teams, last round's scores line up with this round's {label}"
            if t.kind == LAGGED
            else f"across teams, this round's scores line up with {label}",
        )
        for t in across
    ]
    evidence = "; ".join(parts)
    scored = f.name if driver.measure == OVERALL else f"{f.name} in {driver.measure}"
    reverse = driver.reverse
    if driver.claim == "precedes":
        opposite = (
            f"; the reverse direction is weaker (last round's {label} against this round's scores: rho "
            f"{reverse.effect:.2f}, q {reverse.q or 0.0:.2f})"
            if reverse is not None and reverse.effect is not None
            else ""
        )
        return f"Shortfalls of {scored} precede lower {label}: {evidence}{opposite}."
    reverse_effect, reverse_q = (reverse.effect or 0.0, reverse.q or 0.0) if reverse else (0.0, 0.0)
    return (
        f"Shortfalls of {scored} line up with lower {label}: {evidence}; but the order in time is not clear "
        f"(last round's {label} against this round's scores: rho {reverse_effect:.2f}, q {reverse_q:.3f})."
    )


def _hotspots(
    rounds: Sequence[ReleasedRound],
    drivers: list[Driver],
    teams: Sequence[Named],
    outcome: str,
    label: str,
    unit: str,
) -> list[Hotspot]:
    current = rounds[-1]
    team_ids = [t.id for t in teams]
    customers_z, own_norm = _customers_against_usual(rounds, outcome, team_ids)
    hotspots = [
        hotspot
        for driver in drivers
        if driver.claim is not None
        for hotspot in _driver_hotspots(current, driver, teams, outcome, customers_z, own_norm, label, unit)
    ]
    hotspots.sort(key=lambda h: -h.impact)
    return hotspots


def _customers_against_usual(
    rounds: Sequence[ReleasedRound], outcome: str, team_ids: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Each team's customers this round against their own earlier rounds (robust z across teams), and their
    usual level (their earlier median; the median across teams for a team with no history)."""
    outcome_now = _outcomes(rounds[-1], outcome, team_ids)
    earlier = np.array([_outcomes(r, outcome, team_ids) for r in rounds[:-1]]).reshape(-1, len(team_ids))
    if not len(earlier):
        return _robust_z(outcome_now), np.full(len(team_ids), np.nanmedian(outcome_now))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a team with no earlier number: NaN, filled below
        own_norm = np.nanmedian(earlier, axis=0)
    return robust_drop(outcome_now, earlier), np.where(
        np.isfinite(own_norm), own_norm, np.nanmedian(outcome_now)
    )


def _driver_hotspots(
    current: ReleasedRound,
    driver: Driver,
    teams: Sequence[Named],
    outcome: str,
    customers_z: np.ndarray,
    own_norm: np.ndarray,
    label: str,
    unit: str,
) -> list[Hotspot]:
    """The teams that rate a claimed driver well below its norm while their customers are below their usual."""
    team_ids = [t.id for t in teams]
    outcome_now = _outcomes(current, outcome, team_ids)
    scores = _scores(current, driver.function.id, driver.measure, team_ids)
    slope = ols_slope(scores, outcome_now)
    if slope is None or slope <= 0:
        return []
    norm = float(np.nanmedian(scores))
    level_z = _robust_z(scores)
    cells = current.internal[driver.function.id]
    hotspots = []
    for index, team in enumerate(teams):
        if not (level_z[index] <= SHORTFALL_Z and customers_z[index] <= CUSTOMERS_BELOW_Z):
            continue
        shortfall = norm - scores[index]
        impact = slope * shortfall
        score_n = cells[team.id][driver.measure].n or 0
        outcome_n = current.external[team.id][outcome].n or 0
        sentence = (
            f"{team.name} rates {driver.function.name}"
            f"{'' if driver.measure == OVERALL else ' on ' + driver.measure} "
            f"{shortfall:.1f} points below its norm "
            f"({scores[index]:.1f} against {norm:.1f} on 1 to 7, n = {score_n}); its {label} is "
            f"{outcome_now[index]:.1f} against its usual {own_norm[index]:.1f} (n = {outcome_n}). "
            f"Estimated effect: {impact:.1f} {unit} of {label} ({slope:.1f} per point across teams)."
        )
        hotspots.append(
            Hotspot(
                driver.function,
                team,
                float(scores[index]),
                score_n,
                norm,
                float(outcome_now[index]),
                outcome_n,
                float(own_norm[index]),
                slope,
                impact,
                sentence,
            )
        )
    return hotspots
