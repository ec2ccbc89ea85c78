"""Every interval Agora reports, on inputs whose answer is known."""

import numpy as np
import pytest

from agora.sim.stats import paired_bootstrap, percentile_ci, t_interval, wilson


@pytest.mark.parametrize("k, n, low, high", [
    # (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.96: the values tables and calculators give
    (0, 10, 0.0, 0.2775),
    (5, 10, 0.2366, 0.7634),
    (10, 10, 0.7225, 1.0),
    (3, 4, 0.3006, 0.9544),
])
def test_wilson_matches_published_values(k, n, low, high):
    assert wilson(k, n) == pytest.approx((low, high), abs=1e-4)


def test_wilson_narrows_with_lower_confidence_and_refuses_no_trials():
    low90, high90 = wilson(5, 10, confidence=0.9)
    assert 0.2366 < low90 < 0.5 < high90 < 0.7634
    with pytest.raises(ValueError):
        wilson(0, 0)


def test_t_interval_by_hand():
    # mean 2.5, s = sqrt(5/3), sem = s / 2, t(0.975, 3 df) = 3.182446: half-width 2.054260
    assert t_interval([1, 2, 3, 4]) == pytest.approx((2.5, 0.445740, 4.554260), abs=1e-6)
    assert t_interval([0.2, 0.2, 0.2]) == pytest.approx((0.2, 0.2, 0.2))  # no spread, no width


def test_t_interval_of_one_value_has_no_bounds_and_of_none_is_an_error():
    mean, low, high = t_interval([0.3])
    assert mean == 0.3 and np.isnan(low) and np.isnan(high)
    with pytest.raises(ValueError, match="no values"):
        t_interval([])


def test_percentile_ci_on_known_replicates():
    replicates = np.arange(101.0)  # linear interpolation: the q-th percentile of 0..100 is q
    assert percentile_ci(replicates) == (2.5, 97.5)
    assert percentile_ci(replicates, confidence=0.9) == pytest.approx((5.0, 95.0))
    with pytest.raises(ValueError, match="no replicates"):
        percentile_ci(np.array([]))


def mean(resampled):
    return resampled.mean(1)


def test_paired_bootstrap_is_seeded_and_continues_a_generator():
    x = np.arange(20.0)
    first = paired_bootstrap((x,), mean, 500, 3)
    assert first.shape == (500,) and np.array_equal(first, paired_bootstrap((x,), mean, 500, 3))
    assert not np.array_equal(first, paired_bootstrap((x,), mean, 500, 4))
    rng = np.random.default_rng(3)
    assert np.array_equal(first, paired_bootstrap((x,), mean, 500, rng))
    assert not np.array_equal(first, paired_bootstrap((x,), mean, 500, rng))  # the caller's generator moved on


def test_paired_bootstrap_resamples_every_column_with_the_same_draw():
    won, cast = np.array([1.0, 5.0, 9.0]), np.array([2.0, 10.0, 18.0])  # every unit at exactly one half
    ratios, diffs = paired_bootstrap((won, cast, won), lambda w, c, w2: (w.sum(1) / c.sum(1), (w - w2).sum(1)), 200, 0)
    assert np.all(ratios == 0.5) and np.all(diffs == 0)


def test_paired_bootstrap_ci_covers_the_true_mean_about_95_times_in_100():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(200):
        sample = rng.binomial(1, 0.3, 100).astype(float)
        low, high = percentile_ci(paired_bootstrap((sample,), mean, 1000, rng))
        covered += low <= 0.3 <= high
    assert 0.90 <= covered / 200 <= 0.99


def test_paired_bootstrap_refuses_no_units_and_unpaired_columns():
    with pytest.raises(ValueError, match="no units"):
        paired_bootstrap((np.array([]),), mean)
    with pytest.raises(ValueError, match="same units"):
        paired_bootstrap((np.ones(3), np.ones(4)), lambda a, b: a.sum(1))
