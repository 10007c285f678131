"""The anonymity rules that decide which counts may be shown, as plain functions (no web, no database); see
docs/anonymity.md."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Hashable, Mapping, Set
from dataclasses import dataclass

HEALTHY_PARTICIPATION = 0.60  # below this, a group's results deserve a warning


TOTAL = "total"  # the whole round, above every unit
# A node of the unit tree: a team or a group (by id, in the product), or TOTAL.
Node = Hashable


def hidden_counts(
    parents: Mapping[Node, Node | None],
    sizes: Mapping[Node, int],
    k: int,
    alike: Collection[Node] = (),
) -> set[Node]:
    """Which counts to hide so that no number about fewer than k people, nor about people who all answered alike,
    can be shown or worked out.

    `sizes` holds the people behind each team's count (its invitees, say); `parents` maps each team and each group
    to the group above it (None at the top). Shown are the count of every team, of every group, and of the whole
    (`TOTAL`), except those returned. `alike`: teams, groups or `TOTAL` whose people all gave the same answer (a
    spread of 0: the number states each one's answer), hidden whatever their size.

    A count below k is hidden, and so is every node in `alike`. Then, group by group from the bottom, what the
    hidden members of a group hold together (after subtracting everything shown) can be worked out from the
    group's count: it must cover at least k people, and not only people of `alike` nodes (who may all have
    answered alike together), or nothing. If not, the group's smallest shown teams are hidden too (complementary
    suppression: a shown team is never alike, so one is enough for the second condition); if that is not
    enough, the group's own count is hidden, and the question moves up a level.
    """
    children = _children(parents, sizes)
    size: dict[Hashable, int] = {}
    hidden: set[Node] = set()
    free: dict[Hashable, int] = {}  # people behind a hidden node's count not derivable any other way
    # Hidden nodes whose free people may all have answered alike: only people of `alike` nodes among them.
    uniform: set[Hashable] = set()

    def hide(node: Hashable, people: int, only_alike: bool) -> None:
        hidden.add(node)
        free[node] = people
        if only_alike:
            uniform.add(node)

    def visit(node: Hashable) -> None:
        if node in sizes and node not in children:
            size[node] = sizes[node]
            if sizes[node] < k or node in alike:
                hide(node, sizes[node], node in alike)
            return
        below = children.get(node, [])
        for child in below:
            visit(child)
        size[node] = sum(size[c] for c in below)
        unknown = sum(free[c] for c in below if c in hidden)
        only_alike = all(c in uniform for c in below if c in hidden and free[c])
        teams = sorted((size[c], str(c), c) for c in below if c not in hidden and c not in children)
        while _exposed(unknown, only_alike, k) and teams:
            _, _, team = teams.pop(0)
            hide(team, size[team], False)  # a shown team is not alike
            unknown += size[team]
            only_alike = only_alike and not size[team]
        if node in alike:  # its number is the answer of each of its people: hidden, all of it unknown
            hide(node, size[node], True)
        elif size[node] < k or _exposed(unknown, only_alike, k):
            hide(node, unknown if size[node] >= k else size[node], only_alike)

    visit(TOTAL)
    return hidden


def _exposed(unknown: int, only_alike: bool, k: int) -> bool:
    """Would the hidden members of a group, `unknown` people together, be told by the group's count? When they
    are fewer than k, or all of them may have answered alike."""
    return unknown > 0 and (unknown < k or only_alike)


def _children(parents: Mapping[Node, Node | None], sizes: Mapping[Node, int]) -> dict[Node, list[Node]]:
    """Each group's members (`TOTAL`'s: those at the top), every team and group placed once."""
    # A set says which are placed (looking in the parent's list instead took time in proportion to the group's
    # size for each of its teams, hundreds of times a round at 2,000 teams).
    children: dict[Node, list[Node]] = {}
    placed: set[Node] = set()
    for node in [*sizes, *(p for p in parents.values() if p is not None)]:
        if node not in placed:
            placed.add(node)
            parent = parents.get(node)
            children.setdefault(TOTAL if parent is None else parent, []).append(node)
    return children


def participation_warning(answered: int, invited: int) -> bool:
    return invited > 0 and answered / invited < HEALTHY_PARTICIPATION


# --- Participation in bands: what heads see of a round that is still open -----------------------------------------

BAND_EDGES = (20, 40, 60, 80)  # percent of those invited


@dataclass(frozen=True)
class Band:
    """A share of invitees who answered, as a range of percentages: at least `low` and below `high` (the top band,
    `high` 100, includes everyone). Said without "0%" or "100%", and holding at least two possible counts."""

    low: int
    high: int
    fewest: int  # the fewest answered this band can stand for, in its group
    most: int  # the most

    @property
    def label(self) -> str:
        if self.low == 0:
            return f"fewer than {self.high}%"
        if self.high == 100:
            return f"{self.low}% or more"
        return f"{self.low} to {self.high - 1}%"

    @property
    def low_participation(self) -> bool:
        """The whole band is below the healthy share (a band straddling it says nothing, or it would tell which
        side of 60% the count lies)."""
        return self.high <= 100 * HEALTHY_PARTICIPATION


def bands(invited: int) -> list[Band]:
    """The bands a group of `invited` people is shown in: 20 points wide, each merged with the next while it
    holds fewer than two possible counts (a team of 5 alone below 20% would be 0 of 5: it becomes "fewer than
    40%"), so no band tells an exact count, nor that nobody or everybody answered."""
    edges = [0, *BAND_EDGES, 100]
    merged: list[tuple[int, int, list[int]]] = []
    for low, high in itertools.pairwise(edges):
        counts = [
            a
            for a in range(invited + 1)
            if low * invited <= 100 * a and (100 * a < high * invited or high == 100)
        ]
        if merged and len(merged[-1][2]) < 2:
            first, _, before = merged.pop()
            merged.append((first, high, before + counts))
        else:
            merged.append((low, high, counts))
    while len(merged) > 1 and len(merged[-1][2]) < 2:  # the top band too narrow: one with the band below
        _, high, last = merged.pop()
        low, _, before = merged.pop()
        merged.append((low, high, before + last))
    return [Band(low, high, counts[0], counts[-1]) for low, high, counts in merged if counts]


def band_of(answered: int, invited: int) -> Band:
    """The band `answered` of `invited` falls in."""
    return next(b for b in bands(invited) if b.fewest <= answered <= b.most)


def participation_bands(
    parents: Mapping[Node, Node | None], counts: Mapping[Node, tuple[int, int]], hidden: Set[Node]
) -> dict[Node, Band | None]:
    """The band of each team's and each group's participation (`counts`: each team's invited and answered;
    `parents` as for `hidden_counts`), None where hidden: the counts in `hidden` (`hidden_counts`), and more where
    the bands shown, put together, would pin some count to one value. Bands cover ranges, and ranges add up: a
    group's "20 to 39%" of 13 less its team's "60% or more" of 7 can leave its other team's 6 at exactly 0
    answered. The whole (`TOTAL`) is not shown in bands. Hiding starts at the group above the count pinned."""
    children: dict[Hashable, list[Hashable]] = {}
    for node in [*counts, *(p for p in parents.values() if p is not None)]:
        parent = parents.get(node)
        siblings = children.setdefault(TOTAL if parent is None else parent, [])
        if node not in siblings:
            siblings.append(node)
    invited: dict[Hashable, int] = {}
    answered: dict[Hashable, int] = {}

    def add_up(node: Hashable) -> None:
        if node in counts and node not in children:
            invited[node], answered[node] = counts[node]
            return
        for child in children.get(node, []):
            add_up(child)
        invited[node] = sum(invited[c] for c in children.get(node, []))
        answered[node] = sum(answered[c] for c in children.get(node, []))

    add_up(TOTAL)
    hiding = {*hidden, TOTAL}
    while True:
        shown = {n: band_of(answered[n], invited[n]) for n in invited if n not in hiding}
        pinned = _pinned(children, invited, shown)
        if pinned is None:
            return {n: None if n in hiding else shown[n] for n in invited if n != TOTAL}
        hiding.add(_to_hide(pinned, parents, shown, children))


def _to_hide(
    pinned: Hashable,
    parents: Mapping[Node, Node | None],
    shown: Mapping[Hashable, Band],
    children: Mapping[Hashable, list[Hashable]],
) -> Hashable:
    """Which band to hide for a pinned count: the group's own when it is shown (its band against its teams'),
    else the nearest shown one above it."""
    if pinned in children and pinned in shown:
        return pinned
    node = parents.get(pinned)
    while node is not None:
        if node in shown:
            return node
        node = parents.get(node)
    return pinned


def _pinned(
    children: Mapping[Hashable, list[Hashable]],
    invited: Mapping[Hashable, int],
    shown: Mapping[Hashable, Band],
) -> Hashable | None:
    """A count (of a team or group that has invitees) that the bands shown pin to one value, or None. Every
    count lies in its band, or between 0 and its invitees where hidden; each group's is the sum of its
    members'. Those ranges are narrowed against each other until nothing changes (on a tree this finds every
    value that can be worked out)."""
    low = {n: shown[n].fewest if n in shown else 0 for n in invited}
    high = {n: shown[n].most if n in shown else invited[n] for n in invited}
    changed = True
    while changed:
        changed = False
        for parent, members in children.items():
            least, most = sum(low[m] for m in members), sum(high[m] for m in members)
            bounds = [(parent, least, most)]
            bounds += [(m, low[parent] - (most - high[m]), high[parent] - (least - low[m])) for m in members]
            for node, at_least, at_most in bounds:
                if at_least > low[node] or at_most < high[node]:
                    low[node], high[node] = max(low[node], at_least), min(high[node], at_most)
                    changed = True
    return next((n for n in invited if invited[n] and low[n] == high[n]), None)
