"""f-divergence records: generator f, derivative, convex conjugate, f-GAN activation, stable integrands.

Convention (whole package): P is the data distribution, Q the generator's,
``D_f(P||Q) = ∫ q(x) f(p(x)/q(x)) dx`` in nats (Csiszár 1967; Nowozin et al. 2016).

Each record also carries the integrand the quadrature engine uses,

    q · φ(p/q),   φ(u) = f(u) − f(1) − f'(1)(u − 1) ≥ 0   (a Bregman remainder of the convex f),

so that ``D_f = f(1) + ∫ q φ(p/q) dx`` (the linear term integrates to ∫(p − q) = 0). The
integrand is non-negative (no cancellation between positive and negative parts), is written
on the log-ratio r = log p − log q in two branches (``q·φ`` for r ≤ 0, ``p·φ/u`` for r > 0) so
that it neither overflows nor forms 0·∞ where both densities underflow, and is exactly 0
where p = q.

Jensen-Shannon: the seeds' f-GAN table gives f(u) = u log u − (u+1) log((u+1)/2), whose
f-divergence is **2·JSD**, while its divergence column reads JSD. The ``js`` record here follows
**JSD itself** (f halved: f(u) = ½[u log u − (u+1) log((u+1)/2)], so D_js ≤ log 2); the ``gan``
record is Nowozin's GAN row, D_gan = 2·JSD − log 4 (f(1) = −log 4 ≠ 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike

from ._numerics import LOG2, NUMPY_OPS, Array, check_alpha, expm1_ratio, sigmoid, softplus

ArrayFn = Callable[[Array], Array]
OpsFn = Callable[[Any, Any], Any]  # (array, ops namespace) -> array; numpy or torch


@dataclass(frozen=True)
class Interval:
    """A real interval (lo, hi) with optional closed ends: the effective domain of a conjugate f*."""

    lo: float
    hi: float
    lo_closed: bool = False
    hi_closed: bool = False

    def contains(self, t: ArrayLike) -> np.ndarray:
        """Boolean mask of the points of ``t`` inside the interval."""
        t = np.asarray(t, dtype=float)
        above = t >= self.lo if self.lo_closed else t > self.lo
        below = t <= self.hi if self.hi_closed else t < self.hi
        return above & below

    def __str__(self) -> str:
        return f"{'[' if self.lo_closed else '('}{self.lo:g}, {self.hi:g}{']' if self.hi_closed else ')'}"


def _branches(lp: Array, lq: Array, neg: ArrayFn, pos: ArrayFn, log_neg: bool = False, log_pos: bool = False,
              limits: tuple[float, float] = (np.nan, np.nan)) -> Array:
    """Evaluate q·φ(e^r) as exp(lq)·neg(r) for r ≤ 0 and exp(lp)·pos(r) for r > 0 (r = lp − lq).

    With ``log_neg``/``log_pos`` the branch function returns a logarithm and the product is
    formed in log space (used where φ grows exponentially, the χ² integrands).
    Where r = ±inf (one log density overflowed to −inf: the point is beyond ~1e154 standard deviations of every
    component of that mixture) the value is the limit :func:`at_infinite_ratio` with ``limits`` = (φ(0),
    lim_{u→∞} φ(u)/u); where both log densities are −inf it is 0.
    """
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        r = lp - lq
        out = np.empty_like(r)
        m = r <= 0
        out[m] = np.exp(lq[m] + neg(r[m])) if log_neg else np.exp(lq[m]) * neg(r[m])
        n = ~m
        out[n] = np.exp(lp[n] + pos(r[n])) if log_pos else np.exp(lp[n]) * pos(r[n])
    if not np.isfinite(r).all():
        at_infinite_ratio(out, lp, lq, limits)
    return np.maximum(out, 0.0)


def at_infinite_ratio(out: Array, lp: Array, lq: Array, limits: tuple[float, float]) -> None:
    """Set ``out`` where r = lp − lq is ±inf or NaN (a log density overflowed to −inf) to q·φ(0) (r = −inf) or
    p·lim φ(u)/u (r = +inf), in place; 0 where both are −inf or the density is 0.

    ``limits`` = (φ(0), lim φ(u)/u): a finite limit gives density × limit; +inf means φ grows exponentially in
    |r| (χ²), so the integrand is beyond float64 wherever the density is positive: +inf (the divergence exceeds the
    float64 range); NaN means it grows like |r| (KL, reverse KL), so its true value, density × |r| with
    |r| > 1.8e308, cannot be formed: NaN, which the caller reports as an error."""
    with np.errstate(invalid="ignore"):
        r = lp - lq
    for sel, log_density, limit in ((r == -np.inf, lq, limits[0]), (r == np.inf, lp, limits[1])):
        if sel.any():
            dens = np.exp(log_density[sel])
            with np.errstate(invalid="ignore"):
                out[sel] = np.where(dens > 0.0, dens * limit, 0.0)
    out[np.isnan(r)] = 0.0  # both log densities −inf: no mass of either


@dataclass(frozen=True)
class FDivergence:
    """One f-divergence: ``D_f(P||Q) = ∫ q f(p/q) dx``.

    Attributes
    ----------
    name : registry name.
    f : generator, convex on [0, ∞).
    f_prime : f'.
    f_conj : convex conjugate f*(t) = sup_u [t u − f(u)]; +inf outside ``conj_domain``.
    conj_domain : effective domain of f*.
    activation : (v, ops) ↦ g_f(v), the f-GAN output activation mapping a real logit v into
        ``conj_domain`` (Nowozin et al. 2016, §2.4 and Table 2), written once for numpy and torch ops. Every
        g_f here is increasing in v (a larger logit means "more real"); for Neyman χ² and squared Hellinger
        g_f(v) = 1 − e^{−v}, onto (−∞, 1), the form of common f-GAN code (a decreasing 1 − e^{v} has the same
        range and would only flip the sign of the logit).
    conj_activation : (v, ops) ↦ f*(g_f(v)) in a stable closed form (e.g. softplus(v) for ``gan``).
    t_star_log : r ↦ f'(e^r), the optimal f-GAN critic as a function of r = log(p/q).
    integrand : (log p, log q) ↦ q φ(p/q) ≥ 0 with φ(u) = f(u) − f(1) − f'(1)(u − 1).
    f_one : f(1), the value of D_f(P||P).
    limits : (φ(0), lim_{u→∞} φ(u)/u), the integrand per unit of q where p/q = 0 and per unit of p where q/p = 0
        (used where a log density overflows to −inf); +inf: φ grows exponentially there (χ²), NaN: it grows like
        |log u| (KL, reverse KL), see :func:`at_infinite_ratio`.
    log_scale : size of the constant the integrand adds in log space before exponentiating (Arimoto below α = 1:
        log(α/(1 − α)) + (log 2)/α); its rounding is part of the cubature's error estimate.
    upper : sup of D_f over all pairs, f(0) + lim f(u)/u (attained by disjoint supports; inf if unbounded): every
        returned value is clipped to [f(1), upper].
    bend_levels : values of r = log(p/q) at which φ(e^r) has a kink (TV, Arimoto α = ∞: r = 0) or bends
        on a scale too small for the Gauss rules (Arimoto at large finite α: r = 0, ±k/α); the 1D
        cubature cuts its mesh where r crosses each. Empty for integrands smooth on the scale of the mesh.
    reference : where the formula comes from.
    """

    name: str
    f: ArrayFn
    f_prime: ArrayFn
    f_conj: ArrayFn
    conj_domain: Interval
    activation: OpsFn
    conj_activation: OpsFn
    t_star_log: ArrayFn
    integrand: Callable[[Array, Array], Array] = field(repr=False)
    f_one: float = 0.0
    bend_levels: tuple[float, ...] = ()
    limits: tuple[float, float] = (np.nan, np.nan)
    upper: float = np.inf
    log_scale: float = 0.0
    reference: str = "Nowozin, Cseke & Tomioka (2016), f-GAN, Table 1-2"

    @property
    def smooth(self) -> bool:
        """Whether φ is smooth on the scale of the cubature mesh (no ``bend_levels``)."""
        return not self.bend_levels

    def g_f(self, v: ArrayLike) -> Array:
        """f-GAN output activation g_f(v) ∈ dom f* for logits v (numpy)."""
        return self.activation(np.asarray(v, dtype=float), NUMPY_OPS)

    def conj_g_f(self, v: ArrayLike) -> Array:
        """f*(g_f(v)) for logits v (numpy), the f-GAN fake-sample term, without forming g_f first."""
        return self.conj_activation(np.asarray(v, dtype=float), NUMPY_OPS)

    def t_star(self, ratio: ArrayLike) -> Array:
        """Optimal f-GAN critic T* = f'(p/q) given the density ratio ``ratio`` = p/q ≥ 0."""
        u = np.asarray(ratio, dtype=float)
        if np.any(u < 0) or np.any(np.isnan(u)):
            raise ValueError("ratio = p/q must be non-negative and not NaN")
        with np.errstate(divide="ignore"):
            return self.t_star_log(np.log(u))


