"""Independent reference values for the tests of ``divergences``.

Nothing here imports the code under test: mixture densities are rebuilt from the public
attributes ``weights``/``means``/``covs`` with ``scipy.stats``, integrals are done with
``scipy.integrate.quad`` on scalar integrands written in closed, log-safe form, and the
Gaussian closed forms are derived in the docstrings below.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np
from scipy import integrate, linalg, stats
from scipy.optimize import brentq
from scipy.special import logsumexp, ndtr

LOG2 = math.log(2.0)
QUAD_EPSABS = 1e-13
QUAD_EPSREL = 1e-12


# ----------------------------------------------------------------------------- densities
def params_1d(M) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights, means, standard deviations) of a 1D mixture, read from its public attributes."""
    return np.asarray(M.weights), np.asarray(M.means)[:, 0], np.sqrt(np.asarray(M.covs)[:, 0, 0])


def logpdf_ref(M, x) -> np.ndarray:
    """log density with scipy.stats; x (n,) for 1D mixtures, (n, d) otherwise."""
    x = np.asarray(x, dtype=float)
    if M.dim == 1:
        w, mu, sd = params_1d(M)
        comp = stats.norm.logpdf(x.reshape(-1)[:, None], mu[None, :], sd[None, :]) + np.log(w)[None, :]
    else:
        comp = np.stack([np.log(w) + stats.multivariate_normal(m, c).logpdf(x.reshape(-1, M.dim))
                         for w, m, c in zip(M.weights, M.means, M.covs)], axis=-1)
        comp = comp.reshape(-1, M.n_components)
    return logsumexp(comp, axis=1)


def pdf_ref(M, x) -> np.ndarray:
    return np.exp(logpdf_ref(M, x))


def cdf_ref(M, x) -> np.ndarray:
    w, mu, sd = params_1d(M)
    return stats.norm.cdf(np.asarray(x, float).reshape(-1)[:, None], mu, sd) @ w


def sf_ref(M, x) -> np.ndarray:
    w, mu, sd = params_1d(M)
    return stats.norm.sf(np.asarray(x, float).reshape(-1)[:, None], mu, sd) @ w


class ScalarLogpdf:
    """Fast scalar log density of a 1D mixture for quad integrands (plain numpy, no package code)."""

    def __init__(self, M):
        w, mu, sd = params_1d(M)
        self.mu, self.var = mu, sd**2
        self.c = np.log(w) - 0.5 * np.log(2.0 * np.pi * self.var)

    def __call__(self, x: float) -> float:
        return float(np.logaddexp.reduce(self.c - 0.5 * (x - self.mu) ** 2 / self.var))


# ----------------------------------------------------------------------------- 1D quadrature
def breakpoints_1d(mixtures: Iterable, tail: float = 40.0) -> np.ndarray:
    """Integration box covering every component to ``tail`` σ, split at μ ± {0, 1, 3, 8, 20} σ."""
    mus, sds = [], []
    for M in mixtures:
        _, mu, sd = params_1d(M)
        mus.append(mu), sds.append(sd)
    mu, sd = np.concatenate(mus), np.concatenate(sds)
    lo, hi = float(np.min(mu - tail * sd)), float(np.max(mu + tail * sd))
    inner = np.concatenate([mu + k * sd for k in (-20, -8, -3, -1, 0, 1, 3, 8, 20)])
    inner = inner[(inner > lo) & (inner < hi)]
    return np.unique(np.concatenate([[lo], inner, [hi]]))


def quad_1d(g: Callable[[float], float], edges: np.ndarray, epsabs: float = QUAD_EPSABS,
            epsrel: float = QUAD_EPSREL) -> tuple[float, float]:
    """Σ over consecutive edges of quad(g); returns (value, summed abserr)."""
    tot, err = 0.0, 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        v, e = integrate.quad(g, a, b, epsabs=epsabs, epsrel=epsrel, limit=200)
        tot += v
        err += e
    return tot, err


def _log_abs_expm1(r: float) -> float:
    """log|e^r − 1| without overflow (−inf at r = 0)."""
    if r == 0.0:
        return -math.inf
    if r > 0.0:
        return r + math.log(-math.expm1(-r))
    return math.log(-math.expm1(r))


def _exp(x: float) -> float:
    return 0.0 if x < -745.2 else math.exp(x)


def _softplus(x: float) -> float:
    return float(np.logaddexp(0.0, x))


def _xexp(lx: float, factor: float) -> float:
    """e^{lx} · factor with 0 · (anything finite) = 0 where e^{lx} underflows."""
    e = _exp(lx)
    return 0.0 if e == 0.0 else e * factor


