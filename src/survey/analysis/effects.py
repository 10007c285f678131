"""Did it work? The effect of a support function's actions on the teams they target, from released numbers only.

Pure (no web, no database). An action of function f on a dimension d (or the overall score), targeting teams T,
answers round r. In a later round s, each team's change is its released score of f on d in s less its own mean
over the rounds up to r (the last three at most; a team with none of them shown is left out). The effect is the
targeted teams' mean change less the other teams' (a difference in differences: what every team shared, a new
questionnaire or a good quarter for everyone, cancels out, and so do stable differences between teams). Its p is
one-sided, towards improvement (the question is whether it helped), from permutations of which teams carry the
action's label; its 90% interval resamples teams within each group: the shift test of the linkage
(`statistics.shift_test`) read on the window of rounds the action concerns, with the same resampling counts.

The same for the targeted teams' customers (the linkage's outcome), one round later: customers feel a change of
service a quarter after staff do, so their change in s is read against their mean up to the round after r, and
from the second round after r on. Benjamini-Hochberg controls the false discovery rate over every action's tests
of the round, at the level the findings use.

An action targeting fewer teams than the round's minimum group size is not reported on its own: all such actions
of a function answering the same round are pooled into one result; if the pool is still below the minimum,
nothing is reported for them. The numbers read are the linkage's history (`linkage._History`: rounds x teams,
NaN for a suppressed cell), so a hidden cell moves nothing. The words are evidence, never proof of cause: other
things changed at those teams too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from survey.analysis.linkage import FDR, Named, _History, _history, _precise
from survey.analysis.release import ReleasedRound
from survey.analysis.statistics import RESAMPLES, benjamini_hochberg, shift_test
from survey.numbers import number
from survey.vocabulary import MEASURE_LABELS, OUTCOME_LABELS, OVERALL, outcome_decimals

BASELINE = 3  # rounds up to the answered one that make a team's own level before the action
CUSTOMER_LAG = 1  # rounds after the ratings that customers are expected to move
WORKING, NO_CLEAR_CHANGE, WORSE, TOO_EARLY = "working", "no clear change", "worse", "too early"
NOT_ENOUGH, TOO_FEW = "not enough data", "too few teams"
BETTER = "better"  # the customers' verdict when they improved


@dataclass(frozen=True)
class Action:
    """An action as the statistics read it: the round it answers, the function, the measure (a dimension or
    overall) and the teams it targets."""

    id: int
    function_id: int
    measure: str
    team_ids: tuple[int, ...]
    round_id: int
    title: str


@dataclass(frozen=True)
class Comparison:
    """The targeted teams' mean change less the other teams', with its 90% interval, one-sided p (towards
    improvement) and q (Benjamini-Hochberg over every action's tests of the round)."""

    targeted: int  # targeted teams compared
    compared: int  # teams compared in all
    effect: float | None
    low: float | None
    high: float | None
    p: float | None
    q: float | None = None


@dataclass(frozen=True)
class Effect:
    """One action's result in the analysed round, or several small actions' pooled result (`pooled`)."""

    action_ids: tuple[int, ...]
    titles: tuple[str, ...]
    function_id: int
    measure: str
    round_id: int  # the round the action answers
    teams: int  # teams targeted
    ratings: Comparison | None
    customers: Comparison | None
    verdict: str  # WORKING, NO_CLEAR_CHANGE, WORSE, TOO_EARLY, NOT_ENOUGH or TOO_FEW
    customers_verdict: str  # BETTER, NO_CLEAR_CHANGE, WORSE, TOO_EARLY, NOT_ENOUGH or TOO_FEW
    sentence: str = ""

    @property
    def pooled(self) -> bool:
        return len(self.action_ids) > 1


def action_effects(
    rounds: Sequence[ReleasedRound],
    teams: Sequence[Named],
    actions: Sequence[Action],
    outcome: str,
    min_group: int,
    seed: int = 0,
    resamples: int = RESAMPLES,
    round_names: Sequence[str] | None = None,
) -> list[Effect]:
    """The effect, in the last of `rounds` (oldest first), of every action answering one of them, from the
    released numbers the linkage reads. Actions answering a round not among them are left out. Reproducible:
    the same rounds and seed give the same result."""
    names = list(round_names) if round_names else [f"round {r.round_id}" for r in rounds]
    history = _history(rounds, [t.id for t in teams], outcome, names)
    return evaluate(history, actions, min_group, np.random.default_rng(seed), resamples)


def evaluate(
    history: _History,
    actions: Sequence[Action],
    min_group: int,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
) -> list[Effect]:
    """Every action's (or pool's) effect in the latest round of `history`, with q over all their tests."""
    known = [a for a in actions if history.round_index(a.round_id) is not None]
    effects = [_effect(history, group, min_group, rng, resamples) for group in _groups(known, min_group)]
    tests = [c for e in effects for c in (e.ratings, e.customers) if c is not None]
    q = benjamini_hochberg(np.array([np.nan if c.p is None else c.p for c in tests]))
    q_of = {id(c): None if np.isnan(value) else float(value) for c, value in zip(tests, q, strict=True)}
    label, unit = OUTCOME_LABELS[history.outcome_measure]
    decimals = outcome_decimals(history.outcome_measure)
    result = []
    for effect in effects:
        ratings = _with_q(effect.ratings, q_of)
        customers = _with_q(effect.customers, q_of)
        found = replace(
            effect,
            ratings=ratings,
            customers=customers,
            verdict=_verdict(ratings, effect.verdict, WORKING),
            customers_verdict=_verdict(customers, effect.customers_verdict, BETTER),
        )
        result.append(replace(found, sentence=sentence(found, label, unit, decimals)))
    return result


def _groups(actions: Sequence[Action], min_group: int) -> list[list[Action]]:
    """Each action large enough on its own, and the pool of the small ones of each function and answered round
    (in the order of their first action)."""
    groups: list[list[Action]] = []
    pools: dict[tuple[int, int], list[Action]] = {}
    for action in actions:
        if len(set(action.team_ids)) >= min_group:
            groups.append([action])
            continue
        key = (action.function_id, action.round_id)
        if key not in pools:
            pools[key] = []
            groups.append(pools[key])
        pools[key].append(action)
    return groups


def _effect(
    history: _History, group: list[Action], min_group: int, rng: np.random.Generator, resamples: int
) -> Effect:
    first = group[0]
    measures = {a.measure for a in group}
    measure = (
        first.measure if len(measures) == 1 else OVERALL
    )  # a pool of several dimensions: the overall score
    team_ids = {team for a in group for team in a.team_ids}
    effect = Effect(
        tuple(a.id for a in group),
        tuple(a.title for a in group),
        first.function_id,
        measure,
        first.round_id,
        len(team_ids),
        None,
        None,
        NOT_ENOUGH,
        NOT_ENOUGH,
    )
    if len(team_ids) < min_group:
        return replace(effect, verdict=TOO_FEW, customers_verdict=TOO_FEW)
    answered = history.round_index(first.round_id) or 0
    latest = len(history.rounds) - 1
    targeted = np.array([team in team_ids for team in history.team_ids], dtype=bool)
    scores = history.scores(first.function_id, measure)[0]
    ratings = compare(scores, answered, latest, targeted, rng, resamples) if latest > answered else None
    customer_base = answered + CUSTOMER_LAG
    customers = (
        compare(history.outcome, customer_base, latest, targeted, rng, resamples)
        if latest > customer_base
        else None
    )
    return replace(
        effect,
        ratings=ratings,
        customers=customers,
        verdict=TOO_EARLY if latest <= answered else NOT_ENOUGH,
        customers_verdict=TOO_EARLY if latest <= customer_base else NOT_ENOUGH,
    )


def compare(
    values: np.ndarray,
    base: int,
    later: int,
    targeted: np.ndarray,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
) -> Comparison:
    """Did the targeted teams' values (rounds x teams, NaN where not shown) in round `later` rise above their own
    mean over the rounds up to `base` (the last BASELINE at most) more than the other teams' did? The shift test
    on those rounds with the sign turned (it asks whether values fell), so p is one-sided towards improvement."""
    window = -np.vstack([values[max(0, base - BASELINE + 1) : base + 1], values[later : later + 1]])
    start = np.where(targeted, len(window) - 1, -1)
    compared = np.ones(len(targeted), dtype=bool)  # teams without the numbers take no part (shift_test)
    found = _precise(lambda r: shift_test(window, start, compared, rng, r), resamples)
    if found.effect is None:
        return Comparison(len(found.shifted), found.n, None, None, None, None)
    return Comparison(
        len(found.shifted),
        found.n,
        -found.effect,
        None if found.high is None else -found.high,
        None if found.low is None else -found.low,
        found.p,
    )


def _with_q(comparison: Comparison | None, q_of: dict[int, float | None]) -> Comparison | None:
    return None if comparison is None else replace(comparison, q=q_of.get(id(comparison)))


def _verdict(comparison: Comparison | None, before: str, better: str) -> str:
    """In words: `better` (rose, q within the false discovery level, interval above 0), WORSE (interval below 0),
    NO_CLEAR_CHANGE, or what was said before there were numbers (too early, too few teams, not enough data)."""
    if comparison is None or comparison.effect is None:
        return before
    if (
        comparison.effect > 0
        and comparison.q is not None
        and comparison.q <= FDR
        and (comparison.low or 0) > 0
    ):
        return better
    if comparison.high is not None and comparison.high < 0:
        return WORSE
    return NO_CLEAR_CHANGE


def _whose(effect: Effect, measure: str) -> str:
    """Whose rating it is: "these 6 teams' rating of “Doing what was promised”", "5 of the 6 targeted teams'..."
    when some teams' ratings are hidden, or a pool's."""
    compared = effect.ratings.targeted if effect.ratings is not None else effect.teams
    teams = f"{effect.teams} teams" if compared == effect.teams else f"{compared} of the {effect.teams} teams"
    if effect.pooled:
        return f"the rating of {measure} at {teams} of {len(effect.action_ids)} smaller actions together"
    if compared == effect.teams:
        return f"these {teams}' rating of {measure}"
    return f"{compared} of the {effect.teams} targeted teams' rating of {measure} (the others' are hidden)"


def sentence(effect: Effect, label: str, unit: str, decimals: int) -> str:
    """The result in words, as evidence: how much more the targeted teams' rating rose than the other teams',
    and their customers' outcome, with the 90% intervals."""
    measure = "the service overall" if effect.measure == OVERALL else f"“{MEASURE_LABELS[effect.measure]}”"
    if effect.verdict == TOO_FEW:
        teams = f"{effect.teams} team{'' if effect.teams == 1 else 's'}"
        what = f"{len(effect.action_ids)} smaller actions at {teams} together" if effect.pooled else teams
        return f"Too few teams to report on ({what}, fewer than the minimum group size)."
    if effect.verdict == TOO_EARLY:
        return "Too early to tell: no round has been measured since the action."
    ratings = effect.ratings
    if ratings is None or ratings.effect is None:
        return f"Not enough data: too few teams have their rating of {measure} shown before and after the action."
    text = f"After the action, {_whose(effect, measure)} {_moved(ratings, 1, 'points')} ({_interval(ratings, 1)})"
    customers = effect.customers
    if effect.customers_verdict == TOO_EARLY:
        text += (
            f"; their customers' {label} is read from the round after next, as customers move a round later"
        )
    elif customers is not None and customers.effect is not None:
        text += f"; their customers' {label} {_moved(customers, decimals, unit)} ({_interval(customers, decimals)})"
    return text + "."


def _moved(comparison: Comparison, decimals: int, unit: str) -> str:
    """ "rose 0.8 points more than the other teams'", "fell 4 points more ...", "moved as the other teams' did"."""
    effect = comparison.effect or 0.0
    size = number(abs(effect), decimals)
    if float(size) == 0:
        return "moved as the other teams' did"
    return f"{'rose' if effect > 0 else 'fell'} {size} {unit} more than the other teams'"


def _interval(comparison: Comparison, decimals: int) -> str:
    return f"90% interval {number(comparison.low, decimals)} to {number(comparison.high, decimals)}"
