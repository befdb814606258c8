"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² with a cubic polynomial kernel, over subsets.

Kernel k(x, y) = (xᵀy / d + 1)³ on d-dimensional features. For subsets X = {x_i}, Y = {y_j} of
size m each, the unbiased estimator (Gretton et al. 2012, Lemma 6) is

    MMD²_u = Σ_{i≠i'} k(x_i, x_i') / (m(m−1)) + Σ_{j≠j'} k(y_j, y_j') / (m(m−1)) − 2 Σ_{i,j} k(x_i, y_j) / m²,

whose expectation is exactly MMD²(P, Q) (0 when P = Q; it can be negative). KID is its mean
over ``n_subsets`` pairs of subsets, each drawn without replacement (independently per subset)
from the real and the generated features; the second value returned is the standard deviation
over subsets (ddof = 0). Protocol of Bińkowski et al.: 100 subsets of 1,000 (the defaults).
Subsets come from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check_int, feature_pair


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef0: float = 1.0) -> np.ndarray:
    """K_ij = (x_iᵀ y_j / d + coef0)^degree, d the feature dimension (the KID kernel at the defaults)."""
    return (x @ y.T / x.shape[1] + coef0) ** degree


def _mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """:func:`mmd2_unbiased` on validated float64 samples; ``ValueError`` if a kernel sum overflows float64."""
    m, n = x.shape[0], y.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
        sums = (kxx.sum() - np.trace(kxx), kyy.sum() - np.trace(kyy), kxy.sum())
    if not all(np.isfinite(v) for v in sums):
        raise ValueError(f"the KID kernel (x.y/d + 1)^3 overflows float64 for these features (largest |feature| "
                         f"{max(np.max(np.abs(x)), np.max(np.abs(y))):.3g}); no finite MMD² estimate exists")
    sum_xx, sum_yy, sum_xy = sums
    return float(sum_xx / (m * (m - 1)) + sum_yy / (n * (n - 1)) - 2.0 * sum_xy / (m * n))


def mmd2_unbiased(x: Any, y: Any) -> float:
    """The unbiased MMD² estimate (module formula) between two (m, d) samples (m ≥ 2) with the KID kernel.

    Fewer than 2 samples (the estimator divides by m(m − 1)), NaN/inf features or a kernel that
    overflows float64 raise ``ValueError``.
    """
    x, y = feature_pair(x, y)
    if min(len(x), len(y)) < 2:
        raise ValueError(f"the unbiased MMD² needs at least 2 samples in each set; got {len(x)} and {len(y)}")
    return _mmd2(x, y)


def kid(real_features: Any, fake_features: Any, n_subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD² over random subsets: KID (Bińkowski et al. 2018; module docstring).

    ``subset_size`` may not exceed the smaller set (``ValueError`` otherwise: pass a smaller
    ``subset_size`` explicitly, and report it). With ``subset_size`` equal to both set sizes the
    subsets are the full sets and every subset gives the same value.

    >>> rng = np.random.default_rng(0)
    >>> m, s = kid(rng.normal(size=(500, 4)), rng.normal(size=(500, 4)), n_subsets=20, subset_size=200)
    >>> abs(m) < 3 * s + 1e-3     # same distribution: KID is 0 in expectation
    True
    """
    x, y = feature_pair(real_features, fake_features)
    n_subsets = check_int("n_subsets", n_subsets, 1)
    subset_size = check_int("subset_size", subset_size, 2)
    seed = check_int("seed", seed, 0)
    if subset_size > min(len(x), len(y)):
        raise ValueError(f"subset_size={subset_size} exceeds the number of samples (real {len(x)}, fake {len(y)}); "
                         f"pass subset_size <= {min(len(x), len(y))}")
    rng = np.random.default_rng(seed)
    values = np.empty(n_subsets)
    for s in range(n_subsets):
        xi = rng.choice(len(x), subset_size, replace=False)
        yi = rng.choice(len(y), subset_size, replace=False)
        values[s] = _mmd2(x[xi], y[yi])
    return float(values.mean()), float(values.std())
