"""Exact f-divergences between Gaussian mixtures (1D and 2D), computed by adaptive cubature.

All functions take P (data) and Q (generator) as :class:`GaussianMixture` objects, or sequences of
them (a batch, broadcast against a single mixture), and return a float (an array for batches).
With ``error=True`` they return ``(value, error_estimate)``; the estimate is conservative (see
:mod:`divergences.quadrature`). Tolerances by default: relative 1e-11 (1D) / 1e-8 (2D) on the
conservative estimate, absolute floor 1e-14. Truly infinite divergences (χ² with too-light
denominator tails) return ``inf`` after an exact tail test (:func:`chi2_is_finite`), never overflow noise.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from ._numerics import check_finite
from .fdiv import FDivergence, get_f
from .mixture import GaussianMixture
from .quadrature import integrate_pairs, pair_up

Mixtures = GaussianMixture | Sequence[GaussianMixture]
NONSMOOTH_RTOL_2D = 1e-7  # TV-type integrands in 2D: the kink along the curve p = q makes 1e-8 cost minutes


def _tail_rates_1d(A: GaussianMixture, B: GaussianMixture) -> tuple[float, float]:
    """Tail exponent of a²/b at ±∞: returns (quadratic coeff c, worst linear coeff λ) of log(a²/b) ≈ −c x²/2 + λ|x|."""
    worst_c, worst_l = np.inf, -np.inf
    for s in (1.0, -1.0):
        def dominant(m: GaussianMixture) -> tuple[float, float]:
            var, mu = m.covs[:, 0, 0], m.means[:, 0]
            keys = sorted(zip(-0.5 / var, s * mu / var))
            return keys[-1]  # largest quadratic coefficient, then largest linear coefficient towards s
        qa, la = dominant(A)
        qb, lb = dominant(B)
        c, lin = -2.0 * (2 * qa - qb), 2 * la - lb
        if c < worst_c or (c == worst_c and lin > worst_l):
            worst_c, worst_l = c, lin
    return worst_c, worst_l


def _min_upper_envelope(coef: np.ndarray) -> tuple[float, float]:
    """min over ψ of max_j (m_j + p_j cos ψ + q_j sin ψ), exactly, for rows ``coef[j] = (m_j, p_j, q_j)``, and the ψ
    where it is attained.

    The minimum of an upper envelope of such curves lies at the minimum of one of them
    (ψ = atan2(−q, −p), value m − √(p² + q²)) or where two of them cross
    ((p_j − p_k) cos ψ + (q_j − q_k) sin ψ = m_k − m_j: at most two angles per pair).
    """
    m, p, q = coef.T
    psi = [np.arctan2(-q, -p)]
    for j in range(len(coef)):
        for k in range(j + 1, len(coef)):
            a, b, rhs = p[j] - p[k], q[j] - q[k], m[k] - m[j]
            rho = np.hypot(a, b)
            if rho > 0 and abs(rhs) <= rho:
                base, half = np.arctan2(b, a), np.arccos(np.clip(rhs / rho, -1.0, 1.0))
                psi.append(np.array([base - half, base + half]))
    psi = np.concatenate(psi)
    env = np.max(m[:, None] + p[:, None] * np.cos(psi)[None, :] + q[:, None] * np.sin(psi)[None, :], axis=0)
    k = int(np.argmin(env))
    return float(env[k]), float(psi[k])


def chi2_is_finite(A: GaussianMixture, B: GaussianMixture) -> tuple[bool, float]:
    """Whether ∫ a²/b dx < ∞ for mixtures a, b, and a tail spread factor for the cubature mesh.

    Along a ray x = t v the mixture log-densities behave like −t² min_k v^T Σ_k^{-1} v / 2, so
    a²/b decays iff c(v) = 2 min_i v^TΣ_{A,i}^{-1}v − min_j v^TΣ_{B,j}^{-1}v > 0 for all directions v.
    1D is exact (the boundary c = 0 is decided by the linear terms). In 2D, with v = (cos θ, sin θ),
    c = min_i max_j v^T M_ij v, M_ij = 2Σ_{A,i}^{-1} − Σ_{B,j}^{-1}, and each v^T M v = m + p cos 2θ + q sin 2θ
    (m = tr M / 2, p = (M₁₁ − M₂₂)/2, q = M₁₂), so min_v c is found exactly by
    :func:`_min_upper_envelope`; the boundary min c = 0 (to 1e-12 of 2 vᵀΣ_{A,i}^{-1}v + vᵀΣ_{B,j}^{-1}v along the
    minimising direction, the rounding scale of the difference) is treated as infinite.
    The spread factor 1/(σ_max √c_min) widens the mesh for slowly decaying tails.
    """
    sig_max = float(np.max(np.concatenate([A.scales(), B.scales()])))
    if A.dim == 1:
        c, lin = _tail_rates_1d(A, B)
        if c > 0:
            return True, max(1.0, 1.0 / (sig_max * np.sqrt(c)))
        if c == 0 and lin < 0:
            return True, max(1.0, 800.0 / (-lin) / (40.0 * sig_max))
        return False, 1.0
    if A.dim != 2:
        raise ValueError(f"chi2_is_finite handles 1D and 2D mixtures; got dimension {A.dim}")
    # precisions from the extended-precision factors (Σ⁻¹ = W Wᵀ): a 1e12-conditioned Σ inverted in float64 is off
    # by 1e-4 in its thin direction
    PA, PB = (np.einsum("kij,klj->kil", m._prec_chol, m._prec_chol) for m in (A, B))
    M = 2.0 * PA[:, None] - PB[None, :]  # (i, j, 2, 2)
    S = 2.0 * PA[:, None] + PB[None, :]  # the size of the terms whose difference M is
    coef = np.stack([(M[..., 0, 0] + M[..., 1, 1]) / 2, (M[..., 0, 0] - M[..., 1, 1]) / 2, M[..., 0, 1]], axis=-1)
    found = [_min_upper_envelope(rows) for rows in coef]
    i = int(np.argmin([c for c, _ in found]))
    cmin, psi = found[i]
    v = np.array([np.cos(0.5 * psi), np.sin(0.5 * psi)])  # the direction: ψ = 2θ
    if cmin <= 1e-12 * float(np.max(np.einsum("i,jil,l->j", v, S[i], v))):  # zero to rounding along v: infinite
        return False, 1.0
    return True, max(1.0, 1.0 / (sig_max * np.sqrt(cmin)))


RELEVANT_NATS = 20.0
"""A tail Gaussian a_i²/b_j is meshed (``relevant_only``) where b_j is within this many nats of b's dominant component
at its centre (or is the closest to dominating, for each i), unless a component of a or b already meshes it."""


def chi2_tail_components(A: GaussianMixture, B: GaussianMixture, relevant_only: bool = False) -> GaussianMixture | None:
    """The Gaussians that shape ∫ a²/b (1D or 2D), as mesh components for the cubature, or None.

    a_i(x)²/b_j(x) is, up to a constant, the Gaussian with precision Λ_ij = 2Σ_{A,i}^{-1} − Σ_{B,j}^{-1} and
    mean Λ_ij^{-1}(2Σ_{A,i}^{-1}μ_{A,i} − Σ_{B,j}^{-1}μ_{B,j}) where Λ_ij is positive definite. Near the finiteness
    boundary these are long (slow tails) and, for thin a_i, thin: the mesh must follow them at their own scale,
    not a uniformly widened copy of the mixtures. Returned (equal weights; only the shapes matter) when every
    component i of a has such a j (a²/b ≤ a_i²/(w_j b_j) summed over i bounds the integrand, cross terms by
    AM–GM); None otherwise (e.g. only crossed components of b together cover a_i's tail), and the caller falls
    back to the spread factor of :func:`chi2_is_finite`. With ``relevant_only``, only the (i, j) whose b_j (nearly)
    dominates b at the Gaussian's centre: elsewhere a_i²/b_j overstates a²/b and would only cost cells.
    """
    PA, PB = (np.einsum("kij,klj->kil", m._prec_chol, m._prec_chol) for m in (A, B))  # extended-precision factors
    lam = 2.0 * PA[:, None] - PB[None, :]  # (i, j, d, d)
    ok = np.linalg.eigvalsh(lam)[..., 0] > 1e-12 * np.abs(lam).max(axis=(-2, -1))
    if not ok.any(axis=1).all():
        return None
    ii, jj = np.nonzero(ok)
    cov = np.linalg.inv(lam[ii, jj])
    cov = 0.5 * cov + 0.5 * np.swapaxes(cov, -1, -2)
    # Λ⁻¹(2Σ_i⁻¹μ_i − Σ_j⁻¹μ_j) = μ_i − Λ⁻¹Σ_j⁻¹(μ_j − μ_i): from the offset, exact far from the origin
    offset = np.einsum("nkl,nl->nk", PB[jj], B.means[jj] - A.means[ii])
    centre = A.means[ii] - np.einsum("nkl,nl->nk", cov, offset)
    keep = np.ones(ii.size, dtype=bool)
    if relevant_only:
        terms = B.component_logpdf(centre)  # (n, K_b): how far b_j is from dominating b at each centre
        gap = terms.max(axis=1) - terms[np.arange(ii.size), jj]
        lag = np.full(A.n_components, np.inf)
        np.minimum.at(lag, ii, gap)
        keep = (gap <= lag[ii] + RELEVANT_NATS) & ~_covered_by(centre, cov, (A, B))
    if not keep.any():
        return None
    return GaussianMixture(np.full(int(keep.sum()), 1.0 / keep.sum()), centre[keep], cov[keep])


def _covered_by(centre: np.ndarray, cov: np.ndarray, mixtures) -> np.ndarray:
    """For Gaussians (centre (n, d), cov (n, d, d)): whether some component k of ``mixtures`` already meshes each one
    finely: its centre within 2 of k's standard deviations of μ_k (Mahalanobis) and k no more than twice as wide as
    the Gaussian's thin axis."""
    thin = np.sqrt(np.linalg.eigvalsh(cov)[:, 0])
    covered = np.zeros(len(centre), dtype=bool)
    for M in mixtures:
        z = np.einsum("nkd,kde->nke", centre[:, None, :] - M.means[None], M._prec_chol)  # (n, k, d)
        near = np.sum(z * z, axis=-1) <= 4.0
        narrow = np.sqrt(M._cov_eigvals[:, -1])[None, :] <= 2.0 * thin[:, None]
        covered |= np.any(near & narrow, axis=1)
    return covered


CHI2_TAILS_ALWAYS = 16
"""Pairs with at most this many (i, j) component pairs always mesh around the tail Gaussians a_i²/b_j: their centre
Λ⁻¹(2Σ_i⁻¹μ_i − Σ_j⁻¹μ_j) can lie far outside both mixtures even when their width does not (a thin N(0, diag(1, 1e-4))
against N((4, 0), I): p²/q peaks at x = −4, half of it beyond P's and Q's own mesh, and χ² was off by 3e-6 against an
estimate of 1e-8); larger mixtures only when the tails are slow (spread > 1), as the K_a·K_b Gaussians cost time
(80x on the 5x5 grid)."""
_CHI2_ROLES = {"pearson": (0, 1), "neyman": (1, 0)}  # (numerator², denominator) as indices into (P, Q)


def chi2_mesh(Ps: Sequence[GaussianMixture], Qs: Sequence[GaussianMixture], name: str
              ) -> tuple[np.ndarray, np.ndarray, list[GaussianMixture] | None]:
    """For the χ² record ``name`` ("pearson" or "neyman") and pairs (P_b, Q_b): (finite, spread, mesh_extra).

    finite and the spread factor from :func:`chi2_is_finite`; where the tails of a²/b are slower than the
    mixtures' own (spread > 1) and :func:`chi2_tail_components` finds their Gaussians, the mesh follows them
    (spread 1) instead (with spread = 1 the mixtures' mesh covers a²/b, and the K_a·K_b tail Gaussians, most of
    them far from where b's component j dominates, would only cost time: 80x on the 5x5 grid); mesh_extra is
    None where no pair uses tail Gaussians, and otherwise holds P_b itself (no extra shape) for the pairs that keep
    the spread factor. In 1D a widened mesh alone loses the mixtures' own scale: at σ_Q² = σ_P²/2 + 1e-5 the cells
    were 2000 σ_P wide near the modes, and the value was off by 4 times its error estimate.
    """
    num, den = _CHI2_ROLES[name]
    B = len(Ps)
    finite, spread = np.ones(B, dtype=bool), np.ones(B)
    extra: list[GaussianMixture] = list(Ps)
    used = False
    for b, pair in enumerate(zip(Ps, Qs)):
        finite[b], spread[b] = chi2_is_finite(pair[num], pair[den])
        small = pair[num].n_components * pair[den].n_components <= CHI2_TAILS_ALWAYS
        if finite[b] and (spread[b] > 1.0 or small):  # slow or shifted tails
            tails = chi2_tail_components(pair[num], pair[den], relevant_only=spread[b] <= 1.0)
            if tails is not None:
                extra[b], spread[b], used = tails, 1.0, True
    return finite, spread, extra if used else None  # P_b again as "extra" would only double the mesh's work


def f_divergence(P: Mixtures, Q: Mixtures, f: str | FDivergence, alpha: float | None = None,
                 error: bool = False, rtol: float | None = None):
    """D_f(P||Q) = ∫ q(x) f(p(x)/q(x)) dx, in nats, for 1D or 2D Gaussian mixtures.

    Parameters
    ----------
    P, Q : GaussianMixture or sequences of them (batched; a single mixture broadcasts).
    f : registered name (see ``F_DIVERGENCES``, or ``"arimoto"`` with ``alpha``) or an FDivergence record.
    error : also return the (conservative) absolute error estimate.
    rtol : relative tolerance on that estimate (default 1e-11 in 1D, 1e-8 in 2D; 1e-7 in 2D for the
        non-smooth TV-type records, whose kink along p = q the 2D mesh can only resolve by refinement).

    Computed as f(1) + ∫ q φ(p/q) with φ(u) = f(u) − f(1) − f'(1)(u−1) ≥ 0 (see :mod:`divergences.fdiv`).

    Examples
    --------
    >>> from divergences import seed_toy
    >>> toy = seed_toy()
    >>> round(f_divergence(toy.real, toy.gen_right, "js"), 6)
    0.607741
    """
    rec = get_f(f, alpha)
    Ps, Qs, batched = pair_up(P, Q)
    if rtol is None and not rec.smooth and Ps[0].dim == 2:
        rtol = NONSMOOTH_RTOL_2D
    B = len(Ps)
    finite = np.ones(B, dtype=bool)
    spread = np.ones(B)
    extra = None
    if rec.name in _CHI2_ROLES:
        finite, spread, extra = chi2_mesh(Ps, Qs, rec.name)
    values, errors = np.full(B, np.inf), np.zeros(B)
    idx = np.flatnonzero(finite)
    if idx.size:
        integrand = lambda points, lp, lq: rec.integrand(lp, lq)
        v, e = integrate_pairs([Ps[i] for i in idx], [Qs[i] for i in idx], integrand, rtol=rtol, spread=spread[idx],
                              crossing_levels=rec.bend_levels, mesh_extra=None if extra is None else [extra[i] for i in idx],
                              log_scale=rec.log_scale)
        if np.any(np.isnan(v)):
            i = idx[np.flatnonzero(np.isnan(v))[0]]
            raise ValueError(_unrepresentable(rec.name, Ps[i], Qs[i], i if batched else None))
        if np.any(np.isinf(v)):
            warnings.warn(f"{rec.name}: the divergence is finite but exceeds the float64 range; returned inf",
                          RuntimeWarning, stacklevel=2)
        # within [f(1), sup D_f]: the integrand is ≥ 0 and the exact value is in range, so clipping only moves the
        # value towards it (the error estimate still covers it)
        values[idx] = np.clip(v + rec.f_one, rec.f_one, rec.upper)
        errors[idx] = e + conditioning_error(Ps, Qs, idx, values[idx]) if Ps[0].dim > 1 else e  # 1D: κ = 1
    if not batched:
        values, errors = float(values[0]), float(errors[0])
    return (values, errors) if error else values


FACTOR_EPS = float(np.finfo(np.longdouble).eps)
"""Relative precision of the covariance factors (:func:`divergences.mixture.cholesky_factors`)."""


def conditioning_error(Ps: Sequence[GaussianMixture], Qs: Sequence[GaussianMixture], idx: np.ndarray,
                       values: np.ndarray) -> np.ndarray:
    """The part of the error that comes from the covariances' conditioning, not the cubature: 4 κ u max(|D|, 1),
    κ the largest condition number λ_max/λ_min of a component of P_i or Q_i, u = :data:`FACTOR_EPS`.

    A covariance with condition number κ fixes its thin direction, and the factors computed from it, to about κ·u
    relative; a divergence depends on a thin variance at most like 1/λ or log λ (KL(N(0, I) || thin) ∝ 1/λ_min),
    so its relative error is at most about κ·u (the factor 4 is a margin). Negligible unless κ ≳ 1e8
    (1e12: 4e-7 relative, which the cubature's estimate alone would not cover).
    """
    kappa = np.array([max(Ps[i]._condition, Qs[i]._condition) for i in idx])
    with np.errstate(invalid="ignore", over="ignore"):
        return 4.0 * kappa * FACTOR_EPS * np.maximum(np.abs(values), 1.0)


def _unrepresentable(name: str, P: GaussianMixture, Q: GaussianMixture, pair: int | None) -> str:
    """The ValueError message for a divergence whose integrand cannot be formed in float64 (see
    :func:`divergences.fdiv.at_infinite_ratio`), naming the separation or scale ratio that causes it."""
    sd = [np.sqrt(m._cov_eigvals) for m in (P, Q)]
    smallest = min(float(s.min()) for s in sd)
    gap = max(float(np.max(np.abs(mp - mq))) for mp in P.means for mq in Q.means) / smallest
    ratio = max(float(s.max()) for s in sd) / smallest
    where = "" if pair is None else f" (pair {pair} of the batch)"
    cause = (f"the means of P and Q are {gap:.3g} of the smallest standard deviation apart" if gap >= ratio else
             f"the standard deviations of P and Q differ by a factor {ratio:.3g}")
    return (f"{name}(P||Q){where} cannot be computed in float64: {cause}, so squared Mahalanobis distances overflow "
            f"(beyond about 1.3e154 standard deviations) where one of the densities is still positive, and {name} "
            f"grows with them (it is of their order and may exceed the float64 range). Rescale the problem or bring "
            f"the mixtures closer")


def _named(name: str, doc: str):
    def fn(P: Mixtures, Q: Mixtures, error: bool = False, rtol: float | None = None):
        return f_divergence(P, Q, name, error=error, rtol=rtol)

    fn.__doc__ = doc + "\n\n    Batched, ``error`` and ``rtol`` as in :func:`f_divergence`."
    return fn


kl = _named("kl", "KL(P||Q) = ∫ p log(p/q) dx (f(u) = u log u).")
reverse_kl = _named("reverse_kl", "Reverse KL, KL(Q||P) = ∫ q log(q/p) dx (f(u) = −log u).")
pearson_chi2 = _named("pearson", "Pearson χ²(P||Q) = ∫ (p − q)²/q dx (f(u) = (u − 1)²); inf when p²/q is not integrable.")
neyman_chi2 = _named("neyman", "Neyman χ²(P||Q) = ∫ (q − p)²/p dx (f(u) = (1 − u)²/u); inf when q²/p is not integrable.")
squared_hellinger = _named("squared_hellinger", "Squared Hellinger H²(P, Q) = ∫ (√p − √q)² dx ∈ [0, 2].")
jsd = _named("js", "Jensen-Shannon divergence JSD = ½KL(P||M) + ½KL(Q||M), M = (P + Q)/2; in [0, log 2].")
total_variation = _named("tv", "Total variation TV(P, Q) = ½ ∫ |p − q| dx ∈ [0, 1].")
gan_divergence = _named("gan", "The GAN divergence 2·JSD(P||Q) − log 4 (Goodfellow et al. 2014); in [−log 4, 0].")


def arimoto(P: Mixtures, Q: Mixtures, alpha: float, error: bool = False, rtol: float | None = None):
    """Arimoto divergence D_{f_α}(P||Q), α ∈ (0, ∞] (Kurri et al. 2021), f_α as in :func:`divergences.fdiv.arimoto_f`.

    Limits: α → 1 gives 2·JSD, α = 1/2 the squared Hellinger distance, α → ∞ the total variation.
    """
    return f_divergence(P, Q, "arimoto", alpha=alpha, error=error, rtol=rtol)


def gaussian_kl(mean_p, cov_p, mean_q, cov_q) -> float:
    """Closed form KL(N(μ_p, Σ_p) || N(μ_q, Σ_q)) = ½[tr(Σ_q⁻¹Σ_p) + Δμᵀ Σ_q⁻¹ Δμ − d + log det Σ_q / det Σ_p].

    A scalar mean with a scalar variance is 1D. Means and covariances are checked as for a
    :class:`GaussianMixture` component (finite, symmetric positive definite, matching shapes); P and Q must
    have the same dimension (ValueError otherwise).
    """
    P = GaussianMixture([1.0], [np.atleast_1d(check_finite("mean_p", mean_p))], [check_finite("cov_p", cov_p)])
    Q = GaussianMixture([1.0], [np.atleast_1d(check_finite("mean_q", mean_q))], [check_finite("cov_q", cov_q)])
    if P.dim != Q.dim:
        raise ValueError(f"P and Q must have the same dimension; got {P.dim} and {Q.dim}")
    # from the factors Σ = L Lᵀ, Σ⁻¹ = W Wᵀ of :func:`divergences.mixture.cholesky_factors` (extended precision in
    # d ≤ 2): tr(Σ_q⁻¹Σ_p) = ‖W_qᵀ L_p‖²_F, Δμᵀ Σ_q⁻¹ Δμ = ‖Δμ W_q‖², log det from the diagonals
    Lp, Wq = P._chol[0], Q._prec_chol[0]
    dm = Q.means[0] - P.means[0]
    half_log_det = Q._log_norm[0] - P._log_norm[0]  # ½ log det Σ_p − ½ log det Σ_q
    return float(0.5 * (np.sum((Wq.T @ Lp) ** 2) + np.sum((dm @ Wq) ** 2) - P.dim) - half_log_det)
