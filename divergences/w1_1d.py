"""Exact 1D Wasserstein-1 of Gaussian mixtures, and translated copies in any dimension.

W1(P, Q) = ∫ |F_P(x) − F_Q(x)| dx (Vallender 1974) by the adaptive pair cubature, the difference formed from CDFs
left of the pooled median and from survival functions right of it (no cancellation in either tail). A Q that is P
with every component moved by the same shift s has W1 = ||s|| in any dimension (Jensen's lower bound is attained by
the translation coupling). Used by :mod:`divergences.wasserstein` (the public function) and by
:mod:`divergences.w1_2d` (the exact W1 of 1D projections, a lower bound in 2D).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.special import ndtr

from ._numerics import Array
from .mixture import GaussianMixture
from .quadrature import Cells, PairCubature, Points


def cdf_gap(Ps: list[GaussianMixture], Qs: list[GaussianMixture], signed: bool) -> Callable:
    """Integrand F_Q − F_P (``signed``) or |F_P − F_Q| at cubature :class:`~divergences.quadrature.Points`, from
    CDFs left of the pooled median and survival functions right of it (no cancellation in either tail); the
    standardised offsets (x − μ_k)/σ_k are formed from each node's anchor, so they stay exact far from 0."""

    def g(points: Points, lp: Array | None = None, lq: Array | None = None) -> Array:
        out = np.empty(points.local.shape[0])
        bid = points.bid
        for b in np.unique(bid):
            m = bid == b
            sub = points.subset(m)
            fp, fq = _mixture_tail(Ps[b], sub, False), _mixture_tail(Qs[b], sub, False)
            sp, sq = _mixture_tail(Ps[b], sub, True), _mixture_tail(Qs[b], sub, True)
            gap = np.where(fp + fq < 1.0, fq - fp, sp - sq)
            out[m] = gap if signed else np.abs(gap)
        return out

    return g


def points_at(org: Array, x: Array, bid: Array) -> Points:
    """1D nodes at local coordinates x (n,) of anchors org (n,), one per cell."""
    local = x[:, None]
    return Points(Cells(org[:, None], local, local, bid), local, 1, None)


def _mixture_tail(M: GaussianMixture, points: Points, upper: bool) -> Array:
    """F(x) = Σ_k w_k Φ((x − μ_k)/σ_k), or with ``upper`` the survival 1 − F(x) (1D), at the points."""
    z = points.offsets(M.means)[..., 0] / np.sqrt(M.covs[:, 0, 0])
    return ndtr(-z if upper else z) @ M.weights


def translation(P: GaussianMixture, Q: GaussianMixture) -> tuple[float, float] | None:
    """W1 (midpoint, half-width) when Q is P with every component moved (same weights and covariances, exactly), by
    shifts s_k that agree to 1e-12 of their length; else None.

    W1 ≥ ‖E_Q X − E_P X‖ = ‖Σ w_k s_k‖ (Jensen: ‖x − y‖ is convex) and W1 ≤ Σ w_k ‖s_k‖ (move each component by
    its own shift); a translation by s gives both = ‖s‖, and the half-width is padded by 4 ulps of it (the sums'
    rounding).
    """
    if P.n_components != Q.n_components or P.dim != Q.dim:
        return None
    if not (np.array_equal(P.weights, Q.weights) and np.array_equal(P.covs, Q.covs)):
        return None
    shift = Q.means - P.means
    lower = _norm(P.weights @ shift)
    upper = float(P.weights @ np.array([_norm(s) for s in shift]))
    if not upper - lower <= 1e-12 * upper:
        return None
    # the sums above are rounded: a few ulps of their size widen the bracket
    return 0.5 * (lower + upper), 0.5 * (upper - lower) + 4.0 * np.finfo(float).eps * upper


def _norm(v: Array) -> float:
    """Euclidean length without overflow of the squares (‖(2e200, 0)‖ = 2e200, not inf)."""
    scale = float(np.max(np.abs(v)))
    return scale * float(np.linalg.norm(v / scale)) if 0.0 < scale < np.inf else scale


def w1_1d(Ps: list[GaussianMixture], Qs: list[GaussianMixture], rtol: float | None = None) -> tuple[Array, Array]:
    """W1(P_i, Q_i) and its error estimate for paired 1D mixtures: translated copies exactly (:func:`translation`),
    the others by ∫|F_P − F_Q| dx with the pair cubature (``rtol`` as for the divergences), cut at the crossings of
    F_P and F_Q (the integrand's kinks)."""
    vals, errs = np.zeros(len(Ps)), np.zeros(len(Ps))
    todo = []
    for i, (p, q) in enumerate(zip(Ps, Qs)):
        shift = translation(p, q)
        if shift is not None:
            vals[i], errs[i] = shift
        else:
            todo.append(i)
    if todo:
        ps, qs = [Ps[i] for i in todo], [Qs[i] for i in todo]
        signed_gap = cdf_gap(ps, qs, signed=True)
        kink = lambda org, x, bid: signed_gap(points_at(org, x, bid))
        v, e = PairCubature(ps, qs).integrate(cdf_gap(ps, qs, signed=False), rtol=rtol, kinks=[kink])
        vals[todo], errs[todo] = v, e
    return vals, errs
