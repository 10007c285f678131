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
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from survey.analysis.anonymity import TOTAL, Node, hidden_counts
from survey.analysis.statistics import cronbach_alpha, variance_from_sums
from survey.analysis.sums import (
    RoundSums,
    ScaleSums,
    Sums,
    all_alike,
    favourable_share,
    mean_of,
    pooled,
    sd_of,
)
from survey.vocabulary import DIMENSIONS, FAVOURABLE_MEASURES, INTERNAL_MEASURES, OVERALL


@dataclass(frozen=True, slots=True)  # slots: a round of 2,000 teams has 200,000 of them
class Shown:
    """A released number: a mean with its n and spread, and its share favourable (0 to 1) where the measure has
    one. A suppressed one has none of them (`SUPPRESSED`)."""

    n: int | None
    mean: float | None = None
    sd: float | None = None
    favourable: float | None = None

    @property
    def suppressed(self) -> bool:
        return self.n is None


SUPPRESSED = Shown(None)
_NOBODY = {  # a function nobody in a team used
    measure: Sums(0, 0.0, 0.0, 0.0 if measure in FAVOURABLE_MEASURES else None)
    for measure in INTERNAL_MEASURES
}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
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
    internal: dict[int, dict[Node, dict[str, Shown]]] = field(default_factory=dict)
    usage: dict[int, dict[Node, Usage]] = field(default_factory=dict)
    # node -> measure -> number
    external: dict[Node, dict[str, Shown]] = field(default_factory=dict)
    # dimension -> Cronbach's alpha over every respondent of the round (None when not computable)
    alpha: dict[str, float | None] = field(default_factory=dict)

    def team_score(self, function_id: int, team_id: int, measure: str) -> float | None:
        shown = self.internal.get(function_id, {}).get(team_id, {}).get(measure)
        return None if shown is None else shown.mean

    def team_outcome(self, team_id: int, measure: str) -> float | None:
        shown = self.external.get(team_id, {}).get(measure)
        return None if shown is None else shown.mean


def rollup(parents: Mapping[Node, Node | None], teams: Mapping[Node, Sums]) -> dict[Node, Sums]:
    """Each team's sums, and their sums at every group above it and at `TOTAL`."""
    return {node: Sums(*parts) for node, parts in _Tree(parents, 0).rolled(teams).items()}


def _shown(sums: Sums | None, k: int) -> Shown:
    if sums is None or sums.n < k:
        return SUPPRESSED
    return Shown(sums.n, sums.mean, sums.sd, favourable_share(sums.n, sums.favourable))


def release_tree(
    parents: Mapping[Node, Node | None],
    teams: Mapping[Node, Sums],
    k: int,
    hide: Collection[Node] = (),
) -> dict[Node, Shown]:
    """Each team's sums, their roll-ups to every group above and to `TOTAL`, as `Shown` numbers: suppressed
    where fewer than k respondents are behind one, and where a suppressed one could otherwise be derived.

    A team with nothing behind it (n 0) is listed, suppressed, so that its absence tells nothing. `hide`: nodes
    to suppress besides, those another tree suppresses whose numbers are this tree's n (each score's n is the
    usage tree's used count): shown in one tree, they would undo the other's complementary suppression."""
    return _Tree(parents, k).release(teams, hide)[1]


# What a node's sums add up to: n, total, squares and favourable part (`Sums`). The gate decides on the first
# three; the favourable part is released with the mean, and suppressed with it.
Parts = tuple[int, float, float | None, float | None]
Alike = Callable[
    [int, float, float | None], bool
]  # do a node's sums (n, total, squares) state each one's answer?
_NO_PARTS: Parts = (0, 0.0, None, None)  # a group's place in `_Tree.rolled`, until its parts are added up


