"""Sufficient statistics: what a group of answers adds up to (n, sum, sum of squares, and the sum of each one's
share of favourable answers), enough for the mean, the spread and the share favourable, and exact to pool; a
round's sums before the release gate; the sums an imported customer figure stands for.

Pure (no web, no database): `aggregation` fills these from SQL, the release gate (`release`) reads them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from survey.vocabulary import CES, CES_SCALE, CSAT_MEAN, CSAT_PCT, CSAT_SCALE, NPS, Metric, favourable_from


@dataclass(frozen=True, slots=True)  # slots: a round of 2,000 teams has 200,000 of them
class Sums:
    """What a group of respondents' values add up to: enough for the mean, the spread and the share favourable,
    and exact to pool."""

    n: int
    total: float
    squares: float | None  # None: not known (a figure imported as a score without its distribution)
    # Each respondent's share of their scored answers in the top of the scale (0 to 1), added up over the n
    # respondents; None: not known (a measure without one, a figure imported as a mean). See `favourable_share`.
    favourable: float | None = None

    def __add__(self, other: Sums) -> Sums:
        squares = None if self.squares is None or other.squares is None else self.squares + other.squares
        favourable = (
            None
            if self.favourable is None or other.favourable is None
            else self.favourable + other.favourable
        )
        return Sums(self.n + other.n, self.total + other.total, squares, favourable)

    @property
    def mean(self) -> float | None:
        return mean_of(self.n, self.total)

    @property
    def sd(self) -> float | None:
        """The sample standard deviation (n - 1)."""
        return sd_of(self.n, self.total, self.squares)


def favourable_share(n: int, favourable: float | None) -> float | None:
    """The share favourable (0 to 1) of sums from their parts: the mean over the respondents of each one's share
    of scored answers in the top of the scale (`vocabulary.favourable_from`). Each respondent weighs as one, as
    in the mean, so the share has the mean's n; with every item answered it is the share of all the item answers
    that are favourable. None when not known or nobody is behind it."""
    return None if favourable is None or not n else favourable / n


def mean_of(n: int, total: float) -> float | None:
    """The mean of sums (`Sums.mean`), from their parts."""
    return total / n if n else None


def sd_of(n: int, total: float, squares: float | None) -> float | None:
    """The sample standard deviation (n - 1) of sums (`Sums.sd`), from their parts; None when not known."""
    if squares is None or n < 2:
        return None
    return math.sqrt(max(0.0, (squares - total**2 / n) / (n - 1)))


# How close to 0 a spread must come, relative to the values' size, to count as none: the sums of a group whose
# values are all alike are exact for whole numbers and off by a few rounding errors for means of items (each
# respondent's dimension score), far less than any real difference between two answers makes.
ALIKE_TOLERANCE = 1e-9


def all_alike(n: int, total: float, squares: float | None) -> bool:
    """Did everyone behind these sums give the same value? Then the mean states each one's answer: a spread of
    0, which a mean at either end of a scale implies (everyone gave that end), and a share of 0% or 100% of a
    yes-or-no answer too (each one counts 0 or 100). One person always is. Read from the exact sums, so it
    needs no scale: n times the sum of squares equals the total squared exactly when all values are equal (it
    is larger otherwise by the sum of the squared differences of every pair). Unknown without the squares (a
    figure imported as a score): False, and no sums of survey answers lack them."""
    if n < 1 or squares is None:
        return False
    return n * squares - total * total <= ALIKE_TOLERANCE * n * squares


def pooled(parts: Iterable[Sums]) -> Sums | None:
    """The sums of all the parts together; None when there are none."""
    result: Sums | None = None
    for part in parts:
        result = part if result is None else result + part
    return result


@dataclass(frozen=True)
class ScaleSums:
    """Sums for Cronbach's alpha of one dimension's items over every respondent of a round: per item, and of
    each respondent's total over the items."""

    n: int
    items: tuple[Sums, ...]
    totals: Sums


@dataclass
class RoundSums:
    """Everything summed up for one round, before the release gate."""

    round_id: int
    # (function id, team id) -> measure -> sums, over the respondents who used the function
    internal: dict[tuple[int, int], dict[str, Sums]] = field(default_factory=dict)
    # (function id, team id) -> (respondents who answered about it, of whom used it)
    usage: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    # team id -> measure -> sums of the customers' survey answers
    external: dict[int, dict[str, Sums]] = field(default_factory=dict)
    # team id -> measure -> sums of figures imported from another tool (merged by the release gate)
    imported: dict[int, dict[str, Sums]] = field(default_factory=dict)
    # dimension -> item sums, for the internal scale's reliability
    scales: dict[str, ScaleSums] = field(default_factory=dict)


def figure_sums(
    metric: str, n: int, mean: float | None, score: float | None, distribution: Mapping[str, int] | None
) -> dict[str, Sums]:
    """The sums an imported figure stands for, per measure: exact where the figure allows (a distribution gives
    everything; a CSAT% gives its squares too, since each customer counts 0 or 100)."""
    counts = {int(point): count for point, count in (distribution or {}).items()}
    if counts:
        return {
            measure: _from_distribution(n, counts, value_of, _FAVOURABLE_FROM.get(measure))
            for measure, value_of in _CUSTOMER_VALUES[Metric(metric)].items()
        }
    sums: dict[str, Sums] = {}
    if metric == Metric.CSAT and score is not None:
        sums[CSAT_PCT] = Sums(n, score * n, 100.0 * score * n)
    if metric == Metric.NPS and score is not None:
        sums[NPS] = Sums(n, score * n, None)
    if metric == Metric.CSAT and mean is not None:
        # Satisfaction's share favourable (4 or 5) is its CSAT%, when the figure gives that too.
        sums[CSAT_MEAN] = Sums(n, mean * n, None, None if score is None else score * n / 100.0)
    if metric == Metric.CES and mean is not None:
        sums[CES] = Sums(n, mean * n, None)
    return sums


def _from_distribution(
    n: int, counts: Mapping[int, int], value_of: Callable[[int], float], from_point: int | None
) -> Sums:
    """The sums of a distribution (counts per answer) of `n` customers; `from_point`: the lowest favourable
    answer of a measure with a share favourable."""
    total = sum(value_of(point) * count for point, count in counts.items())
    squares = sum(value_of(point) ** 2 * count for point, count in counts.items())
    favourable = None if from_point is None else float(sum(c for p, c in counts.items() if p >= from_point))
    return Sums(n, float(total), float(squares), favourable)


# What one customer's answer counts for in each measure an imported figure feeds: CSAT% 100 for a 4 or 5 (else 0),
# NPS 100 for a promoter (9-10), -100 for a detractor (0-6), the answer itself in a mean.
_CUSTOMER_VALUES: dict[Metric, dict[str, Callable[[int], float]]] = {
    Metric.CSAT: {CSAT_MEAN: float, CSAT_PCT: lambda p: 100.0 if p >= 4 else 0.0},
    Metric.NPS: {NPS: lambda p: 100.0 if p >= 9 else -100.0 if p <= 6 else 0.0},
    Metric.CES: {CES: float},
}
# The measures of an imported distribution with a share favourable, and the answer it starts at: satisfaction on
# 1 to 5, ease on 1 to 7 (`favourable_from`).
_FAVOURABLE_FROM: dict[str, int] = {CSAT_MEAN: favourable_from(*CSAT_SCALE), CES: favourable_from(*CES_SCALE)}