def _conj_on(domain: Interval, fn: ArrayFn) -> ArrayFn:
    """Wrap a conjugate formula so that it returns +inf outside its effective domain."""

    def conj(t: ArrayLike) -> Array:
        t = np.asarray(t, dtype=float)
        inside = domain.contains(t)
        out = np.full(t.shape, np.inf)
        with np.errstate(all="ignore"):
            out[inside] = fn(t[inside])
        return out

    return conj


def _xlogx(u: Array) -> Array:
    from scipy.special import xlogy

    return xlogy(u, u)


# ----------------------------------------------------------------------------- named records
def _kl() -> FDivergence:
    lim = (1.0, np.nan)  # (φ(0), lim φ(u)/u)
    dom = Interval(-np.inf, np.inf)
    return FDivergence(
        name="kl",
        f=lambda u: _xlogx(np.asarray(u, float)),
        f_prime=lambda u: 1.0 + np.log(u),
        f_conj=_conj_on(dom, lambda t: np.exp(t - 1.0)),
        conj_domain=dom,
        activation=lambda v, ops: v,
        conj_activation=lambda v, ops: ops.exp(v - 1.0),
        t_star_log=lambda r: 1.0 + r,
        integrand=lambda lp, lq: _branches(lp, lq, lambda r: r * np.exp(r) - np.expm1(r), lambda r: r + np.expm1(-r), limits=lim),
        limits=lim,
        upper=np.inf,
    )


