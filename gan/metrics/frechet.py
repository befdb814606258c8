"""Fréchet distance between Gaussians fitted to features: FID (Heusel et al. 2017).

    d²((μ₁, Σ₁), (μ₂, Σ₂)) = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^{1/2})

is the squared 2-Wasserstein distance between N(μ₁, Σ₁) and N(μ₂, Σ₂) (Dowson & Landau 1982).
FID is d² between the sample means and covariances (unbiased, ddof = 1) of real and generated
features. Heusel et al. use 2,048 pool features of Inception-v3 and ≥ 10,000 samples (50,000 is
the common protocol); with fewer samples FID is biased upwards (Bińkowski et al. 2018; Chong &
Forsyth 2020), so compare FIDs only at equal sample sizes.

Numerics (float64): the matrix square root is ``scipy.linalg.sqrtm(Σ₁Σ₂)``. Σ₁Σ₂ is similar to
a PSD matrix, so its square root has a real non-negative spectrum, but in floating point sqrtm
may return a complex result or fail for (nearly) singular products: if the result is not finite,
ε = 1e-6 is added to both diagonals and the root recomputed; a complex result is accepted, and
its real part used, when every diagonal entry's imaginary part is at most
:data:`IMAG_TOL` · max(1, max |Re diag|); otherwise ``ValueError``. scipy's "Matrix is singular"
warning is silenced: Σ₁Σ₂ is singular whenever a feature is constant (e.g. a dead ReLU unit) or
n ≤ d, and the checks above, not the warning, decide whether the root is usable (checked against
an eigenvalue formula in the tests). A distance of two identical
inputs comes out as ~1e-12 relative to the traces, of either sign.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg

from ._checks import as_features, feature_pair, real_array

IMAG_TOL = 1e-3
"""Largest imaginary part (relative to the diagonal's scale) accepted on the diagonal of √(Σ₁Σ₂)."""
SQRTM_EPS = 1e-6
"""Ridge added to both covariances when √(Σ₁Σ₂) is not finite."""


SYMMETRY_TOL = 1e-8
"""Largest |Σ − Σᵀ| accepted, relative to max |Σ| (np.cov is symmetric to rounding, ~1e-16)."""


def _as_stats(mu: Any, sigma: Any, which: str) -> tuple[np.ndarray, np.ndarray]:
    m = np.atleast_1d(real_array(mu, f"mu{which}"))
    s = np.atleast_2d(real_array(sigma, f"sigma{which}"))
    if m.ndim != 1:
        raise ValueError(f"mu{which} must be a vector (d,); got shape {m.shape}")
    if s.shape != (m.size, m.size):
        raise ValueError(f"sigma{which} must have shape ({m.size}, {m.size}) to match mu{which}; got {s.shape}")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(s))):
        raise ValueError(f"mu{which} and sigma{which} must be finite")
    asym = float(np.max(np.abs(s - s.T)))
    if asym > SYMMETRY_TOL * float(np.max(np.abs(s))):
        raise ValueError(f"sigma{which} must be a symmetric covariance matrix; |sigma - sigma.T| reaches {asym:.3g}")
    if np.min(np.diagonal(s)) < 0:
        raise ValueError(f"sigma{which} must be a covariance matrix; its diagonal has a negative variance "
                         f"{np.min(np.diagonal(s)):.3g}")
    return m, s


def _sqrtm(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        # "Matrix is singular": expected whenever a feature is constant (dead ReLU units) or n <= d;
        # the result is validated below instead (finite, small imaginary part).
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(a)


def _sqrtm_product(s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    root = _sqrtm(s1 @ s2)
    if not np.all(np.isfinite(root)):
        ridge = SQRTM_EPS * np.eye(s1.shape[0])
        root = _sqrtm((s1 + ridge) @ (s2 + ridge))
    if np.iscomplexobj(root):
        diag = np.diagonal(root)
        scale = max(1.0, float(np.max(np.abs(diag.real))))
        worst = float(np.max(np.abs(diag.imag)))
        if worst > IMAG_TOL * scale:
            raise ValueError(f"sqrtm(sigma1 @ sigma2) has imaginary diagonal parts up to {worst:.3g} "
                             f"(> {IMAG_TOL} x {scale:.3g}); the covariances are not positive semi-definite or too "
                             f"ill-conditioned")
        root = root.real
    return root


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^{1/2}) between N(μ₁, Σ₁) and N(μ₂, Σ₂) (float64; module notes).

    Scalars are read as 1-D Gaussians (σ given as a variance). Each σ must be symmetric (within
    :data:`SYMMETRY_TOL`) with a non-negative diagonal; bools, strings and complex numbers raise
    ``TypeError``. Reference: Dowson & Landau 1982; Heusel et al. 2017, eq. (6).

    >>> round(frechet_distance([0.0], [[4.0]], [3.0], [[1.0]]), 12)   # (0 − 3)² + (√4 − √1)²
    10.0
    """
    m1, s1 = _as_stats(mu1, sigma1, "1")
    m2, s2 = _as_stats(mu2, sigma2, "2")
    if m1.size != m2.size:
        raise ValueError(f"the two Gaussians must have the same dimension; got {m1.size} and {m2.size}")
    diff = m1 - m2
    root = _sqrtm_product(s1, s2)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(root))


def feature_statistics(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), covariance (d, d) with ddof = 1) of (n, d) features, float64; n ≥ 2."""
    x = as_features(features, "features")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 samples for a covariance; got {x.shape[0]}")
    with np.errstate(over="ignore", invalid="ignore"):
        mu, sigma = x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError(f"the features' mean or covariance overflows float64 (largest |feature| "
                         f"{np.max(np.abs(x)):.3g}; squares must stay below ~1.8e308)")
    return mu, sigma


def fid(real_features: Any, fake_features: Any) -> float:
    """Fréchet Inception Distance (Heusel et al. 2017) between two (n, d) feature sets: d² of their fitted Gaussians.

    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 2))
    >>> abs(fid(x, x)) < 1e-9, round(fid(x, x + [3.0, 4.0]), 6)   # a shift adds ‖δ‖² = 25
    (True, 25.0)
    """
    x, y = feature_pair(real_features, fake_features)
    mu1, s1 = feature_statistics(x)
    mu2, s2 = feature_statistics(y)
    return frechet_distance(mu1, s1, mu2, s2)
