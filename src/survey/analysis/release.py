"""The release gate: every number leaves the analytics layer through here, or not at all.

Pure (no web, no database). Given a round's sums (`aggregation.RoundSums`) and the unit tree, it returns what may
be shown: every cell of at least k respondents, with roll-ups up the tree, except what complementary suppression
hides so that no hidden cell can be worked out from the ones shown (`anonymity.hidden_counts`, one decision per
tree of numbers that add up). Each support function's scores form their own tree (the same teams, other
respondents' subsets), as do each customer measure and the usage counts.

The statistics (`linkage.py`) read only what passed, so nothing they print can be a function of a hidden cell.
Comments pass `release_comments`: at least the comment threshold in every group shown, and shuffled.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field

from survey.analysis.anonymity import TOTAL, hidden_counts
from survey.analysis.statistics import cronbach_alpha, variance_from_sums
from survey.analysis.sums import RoundSums, Sums, pooled
from survey.vocabulary import INTERNAL_MEASURES


@dataclass(frozen=True)
class Shown:
    """A released number: a mean with its n and spread. A suppressed one has neither (`SUPPRESSED`)."""

    n: int | None
    mean: float | None = None
    sd: float | None = None

    @property
    def suppressed(self) -> bool:
        return self.n is None


SUPPRESSED = Shown(None)
_NOBODY = {measure: Sums(0, 0.0, 0.0) for measure in INTERNAL_MEASURES}  # a function nobody in a team used


@dataclass(frozen=True)
class Usage:
    """How many respondents answered about a function, and how many of them used it; None when suppressed."""

    answered: int | None
    used: int | None

    @property
    def suppressed(self) -> bool:
        return self.answered is None


@dataclass
class ReleasedRound:
    """Everything about one round that may be shown. Nodes are team ids, group unit ids and `TOTAL`."""

    round_id: int
    k: int
    # function id -> node -> measure -> number
    internal: dict[int, dict[Hashable, dict[str, Shown]]] = field(default_factory=dict)
    usage: dict[int, dict[Hashable, Usage]] = field(default_factory=dict)
    # node -> measure -> number
    external: dict[Hashable, dict[str, Shown]] = field(default_factory=dict)
    # dimension -> Cronbach's alpha over every respondent of the round (None when not computable)
    alpha: dict[str, float | None] = field(default_factory=dict)

    def team_score(self, function_id: int, team_id: int, measure: str) -> float | None:
        shown = self.internal.get(function_id, {}).get(team_id, {}).get(measure)
        return None if shown is None else shown.mean

    def team_outcome(self, team_id: int, measure: str) -> float | None:
        shown = self.external.get(team_id, {}).get(measure)
        return None if shown is None else shown.mean


def rollup(
    parents: Mapping[Hashable, Hashable | None], teams: Mapping[Hashable, Sums]
) -> dict[Hashable, Sums]:
    """Each team's sums, and their sums at every group above it and at `TOTAL`."""
    below: dict[Hashable, list[Sums]] = {}
    for team, sums in teams.items():
        node = team
        while node is not None:
            below.setdefault(node, []).append(sums)
            node = parents.get(node)
        below.setdefault(TOTAL, []).append(sums)
    return {node: pooled(parts) for node, parts in below.items()}


def _shown(sums: Sums | None, k: int) -> Shown:
    return SUPPRESSED if sums is None or sums.n < k else Shown(sums.n, sums.mean, sums.sd)


def release_tree(
    parents: Mapping[Hashable, Hashable | None],
    teams: Mapping[Hashable, Sums],
    k: int,
    hide: Collection[Hashable] = (),
) -> dict:
    """Each team's sums, their roll-ups to every group above and to `TOTAL`, as `Shown` numbers: suppressed
    where fewer than k respondents are behind one, and where a suppressed one could otherwise be derived.

    A team with nothing behind it (n 0) is listed, suppressed, so that its absence tells nothing. `hide`: nodes
    to suppress besides, those another tree suppresses whose numbers are this tree's n (each score's n is the
    usage tree's used count): shown in one tree, they would undo the other's complementary suppression."""
    sizes = {team: sums.n for team, sums in teams.items() if sums.n > 0}
    hidden = hidden_counts(parents, sizes, k) | set(hide)
    return {
        node: SUPPRESSED if node in hidden else _shown(sums, k)
        for node, sums in rollup(parents, teams).items()
    }


def _release_customers(parents, sums: RoundSums, k: int) -> dict[Hashable, dict[str, Shown]]:
    """Customers' numbers per node and measure. Imported figures are public (HR and the API see them as
    imported), so only the survey answers need the gate: a node shows its figures plus its survey answers when
    those pass the gate on their own, and figures alone otherwise; never a sum from which a hidden group of
    survey answers could be worked out by subtracting a figure."""
    measures = sorted({m for cell in [*sums.external.values(), *sums.imported.values()] for m in cell})
    released: dict[Hashable, dict[str, Shown]] = {}
    for measure in measures:
        survey = {t: m[measure] for t, m in sums.external.items() if measure in m and m[measure].n > 0}
        gate = release_tree(parents, survey, k)
        survey_sums = rollup(parents, survey)
        imported = rollup(parents, {t: m[measure] for t, m in sums.imported.items() if measure in m})
        for node in set(gate) | set(imported):
            parts = [imported[node]] if node in imported else []
            if node in gate and not gate[node].suppressed:
                parts.append(survey_sums[node])
            released.setdefault(node, {})[measure] = _shown(pooled(parts), k) if parts else SUPPRESSED
    return released


