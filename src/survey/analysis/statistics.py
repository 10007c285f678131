"""The statistics of the linkage analysis (docs/measurement.md) as pure functions of numpy arrays.

Teams are the unit of analysis and NaN marks a missing value (a suppressed cell, or one not measured). All
randomness comes from the `numpy.random.Generator` passed in, so that a run can be repeated exactly. Bootstrap and
permutation resamples are drawn as arrays and evaluated together (in blocks of a few hundred), without a Python
loop over single resamples: a linkage run makes hundreds of tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.typing import ArrayLike

MIN_TEAMS = 8  # below this many teams with data: "not enough data", no numbers
RESAMPLES = 2000  # default bootstrap/permutation resamples
CONFIDENCE = 0.90  # default interval level
MAX_SHAPLEY_PREDICTORS = 12  # the exact decomposition fits 2**p regressions

# A column whose variance within a bootstrap resample falls below this (after scaling the whole sample to unit
# variance) is constant in that resample: it drew copies of a single value.
_CONSTANT_VARIANCE = 1e-10
# Eigenvalues of a correlation matrix below this fraction of the largest are taken as zero (collinear predictors),
# as a pseudo-inverse does.
_EIGEN_TOLERANCE = 1e-10
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
class ChangeTest:
    """Whether teams flagged for a drop saw their outcome fall more than the other teams."""

    n: int  # teams with finite z and finite outcome change
    flagged: tuple[int, ...]  # indices into the input arrays, among those n teams
    effect: float | None  # mean outcome change of flagged teams minus that of unflagged teams
    low: float | None  # bootstrap interval of effect
    high: float | None
    p: float | None  # one-sided permutation p for "the flagged teams' outcome fell more"

    @property
    def enough(self) -> bool:
        return self.p is not None


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
    """
    _check_resampling(resamples, confidence)
    x, y = _finite_pairs(x, y)
    n = len(x)
    if n < MIN_TEAMS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(n, None, None, None, None)
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


def robust_drop(current: ArrayLike, history: ArrayLike) -> np.ndarray:
    """Robust z-score across teams of each team's change against its own history.

    current has one value per team; history has one row per earlier round (possibly none). A team's change d is
    its current value minus the median of its finite history; NaN without history or without a current value.
    z = (d - median(d)) / (1.4826 * MAD(d)) over the finite d, so that a shift shared by the whole organisation
    cancels and only team-specific drops give large negative z. If more than half the teams changed by exactly the
    same amount (MAD 0), the scale is 1.2533 times the mean absolute deviation instead (both estimate the standard
    deviation of normal data), so that a tiny change does not get a huge z.
    """
    current = np.asarray(current, dtype=float)
    if current.ndim != 1:
        raise ValueError("current must have one value per team")
    history = np.asarray(history, dtype=float)
    if history.size == 0:
        history = np.empty((0, len(current)))
    if history.ndim != 2 or history.shape[1] != len(current):
        raise ValueError("history must have shape (rounds, teams)")
    change = current - _column_medians(history)
    z = np.full(len(current), np.nan)
    finite = np.isfinite(change)
    if not finite.any():
        return z
    centred = change[finite] - np.median(change[finite])
    scale = 1.4826 * np.median(np.abs(centred))
    if scale < _SCALE_FLOOR:
        scale = 1.2533 * np.abs(centred).mean()
    z[finite] = centred / max(scale, _SCALE_FLOOR)
    return z


def change_test(
    z: ArrayLike,
    outcome_change: ArrayLike,
    rng: np.random.Generator,
    threshold: float = -2.0,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> ChangeTest:
    """Compare the outcome change of the teams flagged by z <= threshold with that of the other teams.

    Only teams with finite z and finite outcome change take part (and only they can be flagged). effect is the
    difference of the two groups' mean changes; its percentile bootstrap interval resamples each group separately;
    p is one-sided for "the flagged teams' outcome fell more", from permutations of which teams are flagged:
    (1 + #{effect_perm <= effect}) / (1 + resamples). With fewer than MIN_TEAMS teams, or no flagged or no unflagged
    team, the numbers are None; flagged is listed all the same.
    """
    _check_resampling(resamples, confidence)
    z = np.asarray(z, dtype=float)
    change = np.asarray(outcome_change, dtype=float)
    if z.ndim != 1 or z.shape != change.shape:
        raise ValueError("z and outcome_change must be 1-d arrays of the same length")
    valid = np.isfinite(z) & np.isfinite(change)
    is_flagged = valid & (z <= threshold)
    flagged = tuple(int(i) for i in np.flatnonzero(is_flagged))
    n, k = int(valid.sum()), len(flagged)
    m = n - k
    if n < MIN_TEAMS or k == 0 or m == 0:
        return ChangeTest(n, flagged, None, None, None, None)
    hit, rest = change[is_flagged], change[valid & ~is_flagged]
    effect = hit.mean() - rest.mean()

    low, high = _interval(_resampled_effect(hit, rest, rng, resamples), confidence)

    values = np.concatenate([hit, rest])
    # Summing in another order moves the identity permutation's effect by a few ulps; it must still count.
    tolerance = 1e-9 * max(1.0, float(np.abs(values).max()))
    extreme = np.count_nonzero(_permuted_effect(values, k, rng, resamples) <= effect + tolerance)
    p = (1 + extreme) / (1 + resamples)
    return ChangeTest(n, flagged, float(effect), _scalar(low), _scalar(high), float(p))


def _resampled_effect(
    hit: np.ndarray, rest: np.ndarray, rng: np.random.Generator, resamples: int
) -> np.ndarray:
    """The difference of means of the two groups, each resampled with replacement, in each of resamples."""
    resampled_hit = hit[rng.integers(0, len(hit), (resamples, len(hit)))].mean(axis=1)
    effects: np.ndarray = resampled_hit - rest[rng.integers(0, len(rest), (resamples, len(rest)))].mean(
        axis=1
    )
    return effects


def _permuted_effect(values: np.ndarray, k: int, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """The mean of k of the values chosen at random minus the mean of the others, in each of resamples."""
    n, total = len(values), values.sum()
    # Draw the smaller of the two groups; the other group is the remaining teams.
    drawn = values[_random_subsets(rng, n, min(k, n - k), resamples)].sum(axis=1)
    chosen = drawn if k <= n - k else total - drawn
    effects: np.ndarray = chosen / k - (total - chosen) / (n - k)
    return effects


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


def ols_slope(x: ArrayLike, y: ArrayLike) -> float | None:
    """Least-squares slope of y on x over the finite pairs; None with fewer than 3 pairs or x constant."""
    x, y = _finite_pairs(x, y)
    if len(x) < 3 or np.ptp(x) == 0:
        return None
    dx = x - x.mean()
    return float(dx @ (y - y.mean()) / (dx @ dx))


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
