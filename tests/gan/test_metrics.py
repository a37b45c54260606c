"""Metrics on distributions and point sets whose answers are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg

from genlab.gan.metrics import (
    FEATURE_METRICS,
    coverage_of_modes,
    density_coverage,
    fid,
    frechet_distance,
    gaussian_stats,
    kid,
    knn_radii,
    mmd2_unbiased,
    precision_recall,
    reverse_kl_to_uniform,
)


def _on_line(*xs: float) -> np.ndarray:
    """Points (x, 0) in the plane."""
    return np.array([[x, 0.0] for x in xs])


def _ring8() -> np.ndarray:
    angles = 2 * np.pi * np.arange(8) / 8
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def test_fid_of_a_set_with_itself_is_zero() -> None:
    x = np.random.default_rng(0).normal(size=(300, 16)) @ np.random.default_rng(1).normal(
        size=(16, 16))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_diagonal_closed_form() -> None:
    # ‖Δμ‖² = 1+4+9 = 14; Σ(√a − √b)² = (1−2)² + (2−1)² + (3−4)² = 3
    value = frechet_distance([1, 2, 3], np.diag([1.0, 4, 9]), [0, 0, 0], np.diag([4.0, 1, 16]))
    assert value == pytest.approx(17.0, abs=1e-12)


def test_frechet_distance_general_covariances_matches_sqrtm_formula() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    c1, c2 = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    m1, m2 = rng.normal(size=4), rng.normal(size=4)
    expected = ((m1 - m2) ** 2).sum() + np.trace(c1 + c2 - 2 * scipy.linalg.sqrtm(c1 @ c2).real)
    assert frechet_distance(m1, c1, m2, c2) == pytest.approx(expected, rel=1e-9)


def test_fid_of_gaussian_samples_approaches_the_closed_form() -> None:
    rng = np.random.default_rng(3)
    c1 = np.array([[2.0, 0.5], [0.5, 1.0]])
    c2 = np.array([[1.0, -0.3], [-0.3, 0.5]])
    m1, m2 = np.array([0.0, 1.0]), np.array([1.5, -0.5])
    x = rng.multivariate_normal(m1, c1, size=200_000)
    y = rng.multivariate_normal(m2, c2, size=200_000)
    assert fid(x, y) == pytest.approx(frechet_distance(m1, c1, m2, c2), rel=0.01)


def test_gaussian_stats_are_mean_and_unbiased_covariance() -> None:
    x = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    mean, cov = gaussian_stats(x)
    np.testing.assert_allclose(mean, [2.0, 2.0])
    np.testing.assert_allclose(cov, [[4.0, 3.0], [3.0, 3.0]])


def test_bad_feature_arrays_are_rejected_with_a_reason() -> None:
    with pytest.raises(ValueError, match="feature dimensions differ"):
        fid(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="NaN"):
        fid(np.full((5, 3), np.nan), np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"2-D array"):
        kid(np.zeros(5), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


def test_mmd2_unbiased_matches_the_direct_double_sum() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(5, 3)), rng.normal(loc=0.5, size=(7, 3))

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (float(a @ b) / 3 + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    yy = sum(k(y[i], y[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    xy = sum(k(x[i], y[j]) for i in range(5) for j in range(7)) / (5 * 7)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)
    # one subset covering both (equal-sized) sets is the same estimate
    assert kid(x, y[:5], subset_size=5, num_subsets=1)[0] == pytest.approx(
        mmd2_unbiased(x, y[:5]), rel=1e-12)


def test_kid_is_near_zero_for_one_distribution_and_not_for_two() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    same, same_std = kid(x, y, subset_size=400, num_subsets=10)
    shifted, _ = kid(x, y + 0.5, subset_size=400, num_subsets=10)
    assert abs(same) < 3 * same_std + 1e-3
    assert shifted > 50 * abs(same)


def test_knn_radii_exclude_the_point_itself() -> None:
    np.testing.assert_allclose(knn_radii(_on_line(0, 1, 3, 7), k=1), [1, 1, 2, 4])
    np.testing.assert_allclose(knn_radii(_on_line(0, 1, 3, 7), k=2), [3, 2, 3, 6])


def test_precision_recall_on_points_on_a_line() -> None:
    real = _on_line(*range(10))  # every real 1-NN radius is 1
    fake = _on_line(0.5, 3.2, 20, 30)  # 1-NN radii 2.7, 2.7, 10, 10
    precision, recall = precision_recall(real, fake, k=1)
    assert precision == 0.5  # 0.5 and 3.2 lie in real balls; 20 and 30 do not
    assert recall == 0.6  # reals 0..3 lie in B(0.5, 2.7), 1..5 in B(3.2, 2.7): six of ten
    assert precision_recall(real, real, k=1) == (1.0, 1.0)


def test_density_coverage_on_points_on_a_line() -> None:
    real = _on_line(*range(10))  # 2-NN radii: 2 at the ends (0 and 9), 1 inside
    fake = _on_line(4.5, 0.1, 100)  # 4.5 lies in the balls of 4 and 5; 0.1 in those of 0 and 1
    density, coverage = density_coverage(real, fake, k=2)
    assert density == pytest.approx(4 / (2 * 3))
    assert coverage == pytest.approx(0.4)


def test_feature_metric_registry_names_its_values() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(60, 3)), rng.normal(size=(60, 3))
    names = {key for metric in FEATURE_METRICS.values() for key in metric(x, y)}
    assert names == {"fid", "kid", "kid_std", "precision", "recall", "density", "coverage"}


def test_reverse_kl_to_uniform_closed_form() -> None:
    p = np.array([0.25, 0.25, 0.5])
    assert reverse_kl_to_uniform([1, 1, 2]) == pytest.approx(math.log(3) + (p * np.log(p)).sum())
    assert reverse_kl_to_uniform([3, 3, 3]) == pytest.approx(0.0, abs=1e-15)
    assert reverse_kl_to_uniform([0, 5, 0, 0]) == pytest.approx(math.log(4))
    assert reverse_kl_to_uniform([0, 0]) == math.inf


def test_mode_protocol_exact_modes_give_all_modes_and_full_quality() -> None:
    modes = _ring8()
    stats = coverage_of_modes(np.tile(modes, (10, 1)), modes, std=0.01)
    assert stats == {"modes_captured": 8.0, "modes_total": 8.0, "high_quality_fraction": 1.0,
                     "reverse_kl": pytest.approx(0.0, abs=1e-12)}


def test_mode_protocol_all_samples_at_one_mode() -> None:
    modes = _ring8()
    stats = coverage_of_modes(np.repeat(modes[3:4], 100, axis=0), modes, std=0.01)
    assert stats["modes_captured"] == 1.0
    assert stats["high_quality_fraction"] == 1.0
    assert stats["reverse_kl"] == pytest.approx(math.log(8))


def test_mode_protocol_counts_only_samples_within_three_std() -> None:
    modes = _ring8()
    std = 0.01
    radial = np.array([1.0, 0.0])
    samples = np.stack([
        modes[0] + 2.9 * std * radial,  # high quality, mode 0
        modes[1] * (1 + 2.9 * std),  # high quality, mode 1
        modes[2] * (1 + 3.1 * std),  # just outside: low quality, mode 2 not captured
        np.array([0.0, 0.0]),  # the centre: low quality
    ])
    stats = coverage_of_modes(samples, modes, std=std)
    assert stats["modes_captured"] == 2.0
    assert stats["high_quality_fraction"] == 0.5
    assert stats["reverse_kl"] == pytest.approx(math.log(4))  # two equal bins of eight


def test_mode_protocol_with_no_high_quality_sample() -> None:
    stats = coverage_of_modes(np.zeros((5, 2)), _ring8(), std=0.01)
    assert stats["modes_captured"] == 0.0
    assert stats["high_quality_fraction"] == 0.0
    assert stats["reverse_kl"] == math.inf
