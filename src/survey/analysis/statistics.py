"""The statistics of the linkage analysis (docs/measurement.md) as pure functions of numpy arrays.

Teams are the unit of analysis and NaN marks a missing value (a suppressed cell, or one not measured). All
randomness comes from the `numpy.random.Generator` passed in, so that a run can be repeated exactly. Bootstrap and
permutation resamples are drawn as arrays and evaluated together (in blocks of a few hundred), without a Python
loop over single resamples: a linkage run makes hundreds of tests.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

MIN_TEAMS = 8  # below this many teams with data: "not enough data", no numbers
RESAMPLES = 2000  # default bootstrap/permutation resamples
CONFIDENCE = 0.90  # default interval level
MAX_SHAPLEY_PREDICTORS = 12  # the exact decomposition fits 2**p regressions
# From this many teams on, tests use their large-sample approximations instead of resampling: the t approximation
# and Fisher's z interval for Spearman's rho, and the normal approximation of the permutation distribution for the
# shift test (Hoeffding's combinatorial central limit theorem, with the exact permutation mean and variance).
LARGE_SAMPLE = 100
MIN_SHIFTED = 3  # the shift test needs this many shifted teams: one or two teams' customers are no evidence
LARGE_GROUP = (
    30  # ... and, for the shift test, at least this many teams on either side: a mean of a few is not normal
)

# A column whose variance within a bootstrap resample falls below this (after scaling the whole sample to unit
# variance) is constant in that resample: it drew copies of a single value.
_CONSTANT_VARIANCE = 1e-10
# Eigenvalues of a correlation matrix below this fraction of the largest are taken as zero (collinear predictors),
# as a pseudo-inverse does.
_EIGEN_TOLERANCE = 1e-10
_STANDARD_NORMAL = NormalDist()
_BLOCK = 32768  # values per working array when evaluating resamples (see _blocks)
# Robust z: the smallest scale to divide by, so that identical changes give z = 0 rather than 0/0.
_SCALE_FLOOR = 1e-9


@dataclass(frozen=True)
class Correlation:
    """Spearman correlation across teams with its bootstrap interval and permutation p; numbers are None when
    there is not enough data (fewer than MIN_TEAMS pairs, or one side constant)."""

    n: int  # teams with both values finite
    rho: float | None
    low: float | None  # percentile bootstrap interval (resampling teams with replacement)
    high: float | None
    p: float | None  # two-sided permutation p

    @property
    def enough(self) -> bool:
        return self.rho is not None


@dataclass(frozen=True)
class DriverWeights:
    """Each predictor's share of the variance in the outcome explained across teams (relative weights)."""

    n: int  # teams with every value finite
    r2: float | None  # OLS R^2 of y on all columns of X
    weights: tuple[float, ...] | None  # Johnson's relative weights, one per column, summing to r2
    low: tuple[float, ...] | None  # percentile bootstrap intervals of each weight (resampling teams)
    high: tuple[float, ...] | None

    @property
    def enough(self) -> bool:
        return self.weights is not None