def _arimoto_pointwise(alpha: float) -> Callable[[float, float], float]:
    """q f_α(p/q) − f_α'(1)(p − q) = α/(α−1)[(p^α + q^α)^{1/α} − 2^{1/α−1}(p + q)] ≥ 0.

    Integrated: α/(α−1)[∫(p^α+q^α)^{1/α} − 2^{1/α}] = D_{f_α} (f_α as in Kurri et al. 2021).
    α = inf: max(p, q) − (p + q)/2 = |p − q|/2.
    """
    if math.isinf(alpha):
        return lambda lp, lq: 0.5 * abs(_exp(lp) - _exp(lq))
    k = alpha / (alpha - 1.0)
    c = 2.0 ** (1.0 / alpha - 1.0)
    return lambda lp, lq: k * (_exp(float(np.logaddexp(alpha * lp, alpha * lq)) / alpha) - c * (_exp(lp) + _exp(lq)))


# Each: (log p, log q) -> pointwise integrand whose integral is D_f − f(1) (the f(1) offset is
# added by divergence_ref). Written from the textbook definitions, each in a form that neither
# overflows nor forms 0·∞.
REF_POINTWISE: dict[str, Callable[[float, float], float]] = {
    "kl": lambda lp, lq: _xexp(lp, lp - lq),                                   # p log(p/q)
    "reverse_kl": lambda lp, lq: _xexp(lq, lq - lp),                           # q log(q/p)
    "pearson": lambda lp, lq: _exp(lq + 2.0 * _log_abs_expm1(lp - lq)),        # (p − q)²/q = q (e^r − 1)²
    "neyman": lambda lp, lq: _exp(lp + 2.0 * _log_abs_expm1(lq - lp)),         # (q − p)²/p
    "squared_hellinger": lambda lp, lq: _exp(lq + 2.0 * _log_abs_expm1(0.5 * (lp - lq))),  # (√p − √q)²
    "tv": lambda lp, lq: 0.5 * abs(_exp(lp) - _exp(lq)),
    # JSD: ½ p log(2p/(p+q)) + ½ q log(2q/(p+q)), log(2p/(p+q)) = log 2 − softplus(−r)
    "js": lambda lp, lq: 0.5 * (_xexp(lp, LOG2 - _softplus(lq - lp)) + _xexp(lq, LOG2 - _softplus(lp - lq))),
    # GAN: 2 JSD − log 4 = ∫ [p log(p/(p+q)) + q log(q/(p+q))]; the −log 4 is f(1)
    "gan": lambda lp, lq: _xexp(lp, LOG2 - _softplus(lq - lp)) + _xexp(lq, LOG2 - _softplus(lp - lq)),
}
REF_F_ONE = {"gan": -2.0 * LOG2}


def pointwise(name: str, alpha: float | None = None) -> Callable[[float, float], float]:
    return _arimoto_pointwise(alpha) if name == "arimoto" else REF_POINTWISE[name]


def integrate_pair(P, Q, h: Callable[[float, float], float], tail: float = 40.0) -> tuple[float, float]:
    """∫ h(log p(x), log q(x)) dx over R for 1D mixtures by scipy quad."""
    lp, lq = ScalarLogpdf(P), ScalarLogpdf(Q)
    return quad_1d(lambda x: h(lp(x), lq(x)), breakpoints_1d([P, Q], tail))


def divergence_ref(P, Q, name: str, alpha: float | None = None) -> tuple[float, float]:
    """(D_f(P||Q), quad error) for 1D mixtures from the definitions above."""
    v, e = integrate_pair(P, Q, pointwise(name, alpha))
    return v + REF_F_ONE.get(name, 0.0), e


def kl_to_midpoint_ref(P, Q) -> tuple[float, float]:
    """(KL(P||M), KL(Q||M)) with M = (P + Q)/2, two separate quad integrals."""
    def kl_pm(lp, lq):
        lm = float(np.logaddexp(lp, lq)) - LOG2
        return _xexp(lp, lp - lm)

    a, _ = integrate_pair(P, Q, kl_pm)
    b, _ = integrate_pair(Q, P, kl_pm)
    return a, b


def harmonic_overlap_ref(P, Q) -> float:
    """∫ p q / (p + q) dx (the LSGAN optimum's integral)."""
    return integrate_pair(P, Q, lambda lp, lq: _exp(lp + lq - float(np.logaddexp(lp, lq))))[0]