class _Tree:
    """The unit tree a round's numbers are rolled up by, with what the round's trees of numbers share: each
    team's way up, and the suppression decided for each distinct set of team sizes (every score of a function
    has the function's used counts as its n, every function's usage the answered counts)."""

    def __init__(self, parents: Mapping[Node, Node | None], k: int):
        self.parents, self.k = parents, k
        self.groups = {parent for parent in parents.values() if parent is not None} | {TOTAL}
        self._up: dict[Node, tuple[Node, ...]] = {}
        self._hidden: dict[tuple[tuple[tuple[Node, int], ...], frozenset[Node]], set[Node]] = {}

    def up(self, team: Node) -> tuple[Node, ...]:
        """The team, every group above it, and `TOTAL`."""
        if (found := self._up.get(team)) is not None:
            return found
        nodes: list[Node] = []
        node: Node | None = team
        while node is not None:
            nodes.append(node)
            node = self.parents.get(node)
        self._up[team] = (*nodes, TOTAL)
        return self._up[team]

    def hidden(self, sizes: Mapping[Node, int], alike: Collection[Node] = ()) -> set[Node]:
        """`hidden_counts` over this tree for teams of these sizes, with these nodes' people answering alike.
        Both are the key: the same sizes with other nodes alike are another decision."""
        key = (tuple(sizes.items()), frozenset(alike))
        if key not in self._hidden:
            self._hidden[key] = hidden_counts(self.parents, sizes, self.k, key[1])
        return self._hidden[key]

    def rolled(self, teams: Mapping[Node, Sums]) -> dict[Node, Parts]:
        """`rollup`, as the parts of each node's sums, the nodes in the order they are met going up from each
        team. A team that is no group's parent has its own sums alone: only the groups need adding up."""
        rolled: dict[Node, Parts] = {}
        below: dict[Node, list[Sums]] = {}  # the groups' parts, each group in `rolled` once its first comes
        for team, sums in teams.items():
            up = self.up(team)
            if team in self.groups:
                above = up
            else:
                rolled[team] = (sums.n, sums.total, sums.squares, sums.favourable)
                above = up[1:]
            for node in above:
                if (parts := below.get(node)) is None:
                    below[node] = [sums]
                    rolled[node] = _NO_PARTS
                else:
                    parts.append(sums)
        for node, parts in below.items():
            rolled[node] = _added(parts)
        return rolled

    def release(
        self, teams: Mapping[Node, Sums], hide: Collection[Node] = (), alike: Alike = all_alike
    ) -> tuple[dict[Node, Parts], dict[Node, Shown]]:
        """`release_tree`, and the roll-ups it released (as `rolled`). `alike` tells from a node's sums whether
        its number would state each of its people's answer: such nodes are hidden whatever their size, and
        never left derivable alone (`hidden_counts`)."""
        rolled = self.rolled(teams)
        return rolled, self.shown(rolled, self.hidden(_sizes(teams), _alike(rolled, alike)) | set(hide))

    def shown(self, rolled: Mapping[Node, Parts], hidden: Collection[Node]) -> dict[Node, Shown]:
        """The roll-ups as released numbers, those in `hidden` (and any of fewer than k) suppressed: a hidden
        number's share favourable with it."""
        return {
            node: SUPPRESSED
            if node in hidden or n < self.k
            else Shown(n, mean_of(n, total), sd_of(n, total, squares), favourable_share(n, favourable))
            for node, (n, total, squares, favourable) in rolled.items()
        }


def _sizes(teams: Mapping[Node, Sums]) -> dict[Node, int]:
    """The people behind each team's sums, for `hidden_counts` (teams with nobody left out)."""
    return {team: sums.n for team, sums in teams.items() if sums.n > 0}


def _alike(rolled: Mapping[Node, Parts], alike: Alike) -> list[Node]:
    """The nodes whose sums state each of their people's answer, by `alike`."""
    return [node for node, (n, total, squares, _) in rolled.items() if alike(n, total, squares)]


def _added(parts: list[Sums]) -> Parts:
    """The parts' sums added left to right, as `Sums.__add__` adds them (the same floats, to the bit), without a
    `Sums` for every step."""
    first = parts[0]
    n, total, squares, favourable = first.n, first.total, first.squares, first.favourable
    for index in range(1, len(parts)):
        part = parts[index]
        n += part.n
        total += part.total
        squares = None if squares is None or part.squares is None else squares + part.squares
        favourable = None if favourable is None or part.favourable is None else favourable + part.favourable
    return n, total, squares, favourable


