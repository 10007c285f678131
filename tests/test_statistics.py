"""The statistics of the linkage analysis, checked against scipy and statsmodels, against brute force, and for the
behaviour promised on missing, constant and too little data."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests

from survey.analysis.statistics import (
    MIN_TEAMS,
    _bootstrap_counts,
    _doubled_resampled_ranks,
    _permutations,
    benjamini_hochberg,
    change_test,
    cronbach_alpha,
    ols_slope,
    relative_weights,
    robust_drop,
    shapley_r2,
    spearman_test,
    variance_from_sums,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def correlated(generator: np.random.Generator, n: int, r: float) -> tuple[np.ndarray, np.ndarray]:
    x = generator.normal(size=n)
    return x, r * x + math.sqrt(1 - r * r) * generator.normal(size=n)


def monte_carlo_close(p1: float, n1: int, p2: float, n2: int) -> bool:
    """Two Monte Carlo estimates of the same p-value agree within four standard errors."""
    p = (p1 + p2) / 2
    return abs(p1 - p2) <= 4 * math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2)) + 1e-9


# --- spearman_test ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_spearman_rho_equals_scipy_with_ties_and_missing_values(seed):
    g = rng(seed)
    x = g.integers(1, 6, 40).astype(float)  # a five-point scale: many ties
    y = np.round(x + g.normal(0, 1.5, 40))
    x[g.choice(40, 5, replace=False)] = np.nan
    y[g.choice(40, 5, replace=False)] = np.nan
    both = np.isfinite(x) & np.isfinite(y)
    result = spearman_test(x, y, rng())
    assert result.n == both.sum()
    assert result.rho == pytest.approx(stats.spearmanr(x[both], y[both]).statistic, abs=1e-12)


@pytest.mark.parametrize("tied", [False, True])
def test_resampled_ranks_are_the_ranks_within_each_resample(tied):
    g = rng(3)
    values = np.sort(np.round(g.normal(size=30)) if tied else g.normal(size=30))
    counts = _bootstrap_counts(rng(4), 30, 50)
    doubled = _doubled_resampled_ranks(values, counts)
    for b in range(50):
        drawn = np.repeat(np.arange(30), counts[b])
        assert len(drawn) == 30
        np.testing.assert_array_equal(doubled[b, drawn], 2 * stats.rankdata(values[drawn]) - 31)


def test_permutations_are_uniform():
    permutations = _permutations(rng(), 4, 24_000)
    assert (np.sort(permutations, axis=1) == np.arange(4)).all()
    codes = permutations @ [64, 16, 4, 1]
    seen = np.unique(codes, return_counts=True)[1]
    assert len(seen) == 24
    assert stats.chisquare(seen).pvalue > 0.001
    # 256 teams leave 24 random bits per key: about 10 of the rows tie and are drawn again.
    permutations = _permutations(rng(1), 256, 5000)
    assert (np.sort(permutations, axis=1) == np.arange(256)).all()
    assert stats.chisquare(np.bincount(permutations[:, 0], minlength=256)).pvalue > 0.001


def test_spearman_interval_contains_rho_and_narrows_with_more_teams():
    widths = []
    for n in (20, 80, 320):
        x, y = correlated(rng(n), n, 0.5)
        result = spearman_test(x, y, rng())
        assert result.low < result.rho < result.high
        widths.append(result.high - result.low)
    assert widths[0] > widths[1] > widths[2]


def test_spearman_with_many_teams():
    x, y = correlated(rng(11), 3000, 0.2)  # doubled ranks up to 3000: their sums of squares must not overflow
    result = spearman_test(x, y, rng(), resamples=50)
    assert result.rho == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert result.low < result.rho < result.high < result.rho + 0.1


def test_spearman_p_is_small_for_a_strong_correlation():
    x, y = correlated(rng(1), 60, 0.7)
    result = spearman_test(x, y, rng())
    assert result.enough and result.p < 0.01


def test_spearman_p_is_roughly_uniform_without_correlation():
    ps = np.array(
        [
            spearman_test(*correlated(rng(seed), 30, 0.0), rng(10_000 + seed), resamples=500).p
            for seed in range(200)
        ]
    )
    assert 0.02 <= np.mean(ps < 0.05) <= 0.09
    assert 0.35 <= np.mean(ps < 0.5) <= 0.65


def test_spearman_p_agrees_with_scipy_permutation_test():
    g = rng(3)
    x = g.integers(1, 8, 25).astype(float)  # ties on both sides
    y = np.round(0.15 * x + g.normal(size=25))
    ours = spearman_test(x, y, rng(), resamples=20_000)
    rx, ry = stats.rankdata(x), stats.rankdata(y)

    def absolute_rho(ranks, axis):
        return np.abs(stats.pearsonr(ranks, np.broadcast_to(ry, ranks.shape), axis=axis).statistic)

    theirs = stats.permutation_test(
        (rx,), absolute_rho, permutation_type="pairings", alternative="greater", vectorized=True,
        n_resamples=20_000, rng=rng(1),
    )  # fmt: skip
    assert 0.02 < ours.p < 0.5  # a p-value where Monte Carlo error shows
    assert monte_carlo_close(ours.p, 20_000, theirs.pvalue, 20_000)


def test_spearman_is_reproducible_from_the_seed():
    x, y = correlated(rng(2), 40, 0.3)
    assert spearman_test(x, y, rng(5)) == spearman_test(x, y, rng(5))
    assert spearman_test(x, y, rng(5)).low != spearman_test(x, y, rng(6)).low


def test_spearman_needs_min_teams():
    x, y = correlated(rng(), MIN_TEAMS, 0.5)
    assert spearman_test(x, y, rng()).enough
    x[0] = np.nan
    result = spearman_test(x, y, rng())
    assert result.n == MIN_TEAMS - 1
    assert not result.enough
    assert (result.rho, result.low, result.high, result.p) == (None, None, None, None)


@pytest.mark.parametrize(
    "x, y",
    [
        ([3.0] * 12, list(range(12))),
        (list(range(12)), [1.0] * 10 + [np.nan] * 2),  # constant over the ten pairs
        ([np.nan] * 12, list(range(12))),
    ],
)
def test_spearman_with_a_constant_side_is_not_enough_and_quiet(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = spearman_test(np.array(x), np.array(y, dtype=float), rng())
    assert not result.enough and result.rho is None and result.p is None


def test_spearman_ignores_constant_bootstrap_resamples_quietly():
    # Two distinct x values, one of them held by a single team: some resamples hold only the other value.
    x = np.array([1.0] * 8 + [2.0])
    y = np.arange(9.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = spearman_test(x, y, rng())
    assert result.enough and result.low is not None and math.isfinite(result.low)


def test_resampling_arguments_are_checked():
    x, y = correlated(rng(), 20, 0.5)
    with pytest.raises(ValueError):
        spearman_test(x, y, rng(), resamples=0)
    with pytest.raises(ValueError):
        change_test(x, y, rng(), confidence=1.0)
    with pytest.raises(ValueError):
        relative_weights(np.empty((20, 0)), y, rng())


# --- benjamini_hochberg ----------------------------------------------------------------------------------------

p_values = st.one_of(st.floats(0, 1), st.just(0.0), st.just(1.0), st.just(float("nan")))


@settings(max_examples=200, deadline=None)
@given(st.lists(p_values, max_size=40))
def test_benjamini_hochberg_equals_statsmodels(ps):
    p = np.array(ps, dtype=float)
    q = benjamini_hochberg(p)
    tested = ~np.isnan(p)
    assert q.shape == p.shape
    assert np.isnan(q[~tested]).all()
    if tested.any():
        expected = multipletests(p[tested], method="fdr_bh")[1]
        np.testing.assert_array_equal(q[tested], expected)


def test_benjamini_hochberg_edge_cases():
    assert benjamini_hochberg([]).shape == (0,)
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.04, 0.03, 0.5]), [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    with pytest.raises(ValueError):
        benjamini_hochberg([0.5, 1.5])


# --- robust_drop -----------------------------------------------------------------------------------------------


def team_history(seed: int, teams: int = 40, rounds: int = 4) -> tuple[np.ndarray, np.ndarray]:
    g = rng(seed)
    level = g.normal(3.5, 0.5, teams)  # stable differences between teams
    history = level + g.normal(0, 0.1, (rounds, teams))
    return level + g.normal(0, 0.1, teams), history


def test_robust_drop_finds_a_team_specific_drop():
    current, history = team_history(1)
    current[7] -= 0.6
    z = robust_drop(current, history)
    assert z[7] <= -3
    assert np.delete(z, 7).min() > -3


def test_robust_drop_ignores_an_organisation_wide_shift():
    current, history = team_history(2)
    z = robust_drop(current, history)
    shifted = robust_drop(current - 0.8, history)
    np.testing.assert_allclose(shifted, z, atol=1e-9)
    assert np.abs(shifted).max() < 3


def test_robust_drop_missing_values():
    current, history = team_history(3, teams=10, rounds=3)
    current[0] = np.nan  # no current value
    history[:, 1] = np.nan  # no history
    history[:2, 2] = np.nan  # one earlier round is enough
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = robust_drop(current, history)
        assert np.isnan(robust_drop(current, np.empty((0, 10)))).all()
        assert np.isnan(robust_drop(current, np.full((3, 10), np.nan))).all()
    assert np.isnan(z[:2]).all() and np.isfinite(z[2:]).all()
    # The baseline is the median of the finite history.
    d = current[2:] - np.nanmedian(history[:, 2:], axis=0)
    mad = np.median(np.abs(d - np.median(d)))
    np.testing.assert_allclose(z[2:], (d - np.median(d)) / (1.4826 * mad))


def test_robust_drop_when_most_teams_changed_alike():
    history = np.zeros((2, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (robust_drop(np.zeros(10), history) == 0).all()
        current = np.zeros(10)
        current[3] = -1.0  # MAD 0: the scale falls back to the mean absolute deviation
        z = robust_drop(current, history)
    assert z[3] == pytest.approx(-1 / (1.2533 * 0.1)) and (np.delete(z, 3) == 0).all()


# --- change_test -----------------------------------------------------------------------------------------------


def planted_change(seed: int, teams: int = 60, drop: float = 0.0):
    g = rng(seed)
    z = np.maximum(g.normal(size=teams), -1.9)
    planted = [3, 7, 10]
    z[planted] = [-3.5, -2.0, -4.1]
    change = g.normal(size=teams)
    change[planted] -= drop
    return z, change, planted


def test_change_test_finds_a_planted_effect():
    z, change, planted = planted_change(1, drop=2.0)
    result = change_test(z, change, rng())
    assert result.flagged == tuple(planted)
    assert result.n == 60 and result.enough
    assert result.effect == pytest.approx(change[planted].mean() - np.delete(change, planted).mean())
    assert result.low < result.effect < result.high < 0
    assert result.p < 0.01


def test_change_test_p_is_roughly_uniform_without_effect():
    ps = np.array(
        [change_test(*planted_change(seed)[:2], rng(10_000 + seed), resamples=500).p for seed in range(200)]
    )
    assert 0.02 <= np.mean(ps < 0.05) <= 0.09
    assert 0.35 <= np.mean(ps < 0.5) <= 0.65


def test_change_test_p_agrees_with_scipy_permutation_test():
    z, change, planted = planted_change(4, teams=30, drop=0.8)
    ours = change_test(z, change, rng(), resamples=20_000)
    theirs = stats.permutation_test(
        (change[planted], np.delete(change, planted)),
        lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
        permutation_type="independent", alternative="less", vectorized=True, n_resamples=20_000, rng=rng(1),
    )  # fmt: skip
    assert ours.effect == pytest.approx(theirs.statistic)
    assert 0.02 < ours.p < 0.5
    assert monte_carlo_close(ours.p, 20_000, theirs.pvalue, 20_000)


def test_change_test_with_more_flagged_than_unflagged_teams():
    g = rng(5)
    z = np.full(12, -3.0)
    z[[2, 9]] = 0.0
    change = g.normal(size=12)
    ours = change_test(z, change, rng(), resamples=20_000)
    flagged = np.delete(np.arange(12), [2, 9])
    assert ours.flagged == tuple(flagged)
    theirs = stats.permutation_test(
        (change[flagged], change[[2, 9]]),
        lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
        permutation_type="independent", alternative="less", vectorized=True, n_resamples=20_000, rng=rng(1),
    )  # fmt: skip
    assert monte_carlo_close(ours.p, 20_000, theirs.pvalue, 20_000)


def test_change_test_missing_values_and_not_enough_data():
    z, change, _ = planted_change(2, teams=12, drop=1.0)
    change[5] = np.nan
    z[0] = np.nan
    result = change_test(z, change, rng())
    assert result.n == 10 and result.flagged == (3, 7, 10)
    few = change_test(z[:7], change[:7], rng())
    assert few.flagged == (3,) and not few.enough and few.p is None and few.effect is None
    nobody = change_test(np.zeros(20), np.arange(20.0), rng())
    assert nobody.flagged == () and not nobody.enough and nobody.low is None
    everybody = change_test(np.full(20, -5.0), np.arange(20.0), rng())
    assert len(everybody.flagged) == 20 and not everybody.enough


def test_change_test_is_reproducible_from_the_seed():
    z, change, _ = planted_change(3, drop=0.5)
    assert change_test(z, change, rng(9)) == change_test(z, change, rng(9))


# --- relative_weights and shapley_r2 ---------------------------------------------------------------------------


def drivers(seed: int, n: int = 80, predictors: int = 4, shared: float = 0.6):
    """Predictors that share a common factor (moderately correlated), and an outcome driven by some of them."""
    g = rng(seed)
    common = g.normal(size=(n, 1))
    X = shared * common + math.sqrt(1 - shared**2) * g.normal(size=(n, predictors))
    y = X @ np.linspace(0.6, 0.0, predictors) + g.normal(size=n)
    return X, y


def ols_r2(X, y) -> float:
    return sm.OLS(y, sm.add_constant(X, has_constant="add")).fit().rsquared


@pytest.mark.parametrize("seed", range(3))
def test_relative_weights_sum_to_r2_and_approximate_shapley(seed):
    X, y = drivers(seed)
    result = relative_weights(X, y, rng())
    r2 = ols_r2(X, y)
    assert result.enough and result.n == 80
    assert result.r2 == pytest.approx(r2, abs=1e-10)
    assert sum(result.weights) == pytest.approx(r2, abs=1e-10)
    assert min(result.weights) >= 0
    np.testing.assert_allclose(result.weights, shapley_r2(X, y), atol=0.02)
    assert all(low <= w <= high for low, w, high in zip(result.low, result.weights, result.high, strict=True))


def test_relative_weights_of_orthogonal_predictors_are_squared_correlations():
    g = rng(1)
    centred = g.normal(size=(50, 3))
    centred -= centred.mean(axis=0)
    scale, mean = np.array([1.0, 5.0, 0.2]), np.array([1.0, -2.0, 7.0])
    X = np.linalg.qr(centred)[0] * scale + mean  # orthogonal centred columns, then any scale and mean
    y = X @ [1.0, 0.1, 3.0] + g.normal(size=50)
    result = relative_weights(X, y, rng())
    squared = [stats.pearsonr(column, y).statistic ** 2 for column in X.T]
    np.testing.assert_allclose(result.weights, squared, atol=1e-12)


def test_relative_weights_constant_column_gets_zero():
    X, y = drivers(2, predictors=3)
    X = np.column_stack([X[:, :1], np.full(80, 4.0), X[:, 1:]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = relative_weights(X, y, rng())
        shares = shapley_r2(X, y)
    assert result.weights[1] == 0 and result.low[1] == 0 and result.high[1] == 0
    assert sum(result.weights) == pytest.approx(ols_r2(np.delete(X, 1, axis=1), y), abs=1e-10)
    assert shares[1] == pytest.approx(0, abs=1e-12)


def test_relative_weights_split_a_duplicated_predictor_evenly():
    X, y = drivers(8, predictors=2)
    duplicated = np.column_stack([X[:, 0], X, 3 * X[:, 0] + 1])  # perfectly collinear columns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = relative_weights(duplicated, y, rng())
        shares = shapley_r2(duplicated, y)
    assert result.r2 == pytest.approx(ols_r2(X, y), abs=1e-10)
    assert result.weights[0] == pytest.approx(result.weights[1], abs=1e-10)
    assert result.weights[0] == pytest.approx(result.weights[3], abs=1e-10)
    assert shares.sum() == pytest.approx(ols_r2(X, y), abs=1e-10)
    assert shares[0] == pytest.approx(shares[3], abs=1e-10)


def test_relative_weights_survive_a_predictor_constant_in_some_resamples():
    X, y = drivers(3, n=30, predictors=2)
    rare = np.zeros(30)
    rare[0] = 1.0  # one team only: missing from about a third of the resamples
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = relative_weights(np.column_stack([X, rare]), y, rng())
    assert result.enough and result.low[2] == 0 and np.isfinite(result.high).all()


def test_relative_weights_missing_values_and_not_enough_data():
    X, y = drivers(4, n=20, predictors=3)
    X[0, 1] = np.nan
    y[5] = np.nan
    result = relative_weights(X, y, rng())
    assert result.n == 18
    assert result.r2 == pytest.approx(ols_r2(np.delete(X, [0, 5], axis=0), np.delete(y, [0, 5])), abs=1e-10)
    X, y = drivers(4, n=12, predictors=11)
    small = relative_weights(X, y, rng())
    assert small.n == 12 and not small.enough and small.weights is None and small.r2 is None
    flat = relative_weights(X[:, :2], np.ones(12), rng())
    assert not flat.enough


def test_relative_weights_are_reproducible_from_the_seed():
    X, y = drivers(5)
    assert relative_weights(X, y, rng(3)) == relative_weights(X, y, rng(3))


def test_shapley_r2_by_hand_on_three_predictors():
    X, y = drivers(6, predictors=3)
    r2 = {
        s: ols_r2(X[:, list(s)], y) if s else 0.0
        for k in range(4)
        for s in itertools.combinations(range(3), k)
    }
    expected = []
    for j in range(3):
        others = [i for i in range(3) if i != j]
        value = r2[(j,)] / 3 + r2[(0, 1, 2)] / 3 - r2[tuple(others)] / 3
        for other in others:
            value += (r2[tuple(sorted((j, other)))] - r2[(other,)]) / 6
        expected.append(value)
    shares = shapley_r2(X, y)
    np.testing.assert_allclose(shares, expected, atol=1e-10)
    assert shares.sum() == pytest.approx(r2[(0, 1, 2)], abs=1e-10)


def test_shapley_r2_limits():
    X, y = drivers(7, n=40, predictors=13)
    with pytest.raises(ValueError):
        shapley_r2(X, y)
    assert shapley_r2(X[:, :12], y).sum() == pytest.approx(ols_r2(X[:, :12], y), abs=1e-10)


# --- ols_slope, cronbach_alpha, variance_from_sums -------------------------------------------------------------


def test_ols_slope_equals_linregress():
    g = rng(8)
    x, y = g.normal(size=30), g.normal(size=30)
    y[4] = np.nan
    x[9] = np.inf
    both = np.isfinite(x) & np.isfinite(y)
    assert ols_slope(x, y) == pytest.approx(stats.linregress(x[both], y[both]).slope, abs=1e-12)
    assert ols_slope([1.0, 2.0, np.nan], [1.0, 2.0, 3.0]) is None
    assert ols_slope([0.1, 0.1, 0.1], [1.0, 2.0, 3.0]) is None


def alpha_of_items(items: np.ndarray) -> float | None:
    """Alpha as the caller gets it: item variances and the variance of each respondent's sum, from sums."""
    n = len(items)
    item_variances = [variance_from_sums(n, column.sum(), (column**2).sum()) for column in items.T]
    totals = items.sum(axis=1)
    return cronbach_alpha(item_variances, variance_from_sums(n, totals.sum(), (totals**2).sum()))


