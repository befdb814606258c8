"""toy.sample_estimators: POT's exact OT against the exact 1D W1 within its sampling error, emd2 = the 1D
solution, kNN KL against a closed form, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from toy.catalogue import draws, exact_value
from toy.sample_estimators import EMD_MAX, knn_kl, sliced_w1, w1_ot


@pytest.mark.parametrize("pair", ["toy1d_right", "overlap_1d"])
def test_pot_w1_agrees_with_the_exact_1d_w1_at_n_1e4(pair):
    """20 independent sample sets of n = 10⁴ per side: the mean empirical W1 lies within 4 standard errors of the
    exact W1 (in 1D the empirical W1 is asymptotically normal around W1 with bias O(1/n) when the CDFs cross at
    isolated points; 4 se keeps a false alarm below 1e-4)."""
    vals = np.array([w1_ot(x, y) for x, y in draws(pair, 10_000, 20, seed=1)])
    se = vals.std(ddof=1) / np.sqrt(len(vals))
    want = exact_value(pair, "w1")
    assert abs(vals.mean() - want) <= 4 * se
    assert vals.std(ddof=1) <= 0.05 * want  # and the sampling error itself is small at this n


def test_emd2_and_the_1d_solver_agree():
    """ot.emd2 on the Euclidean cost (the 2D path) gives the 1D optimum of ot.wasserstein_1d on the same points."""
    import ot

    x, y = next(draws("toy1d_right", 300, 1))
    cost = ot.dist(x, y, metric="euclidean")
    via_emd = float(ot.emd2(np.full(300, 1 / 300), np.full(300, 1 / 300), cost))
    assert abs(via_emd - w1_ot(x, y)) <= 1e-12


def test_sliced_w1_estimates_the_exact_sliced_w1():
    x, y = next(draws("grid_shift", 2000, 1))
    # 400 random directions: the projection average's own spread is ~ (0.07 / √400) for |u·s| of a 0.14 shift
    assert abs(sliced_w1(x, y, n_projections=400, seed=0) - exact_value("grid_shift", "sliced_w1")) <= 0.02


def test_knn_kl_against_a_closed_form():
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 1, (5000, 2)), rng.normal([1.0, 0.0], 1, (5000, 2))  # KL = ½‖Δ‖² = 0.5
    assert abs(knn_kl(x, y, k=5) - 0.5) <= 0.08  # WKV at n = 5000, k = 5 in 2D: sd ≈ 0.02, bias O(n^{-1/2})


def test_bad_input():
    with pytest.raises(ValueError, match="same dimension"):
        w1_ot(np.zeros((3, 1)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        knn_kl(np.array([0.0, np.nan]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="duplicate"):
        knn_kl(np.array([0.0, 0.0, 1.0]), np.array([0.5, 2.0]))
    with pytest.raises(ValueError, match="k must"):
        knn_kl(np.zeros(3), np.ones(3), k=0)
    with pytest.raises(ValueError, match=str(EMD_MAX)):
        w1_ot(np.zeros((EMD_MAX + 1, 2)), np.zeros((2, 2)))