def _release_customers(
    parents: Mapping[Node, Node | None], sums: RoundSums, k: int
) -> dict[Node, dict[str, Shown]]:
    """Customers' numbers per node and measure. Imported figures are public (HR and the API see them as
    imported), so only the survey answers need the gate: a node shows its figures plus its survey answers when
    those pass the gate on their own, and figures alone otherwise; never a sum from which a hidden group of
    survey answers could be worked out by subtracting a figure."""
    measures = sorted({m for cell in [*sums.external.values(), *sums.imported.values()] for m in cell})
    tree = _Tree(parents, k)
    released: dict[Node, dict[str, Shown]] = {}
    for measure in measures:
        survey: dict[Node, Sums] = {
            t: m[measure] for t, m in sums.external.items() if measure in m and m[measure].n > 0
        }
        survey_sums, gate = tree.release(survey)
        figures: dict[Node, Sums] = {t: m[measure] for t, m in sums.imported.items() if measure in m}
        imported = rollup(parents, figures)
        for node in set(gate) | set(imported):
            parts = [imported[node]] if node in imported else []
            if node in gate and not gate[node].suppressed:
                parts.append(Sums(*survey_sums[node]))
            released.setdefault(node, {})[measure] = _shown(pooled(parts), k) if parts else SUPPRESSED
    return released


# Staff's measures that are suppressed together: a respondent's overall score is the mean of their dimensions'.
_TIED: tuple[tuple[str, ...], ...] = ((OVERALL, *DIMENSIONS),)


def _release_measures(
    tree: _Tree, cells: Mapping[Node, Mapping[str, Sums]], measures: Sequence[str], hide: Collection[Node]
) -> dict[Node, dict[str, Shown]]:
    """A function's scores. A node whose respondents all gave the same answer in a measure is hidden in that
    measure, and in every measure tied to it (`_TIED`): each respondent's overall score is the mean of their five
    dimension scores, so a dimension hidden alone could be worked out from the overall score and the other four.
    The impact item is tied to nothing, so a team unanimous about harm still shows its ratings."""
    teams = {measure: {t: m[measure] for t, m in cells.items() if measure in m} for measure in measures}
    rolled = {measure: tree.rolled(teams[measure]) for measure in measures}
    alike_in = {measure: _alike(rolled[measure], all_alike) for measure in measures}
    released: dict[Node, dict[str, Shown]] = {}
    for measure in measures:
        tied = next((group for group in _TIED if measure in group), (measure,))
        alike = {node for other in tied if other in alike_in for node in alike_in[other]}
        hidden = tree.hidden(_sizes(teams[measure]), alike) | set(hide)
        for node, shown in tree.shown(rolled[measure], hidden).items():
            released.setdefault(node, {})[measure] = shown
    return released


