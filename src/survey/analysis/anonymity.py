"""The anonymity rules that decide which counts may be shown, as plain functions (no web, no database); see
docs/anonymity.md."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping

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