def w1_ref_1d(P, Q) -> tuple[float, float]:
    """W1 = ∫|F_P − F_Q| dx, split at the crossings of F_P and F_Q (located on a fine grid, then
    brentq); the gap is formed from CDFs left of the pooled median and survival functions right."""
    wp, mp, sp = params_1d(P)
    wq, mq, sq = params_1d(Q)

    def gap(x):
        x = np.atleast_1d(np.asarray(x, float))
        fp = ndtr((x[:, None] - mp) / sp) @ wp
        fq = ndtr((x[:, None] - mq) / sq) @ wq
        gp = ndtr(-(x[:, None] - mp) / sp) @ wp
        gq = ndtr(-(x[:, None] - mq) / sq) @ wq
        return np.where(fp + fq < 1.0, fp - fq, gq - gp)

    edges = breakpoints_1d([P, Q], tail=40.0)
    grid = np.unique(np.concatenate([np.linspace(a, b, 400) for a, b in zip(edges[:-1], edges[1:])]))
    s = np.sign(gap(grid))
    cuts = [brentq(lambda t: float(gap(t)[0]), grid[i], grid[i + 1], xtol=1e-14)
            for i in range(len(grid) - 1) if s[i] * s[i + 1] < 0]
    pts = np.unique(np.concatenate([edges, cuts]))
    return quad_1d(lambda x: abs(float(gap(x)[0])), pts)


# ----------------------------------------------------------------------------- closed forms
def gaussian_kl_ref(mp, Sp, mq, Sq) -> float:
    """KL(N(mp, Sp) || N(mq, Sq)) = ½[tr(Sq⁻¹Sp) + (mq−mp)ᵀSq⁻¹(mq−mp) − d + log(det Sq/det Sp)]."""
    mp, mq = np.atleast_1d(np.asarray(mp, float)), np.atleast_1d(np.asarray(mq, float))
    Sp, Sq = np.atleast_2d(np.asarray(Sp, float)), np.atleast_2d(np.asarray(Sq, float))
    dm = mq - mp
    sol = np.linalg.solve(Sq, np.column_stack([Sp, dm]))
    return 0.5 * (np.trace(sol[:, :-1]) + dm @ sol[:, -1] - mp.size
                  + np.log(np.linalg.det(Sq)) - np.log(np.linalg.det(Sp)))


def chi2_gauss(mp, Sp, mq, Sq) -> float:
    """Pearson χ²(N_p || N_q) = ∫ p²/q − 1, by completing the square.

    p²/q ∝ exp(−½ xᵀ A x + bᵀ x − ½ c) with A = 2Sp⁻¹ − Sq⁻¹, b = 2Sp⁻¹mp − Sq⁻¹mq,
    c = 2 mpᵀSp⁻¹mp − mqᵀSq⁻¹mq and prefactor (2π)^{−d/2} det(Sq)^{1/2} / det(Sp); the integral
    is finite iff A is positive definite, and then equals
    (2π)^{−d/2} det(Sq)^{1/2}/det(Sp) · (2π)^{d/2} det(A)^{−1/2} exp(½ bᵀA⁻¹b − ½ c).
    In 1D with equal means: σq²/(σp √(2σq² − σp²)).
    """
    mp, mq = np.atleast_1d(np.asarray(mp, float)), np.atleast_1d(np.asarray(mq, float))
    Sp, Sq = np.atleast_2d(np.asarray(Sp, float)), np.atleast_2d(np.asarray(Sq, float))
    ip, iq = np.linalg.inv(Sp), np.linalg.inv(Sq)
    A = 2 * ip - iq
    if np.min(np.linalg.eigvalsh(A)) <= 0:
        return math.inf
    b = 2 * ip @ mp - iq @ mq
    c = 2 * mp @ ip @ mp - mq @ iq @ mq
    log_int = (0.5 * np.log(np.linalg.det(Sq)) - np.log(np.linalg.det(Sp)) - 0.5 * np.log(np.linalg.det(A))
               + 0.5 * b @ np.linalg.solve(A, b) - 0.5 * c)
    return float(np.exp(log_int) - 1.0)


def w1_gauss_1d(m1: float, s1: float, m2: float, s2: float) -> float:
    """W1(N(m1, s1²), N(m2, s2²)) in 1D.

    The quantile coupling Y = m2 + s2 Z, X = m1 + s1 Z is optimal in 1D, so W1 = E|a + bZ|
    with a = m2 − m1, b = |s2 − s1|: the folded normal mean b√(2/π) e^{−a²/2b²} + a(1 − 2Φ(−a/b)).
    """
    a, b = m2 - m1, abs(s2 - s1)
    if b == 0.0:
        return abs(a)
    return float(b * math.sqrt(2.0 / math.pi) * math.exp(-a * a / (2 * b * b)) + a * (1.0 - 2.0 * ndtr(-a / b)))