def _reverse_kl() -> FDivergence:
    lim = (np.nan, 1.0)  # (φ(0), lim φ(u)/u)
    dom = Interval(-np.inf, 0.0)
    return FDivergence(
        name="reverse_kl",
        f=lambda u: -np.log(u),
        f_prime=lambda u: -1.0 / np.asarray(u, float),
        f_conj=_conj_on(dom, lambda t: -1.0 - np.log(-t)),
        conj_domain=dom,
        activation=lambda v, ops: -ops.exp(-v),
        conj_activation=lambda v, ops: v - 1.0,
        t_star_log=lambda r: -np.exp(-r),
        integrand=lambda lp, lq: _branches(
            lp, lq, lambda r: np.expm1(r) - r, lambda r: -np.expm1(-r) - r * np.exp(-r), limits=lim
        ),
        limits=lim,
        upper=np.inf,
    )


def _pearson() -> FDivergence:
    lim = (1.0, np.inf)  # (φ(0), lim φ(u)/u)
    dom = Interval(-np.inf, np.inf)
    return FDivergence(
        name="pearson",
        f=lambda u: (np.asarray(u, float) - 1.0) ** 2,
        f_prime=lambda u: 2.0 * (np.asarray(u, float) - 1.0),
        f_conj=_conj_on(dom, lambda t: 0.25 * t * t + t),
        conj_domain=dom,
        activation=lambda v, ops: v,
        conj_activation=lambda v, ops: 0.25 * v * v + v,
        t_star_log=lambda r: 2.0 * np.expm1(r),
        # r ≤ 0: q (u−1)²; r > 0: p (u − 2 + 1/u) = p e^r (1 − e^{−r})², formed in log space.
        integrand=lambda lp, lq: _branches(
            lp, lq, lambda r: np.expm1(r) ** 2, lambda r: r + 2.0 * np.log(-np.expm1(-r)), log_pos=True, limits=lim
        ),
        limits=lim,
        upper=np.inf,
    )


def _neyman() -> FDivergence:
    lim = (np.inf, 1.0)  # (φ(0), lim φ(u)/u)
    dom = Interval(-np.inf, 1.0, hi_closed=True)  # f*(1) = sup_u [u − (1−u)²/u] = 2, attained as u → ∞
    return FDivergence(
        name="neyman",
        f=lambda u: (1.0 - np.asarray(u, float)) ** 2 / np.asarray(u, float),
        f_prime=lambda u: 1.0 - 1.0 / np.asarray(u, float) ** 2,
        f_conj=_conj_on(dom, lambda t: 2.0 - 2.0 * np.sqrt(1.0 - t)),
        conj_domain=dom,
        activation=lambda v, ops: -ops.expm1(-v),
        conj_activation=lambda v, ops: 2.0 - 2.0 * ops.exp(-0.5 * v),
        t_star_log=lambda r: -np.expm1(-2.0 * r),
        # r ≤ 0: q (1−u)²/u = q e^{−r} (1 − e^r)², formed in log space; r > 0: p (1 − 1/u)².
        integrand=lambda lp, lq: _branches(
            lp, lq, lambda r: -r + 2.0 * np.log(-np.expm1(r)), lambda r: np.expm1(-r) ** 2, log_neg=True, limits=lim
        ),
        limits=lim,
        upper=np.inf,
    )


