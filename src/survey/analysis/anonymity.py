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
    # Each node once, under its parent: a set says which are placed (looking in the parent's list instead took
    # time in proportion to the group's size for each of its teams, hundreds of times a round at 2,000 teams).
    children: dict[Hashable, list[Hashable]] = {}
    placed: set[Hashable] = set()
    for node in [*sizes, *(p for p in parents.values() if p is not None)]:
        if node not in placed:
            placed.add(node)
            parent = parents.get(node)
            children.setdefault(TOTAL if parent is None else parent, []).append(node)
    size: dict[Hashable, int] = {}
    hidden: set[Node] = set()
    free: dict[Hashable, int] = {}  # people behind a hidden node's count not derivable any other way
    # Hidden nodes whose free people may all have answered alike: only people of `alike` nodes among them.
    uniform: set[Hashable] = set()

    def exposed(unknown: int, only_alike: bool) -> bool:
        """Would the hidden members' people together, `unknown` of them, be told by the group's count?"""
        return 0 < unknown and (unknown < k or only_alike)

    def visit(node: Hashable) -> None:
        if node in sizes and node not in children:
            size[node] = sizes[node]
            if sizes[node] < k or node in alike:
                hidden.add(node)
                free[node] = sizes[node]
                if node in alike:
                    uniform.add(node)
            return
        below = children.get(node, [])
        for child in below:
            visit(child)
        size[node] = sum(size[c] for c in below)
        unknown = sum(free[c] for c in below if c in hidden)
        only_alike = all(c in uniform for c in below if c in hidden and free[c])
        teams = sorted((size[c], str(c), c) for c in below if c not in hidden and c not in children)
        while exposed(unknown, only_alike) and teams:
            _, _, team = teams.pop(0)
            hidden.add(team)
            free[team] = size[team]
            unknown += size[team]
            only_alike = only_alike and not size[team]
        if node in alike:  # its number is the answer of each of its people: hidden, all of it unknown
            hidden.add(node)
            free[node] = size[node]
            uniform.add(node)
        elif size[node] < k or exposed(unknown, only_alike):
            hidden.add(node)
            free[node] = unknown if size[node] >= k else size[node]
            if only_alike:
                uniform.add(node)

    visit(TOTAL)
    return hidden


def participation_warning(answered: int, invited: int) -> bool:
    return invited > 0 and answered / invited < HEALTHY_PARTICIPATION