def w2_gauss(m1, S1, m2, S2) -> float:
    """W2(N(m1, S1), N(m2, S2)) = sqrt(|Δm|² + tr(S1 + S2 − 2 (S2^½ S1 S2^½)^½)) (Gelbrich / Bures)."""
    m1, m2 = np.atleast_1d(np.asarray(m1, float)), np.atleast_1d(np.asarray(m2, float))
    S1, S2 = np.atleast_2d(np.asarray(S1, float)), np.atleast_2d(np.asarray(S2, float))
    r2 = np.real(linalg.sqrtm(S2))
    cross = np.real(linalg.sqrtm(r2 @ S1 @ r2))
    return float(np.sqrt(max(np.sum((m1 - m2) ** 2) + np.trace(S1 + S2 - 2 * cross), 0.0)))


def w1_component_bound(P, Q) -> float:
    """Upper bound on W1(P, Q): the product coupling of the weights, each component pair coupled
    W2-optimally (W1 ≤ W2 for each pair): Σ_ij w_i v_j W2(P_i, Q_j)."""
    return float(sum(wi * vj * w2_gauss(mi, Si, mj, Sj)
                     for wi, mi, Si in zip(P.weights, P.means, P.covs)
                     for vj, mj, Sj in zip(Q.weights, Q.means, Q.covs)))