def _squared_hellinger() -> FDivergence:
    lim = (1.0, 1.0)  # (φ(0), lim φ(u)/u)
    dom = Interval(-np.inf, 1.0)
    return FDivergence(
        name="squared_hellinger",
        f=lambda u: (np.sqrt(np.asarray(u, float)) - 1.0) ** 2,
        f_prime=lambda u: 1.0 - 1.0 / np.sqrt(np.asarray(u, float)),
        f_conj=_conj_on(dom, lambda t: t / (1.0 - t)),
        conj_domain=dom,
        activation=lambda v, ops: -ops.expm1(-v),
        conj_activation=lambda v, ops: ops.expm1(v),
        t_star_log=lambda r: -np.expm1(-0.5 * r),
        integrand=lambda lp, lq: _branches(
            lp, lq, lambda r: np.expm1(0.5 * r) ** 2, lambda r: np.expm1(-0.5 * r) ** 2, limits=lim
        ),
        limits=lim,
        upper=2.0,
    )


def _tv() -> FDivergence:
    lim = (0.5, 0.5)  # (φ(0), lim φ(u)/u)
    dom = Interval(-0.5, 0.5, True, True)
    return FDivergence(
        name="tv",
        f=lambda u: 0.5 * np.abs(np.asarray(u, float) - 1.0),
        f_prime=lambda u: 0.5 * np.sign(np.asarray(u, float) - 1.0),
        f_conj=_conj_on(dom, lambda t: t),
        conj_domain=dom,
        activation=lambda v, ops: 0.5 * ops.tanh(v),
        conj_activation=lambda v, ops: 0.5 * ops.tanh(v),
        t_star_log=lambda r: 0.5 * np.sign(r),
        integrand=lambda lp, lq: _branches(
            lp, lq, lambda r: 0.5 * np.abs(np.expm1(r)), lambda r: 0.5 * np.abs(np.expm1(-r)), limits=lim
        ),
        bend_levels=(0.0,),
        limits=lim,
        upper=1.0,
    )


def _js_phi(r: Array) -> Array:
    """φ(e^r) for the JSD generator, r ≤ 0: ½[r e^r − (1 + e^r)(softplus(r) − log 2)]."""
    return 0.5 * (r * np.exp(r) - (1.0 + np.exp(r)) * (softplus(r) - LOG2))


_JS_LIMITS = (0.5 * LOG2, 0.5 * LOG2)  # φ(0) = f(0) = ½ log 2 (f(1) = f'(1) = 0); symmetric


def _js_integrand(lp: Array, lq: Array) -> Array:
    # JSD is symmetric (f(u) = u f(1/u)), so the r > 0 branch is the r ≤ 0 one mirrored.
    return _branches(lp, lq, _js_phi, lambda r: _js_phi(-r), limits=_JS_LIMITS)


def _js() -> FDivergence:
    dom = Interval(-np.inf, 0.5 * LOG2)
    return FDivergence(
        name="js",
        f=lambda u: 0.5 * (_xlogx(np.asarray(u, float)) - (np.asarray(u, float) + 1.0) * np.log((np.asarray(u, float) + 1.0) / 2.0)),
        f_prime=lambda u: 0.5 * np.log(2.0 * np.asarray(u, float) / (np.asarray(u, float) + 1.0)),
        f_conj=_conj_on(dom, lambda t: -0.5 * np.log(2.0 - np.exp(2.0 * t))),
        conj_domain=dom,
        activation=lambda v, ops: 0.5 * (LOG2 - ops.softplus(-v)),
        conj_activation=lambda v, ops: 0.5 * (ops.softplus(v) - LOG2),
        t_star_log=lambda r: 0.5 * (LOG2 - softplus(-r)),
        integrand=_js_integrand,
        limits=_JS_LIMITS,
        upper=LOG2,
        reference="Lin (1991); halved f of Nowozin et al. (2016) Table 1 so that D_js = JSD",
    )