def test_cronbach_alpha_from_sums_matches_the_item_matrix():
    g = rng(9)
    items = np.clip(np.round(3 + g.normal(size=(50, 1)) + g.normal(size=(50, 5))), 1, 5)
    k = items.shape[1]
    direct = k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(axis=1).var(ddof=1))
    assert alpha_of_items(items) == pytest.approx(direct, abs=1e-12)


def test_cronbach_alpha_textbook_values():
    # Standardised items: alpha = k r / (1 + (k - 1) r) with mean inter-item correlation r (Spearman-Brown);
    # ten items with r = 0.3 give 0.81.
    k, r = 10, 0.3
    assert cronbach_alpha([1.0] * k, k + k * (k - 1) * r) == pytest.approx(k * r / (1 + (k - 1) * r))
    assert cronbach_alpha([1.0] * k, k + k * (k - 1) * r) == pytest.approx(0.8108, abs=1e-4)
    # Perfectly correlated items measure the same thing.
    base = np.array([1.0, 2.0, 2.0, 4.0, 5.0, 3.0])
    assert alpha_of_items(np.column_stack([base, base, base + 1])) == pytest.approx(1.0)


def test_cronbach_alpha_and_variance_edge_cases():
    assert cronbach_alpha([1.0], 1.0) is None
    assert cronbach_alpha([1.0, 1.0], 0.0) is None
    assert cronbach_alpha([1.0, None], 3.0) is None
    assert variance_from_sums(1, 3.0, 9.0) is None
    equal = [0.7] * 5  # their sums round so that the formula gives about -1e-16
    assert variance_from_sums(5, sum(equal), sum(v * v for v in equal)) == 0.0
    values = rng(10).normal(size=20)
    assert variance_from_sums(20, values.sum(), (values**2).sum()) == pytest.approx(values.var(ddof=1))
