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

from survey.analysis import statistics
from survey.analysis.statistics import (
    MIN_TEAMS,
    _bootstrap_counts,
    _doubled_resampled_ranks,
    _permutations,
    benjamini_hochberg,
    cronbach_alpha,
    relative_weights,
    shapley_r2,
    shift_test,
    spearman_test,
    sustained_shifts,
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
        shift_test(np.vstack([x, y]), np.full(20, -1), np.ones(20, bool), rng(), confidence=1.0)
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


# --- sustained_shifts ------------------------------------------------------------------------------------------


def history(seed: int, rounds: int = 6, teams: int = 60, noise: float = 0.25) -> np.ndarray:
    """Teams' scores over rounds: a stable level per team, noise each round, and a shift every team shares."""
    g = rng(seed)
    return g.normal(5, 0.4, teams) + g.normal(0, noise, (rounds, teams)) + np.arange(rounds)[:, None] * 0.3


def test_sustained_shifts_find_staggered_drops_and_their_start():
    scores = history(1)
    scores[2:, 3] -= 2.0  # from the third round on
    scores[4:, 7] -= 2.0  # from the fifth
    scores[5:, 9] -= 2.0  # in the latest round only
    found = sustained_shifts(scores)
    assert {i: int(found.start[i]) for i in np.flatnonzero(found.start >= 0)} == {3: 2, 7: 4, 9: 5}
    assert found.noise == pytest.approx(0.25, rel=0.3)


def test_a_team_whose_scores_came_back_has_no_shift():
    scores = history(2)
    scores[1:4, 5] -= 1.5  # down for three rounds, back in the last two
    scores[1:5, 6] -= 1.5  # down for four rounds, back in the latest
    assert sustained_shifts(scores).start[[5, 6]].tolist() == [-1, -1]
    assert sustained_shifts(scores[:4]).start[[5, 6]].tolist() == [1, 1]  # while it lasted


def test_sustained_shifts_ignore_a_shift_of_the_whole_organisation_and_missing_values():
    scores = history(3)
    scores[3:] -= 1.0  # every team: a new questionnaire, say
    scores[0, :10] = np.nan
    scores[5, 11] = np.nan  # not shown this round: cannot be said to be down now
    scores[3:, 11] -= 1.5
    found = sustained_shifts(scores)
    assert not (found.start >= 0).any()


def test_sustained_shifts_rarely_flag_noise():
    flagged = [(sustained_shifts(history(seed)).start >= 0).mean() for seed in range(50)]
    assert np.mean(flagged) < 0.01


# --- shift_test ------------------------------------------------------------------------------------------------


def staggered_outcome(seed: int, teams: int = 60, drop: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Customers' outcome over six rounds, and a shift start for 12 teams (rounds 2 to 4); their customers drop
    by `drop` from the round after."""
    g = rng(seed)
    outcome = g.normal(70, 8, teams) + g.normal(0, 5, (6, teams))
    start = np.full(teams, -1)
    start[:12] = 2 + np.arange(12) % 3
    for team in range(12):
        outcome[start[team] + 1 :, team] -= drop
    return outcome, start


def test_shift_test_measures_the_customers_shift_against_the_other_teams():
    outcome, start = staggered_outcome(1, drop=10.0)
    result = shift_test(outcome, start, np.ones(60, bool), rng())
    assert result.shifted == tuple(range(12)) and result.n == 60
    assert -14 < result.low < result.effect < result.high < -6
    assert result.p < 0.001
    assert abs(result.same_round) < 5  # the customers fell the round after, not at once


def test_shift_test_effect_by_hand():
    outcome, start = staggered_outcome(2, teams=20, drop=6.0)
    result = shift_test(outcome, start, np.ones(20, bool), rng(), resamples=200)
    centred = outcome - np.median(outcome, axis=1)[:, None]

    def shift(s: int, team: int) -> float:
        return centred[s + 1 :, team].mean() - centred[:s, team].mean()

    by_hand = [shift(start[t], t) - np.mean([shift(start[t], u) for u in range(12, 20)]) for t in range(12)]
    assert result.team_effect == pytest.approx(by_hand)
    assert result.effect == pytest.approx(np.mean(by_hand))


def test_shift_test_p_is_roughly_uniform_without_effect():
    ps = np.array(
        [
            shift_test(*staggered_outcome(seed), np.ones(60, bool), rng(seed), resamples=400).p
            for seed in range(150)
        ]
    )
    assert 0.02 <= np.mean(ps < 0.05) <= 0.09
    assert 0.35 <= np.mean(ps < 0.5) <= 0.65


def test_shift_test_normal_approximation_agrees_with_the_permutations(monkeypatch):
    outcome, start = staggered_outcome(5, teams=90, drop=3.0)
    exact = shift_test(outcome, start, np.ones(90, bool), rng(), resamples=20_000)
    monkeypatch.setattr(statistics, "LARGE_SAMPLE", 50)
    monkeypatch.setattr(statistics, "LARGE_GROUP", 10)
    approximate = shift_test(outcome, start, np.ones(90, bool), rng())
    assert approximate.effect == exact.effect
    assert 0.005 < exact.p < 0.3
    assert approximate.p == pytest.approx(exact.p, rel=0.3)
    assert approximate.low == pytest.approx(exact.low, abs=1.0)
    assert approximate.high == pytest.approx(exact.high, abs=1.0)


def test_a_few_shifted_teams_among_many_are_tested_by_permutations(monkeypatch):
    g = rng(9)
    outcome = g.normal(70, 8, 400) + g.exponential(6, (6, 400))  # skewed: a mean of four is far from normal
    start = np.full(400, -1)
    start[:4] = 3
    outcome[4:, :4] -= 6
    few = shift_test(outcome, start, np.ones(400, bool), rng(), resamples=20_000)
    monkeypatch.setattr(statistics, "LARGE_SAMPLE", 10**6)  # permutations and bootstrap throughout
    permuted = shift_test(outcome, start, np.ones(400, bool), rng(1), resamples=20_000)
    assert few.effect == permuted.effect
    assert 0.001 < permuted.p < 0.3
    assert monte_carlo_close(few.p, 20_000, permuted.p, 20_000)


def test_one_or_two_shifted_teams_are_not_enough():
    outcome, start = staggered_outcome(8, drop=20.0)
    start[2:] = -1
    assert not shift_test(outcome, start, np.ones(60, bool), rng()).enough


def test_shift_test_leaves_out_teams_without_the_numbers_and_needs_min_teams():
    outcome, start = staggered_outcome(6, teams=20)
    outcome[3:, 15] = np.nan  # no customers after round 3: cannot be compared at the later starts
    compared = np.ones(20, bool)
    compared[16] = False
    result = shift_test(outcome, start, compared, rng(), resamples=200)
    assert result.n == 18
    assert not shift_test(outcome[:, :7], start[:7], compared[:7], rng()).enough
    nobody = shift_test(outcome, np.full(20, -1), compared, rng())
    assert nobody.shifted == () and not nobody.enough


def test_shift_test_is_reproducible_from_the_seed():
    outcome, start = staggered_outcome(7, drop=4.0)
    assert shift_test(outcome, start, np.ones(60, bool), rng(3)) == shift_test(
        outcome, start, np.ones(60, bool), rng(3)
    )


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


# --- cronbach_alpha, variance_from_sums -------------------------------------------------------------


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
