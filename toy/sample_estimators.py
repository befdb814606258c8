"""Sample-based divergence estimators from well-kept libraries (POT, scipy), for comparison with exact values.

| name | estimates | how | reference |
|---|---|---|---|
| :func:`w1_ot` | W1(P, Q) | exact OT between the two empirical measures: ``ot.wasserstein_1d`` in 1D (sorting), ``ot.emd2`` (network simplex, Euclidean cost) otherwise | Flamary et al. 2021 (POT) |
| :func:`sliced_w1` | E_u W1(u·P, u·Q) | ``ot.sliced_wasserstein_distance(p=1)``: W1 of the projections on random directions, averaged | Bonneel et al. 2015 |
| :func:`knn_kl` | KL(P‖Q) | (d/n) Σ_i log(ν_k(i)/ρ_k(i)) + log(m/(n − 1)), ρ_k(i) the distance from x_i to its k-th nearest neighbour among the other x's, ν_k(i) to its k-th nearest among the y's (``scipy.spatial.cKDTree``) | Wang, Kulkarni & Verdú 2009, eq. 5; Pérez-Cruz 2008 |

Each takes samples x ~ P (n, d) and y ~ Q (m, d) (1D: (n,) accepted) and returns a float.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

EMD_MAX = 4000
"""Largest sample size ``w1_ot`` solves with ``ot.emd2`` in 2D (an n×n float64 cost matrix: 128 MB at 4000)."""


def _points(x: ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 1:
        raise ValueError(f"{name} must be samples of shape (n, d) (or (n,) in 1D); got shape {np.shape(x)}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _pair(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a, b = _points(x, "x"), _points(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x and y must have the same dimension; got {a.shape[1]} and {b.shape[1]}")
    return a, b


def w1_ot(x: ArrayLike, y: ArrayLike) -> float:
    """W1 between the empirical measures of x and y (uniform weights), by exact optimal transport (POT).

    1D: ``ot.wasserstein_1d`` (the quantile coupling, exact on the line); d > 1: ``ot.emd2`` on the Euclidean
    cost matrix, for at most :data:`EMD_MAX` points per side (ValueError beyond: memory).

    >>> round(w1_ot([0.0, 1.0], [2.0, 3.0]), 12)
    2.0
    """
    import ot

    a, b = _pair(x, y)
    if a.shape[1] == 1:
        return float(ot.wasserstein_1d(a[:, 0], b[:, 0], p=1))
    if max(len(a), len(b)) > EMD_MAX:
        raise ValueError(f"w1_ot in {a.shape[1]}D solves an n×m OT problem; n, m <= {EMD_MAX} (got {len(a)}, {len(b)})")
    cost = ot.dist(a, b, metric="euclidean")
    return float(ot.emd2(np.full(len(a), 1.0 / len(a)), np.full(len(b), 1.0 / len(b)), cost, numItermax=10_000_000))


def sliced_w1(x: ArrayLike, y: ArrayLike, n_projections: int = 200, seed: int = 0) -> float:
    """Sliced W1: mean over ``n_projections`` random directions (POT, seeded) of the 1D W1 of the projections."""
    import ot

    a, b = _pair(x, y)
    if a.shape[1] == 1:
        return w1_ot(a, b)
    return float(ot.sliced_wasserstein_distance(a, b, n_projections=n_projections, p=1, seed=seed))


def knn_kl(x: ArrayLike, y: ArrayLike, k: int = 1) -> float:
    """k-nearest-neighbour estimate of KL(P‖Q) from x ~ P (n points) and y ~ Q (m points) (Wang et al. 2009, eq. 5).

    Consistent for continuous densities; it is biased for small n, and duplicate points (zero distances) make it
    undefined (ValueError).

    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(0, 1, (4000, 1)), rng.normal(1, 1, (4000, 1))  # KL = 1/2
    >>> abs(knn_kl(x, y, k=5) - 0.5) < 0.1
    True
    """
    from scipy.spatial import cKDTree

    a, b = _pair(x, y)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    n, m, d = len(a), len(b), a.shape[1]
    if n <= k or m < k:
        raise ValueError(f"need more than k = {k} points of x and at least k of y; got n = {n}, m = {m}")
    rho = cKDTree(a).query(a, k=k + 1)[0][:, k]  # the nearest is the point itself
    nu = cKDTree(b).query(a, k=k)[0]
    nu = nu[:, k - 1] if k > 1 else nu
    if np.any(rho == 0) or np.any(nu == 0):
        raise ValueError("duplicate points (a zero nearest-neighbour distance): the kNN KL estimate is undefined")
    return float(d * np.mean(np.log(nu / rho)) + math.log(m / (n - 1)))


SAMPLE_ESTIMATORS = {"w1_ot": ("w1", w1_ot), "sliced_w1": ("sliced_w1", sliced_w1), "knn_kl": ("kl", knn_kl)}
"""Name → (the catalogue divergence it estimates, the function)."""

__all__ = ["EMD_MAX", "SAMPLE_ESTIMATORS", "knn_kl", "sliced_w1", "w1_ot"]