def release_round(
    sums: RoundSums,
    parents: Mapping[Node, Node | None],
    k: int,
    invited: Mapping[Node, int] | None = None,
    functions: Collection[int] = (),
) -> ReleasedRound:
    """Pass a round's sums through the gate. `parents` maps each team and group to the group above (None at
    the top); `k` is the minimum group size (at least 3: enforced by the settings); `invited`: the round's
    invitees per team, whose answered counts the response rates show (`participation.hidden_participation`);
    `functions`: the round's support functions, listed even if nobody answered."""
    released = ReleasedRound(sums.round_id, k)
    every = sorted({f for f, _ in sums.internal} | {f for f, _ in sums.usage} | set(functions))
    usage_of, rated_of = _by_function(sums.usage), _by_function(sums.internal)
    tree = _Tree(parents, k)
    # The usage trees' n (everyone answers about every function) are the response rates' answered counts: they
    # suppress what the response rates hide, and list every team invited (nobody answered: suppressed too).
    rates_hidden = hidden_counts(parents, invited, k) if invited else set()
    for function in every:
        usage: dict[Node, tuple[int, int]] = dict.fromkeys(invited or (), (0, 0))
        usage |= usage_of.get(function, {})
        # A node where none of its respondents used the function states each one's "did not use": hidden like
        # any unanimous cell. All of them using it is shown (docs/anonymity.md says why).
        usage_sums = {t: Sums(a, u, None) for t, (a, u) in usage.items()}
        _, answered = tree.release(usage_sums, rates_hidden, _nobody_used)
        released.usage[function] = {node: _usage(shown) for node, shown in answered.items()}
        # Every score's n is the usage tree's used count: the scores suppress what the usage suppresses, and
        # list every team it lists (nobody used the function: an empty cell, suppressed like the others).
        rated = rated_of.get(function, {})
        cells: dict[Node, Mapping[str, Sums]] = {
            team: rated.get(team, _NOBODY) for team in usage.keys() | rated.keys()
        }
        hidden = {node for node, shown in answered.items() if shown.suppressed}
        released.internal[function] = _release_measures(tree, cells, INTERNAL_MEASURES, hidden)
    released.external = _release_customers(parents, sums, k)
    # Reliability pools every respondent of the round: shown when they are at least k people.
    respondents = max(
        (sum(answered for answered, _ in usage_of.get(function, {}).values()) for function in every),
        default=0,
    )
    if respondents >= k:
        released.alpha = {dimension: _alpha(scale) for dimension, scale in sums.scales.items()}
    return released


def _nobody_used(answered: int, used: float, _: float | None) -> bool:
    """A usage node whose respondents all answered "did not use" (the usage trees' `Alike`).

    Not one whose respondents all used the function: every score's n is its used count, and the answered count
    is shown beside it (usage, response rates) or known to HR, so hiding those would mean hiding the scores of
    every team where everyone used the function, a quarter of the demo's and two thirds of one function's. Using
    a function is what rating it means, and says nothing of what anyone thinks of it; "did not use" can be a
    quiet refusal to rate, and is what this protects."""
    return answered > 0 and used == 0


def _by_function(cells: Mapping[tuple[int, int], T]) -> dict[int, dict[Node, T]]:
    """Cells keyed by (function, team) as function -> team -> cell, each function's teams in their order."""
    grouped: dict[int, dict[Node, T]] = {}
    for (function, team), cell in cells.items():
        grouped.setdefault(function, {})[team] = cell
    return grouped


def _usage(answered: Shown) -> Usage:
    """A usage count from its tree's released number: n answered, of whom the mean's share used the function."""
    if answered.n is None or answered.mean is None:
        return Usage(None, None)
    return Usage(answered.n, round(answered.mean * answered.n))


def _alpha(scale: ScaleSums) -> float | None:
    """Cronbach's alpha of a scale from its sums; None when a variance is not known."""
    variances = [_variance(item) for item in scale.items]
    total = _variance(scale.totals)
    known = [v for v in variances if v is not None]
    return cronbach_alpha(known, total) if total is not None and len(known) == len(variances) else None


def _variance(sums: Sums) -> float | None:
    return None if sums.squares is None else variance_from_sums(sums.n, sums.total, sums.squares)


@dataclass(frozen=True)
class CommentGroup:
    """Comments shown together: under a team's name, or pooled with no team named (`team` None)."""

    team: Node | None
    comments: tuple[str, ...]


def release_comments(
    comments: list[tuple[Node, str]], threshold: int, rng: random.Random
) -> list[CommentGroup]:
    """The comments that may be shown, grouped and shuffled (arrival order can identify).

    Fewer than `threshold` comments in all: none. A team with at least `threshold` comments gets its own group;
    the rest are pooled without team names, and if that pool would be smaller than the threshold, the smallest
    named groups join it until it is not. Every group shown holds at least `threshold` comments.
    """
    if len(comments) < threshold:
        return []
    by_team: dict[Node, list[str]] = {}
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