# ----------------------------------------------------------------------------- f generators
def arimoto_f_ref(alpha: float, u):
    """f_α(u) = α/(α−1)[(1 + u^α)^{1/α} − (1 + u) − 2^{1/α} + 2] evaluated without cancellation
    for large u: (1 + u^α)^{1/α} − u = u·expm1(log1p(u^{−α})/α) when u > 1."""
    u = np.asarray(u, float)
    if np.isinf(alpha):
        return np.maximum(1.0 - u, 0.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # np.where evaluates both branches
        big = u > 1
        lead = np.where(big, u * np.expm1(np.log1p(u ** (-alpha)) / alpha) - 1.0,
                        (1.0 + u**alpha) ** (1.0 / alpha) - 1.0 - u)
    return alpha / (alpha - 1.0) * (lead - 2.0 ** (1.0 / alpha) + 2.0)


REF_F: dict[str, Callable] = {
    "kl": lambda u: u * np.log(u),
    "reverse_kl": lambda u: -np.log(u),
    "pearson": lambda u: (u - 1.0) ** 2,
    "neyman": lambda u: (1.0 - u) ** 2 / u,
    "squared_hellinger": lambda u: (np.sqrt(u) - 1.0) ** 2,
    "tv": lambda u: 0.5 * np.abs(u - 1.0),
    # JSD generator: half of Nowozin et al.'s u log u − (u+1) log((u+1)/2)
    "js": lambda u: 0.5 * (u * np.log(u) - (u + 1.0) * np.log((u + 1.0) / 2.0)),
    "gan": lambda u: u * np.log(u) - (u + 1.0) * np.log(u + 1.0),
}


def arimoto_f_mp(alpha: float, u, dps: int = 60) -> np.ndarray:
    """f_α(u) in 60-digit arithmetic (mpmath): exact to float64 for every α, including α = 1 ± 1e-9
    where the float formula loses ~9 digits to the α/(α−1) prefactor."""
    import mpmath as mp

    with mp.workdps(dps):
        a = mp.mpf(alpha)

        def one(x):
            x = mp.mpf(float(x))
            if a == 1:
                return float(mp.fsum([x * mp.log(x) if x > 0 else 0, -(1 + x) * mp.log(1 + x), 2 * mp.log(2)]))
            return float(a / (a - 1) * ((1 + x**a) ** (1 / a) - (1 + x) - 2 ** (1 / a) + 2))

        return np.vectorize(one, otypes=[float])(np.asarray(u, float))


def hellinger2_gauss(m1, S1, m2, S2) -> float:
    """∫(√p − √q)² = 2 − 2 BC for Gaussians, with the Bhattacharyya coefficient
    BC = det(S1)^{1/4} det(S2)^{1/4} det(S̄)^{−1/2} exp(−⅛ Δᵀ S̄⁻¹ Δ), S̄ = (S1 + S2)/2."""
    m1, m2 = np.atleast_1d(np.asarray(m1, float)), np.atleast_1d(np.asarray(m2, float))
    S1, S2 = np.atleast_2d(np.asarray(S1, float)), np.atleast_2d(np.asarray(S2, float))
    Sb = 0.5 * (S1 + S2)
    d = m1 - m2
    log_bc = (0.25 * np.log(np.linalg.det(S1)) + 0.25 * np.log(np.linalg.det(S2)) - 0.5 * np.log(np.linalg.det(Sb))
              - 0.125 * d @ np.linalg.solve(Sb, d))
    return float(-2.0 * np.expm1(log_bc))


def tv_gauss_1d(m1: float, s1: float, m2: float, s2: float) -> float:
    """TV(N(m1, s1²), N(m2, s2²)) from the crossing points of the two densities.

    log p − log q = a x² + b x + c with a = 1/(2s2²) − 1/(2s1²), b = m1/s1² − m2/s2²,
    c = m2²/(2s2²) − m1²/(2s1²) + log(s2/s1); between consecutive roots p − q has one sign, so
    TV = ½ Σ_regions |P(region) − Q(region)|. TV is stationary in the split points (p = q there),
    so float64 roots are more than accurate enough.
    """
    a = 1 / (2 * s2**2) - 1 / (2 * s1**2)
    b = m1 / s1**2 - m2 / s2**2
    c = m2**2 / (2 * s2**2) - m1**2 / (2 * s1**2) + math.log(s2 / s1)
    if a == 0.0:
        roots = [] if b == 0.0 else [-c / b]
    else:
        disc = b * b - 4 * a * c
        if disc <= 0:
            roots = []
        else:
            qq = -0.5 * (b + math.copysign(math.sqrt(disc), b))  # stable quadratic formula
            roots = sorted([qq / a, c / qq]) if qq != 0 else [0.0]
    edges = [-math.inf] + roots + [math.inf]
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mass_p = stats.norm.cdf(hi, m1, s1) - stats.norm.cdf(lo, m1, s1) if hi < m1 else \
            stats.norm.sf(lo, m1, s1) - stats.norm.sf(hi, m1, s1)
        mass_q = stats.norm.cdf(hi, m2, s2) - stats.norm.cdf(lo, m2, s2) if hi < m2 else \
            stats.norm.sf(lo, m2, s2) - stats.norm.sf(hi, m2, s2)
        total += abs(mass_p - mass_q)
    return 0.5 * total


def arimoto_mp_1d(P, Q, alpha: float, dps: int = 30) -> tuple[float, float]:
    """(D_{f_α}(P||Q), mpmath's error estimate) for 1D mixtures by mpmath tanh-sinh quadrature of α/(α−1)[(p^α+q^α)^{1/α} − 2^{1/α−1}(p+q)].

    For large α the integrand bends within |log p/q| ≲ 1/α of each crossing x0 of the densities,
    so the intervals are split at x0 and at x0 + k/(α r'(x0)), k = ±1, ±4, ±16, ±64, ±256 (r = log p/q),
    as well as at the components' means ± 3, 10 and 40 σ.
    """
    import mpmath as mp

    def params(M):
        w, mu, sd = params_1d(M)
        return [(mp.mpf(float(a)), mp.mpf(float(b)), mp.mpf(float(c))) for a, b, c in zip(w, mu, sd)]

    with mp.workdps(dps):
        A = mp.mpf(alpha)
        pp, qq = params(P), params(Q)
        dens = lambda ps, x: mp.fsum(w * mp.npdf(x, m, s) for w, m, s in ps)
        r = lambda x: mp.log(dens(pp, x)) - mp.log(dens(qq, x))

        def g(x):
            p, q = dens(pp, x), dens(qq, x)
            top = max(p, q)
            if top == 0:
                return mp.mpf(0)
            return A / (A - 1) * (top * ((p / top) ** A + (q / top) ** A) ** (1 / A) - 2 ** (1 / A - 1) * (p + q))

        edges = sorted({float(m + k * s) for ps in (pp, qq) for _, m, s in ps for k in (-40, -10, -3, 0, 3, 10, 40)})
        lp, lq = ScalarLogpdf(P), ScalarLogpdf(Q)
        grid = np.linspace(edges[0], edges[-1], 20001)
        gap = np.array([lp(x) - lq(x) for x in grid])
        points = [mp.mpf(e) for e in edges]
        for i in np.flatnonzero(np.sign(gap[:-1]) * np.sign(gap[1:]) < 0):
            x0 = mp.findroot(r, (mp.mpf(grid[i]), mp.mpf(grid[i + 1])), solver="anderson")
            slope = mp.diff(r, x0)
            points += [x0] + [x0 + s * k / (A * slope) for k in (1, 4, 16, 64, 256) for s in (-1, 1)]
        value, error = mp.quad(g, sorted(set(points)), error=True, maxdegree=10)
        return float(value), float(error)
