"""Gaussian mixtures: the distributions every exact quantity of the testbed is computed for.

A mixture is ``p(x) = Σ_k w_k N(x; μ_k, Σ_k)`` in dimension d (1 and 2 are what the
divergence engine integrates; sampling and densities work for any d).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from ._numerics import LOG_2PI, Array, check_finite, check_int, check_real, logsumexp, real_array

WEIGHT_SUM_TOL = 1e-9  # |Σ w − 1| allowed; weights are renormalised after the check
TINY_VARIANCE = float(np.finfo(float).tiny)  # 2.2e-308: subnormal variances are refused


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A numpy Generator from ``rng``: a Generator (used as is), a non-negative int seed, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"rng must be a numpy.random.Generator, a non-negative int seed or None; got {rng!r}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator, a non-negative int seed or None; got {rng!r}")


@dataclass(frozen=True, eq=False)
class GaussianMixture:
    """Finite mixture of Gaussians ``p(x) = Σ_k w_k N(x; μ_k, Σ_k)``.

    Parameters
    ----------
    weights : (k,) non-negative, summing to 1 (within 1e-9). Zero-weight components are dropped.
    means : (k, d), or (k,) for a 1D mixture.
    covs : (k, d, d) symmetric positive definite, or (k,) variances for a 1D mixture
        (also accepted for d > 1 as isotropic variances when ``means`` is (k, d)).

    Examples
    --------
    >>> P = GaussianMixture([0.5, 0.5], [2.0, 5.0], [0.09, 0.09])
    >>> round(float(P.pdf([2.0])[0]), 6)
    0.664904
    """

    weights: Array
    means: Array
    covs: Array

    def __init__(self, weights: ArrayLike, means: ArrayLike, covs: ArrayLike):
        w = check_finite("weights", weights).reshape(-1)
        m = check_finite("means", means)
        c = check_finite("covs", covs)
        if w.size == 0:
            raise ValueError("a mixture needs at least one component; got empty weights")
        if np.any(w < 0):
            raise ValueError(f"weights must be non-negative; got {w.tolist()}")
        if abs(w.sum() - 1.0) > WEIGHT_SUM_TOL:
            raise ValueError(f"weights must sum to 1 (within {WEIGHT_SUM_TOL:g}); they sum to {w.sum()!r}")
        k = w.size
        if m.ndim == 0:
            m = m.reshape(1, 1)
        elif m.ndim == 1:
            m = m.reshape(-1, 1)
        if m.ndim != 2 or m.shape[0] != k:
            raise ValueError(f"means must have shape (k, d) or (k,) with k={k}; got shape {np.shape(means)}")
        d = m.shape[1]
        if c.ndim == 0:
            c = np.full(k, float(c))
        if c.ndim == 1:
            if c.shape[0] != k:
                raise ValueError(f"variances must have shape (k,) with k={k}; got shape {c.shape}")
            c = c[:, None, None] * np.eye(d)[None]
        elif c.ndim == 2 and d == 1 and c.shape == (k, 1):
            c = c[:, :, None]
        if c.shape != (k, d, d):
            raise ValueError(f"covs must have shape (k, d, d) = ({k}, {d}, {d}); got shape {np.shape(covs)}")
        # symmetric to 1e-12 of each matrix's largest entry (R D Rᵀ formed in float64 is symmetric only to rounding,
        # and an off-diagonal 1e-15 next to 100 is no asymmetry), then made exactly symmetric
        asym = np.max(np.abs(c - np.swapaxes(c, 1, 2)), axis=(1, 2))
        if np.any(~(asym <= 1e-12 * np.max(np.abs(c), axis=(1, 2)))):
            bad = int(np.argmax(asym / np.max(np.abs(c), axis=(1, 2))))
            raise ValueError(f"covariance matrices must be symmetric; component {bad} is {c[bad].tolist()}")
        c = 0.5 * c + 0.5 * np.swapaxes(c, 1, 2)  # (not (c + cᵀ)/2: 2e308 overflows)
        eig = np.linalg.eigvalsh(c)
        if np.any(eig <= 0):
            bad = int(np.argmin(eig.min(axis=1)))
            raise ValueError(
                f"covariances must be positive definite; component {bad} has eigenvalues {eig[bad].tolist()}"
            )
        if np.any(eig < TINY_VARIANCE):
            bad = int(np.argmin(eig.min(axis=1)))
            raise ValueError(
                f"covariance eigenvalues must be at least {TINY_VARIANCE:.3g} (the smallest normal float64: below it "
                f"a number keeps fewer than 53 significant bits); component {bad} has eigenvalues {eig[bad].tolist()}"
            )
        keep = w > 0
        w, m, c = w[keep] / w[keep].sum(), m[keep], c[keep]
        for name, val in (("weights", w), ("means", m), ("covs", c)):
            val.setflags(write=False)
            object.__setattr__(self, name, val)
        chol, prec_chol, half_log_det = cholesky_factors(c)
        if not np.all(np.isfinite(half_log_det)):  # det ≤ 0 in extended precision: eigvalsh's rounding said > 0
            bad = int(np.flatnonzero(~np.isfinite(half_log_det))[0])
            raise ValueError(f"covariances must be positive definite; component {bad} ({c[bad].tolist()}) has a "
                             f"determinant ≤ 0 (to 64-bit precision): its thin direction is below float64's resolution")
        log_norm = -0.5 * d * LOG_2PI - half_log_det
        object.__setattr__(self, "_chol", chol)
        object.__setattr__(self, "_prec_chol", prec_chol)
        object.__setattr__(self, "_log_norm", log_norm)
        object.__setattr__(self, "_log_weights", np.log(w))
        object.__setattr__(self, "_cov_eigvals", eig[keep])
        object.__setattr__(self, "_condition", float((eig[keep][:, -1] / eig[keep][:, 0]).max()))
        scales = np.sqrt(np.diagonal(c, axis1=1, axis2=2))
        scales.setflags(write=False)
        object.__setattr__(self, "_scales", scales)

    # ------------------------------------------------------------------ basic attributes
    @property
    def dim(self) -> int:
        """Dimension d of the sample space."""
        return int(self.means.shape[1])

    @property
    def n_components(self) -> int:
        """Number of components k (after dropping zero weights)."""
        return int(self.weights.shape[0])

    @classmethod
    def gaussian(cls, mean: ArrayLike, cov: ArrayLike) -> "GaussianMixture":
        """A single Gaussian N(mean, cov): ``mean`` scalar or (d,), ``cov`` a variance (isotropic) or (d, d)."""
        means = np.atleast_1d(np.asarray(mean, dtype=float))[None, :]
        cov = np.asarray(cov, dtype=float)
        return cls([1.0], means, cov.reshape(1) if cov.ndim == 0 else cov[None])

    def __repr__(self) -> str:
        return f"GaussianMixture(k={self.n_components}, d={self.dim})"

    # ------------------------------------------------------------------ points
    def as_points(self, x: ArrayLike) -> Array:
        """Reshape ``x`` to (n, d): 1D mixtures accept (n,) or scalars; d > 1 accepts (d,) for one point."""
        arr = real_array("x", x)
        if np.any(np.isnan(arr)):
            raise ValueError("x contains NaN")
        d = self.dim
        if d == 1 and arr.ndim <= 1:
            return arr.reshape(-1, 1)
        if arr.ndim == 1 and arr.shape[0] == d:
            return arr.reshape(1, d)
        if arr.ndim != 2 or arr.shape[1] != d:
            raise ValueError(f"x must have shape (n, {d}) for a {d}-dimensional mixture; got shape {arr.shape}")
        return arr

    def component_logpdf(self, x: ArrayLike) -> Array:
        """log w_k + log N(x; μ_k, Σ_k) for every point and component, shape (n, k)."""
        return self._log_terms(self.as_points(x)).T

    def logpdf(self, x: ArrayLike) -> Array:
        """log p(x) = logsumexp_k [log w_k + log N(x; μ_k, Σ_k)], shape (n,); finite for every finite x."""
        return logsumexp(self._log_terms(self.as_points(x)), axis=0)

    def _log_terms(self, pts: Array) -> Array:
        """Component-major log terms (k, n) of points ``pts`` (n, d); see :func:`gaussian_log_terms`."""
        return gaussian_log_terms(pts, self.means.T[..., None], np.moveaxis(self._prec_chol, 0, -1)[..., None],
                                  (self._log_weights + self._log_norm)[:, None])

    def pdf(self, x: ArrayLike) -> Array:
        """p(x), shape (n,)."""
        return np.exp(self.logpdf(x))

    def _require_1d(self, what: str) -> None:
        if self.dim != 1:
            raise ValueError(f"{what} is defined for 1D mixtures only; this mixture has d={self.dim}")

    def _standardised(self, x: ArrayLike) -> Array:
        pts = self.as_points(x)[:, 0]
        return (pts[:, None] - self.means[None, :, 0]) / np.sqrt(self.covs[None, :, 0, 0])

    def cdf(self, x: ArrayLike) -> Array:
        """F(x) = Σ_k w_k Φ((x − μ_k)/σ_k) for a 1D mixture, shape (n,)."""
        self._require_1d("cdf")
        return ndtr(self._standardised(x)) @ self.weights

    def sf(self, x: ArrayLike) -> Array:
        """Survival 1 − F(x) = Σ_k w_k Φ(−(x − μ_k)/σ_k), accurate in the right tail (1D only)."""
        self._require_1d("sf")
        return ndtr(-self._standardised(x)) @ self.weights

    # ------------------------------------------------------------------ moments and sampling
    def mean(self) -> Array:
        """E[X] = Σ_k w_k μ_k, shape (d,)."""
        return self.weights @ self.means

    def cov(self) -> Array:
        """Cov[X] = Σ_k w_k (Σ_k + μ_k μ_k^T) − E[X] E[X]^T, shape (d, d)."""
        mu = self.mean()
        second = np.einsum("k,kij->ij", self.weights, self.covs + self.means[:, :, None] * self.means[:, None, :])
        return second - np.outer(mu, mu)

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> Array:
        """Draw ``n`` samples, shape (n, d). ``rng``: a Generator or a seed (no global state is used)."""
        n = check_int("n", n, 0)
        gen = _as_rng(rng)
        comp = gen.choice(self.n_components, size=int(n), p=self.weights)
        z = gen.standard_normal((int(n), self.dim))
        return self.means[comp] + np.einsum("nij,nj->ni", self._chol[comp], z)

    def translate(self, shift: ArrayLike) -> "GaussianMixture":
        """The same mixture moved by ``shift`` (shape (d,), or a scalar in 1D)."""
        s = check_finite("shift", shift).reshape(-1)
        if s.size != self.dim:
            raise ValueError(f"shift must have {self.dim} entries; got {s.size}")
        return GaussianMixture(self.weights, self.means + s, self.covs)

    def scales(self) -> Array:
        """Per-component, per-axis standard deviations sqrt(diag Σ_k), shape (k, d) (read-only)."""
        return self._scales


# ---------------------------------------------------------------------- standard examples
def ring(k: int = 8, radius: float = 1.0, var: float = 1e-4, phase: float = 0.0) -> GaussianMixture:
    """The 2D ring: k equal-weight isotropic Gaussians with means r(cos θ_j, sin θ_j), θ_j = phase + 2πj/k.

    The default (k=8, r=1, var=1e-4) is the ring of Welfert et al. (2024) and the ISIT 2025 tutorial.
    """
    k = check_int("k", k, 1)
    radius, var, phase = check_real("radius", radius, True), check_real("var", var, True), check_real("phase", phase)
    theta = phase + 2 * np.pi * np.arange(k) / k
    means = radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    return GaussianMixture(np.full(k, 1.0 / k), means, np.full(k, float(var)))


def grid(n: int = 5, spacing: float = 2.0, var: float = 0.0025) -> GaussianMixture:
    """The 2D grid: n×n equal-weight isotropic Gaussians at spacing·{−(n−1)/2, …, (n−1)/2}², centred at 0.

    The default (5×5, spacing 2, std 0.05) is the grid of PacGAN / VEEGAN.
    """
    n = check_int("n", n, 1)
    spacing, var = check_real("spacing", spacing, True), check_real("var", var, True)
    ticks = spacing * (np.arange(n) - (n - 1) / 2)
    xx, yy = np.meshgrid(ticks, ticks, indexing="ij")
    means = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return GaussianMixture(np.full(n * n, 1.0 / (n * n)), means, np.full(n * n, float(var)))


class SeedToy(NamedTuple):
    """The 1D toy of the lecture notes: data P_r and two single-Gaussian generators."""

    real: GaussianMixture
    gen_right: GaussianMixture
    gen_left: GaussianMixture


def seed_toy() -> SeedToy:
    """P_r = 0.5 N(2, 0.3²) + 0.5 N(5, 0.3²), generators N(6, 0.3²) (right) and N(−0.5, 0.3²) (left).

    Source: Sankar & Welfert, ISIT 2025 tutorial, "GAN training instabilities: toy example".
    """
    var = 0.3**2
    return SeedToy(
        real=GaussianMixture([0.5, 0.5], [2.0, 5.0], [var, var]),
        gen_right=GaussianMixture([1.0], [6.0], [var]),
        gen_left=GaussianMixture([1.0], [-0.5], [var]),
    )


def gaussian_log_terms(x: Array, means: Array, prec_chol: Array, const: Array) -> Array:
    """log w_k + log N(x_i; μ_k, Σ_k) for k components at points x (..., d), component-major: (k, ...).

    With W_k = L_k^{-T} (Σ_k = L_k L_kᵀ, so W_k is upper triangular and Σ_k^{-1} = W_k W_kᵀ) the
    term is c_k − ½‖z‖², z_e = Σ_{j ≤ e} (x_j − μ_kj) W_k[j, e] and c_k = log w_k + log N's normaliser.
    The differences x − μ are formed first (exact near the mode), and the k axis leads so that
    every pass, and the max and sum of a logsumexp over k, runs along the long point axes.

    means (d, k, *), prec_chol (d, d, k, *) and const (k, *) broadcast against the point axes:
    for one mixture and points (n, d), * = (1,); per-cell parameters for points (r, m, d) use * = (r, 1).
    """
    diffs = [x[..., j] - means[j] for j in range(x.shape[-1])]
    out = None
    for e in range(len(diffs)):
        z = diffs[0] * prec_chol[0, e]
        for j in range(1, e + 1):
            z += diffs[j] * prec_chol[j, e]
        half = 0.5 * (z * z)
        if out is None:
            out = np.negative(half, out=half)  # 0 − ½‖z_0‖², formed without a zero array
        else:
            out -= half
    return out + const


def cholesky_factors(covs: Array) -> tuple[Array, Array, Array]:
    """Σ = L Lᵀ, W = L^{-T} (so Σ^{-1} = W Wᵀ, Mahalanobis distance ‖(x − μ) W‖²) and ½ log det Σ, for (k, d, d) covs.

    For d ≤ 2 they are formed in extended precision (numpy's longdouble, 64-bit mantissa on x86) from the closed
    forms L₁₁ = √a, L₂₁ = b/L₁₁, L₂₂ = √((ac − b²)/a): the determinant of a matrix with condition number κ loses
    log₁₀ κ digits to the cancellation in ac − b² (1e12: float64 keeps 4), the 11 extra bits keep the thin direction
    at ~1e-7 relative where float64 gave 1e-4 (platforms whose longdouble is float64 get the float64 result).
    Larger d: numpy's Cholesky.
    """
    k, d, _ = covs.shape
    if d > 2:
        chol = np.linalg.cholesky(covs)
        return chol, np.swapaxes(np.linalg.inv(chol), 1, 2), np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
    c = np.asarray(covs, dtype=np.longdouble)
    l11 = np.sqrt(c[:, 0, 0])
    chol = np.zeros((k, d, d), dtype=np.longdouble)
    prec = np.zeros((k, d, d), dtype=np.longdouble)
    chol[:, 0, 0], prec[:, 0, 0] = l11, 1 / l11
    half_log_det = np.log(l11)
    if d == 2:
        l21 = c[:, 1, 0] / l11
        det = c[:, 0, 0] * c[:, 1, 1] - c[:, 1, 0] * c[:, 1, 0]
        det = np.where(det > 0, det, np.nan)  # not positive definite: NaN factors (the constructor refuses them)
        l22 = np.sqrt(det / c[:, 0, 0])
        chol[:, 1, 0], chol[:, 1, 1] = l21, l22
        prec[:, 0, 1], prec[:, 1, 1] = -l21 / (l11 * l22), 1 / l22
        half_log_det = 0.5 * np.log(det)
    return chol.astype(float), prec.astype(float), half_log_det.astype(float)