def spearman_test(
    x: ArrayLike,
    y: ArrayLike,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Correlation:
    """Spearman's rho of x and y over the teams where both are finite (ties get average ranks, as in
    scipy.stats.spearmanr), a percentile bootstrap interval over teams resampled with replacement, and the
    two-sided permutation p (1 + #{|rho_perm| >= |rho|}) / (1 + resamples).

    With fewer than MIN_TEAMS pairs, or x or y constant over them (rho undefined), every number is None.
    Bootstrap resamples in which a side is constant have no rho and are left out of the interval.

    From LARGE_SAMPLE teams on, the p-value and interval come from Fisher's z transform of rho instead: standard
    error sqrt(1.06 / (n - 3)) under no association (Fieller, Hartley and Pearson 1957) for p, and
    sqrt((1 + rho**2 / 2) / (n - 3)) for the interval (Bonett and Wright 2000).
    """
    _check_resampling(resamples, confidence)
    x, y = _finite_pairs(x, y)
    n = len(x)
    if n < MIN_TEAMS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(n, None, None, None, None)
    if n >= LARGE_SAMPLE:
        return _spearman_large(x, y, confidence)
    # Ranks are handled doubled and centred, 2 * rank - (n + 1): whole numbers, so that every sum of their
    # products below is exact and permuted statistics tie with the observed one exactly.
    order = np.argsort(x, kind="stable")  # teams in x order: resampled x ranks are then running counts
    x, y = x[order], y[order]
    y_order = np.argsort(y, kind="stable")
    once = np.ones((1, n), dtype=int)  # the sample itself, as a "resample" drawing each team once
    dx = _doubled_resampled_ranks(x, once)[0].astype(float)
    dy = np.empty(n)
    dy[y_order] = _doubled_resampled_ranks(y[y_order], once)[0]
    covariance = dx @ dy
    rho = covariance / math.sqrt((dx @ dx) * (dy @ dy))

    blocks = _blocks(n, resamples)
    boot = np.concatenate(
        [_resampled_spearman(x, y, y_order, _bootstrap_counts(rng, n, size)) for size in blocks]
    )
    low, high = _interval(boot, confidence)

    # Permuting the pairing leaves both rank vectors, hence the scale, unchanged: compare covariances.
    extreme = sum(
        np.count_nonzero(np.abs(dy[_permutations(rng, n, size)] @ dx) >= abs(covariance)) for size in blocks
    )
    p = (1 + extreme) / (1 + resamples)
    return Correlation(n, float(rho), _scalar(low), _scalar(high), float(p))


def _spearman_large(x: np.ndarray, y: np.ndarray, confidence: float) -> Correlation:
    """Spearman's rho with its large-sample p-value and interval (see spearman_test)."""
    n = len(x)
    rho = float(np.corrcoef(_average_ranks(x), _average_ranks(y))[0, 1])
    z = math.atanh(min(max(rho, -0.999999), 0.999999))
    p = 2 * _STANDARD_NORMAL.cdf(-abs(z) * math.sqrt((n - 3) / 1.06))
    half = _STANDARD_NORMAL.inv_cdf((1 + confidence) / 2) * math.sqrt((1 + rho * rho / 2) / (n - 3))
    return Correlation(n, rho, math.tanh(z - half), math.tanh(z + half), min(1.0, p))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank (as scipy.stats.rankdata)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    run = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.append(first[1:], len(values)) - 1
    ranks = np.empty(len(values))
    ranks[order] = (first[run] + last[run]) / 2 + 1
    return ranks


def _resampled_spearman(x: np.ndarray, y: np.ndarray, y_order: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Spearman's rho within each bootstrap resample (NaN where a side is constant); x ascending, y_order sorts y,
    counts (resamples x teams) how often each team was drawn."""
    y_counts = counts[:, y_order]
    bx = _doubled_resampled_ranks(x, counts)
    by = _doubled_resampled_ranks(y[y_order], y_counts)  # teams in y order
    numerator = np.einsum("bi,bi,bi->b", y_counts, bx[:, y_order], by)
    x_squares = np.einsum("bi,bi,bi->b", counts, bx, bx)
    y_squares = np.einsum("bi,bi,bi->b", y_counts, by, by)
    squares = x_squares * y_squares.astype(float)  # as integers, the product could overflow
    rho: np.ndarray = np.divide(
        numerator, np.sqrt(squares), out=np.full(len(counts), np.nan), where=squares > 0
    )
    return rho


def benjamini_hochberg(p: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg q-values (adjusted p, monotone in p, capped at 1), as statsmodels' multipletests with
    method="fdr_bh". NaN entries stay NaN and do not count among the tests."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    values = p[tested]
    if np.any((values < 0) | (values > 1)):
        raise ValueError("p-values must lie between 0 and 1")
    m = len(values)
    if m == 0:
        return q
    order = np.argsort(values, kind="stable")
    adjusted = values[order] / (np.arange(1, m + 1) / m)  # as statsmodels computes it, to the last bit
    adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    q[tested] = result
    return q


@dataclass(frozen=True)
class Shifts:
    """Sustained shifts of each team's value against its own baseline (`sustained_shifts`), one entry per team."""

    start: np.ndarray  # the index of the round the shift began; -1: no sustained shift that lasts until now
    z: np.ndarray  # the shift's z at that start (NaN: none tested)
    noise: float  # one round's noise of a team's value, the scale of z


@dataclass(frozen=True)
class ShiftTest:
    """Whether the teams with a sustained shift saw their outcome shift after it more than the other teams did.

    `team_effect` is each shifted team's own outcome shift against the other teams' over the same rounds, in the
    order of `shifted`; `same_round` the mean outcome shift of the shifted teams in the round their value shifted
    (against the others'), None where no shift is older than the latest round."""

    n: int  # teams compared: the shifted ones and the others with the numbers to compare
    shifted: tuple[int, ...]  # indices of the shifted teams among the inputs
    effect: (
        float | None
    )  # mean outcome shift of the shifted teams minus that of the others over the same rounds
    low: float | None
    high: float | None
    p: float | None  # one-sided: the shifted teams' outcome fell more
    team_effect: tuple[float, ...] = ()
    same_round: float | None = None

    @property
    def enough(self) -> bool:
        return self.p is not None


def sustained_shifts(values: ArrayLike, threshold: float = -3.0, still: float = -1.0) -> Shifts:
    """Which teams' values (rounds x teams, oldest first, NaN missing) shifted down and stay down.

    Each round's median across teams is taken out first, so that a change shared by the whole organisation (or a
    new questionnaire) is no team's shift. For each team and each round s after the first, the shift at s is the
    mean of its values from s to the latest round minus the mean of those before s, as a z against one round's
    noise (the robust spread of all teams' changes from one round to the next, divided by the square root of 2).
    A team shifted when its lowest z is at or below `threshold` and its latest value, which must be there, is
    still at least `still` noise units below the baseline of that shift and nearer the shifted level (its mean
    from the start to the round before the latest) than the baseline: a team whose values came back has no shift,
    however low they were before. At most one shift per team: the start with the lowest z.
    """
    centred = _centred_rows(values)
    rounds, teams = centred.shape
    noise = _round_noise(centred)
    finite = np.isfinite(centred)
    sums = np.cumsum(np.where(finite, centred, 0.0), axis=0)
    counts = np.cumsum(finite, axis=0)
    best_z, start = np.full(teams, np.inf), np.full(teams, -1)
    baseline, baseline_n = np.full(teams, np.nan), np.zeros(teams)
    level = np.full(teams, np.nan)  # the shifted level before the latest round (NaN: the shift began in it)
    with np.errstate(divide="ignore", invalid="ignore"):
        for s in range(1, rounds):
            before_n, after_n = counts[s - 1], counts[-1] - counts[s - 1]
            before = sums[s - 1] / before_n
            after = (sums[-1] - sums[s - 1]) / after_n
            z = (after - before) / (noise * np.sqrt(1 / before_n + 1 / after_n))
            better = (before_n > 0) & (after_n > 0) & (z < best_z)
            best_z[better], start[better] = z[better], s
            baseline[better], baseline_n[better] = before[better], before_n[better]
            level[better] = ((sums[-2] - sums[s - 1]) / (counts[-2] - counts[s - 1]))[better]
        latest = centred[-1] - baseline
        still_down = latest / (noise * np.sqrt(1 + 1 / baseline_n)) <= still
        # ... and nearer the shifted level than the level before it: a team whose values came back is not down
        # because one value happens to be low.
        still_down &= ~(latest > (level - baseline) / 2)
    shifted = (best_z <= threshold) & finite[-1] & still_down
    return Shifts(np.where(shifted, start, -1), np.where(np.isfinite(best_z), best_z, np.nan), noise)


def shift_test(
    outcome: ArrayLike,
    start: ArrayLike,
    compared: ArrayLike,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> ShiftTest:
    """Did the outcome (rounds x teams) of the teams whose value shifted (start >= 0: the round it began) shift
    down after it, more than the other `compared` teams' outcome over the same rounds? An event study with
    staggered starts.

    Each round's median across teams is taken out. A team's outcome shift for a start s is the mean of its
    outcome from the round after s to the latest (from s itself when s is the latest round: the same round is all
    there is) minus the mean before s. The effect is the mean, over shifted teams, of their own shift minus the
    mean shift of the other teams for the same s. Teams without the outcome in those rounds take no part. p is
    one-sided, from permutations of which teams carry the shifts (each keeping its start); its interval
    bootstraps teams within each group. Fewer than MIN_SHIFTED shifted teams: no numbers. From LARGE_SAMPLE teams
    on, the interval is normal, from the two groups' spreads, and with LARGE_GROUP teams or more on either side the
    permutation p is the normal approximation with the permutation distribution's exact mean and variance.
    """
    _check_resampling(resamples, confidence)
    centred = _centred_rows(outcome)
    start = np.asarray(start, dtype=int)
    pool = np.asarray(compared, dtype=bool) | (start >= 0)
    starts = np.unique(start[start >= 0])
    shifts = np.array([_outcome_shift(centred, int(s)) for s in starts]).reshape(len(starts), len(start))
    usable = pool & np.isfinite(shifts).all(axis=0)
    hit = np.flatnonzero(usable & (start >= 0))
    rest = np.flatnonzero(usable & (start < 0))
    n, k = len(hit) + len(rest), len(hit)
    if n < MIN_TEAMS or k < MIN_SHIFTED or k == n:
        return ShiftTest(n, tuple(int(i) for i in np.flatnonzero(start >= 0)), None, None, None, None)
    row = np.searchsorted(starts, start[hit])  # each shifted team's row of `shifts`
    table = shifts[:, np.concatenate([hit, rest])]  # teams renumbered: the shifted ones first
    others = table[:, k:].mean(axis=1)
    team_effect = table[row, np.arange(k)] - others[row]
    effect = float(team_effect.mean())
    low: float | None
    high: float | None
    if n >= LARGE_SAMPLE:
        low, high, p = _shift_normal(table, row, effect, team_effect, confidence)
        if min(k, n - k) < LARGE_GROUP:
            p = _shift_permutation_p(table, row, effect, rng, resamples)
    else:
        low, high = _shift_bootstrap(table, row, rng, resamples, confidence)
        p = _shift_permutation_p(table, row, effect, rng, resamples)
    same = _same_round_shift(centred, hit, start[hit], rest)
    return ShiftTest(n, tuple(int(i) for i in hit), effect, low, high, p, tuple(team_effect.tolist()), same)


def _centred_rows(values: ArrayLike) -> np.ndarray:
    """Each row (round) less its median over the finite values; a row without any stays NaN."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError("values must have shape (rounds, teams)")
    centred: np.ndarray = values - _column_medians(values.T)[:, None]
    return centred


def _round_noise(centred: np.ndarray) -> float:
    """One round's noise of a team's value: 1.4826 times the median absolute deviation of the teams' changes from
    one round to the next, over sqrt(2); a floor keeps identical values from dividing by zero."""
    changes = np.diff(centred, axis=0)
    changes = changes[np.isfinite(changes)]
    if not len(changes):
        return 1.0
    spread = 1.4826 * float(np.median(np.abs(changes - np.median(changes))))
    if spread < _SCALE_FLOOR:
        spread = 1.2533 * float(np.abs(changes - changes.mean()).mean())
    return max(spread / math.sqrt(2), _SCALE_FLOOR)


def _outcome_shift(centred: np.ndarray, start: int) -> np.ndarray:
    """Each team's mean outcome after a shift that began at `start` less its mean before (NaN without both)."""
    latest = len(centred) - 1
    after = centred[min(start + 1, latest) :]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a team without the numbers: NaN
        shift: np.ndarray = np.nanmean(after, axis=0) - np.nanmean(centred[:start], axis=0)
    return shift


def _same_round_shift(
    centred: np.ndarray, hit: np.ndarray, hit_start: np.ndarray, rest: np.ndarray
) -> float | None:
    """The shifted teams' outcome in the very round their value shifted, against their mean before, less the
    other teams' same change: how much of the outcome's shift came at once. None when every shift began in the
    latest round (then the same round is the only one after it)."""
    latest = len(centred) - 1
    older = hit_start < latest
    if not older.any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a team without the numbers: NaN, left out
        changes = [
            centred[s, hit[hit_start == s]]
            - np.nanmean(centred[:s, hit[hit_start == s]], axis=0)
            - np.nanmean(centred[s, rest] - np.nanmean(centred[:s, rest], axis=0))
            for s in np.unique(hit_start[older])
        ]
        value = float(np.nanmean(np.concatenate(changes)))
    return value if math.isfinite(value) else None


def _shift_permutation_p(
    table: np.ndarray, row: np.ndarray, effect: float, rng: np.random.Generator, resamples: int
) -> float:
    """One-sided permutation p of the shift test: the shifts (rows) are dealt to random teams, k at a time.

    table holds each start's outcome shift of every team (shifted teams first), row the start of each of the k
    shifted teams. The effect of a permutation is sum_i table[row_i, t_i] / k minus the others' mean for each
    start, where the others' sum is a row's total less the dealt teams' values."""
    k, n = len(row), table.shape[1]
    totals = table.sum(axis=1)
    weights = np.bincount(row, minlength=len(table))  # how many shifted teams start in each row
    extreme = 0
    tolerance = 1e-9 * max(1.0, float(np.abs(table).max()))
    for size in _blocks(k * len(table) if k * k <= n // 4 else max(n, k * len(table)), resamples):
        dealt = _random_subsets(rng, n, k, size)  # (size x k): team t_i gets the i-th shift
        own = table[row[None, :], dealt].sum(axis=1) / k
        # the others' mean per start, weighted by how many shifted teams have that start
        dealt_sums = table[:, dealt].sum(axis=2)  # (rows x size)
        others = ((totals[:, None] - dealt_sums) / (n - k) * weights[:, None]).sum(axis=0) / k
        extreme += int(np.count_nonzero(own - others <= effect + tolerance))
    return (1 + extreme) / (1 + resamples)


def _shift_bootstrap(
    table: np.ndarray, row: np.ndarray, rng: np.random.Generator, resamples: int, confidence: float
) -> tuple[float | None, float | None]:
    """Percentile interval of the shift test's effect, resampling the shifted teams and the others separately."""
    k, n = len(row), table.shape[1]
    estimates = []
    for size in _blocks(n * len(table), resamples):
        drawn = rng.integers(0, k, (size, k))
        others = table[:, k + rng.integers(0, n - k, (size, n - k))].mean(axis=2)  # (rows x size)
        own = table[row[drawn], drawn]  # (size x k)
        estimates.append((own - others[row[drawn], np.arange(size)[:, None]]).mean(axis=1))
    low, high = _interval(np.concatenate(estimates), confidence)
    return _scalar(low), _scalar(high)


def _shift_normal(
    table: np.ndarray, row: np.ndarray, effect: float, team_effect: np.ndarray, confidence: float
) -> tuple[float, float, float]:
    """The shift test for many teams: the permutation distribution's exact mean and variance (the effect is a
    linear permutation statistic, sum_i C[i, t_i] over the k shifted slots, Hoeffding 1951) with a normal tail for
    p; a normal interval from the two groups' spreads."""
    k, n = len(row), table.shape[1]
    weights = np.bincount(row, minlength=len(table)).astype(float)
    # C[i, t]: the effect's part from giving shift i to team t; the others' part of every start is spread over
    # the dealt teams (a row's total less the dealt ones).
    others_part = (weights[:, None] * table).sum(axis=0) / (k * (n - k))
    slots = table[row] / k + others_part[None, :]  # (k x n); the n - k unshifted slots contribute 0
    row_means = slots.mean(axis=1)
    column_means = slots.sum(axis=0) / n
    grand = row_means.sum() / n
    squares = (slots**2).sum() - n * (row_means**2).sum() - n * (column_means**2).sum() + n * n * grand**2
    variance = max(squares, 0.0) / (n - 1)
    constant = (weights * table.sum(axis=1)).sum() / (k * (n - k))
    mean = n * grand - constant
    p = _STANDARD_NORMAL.cdf((effect - mean) / math.sqrt(variance)) if variance > 0 else 1.0
    rest = table[:, k:]
    spread = team_effect.var(ddof=1) / k if k > 1 else 0.0
    spread += float((weights * rest.var(axis=1, ddof=1)).sum() / k) / (n - k)
    half = _STANDARD_NORMAL.inv_cdf((1 + confidence) / 2) * math.sqrt(spread)
    return effect - half, effect + half, float(p)


def relative_weights(
    X: ArrayLike,
    y: ArrayLike,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> DriverWeights:
    """Johnson's (2000) relative weights of the columns of X (teams x predictors) for y, with percentile bootstrap
    intervals over teams resampled with replacement.

    Rows with any NaN are dropped. The weights split the OLS R^2 of y on all columns (with intercept) into
    non-negative shares that sum to it, and stay meaningful when the predictors correlate with each other. A
    constant column gets weight 0. Not enough data (numbers None) below max(MIN_TEAMS, columns + 2) teams or with y
    constant. Bootstrap resamples with y constant are left out of the intervals.
    """
    _check_resampling(resamples, confidence)
    X, y = _complete_rows(X, y)
    n, columns = X.shape
    if n < max(MIN_TEAMS, columns + 2) or np.ptp(y) == 0:
        return DriverWeights(n, None, None, None, None)
    data = _standardise(np.column_stack([X, y]))
    weights = _weights_in_resamples(np.ones((1, n)), data)[0]
    boot = np.concatenate(
        [_weights_in_resamples(_bootstrap_counts(rng, n, size), data) for size in _blocks(n, resamples)]
    )
    low, high = _interval(boot, confidence)
    return DriverWeights(
        n,
        float(weights.sum()),
        tuple(weights.tolist()),
        None if low is None else tuple(low.tolist()),
        None if high is None else tuple(high.tolist()),
    )


def shapley_r2(X: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Exact Shapley decomposition of the OLS R^2 of y on the columns of X (with intercept): each column's average
    gain in R^2 when added to a regression on the others, over all orders. Sums to R^2.

    Rows with any NaN are dropped. Fits all 2**p subsets, so p is limited to MAX_SHAPLEY_PREDICTORS (ValueError
    beyond). NaNs when fewer than 2 teams remain or y is constant.
    """
    X, y = _complete_rows(X, y)
    n, p = X.shape
    if p > MAX_SHAPLEY_PREDICTORS:
        raise ValueError(f"shapley_r2 takes at most {MAX_SHAPLEY_PREDICTORS} predictors, not {p}")
    if n < 2 or np.ptp(y) == 0:
        return np.full(p, np.nan)
    corr = _correlations(np.ones((1, n)), _standardise(np.column_stack([X, y])))[0][0]
    rxx, rxy = corr[:p, :p], corr[:p, p]
    r2 = np.zeros(2**p)  # R^2 of each subset of columns, indexed by its bit mask
    for size in range(1, p + 1):
        subsets = np.array(list(combinations(range(p), size)))
        sub_rxx = rxx[subsets[:, :, None], subsets[:, None, :]]
        r2[(1 << subsets).sum(axis=1)] = _johnson(sub_rxx, rxy[subsets]).sum(axis=1)
    masks = np.arange(2**p)
    sizes = np.array([mask.bit_count() for mask in range(2**p)])
    # The share of orderings in which a given set of s other columns comes before column j.
    order_weight = np.array(
        [math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) for s in range(p)]
    )
    shares = np.empty(p)
    for j in range(p):
        without = masks[(masks >> j) & 1 == 0]
        shares[j] = np.sum(order_weight[sizes[without]] * (r2[without | (1 << j)] - r2[without]))
    return shares


def cronbach_alpha(item_variances: Sequence[float], total_variance: float) -> float | None:
    """Cronbach's alpha k/(k-1) * (1 - sum(item variances) / variance of the sum of items); None with fewer than
    2 items, a missing (None or NaN) variance, or a total variance that is not positive."""
    variances = np.asarray(item_variances, dtype=float)
    k = len(variances)
    if k < 2 or not np.all(np.isfinite(variances)) or total_variance is None or not total_variance > 0:
        return None
    return float(k / (k - 1) * (1 - variances.sum() / total_variance))


def variance_from_sums(n: int, total: float, total_squares: float) -> float | None:
    """Sample variance (ddof=1) of n values given their sum and sum of squares; None when n < 2. Rounding can
    make the difference slightly negative for equal values: it is clamped to 0."""
    if n < 2:
        return None
    return max(0.0, (total_squares - total * total / n) / (n - 1))


def _column_medians(values: np.ndarray) -> np.ndarray:
    """The median of the finite values in each column; NaN for a column without any (and no warning)."""
    values = np.where(np.isfinite(values), values, np.nan)
    ordered = np.sort(values, axis=0)  # NaN sorts last
    count = np.count_nonzero(~np.isnan(values), axis=0)
    medians = np.full(values.shape[1], np.nan)
    some = np.flatnonzero(count > 0)
    low, high = (count[some] - 1) // 2, count[some] // 2
    medians[some] = (ordered[low, some] + ordered[high, some]) / 2
    return medians


def _check_resampling(resamples: int, confidence: float) -> None:
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")


def _finite_pairs(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError("x and y must be 1-d arrays of the same length")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _complete_rows(X: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] == 0 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            "X must have shape (teams, predictors) with a predictor at least, and y shape (teams,)"
        )
    keep = np.isfinite(X).all(axis=1) & np.isfinite(y)
    return X[keep], y[keep]


def _blocks(n: int, resamples: int) -> list[int]:
    """Sizes of the blocks in which resamples of n teams are drawn and evaluated: each block's working arrays stay
    near _BLOCK values, in cache, and reuse freed memory instead of faulting in fresh pages as large arrays do."""
    size = max(1, _BLOCK // max(n, 1))
    return [min(size, resamples - start) for start in range(0, resamples, size)]


def _bootstrap_counts(rng: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """How often each of n teams is drawn in each resample (resamples x n, integers): resampling with
    replacement."""
    draws = rng.integers(0, n, size=(resamples, n))
    draws += n * np.arange(resamples)[:, None]
    return np.bincount(draws.ravel(), minlength=resamples * n).reshape(resamples, n)


def _permutations(rng: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """A uniform random permutation of range(n) in each row (resamples x n): the order of random keys that carry
    each team's index in their low bits. Sorting whole rows of integers (vectorised) is faster than shuffling them
    one by one, and 32-bit keys sort faster than 64-bit ones."""
    bits = max(1, (n - 1).bit_length())
    dtype = np.uint32 if bits <= 8 else np.uint64
    index = dtype((1 << bits) - 1)
    keys = rng.integers(0, np.iinfo(dtype).max, size=(resamples, n), dtype=dtype, endpoint=True)
    keys &= ~index
    np.bitwise_or(keys, np.arange(n, dtype=dtype), out=keys)
    keys.sort(axis=1)
    # Keys whose random bits tie would be ordered by index rather than at random: such rows are drawn again (for
    # 100 teams, about one row in 7000).
    tied = ((keys[:, 1:] ^ keys[:, :-1]) <= index).any(axis=1)
    keys &= index
    if tied.any():
        keys[tied] = _permutations(rng, n, int(tied.sum()))
    return keys


def _random_subsets(rng: np.random.Generator, n: int, size: int, resamples: int) -> np.ndarray:
    """size distinct teams out of n, uniformly at random, in each row (resamples x size): the first size steps of a
    Fisher-Yates shuffle, taken in all rows at once. Cheaper than whole permutations when size is small. The teams
    are held as small integers in one flat array (a quarter of the memory to move), swapped by flat index."""
    if size * size <= n // 4:  # few of many: draw with replacement, draw rows with a repeat again
        drawn = rng.integers(0, n, (resamples, size))
        repeated = (np.diff(np.sort(drawn, axis=1), axis=1) == 0).any(axis=1)
        if repeated.any():
            drawn[repeated] = _random_subsets(rng, n, size, int(repeated.sum()))
        return drawn
    teams = np.tile(np.arange(n, dtype=np.int16 if n <= 2**15 else np.intp), resamples)
    first = np.arange(0, resamples * n, n)  # where each row starts
    for i in range(size):
        j = first + rng.integers(i, n, size=resamples)
        teams[first + i], teams[j] = teams[j], teams[first + i]
    return teams.reshape(resamples, n)[:, :size]


def _doubled_resampled_ranks(ordered: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """2 * rank - (n + 1) for each team's value within each bootstrap resample (resamples x teams, integers).

    ordered holds the teams' values in ascending order and counts (resamples x teams) how often each was drawn. A
    value's average rank is the number of drawn copies up to and including its own, minus (its copies - 1) / 2.
    """
    resamples, n = counts.shape
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))  # where each run of tied values begins
    ties = not starts.all()
    # Copies of each distinct value.
    copies = np.add.reduceat(counts, np.flatnonzero(starts), axis=1) if ties else counts
    # Running counts along each resample as one running sum of the flattened array (fast on integers), less the
    # n copies of each earlier resample.
    doubled = np.cumsum(copies.ravel()).reshape(copies.shape)
    doubled -= n * np.arange(resamples)[:, None]
    doubled *= 2
    doubled -= copies + n
    return doubled[:, np.cumsum(starts) - 1] if ties else doubled


def _interval(estimates: np.ndarray, confidence: float) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Percentile interval over the resamples (rows) whose estimates are all finite; (None, None) if none are."""
    estimates = estimates.reshape(len(estimates), -1)
    usable = estimates[np.isfinite(estimates).all(axis=1)]
    if len(usable) == 0:
        return None, None
    tail = 50 * (1 - confidence)
    low, high = np.percentile(usable, [tail, 100 - tail], axis=0)
    return low, high


def _scalar(value: np.ndarray | None) -> float | None:
    return None if value is None else float(value[0])


def _standardise(data: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit variance (constant columns become 0), so that moments computed from
    sums in each resample do not lose precision to large means."""
    centred = data - data.mean(axis=0)
    sd = centred.std(axis=0)
    scaled: np.ndarray = np.divide(
        centred, sd, out=np.zeros_like(centred), where=(sd > 0) & (np.ptp(data, axis=0) > 0)
    )
    return scaled


def _correlations(counts: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlation matrices of the columns of data (teams x columns) within each resample, where resample b holds
    counts[b, i] copies of team i, and which columns vary within it. A column constant within a resample gets
    correlation 0 with the others and 1 with itself."""
    counts = counts.astype(float)  # for a BLAS product
    size = counts.sum(axis=1)[:, None]
    columns = data.shape[1]
    mean = counts @ data / size
    products = (data[:, :, None] * data[:, None, :]).reshape(len(data), -1)
    second = (counts @ products / size).reshape(-1, columns, columns)
    cov = second - mean[:, :, None] * mean[:, None, :]
    variance = np.diagonal(cov, axis1=1, axis2=2)
    varies = variance > _CONSTANT_VARIANCE
    sd = np.sqrt(np.where(varies, variance, 1.0))
    corr = np.where(varies[:, :, None] & varies[:, None, :], cov / (sd[:, :, None] * sd[:, None, :]), 0.0)
    corr[:, np.arange(columns), np.arange(columns)] = 1.0
    return corr, varies


def _johnson(rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """Johnson's relative weights for stacked predictor correlation matrices rxx (... x p x p) and predictor-outcome
    correlations rxy (... x p). The predictors are replaced by their closest orthogonal counterparts Z; the weight
    of predictor j sums, over each Z_k, the squared loading of j on Z_k times Z_k's squared weight for y."""
    eigenvalues, vectors = np.linalg.eigh(rxx)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    kept = eigenvalues > _EIGEN_TOLERANCE * eigenvalues.max(axis=-1, keepdims=True)
    root = np.sqrt(eigenvalues)
    inverse_root = np.divide(1.0, root, out=np.zeros_like(root), where=kept)
    transposed = np.swapaxes(vectors, -1, -2)
    loadings = (vectors * root[..., None, :]) @ transposed  # the symmetric square root of rxx
    beta = vectors @ (inverse_root * (transposed @ rxy[..., None])[..., 0])[..., None]  # rxx^(-1/2) rxy
    weights: np.ndarray = (loadings**2 @ beta**2)[..., 0]
    return weights


def _weights_in_resamples(counts: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Relative weights of the predictors (all columns of data but the last) for the outcome (the last) within each
    resample; NaN where the outcome is constant. A predictor constant within a resample gets weight 0."""
    corr, varies = _correlations(counts, data)
    p = data.shape[1] - 1
    weights = _johnson(corr[:, :p, :p], corr[:, :p, p])
    weights = np.where(varies[:, :p], weights, 0.0)
    weights[~varies[:, p]] = np.nan
    return weights