def _release_measures(parents, cells: Mapping[Hashable, Mapping[str, Sums]], measures, k, hide=()) -> dict:
    released: dict[Hashable, dict[str, Shown]] = {}
    for measure in measures:
        tree = release_tree(parents, {t: m[measure] for t, m in cells.items() if measure in m}, k, hide)
        for node, shown in tree.items():
            released.setdefault(node, {})[measure] = shown
    return released


def release_round(
    sums: RoundSums,
    parents: Mapping[Hashable, Hashable | None],
    k: int,
    invited: Mapping[Hashable, int] | None = None,
    functions: Collection[Hashable] = (),
) -> ReleasedRound:
    """Pass a round's sums through the gate. `parents` maps each team and group to the group above (None at
    the top); `k` is the minimum group size (at least 3: enforced by the settings); `invited`: the round's
    invitees per team, whose answered counts the response rates show (`participation.hidden_participation`);
    `functions`: the round's support functions, listed even if nobody answered."""
    released = ReleasedRound(sums.round_id, k)
    functions = sorted({f for f, _ in sums.internal} | {f for f, _ in sums.usage} | set(functions))
    # The usage trees' n (everyone answers about every function) are the response rates' answered counts: they
    # suppress what the response rates hide, and list every team invited (nobody answered: suppressed too).
    rates_hidden = hidden_counts(parents, invited, k) if invited else set()
    for function in functions:
        usage = {team: (0, 0) for team in invited or ()}
        usage |= {team: counts for (f, team), counts in sums.usage.items() if f == function}
        answered = release_tree(
            parents, {t: Sums(a, u, None) for t, (a, u) in usage.items()}, k, rates_hidden
        )
        released.usage[function] = {
            node: Usage(None, None) if shown.suppressed else Usage(shown.n, round(shown.mean * shown.n))
            for node, shown in answered.items()
        }
        # Every score's n is the usage tree's used count: the scores suppress what the usage suppresses, and
        # list every team it lists (nobody used the function: an empty cell, suppressed like the others).
        cells = {team: m for (f, team), m in sums.internal.items() if f == function}
        cells = {team: cells.get(team, _NOBODY) for team in usage.keys() | cells.keys()}
        hidden = {node for node, shown in answered.items() if shown.suppressed}
        released.internal[function] = _release_measures(parents, cells, INTERNAL_MEASURES, k, hidden)
    released.external = _release_customers(parents, sums, k)
    # Reliability pools every respondent of the round: shown when they are at least k people.
    respondents = max(
        (
            sum(answered for (f, _), (answered, _) in sums.usage.items() if f == function)
            for function in functions
        ),
        default=0,
    )
    for dimension, scale in sums.scales.items():
        if respondents < k:
            continue
        variances = [variance_from_sums(item.n, item.total, item.squares) for item in scale.items]
        total = variance_from_sums(scale.totals.n, scale.totals.total, scale.totals.squares)
        usable = total is not None and all(v is not None for v in variances)
        released.alpha[dimension] = cronbach_alpha(variances, total) if usable else None
    return released


@dataclass(frozen=True)
class CommentGroup:
    """Comments shown together: under a team's name, or pooled with no team named (`team` None)."""

    team: Hashable | None
    comments: tuple[str, ...]


def release_comments(
    comments: list[tuple[Hashable, str]], threshold: int, rng: random.Random
) -> list[CommentGroup]:
    """The comments that may be shown, grouped and shuffled (arrival order can identify).

    Fewer than `threshold` comments in all: none. A team with at least `threshold` comments gets its own group;
    the rest are pooled without team names, and if that pool would be smaller than the threshold, the smallest
    named groups join it until it is not. Every group shown holds at least `threshold` comments.
    """
    if len(comments) < threshold:
        return []
    by_team: dict[Hashable, list[str]] = {}
    for team, text in comments:
        by_team.setdefault(team, []).append(text)
    named = sorted(
        (t for t, texts in by_team.items() if len(texts) >= threshold), key=lambda t: len(by_team[t])
    )
    pool = [text for team, texts in by_team.items() if team not in named for text in texts]
    while pool and len(pool) < threshold and named:
        pool += by_team[named.pop(0)]
    groups = [CommentGroup(team, tuple(rng.sample(by_team[team], len(by_team[team])))) for team in named]
    if pool:
        groups.append(CommentGroup(None, tuple(rng.sample(pool, len(pool)))))
    return groups