def _gan_f(u: ArrayLike) -> Array:
    """f(u) = u log u − (u + 1) log(u + 1) = −u log1p(1/u) − log1p(u): no cancellation of the O(u log u) terms
    at large u (f(1e12) = −28.63, which the first form gets to 2e-3)."""
    u = np.asarray(u, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        head = np.where(u > 0, -u * np.log1p(1.0 / np.where(u > 0, u, 1.0)), 0.0)
    return head - np.log1p(u)


def _gan_f_prime(u: ArrayLike) -> Array:
    """f'(u) = log(u/(u + 1)) = −log1p(1/u) (−inf at u = 0; the quotient form rounds to 0 beyond u ≈ 1e16)."""
    with np.errstate(divide="ignore"):
        return -np.log1p(1.0 / np.asarray(u, float))


def _gan() -> FDivergence:
    dom = Interval(-np.inf, 0.0)
    return FDivergence(
        name="gan",
        f=_gan_f,
        f_prime=_gan_f_prime,
        f_conj=_conj_on(dom, lambda t: -np.log(-np.expm1(t))),
        conj_domain=dom,
        activation=lambda v, ops: -ops.softplus(-v),
        conj_activation=lambda v, ops: ops.softplus(v),
        t_star_log=lambda r: -softplus(-r),
        integrand=lambda lp, lq: 2.0 * _js_integrand(lp, lq),
        limits=(LOG2, LOG2),
        upper=0.0,
        f_one=-2.0 * LOG2,
        reference="Goodfellow et al. (2014); Nowozin et al. (2016) Table 1 'GAN' row: D = 2 JSD − log 4",
    )


# ----------------------------------------------------------------------------- Arimoto / α family
_GL_S, _GL_W = np.polynomial.legendre.leggauss(8)
_GL_S, _GL_W = 0.5 * (_GL_S + 1.0), 0.5 * _GL_W  # nodes and weights on [0, 1]
_ALPHA_NEAR_ONE = 0.05  # |α − 1| below which f_α is formed as α ∫_0^1 h'(1 + s(α−1)) ds (no cancellation)


def _u_minus_one_shifted(r: Array) -> Array:
    """(u − 1) e^{−max(r, 0)} for u = e^r, without overflow: expm1(r) for r ≤ 0, −expm1(−r) for r > 0."""
    return np.where(r > 0, -np.expm1(-np.abs(r)), np.expm1(np.minimum(r, 0.0)))


def _arimoto_h(beta: float, r: Array, s0: Array) -> Array:
    """h(β) e^{−s0} with h(β) = (1+u^β)^{1/β} − 2^{1/β} − 2^{1/β−1}(u − 1), u = e^r, s0 = max(r, 0)."""
    a = np.where(r > 0, softplus(-beta * r) / beta, softplus(beta * r) / beta)  # log(1+u^β)/β − s0
    return np.exp(a) - np.exp(LOG2 / beta - s0) - _u_minus_one_shifted(r) * np.exp((1.0 / beta - 1.0) * LOG2)


def _arimoto_dh(beta: float, r: Array, s0: Array) -> Array:
    """dh/dβ e^{−s0} (the shifted derivative of :func:`_arimoto_h` in β)."""
    sp = softplus(beta * r)
    a = np.where(r > 0, softplus(-beta * r) / beta, sp / beta)
    da = r * sigmoid(beta * r) / beta - sp / beta**2
    db = -LOG2 / beta**2
    return da * np.exp(a) - db * np.exp(LOG2 / beta - s0) - _u_minus_one_shifted(r) * db * np.exp((1.0 / beta - 1.0) * LOG2)


def _arimoto_dH(beta: float, r: Array, s0: Array) -> Array:
    """d/dβ [(1 + u^β)^{1/β} − 2^{1/β}] e^{−s0}, u = e^r, s0 = max(r, 0), without the linear term of
    :func:`_arimoto_dh` and with d/dβ log(1 + u^β)/β = [r σ(βr) − softplus(βr)/β]/β written for r > 0 as
    −[r σ(−βr) + softplus(−βr)/β]/β (the two O(r) terms cancel exactly): O(r u^{−β}) at large u, to full precision."""
    a = np.where(r > 0, softplus(-beta * r) / beta, softplus(beta * r) / beta)
    da = np.where(r > 0, -(r * sigmoid(-beta * r) + softplus(-beta * r) / beta) / beta,
                  (r * sigmoid(beta * r) - softplus(beta * r) / beta) / beta)
    return da * np.exp(a) + LOG2 / beta**2 * np.exp(LOG2 / beta - s0)


def _arimoto_log_phi_small(alpha: float, r: Array) -> Array:
    """log[φ_α(e^r)·e^{−max(r,0)}] for α < 1, free of 2^{1/α} overflow (α = 1e-4: 2^{10000}).

    h(α) = 2^{1/α} g with g = ((1 + u^α)/2)^{1/α} − 1 − (u − 1)/2, and shifted by e^{−max(r,0)} g becomes, with
    t = −|r| (φ_α is symmetric: φ_α(u) = u φ_α(1/u)), expm1(log1p(expm1(αt)/2)/α) − expm1(t)/2 ≤ 0; so
    log φ_shifted = log(α/(1 − α)) + (log 2)/α + log(−g), each term finite (the sum may exceed 709: the
    integrand then overflows to inf, and so does the divergence, as it should).
    """
    t = -np.abs(r)
    g = np.expm1(np.log1p(0.5 * np.expm1(alpha * t)) / alpha) - 0.5 * np.expm1(t)
    with np.errstate(divide="ignore"):
        return np.log(alpha / (1.0 - alpha)) + LOG2 / alpha + np.log(np.maximum(-g, 0.0))


def _arimoto_phi_shifted(alpha: float, r: Array) -> Array:
    """φ_α(e^r)·e^{−max(r,0)} with φ_α(u) = f_α(u) − f_α'(1)(u − 1) (f_α(1) = 0) for α > 1 − 0.05 (smaller α:
    :func:`_arimoto_log_phi_small`); α = inf gives ½|u−1|."""
    r = np.clip(np.asarray(r, dtype=float), -745.0, 745.0)
    s0 = np.maximum(r, 0.0)
    if np.isinf(alpha):
        return 0.5 * np.abs(_u_minus_one_shifted(r))
    eps = alpha - 1.0
    if abs(eps) < _ALPHA_NEAR_ONE:
        # f_α = α/(α−1) [h(α) − h(1)] = α ∫_0^1 h'(1 + s ε) ds, 8-point Gauss-Legendre in s.
        acc = sum(w * _arimoto_dh(1.0 + s * eps, r, s0) for s, w in zip(_GL_S, _GL_W))
        return alpha * acc
    return alpha / eps * _arimoto_h(alpha, r, s0)


ARIMOTO_BEND_ALPHA = 8.0
"""Above this α, φ_α's curvature at r = 0 (∝ α, spread over |r| ≲ 1/α) is cut into 1D meshes and the
record counts as non-smooth (2D: the looser TV-type rtol). In 2D the bend is not cut and the error
estimate can fall short: at α = 15 a 2D pair was off by 2.5e-8 against an estimate of 2.1e-9."""


def _arimoto_bend_levels(alpha: float) -> tuple[float, ...]:
    """Where φ_α(e^r) bends: r = 0 for α = ∞ (the kink of ½|u − 1|); for finite α > ARIMOTO_BEND_ALPHA
    its second derivative is concentrated in |r| ≲ 1/α (φ_α → ½|e^r − 1| as α → ∞), so the mesh is cut
    at r = 0 and r = ±k/α, k = 1, 4, 16, 64; none for smaller α."""
    if np.isinf(alpha):
        return (0.0,)
    if alpha <= ARIMOTO_BEND_ALPHA:
        return ()
    return (0.0,) + tuple(s * k / alpha for k in (1.0, 4.0, 16.0, 64.0) for s in (1.0, -1.0))


def _arimoto_fprime_one(alpha: float) -> float:
    """f_α'(1) = α/(α−1)(2^{1/α−1} − 1), written as −log2·expm1(x)/x with x = (1/α − 1) log 2."""
    if np.isinf(alpha):
        return -0.5
    x = (1.0 / alpha - 1.0) * LOG2
    return float(-LOG2 * expm1_ratio(x))


def _arimoto_tstar_log(alpha: float, r: Array) -> Array:
    """f_α'(e^r) = α/(α−1)[σ(αr)^{(α−1)/α} − 1] = log σ(αr) · expm1(x)/x, x = ((α−1)/α) log σ(αr)."""
    if np.isinf(alpha):
        return np.where(r > 0, 0.0, np.where(r < 0, -1.0, -0.5))
    ls = -softplus(-alpha * np.asarray(r, float))
    return ls * expm1_ratio((alpha - 1.0) / alpha * ls)


def alpha_reward_log(alpha: float, log_t, ops=NUMPY_OPS):
    """−ℓ_α for a label predicted with probability t, from log t: α/(α−1)(t^{(α−1)/α} − 1).

    Written as log t · expm1(x)/x with x = ((α−1)/α) log t: no 1/(α−1) cancellation
    (α = 1: log t, the log-loss reward; α = ∞: t − 1). Sypherd et al. (2019).
    """
    if np.isinf(alpha):
        return ops.expm1(log_t)
    value = log_t * expm1_ratio((alpha - 1.0) / alpha * log_t, ops)
    # t = 0 (log t = −inf): the limit −α/(α−1) for α > 1, −inf for α ≤ 1 (the log-loss side)
    return ops.where(log_t == -np.inf, -alpha / (alpha - 1.0) if alpha > 1 else -np.inf, value)


def _arimoto_g(alpha: float, v, ops=NUMPY_OPS):
    """Activation v ↦ α/(α−1)[σ(v)^{(α−1)/α} − 1] = −ℓ_α(1, σ(v)), the α-loss reward of D = σ(v)."""
    return alpha_reward_log(alpha, -ops.softplus(-v), ops)


def _arimoto_c(alpha: float) -> float:
    """c_α = α/(α−1)(2^{1/α} − 2) = −2 log 2 · expm1(x)/x, x = (1/α − 1) log 2 (−log 4 at α = 1, −1 at α = ∞).

    With T = g_f(v) and D = σ(v): f_α*(T) = ℓ_α(0, D) + c_α, so V_f(T) = V_α(D) − c_α (Kurri et al. 2021).
    """
    if np.isinf(alpha):
        return -1.0
    return float(-2.0 * LOG2 * expm1_ratio((1.0 / alpha - 1.0) * LOG2))


def _arimoto_conj(alpha: float, t: Array) -> Array:
    """f_α*(t) = ℓ_α(0, D) + c_α where D = (1 + (α−1)t/α)^{α/(α−1)} solves t = −ℓ_α(1, D).

    (Fenchel conjugate at u = (f_α')^{-1}(t), for which σ(α log u) = D; written through the
    α-loss so that no t·u − f(u) cancellation occurs at the ends of the domain.)
    """
    if np.isinf(alpha):
        return t
    x = (alpha - 1.0) / alpha * t
    with np.errstate(divide="ignore"):
        log_d = np.where(x == 0, t, t * np.log1p(x) / np.where(x == 0, 1.0, x))
        log_1md = np.log(-np.expm1(log_d))
    return _arimoto_c(alpha) - alpha_reward_log(alpha, log_1md)


def arimoto_f(alpha: float) -> FDivergence:
    """Arimoto's f_α (Kurri et al. 2021; Österreicher & Vajda 2003), α ∈ (0, ∞]:

        f_α(u) = α/(α−1) [ (1 + u^α)^{1/α} − (1 + u) − 2^{1/α} + 2 ],   u ≥ 0.

    Limits: α → 1 gives f_1(u) = u log u − (1+u) log(1+u) + 2 log 2 (D_{f_1} = 2·JSD);
    α = 1/2 gives 2 − 2√u (D = squared Hellinger ∫(√p − √q)²); α → ∞ gives (1 − u)₊ (D = TV).
    The optimal f-GAN critic is T* = f_α'(p/q) = α/(α−1)[D_α*^{(α−1)/α} − 1] with
    D_α* = p^α/(p^α + q^α), the α-GAN discriminator; ``g_f`` maps a logit v to that form with D = σ(v).
    α near 1 is evaluated through an integral form free of the 1/(α−1) cancellation.
    """
    a = check_alpha(alpha)
    if a == 1.0:
        lo_hi = Interval(-np.inf, 0.0)
    elif np.isinf(a):
        lo_hi = Interval(-1.0, 0.0, True, True)
    elif a > 1.0:  # f_α* is finite at both ends: c_α at −α/(α−1) (u → 0) and α/(α−1)(2^{1/α} − 1) at 0 (u → ∞)
        lo_hi = Interval(-a / (a - 1.0), 0.0, True, True)
    else:
        lo_hi = Interval(-np.inf, 0.0)
    def f(u: ArrayLike) -> Array:
        u = np.asarray(u, dtype=float)
        with np.errstate(divide="ignore"):
            r = np.log(u)
        if np.isinf(a):
            return np.maximum(1.0 - u, 0.0)
        if abs(a - 1.0) < _ALPHA_NEAR_ONE:
            # f_α = α/(α−1)[H(α) − H(1)] = α ∫_0^1 H'(1 + s(α−1)) ds, H(β) = (1+u^β)^{1/β} − 2^{1/β}: no O(u) terms
            # to cancel (φ_α + f_α'(1)(u − 1) lost 1e-3 at u = 1e12)
            rc = np.clip(r, -745.0, 700.0)  # u^β underflows below e^−745; e^{s0} must not overflow (u ≤ e^700)
            s0 = np.maximum(rc, 0.0)
            acc = sum(w * _arimoto_dH(1.0 + t * (a - 1.0), rc, s0) for t, w in zip(_GL_S, _GL_W))
            return a * acc * np.exp(s0)
        # (1+u^α)^{1/α} − (1+u) as u·expm1(softplus(−αr)/α) − 1 (r > 0) or expm1(softplus(αr)/α) − u:
        # no cancellation of O(u) terms for large u.
        head = np.where(r > 0, u * np.expm1(softplus(-a * np.abs(r)) / a) - 1.0,
                        np.expm1(softplus(a * np.minimum(r, 0.0)) / a) - u)
        return a / (a - 1.0) * (head + 2.0 - 2.0 ** (1.0 / a))

    with np.errstate(over="ignore"):  # α ≲ 1e-3: 2^{1/α} and these limits are beyond float64 (inf)
        half_gap = float(-_arimoto_fprime_one(a))
        upper = float(2.0 * LOG2 * expm1_ratio(np.array((1.0 / a - 1.0) * LOG2))) if np.isfinite(a) else 1.0  # φ_α(0) = lim φ_α(u)/u = −f_α'(1) (f_α(0) + f_α'(1), symmetric f_α)
    limits = (half_gap, half_gap)

    def integrand(lp: Array, lq: Array) -> Array:
        with np.errstate(over="ignore", invalid="ignore"):
            r = lp - lq
            if 1.0 - a >= _ALPHA_NEAR_ONE:  # small α: the product in log space (2^{1/α} alone can overflow)
                out = np.exp(np.maximum(lp, lq) + _arimoto_log_phi_small(a, np.clip(r, -745.0, 745.0)))
            else:
                out = np.exp(np.maximum(lp, lq)) * _arimoto_phi_shifted(a, r)
        if not np.all(np.isfinite(r)):
            at_infinite_ratio(out, lp, lq, limits)
        return np.maximum(out, 0.0)

    return FDivergence(
        name=f"arimoto({a:.17g})",
        f=f,
        f_prime=lambda u: _arimoto_tstar_log(a, np.log(np.asarray(u, float))),
        f_conj=_conj_on(lo_hi, lambda t: _arimoto_conj(a, t)),
        conj_domain=lo_hi,
        activation=lambda v, ops: _arimoto_g(a, v, ops),
        conj_activation=lambda v, ops: _arimoto_c(a) - _arimoto_g(a, -v, ops),
        t_star_log=lambda r: _arimoto_tstar_log(a, r),
        integrand=integrand,
        limits=limits,
        upper=upper,
        log_scale=abs(np.log(a / (1.0 - a))) + LOG2 / a if 1.0 - a >= _ALPHA_NEAR_ONE else 0.0,
        bend_levels=_arimoto_bend_levels(a),
        reference="Kurri, Sypherd & Sankar (2021), Realizing GANs via a tunable loss function; Arimoto (1971)",
    )


F_DIVERGENCES: dict[str, FDivergence] = {
    rec.name: rec
    for rec in (_kl(), _reverse_kl(), _pearson(), _neyman(), _squared_hellinger(), _js(), _gan(), _tv())
}


def get_f(name: str | FDivergence, alpha: float | None = None) -> FDivergence:
    """Look up an f-divergence record by name (``F_DIVERGENCES`` keys, or ``"arimoto"`` with ``alpha``).

    A record passed in is returned unchanged. Unknown names raise ``ValueError`` listing the known ones.
    """
    if isinstance(name, FDivergence):
        if alpha is not None:
            raise ValueError(f"alpha={alpha!r} given with the record {name.name!r}: alpha only selects an 'arimoto' f")
        return name
    if not isinstance(name, str):
        raise TypeError(f"f must be a registered name or an FDivergence record; got {type(name).__name__}")
    if name == "arimoto" or name.startswith("arimoto("):
        if name.startswith("arimoto("):
            named = float(name[len("arimoto(") : -1])
            if alpha is not None and check_alpha(alpha) != named:
                raise ValueError(f"{name!r} names alpha = {named:g} but alpha={alpha!r} was given")
            alpha = named
        if alpha is None:
            raise ValueError("the 'arimoto' f-divergence needs alpha=... in (0, inf]")
        return arimoto_f(alpha)
    if alpha is not None:
        raise ValueError(f"the f-divergence {name!r} takes no alpha (alpha={alpha!r}); alpha is for 'arimoto'")
    try:
        return F_DIVERGENCES[name]
    except KeyError:
        known = ", ".join(sorted(F_DIVERGENCES)) + ", arimoto (with alpha)"
        raise ValueError(f"unknown f-divergence {name!r}; known: {known}") from None
