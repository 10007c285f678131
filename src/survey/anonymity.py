"""The anonymity rules of domain.md that decide what may be shown, as plain functions (no web, no database)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

HEALTHY_PARTICIPATION = 0.60  # below this, a group's results deserve a warning


def suppressed_groups(sizes: Mapping[K, int], k: int) -> set[K]:
    """Which of several sibling groups (whose total is shown) to hide: every group smaller than k, and, when that
    hides exactly one, also the next smallest, so the hidden one cannot be found by subtracting the shown ones
    from the total (complementary suppression)."""
    hidden = {key for key, size in sizes.items() if size < k}
    if len(hidden) == 1:
        shown = sorted((size, str(key), key) for key, size in sizes.items() if key not in hidden)
        if shown:
            hidden.add(shown[0][2])
    return hidden


def participation_warning(answered: int, invited: int) -> bool:
    return invited > 0 and answered / invited < HEALTHY_PARTICIPATION
