"""Independent high-precision references for ``benchmarks.analytic``; writes ``benchmarks/references.json``.

    python -m benchmarks.references [--workers 2] [--quick]

Nothing here calls ``divergences`` numerics: the mixtures of :mod:`benchmarks.cases` are read
through their public float64 parameters (converted exactly to mpmath numbers) and every density,
integrand and closed form is written anew in mpmath at ``mp.dps = 30``.

Methods (the ``method`` field of each entry says which one produced the value):

* ``closed form``: Gaussian identities, evaluated in mpmath.
  - χ²(P||Q) with a single-Gaussian Q: Σ_ij w_i w_j ∫ a_i a_j / b − 1, each term a Gaussian integral.
  - Mode-wise pairs (ring rotated by 0.01 rad, shifted grid): every mode of P has its own
    equal-covariance partner in Q and all other modes are ≥ 75σ (ring) / 40σ (grid) away, so
    D_f(P||Q) = Σ_j w_j D_f(N(0,1) || N(δ_j,1)), δ_j = |μ_j^Q − μ_j^P|/σ, up to e^{-700}-size terms:
    KL = δ²/2, χ² = e^{δ²} − 1, H² = 2(1 − e^{−δ²/8}), TV = erf(δ/(2√2)); JSD, GAN and Arimoto(2)
    by 1D ``mpmath.quad`` of the two-Gaussian integrand. W1 = Σ_j w_j |μ_j^Q − μ_j^P|: the mode-wise
    translation coupling attains it and the McShane extension of the locally linear potentials
    (1-Lipschitz on balls of radius 0.18 / 0.9 around the mode pairs) proves it optimal up to
    e^{-160}-size tail terms.
  - 7-mode ring: Q's modes coincide with P's modes 1..7 and mode 0 is ≥ 76σ from them, so for f with
    finite f'(∞): D_f = Σ_{j≥1} q_j f(p_j/q_j) + p_0 f'(∞), up to e^{-1400}-size terms (JSD, TV, H²,
    GAN, reverse KL, Neyman χ², Arimoto).
* ``mpmath.quad`` (1D): tanh-sinh over (−∞, b_1, …, b_n, ∞) with breakpoints at every component
  mean ± {1,2,4,8,16,32}σ, at the crossings p = q (or F_P = F_Q for W1, located on a float64 scan
  and refined with ``mp.findroot``) and at the peaks of the χ² integrands; repeated with
  Gauss-Legendre; uncertainty = max(tanh-sinh error estimate, |tanh-sinh − Gauss-Legendre|).
* ``GL mesh`` (2D): tensor Gauss-Legendre (16×16 per cell, nodes computed in mpmath) on a hand-built
  mesh: 4σ cells out to ±16σ (±13σ for the grid) around every mode, in polar coordinates for the
  rings (θ edges on every mode and on every ray where a log-density switches between two modes,
  with cells graded geometrically ×4 down to 1e-5 rad there) and in a frame aligned with the shift
  for the grid; for ring vs N(0, I) the whole disc |x| ≤ 13.5 is meshed (graded towards the origin
  and towards the 8 switching rays). log p and log q are computed once per node (components more
  than e^{-90} below the largest are skipped) and all divergences formed from them. Repeated with
  12×12 per cell; uncertainty = Σ_cells |I_16 − I_12| (conservative). Truncation outside the mesh:
  every density is below e^{-84} of its peak there (except N(0, I) for ring vs N(0,I), meshed whole).
* TV of ring vs N(0, I): the integrand has a kink on a small closed curve around each mode, so TV =
  ∫(p − q)_+ is integrated in polar coordinates around each mode, with the crossing radius found
  per angle by ``mp.findroot`` (Gauss-Legendre 24 in radius, periodic trapezoid 64 in angle;
  repeated with 16 / 32).
* Infinite χ²: the log-integrand's quadratic tail coefficient is positive (mpmath evaluations of
  log(q²/p) at growing |x| are stored as evidence). χ² values beyond float64 (e^{700}+) are
  certified by the mesh integral over the mode patches, a lower bound since the integrand is ≥ 0.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import multiprocessing as mproc
import os
import platform
import sys
import time
from functools import lru_cache

import mpmath as mp
from mpmath import libmp
import numpy as np
from scipy.special import log_ndtr, logsumexp as np_logsumexp, ndtr

from benchmarks.cases import MEASURE_KEYS, build_cases, fingerprint, params
from gan.fileio import write_atomic

DPS = 30
GL_MAIN, GL_CHECK = 16, 12
OUT = os.path.join(os.path.dirname(__file__), "references.json")
F64_MAX = mp.mpf(np.finfo(float).max)
MESH_KEYS = MEASURE_KEYS[:-1]  # the 10 f-divergences (W1 is not an integral of p and q)
SCREEN = 90.0  # components more than e^-SCREEN below the dominant one are skipped (relative 1e-39)


# ----------------------------------------------------------------------------- mp mixtures
class MPMix:
    """An isotropic Gaussian mixture in mpmath (dimension 1 or 2), from exact float parameters."""

    def __init__(self, prm: dict):
        self.w = [mp.mpf(w) for w in prm["weights"]]
        self.mu = [[mp.mpf(v) for v in row] for row in prm["means"]]
        self.var = [mp.mpf(v) for v in prm["vars"]]
        self.d = len(self.mu[0])
        self.K = len(self.w)
        self.sd = [mp.sqrt(v) for v in self.var]
        self.logc = [mp.log(w) - self.d * mp.log(2 * mp.pi * v) / 2 for w, v in zip(self.w, self.var)]
        self.inv2v = [1 / (2 * v) for v in self.var]
        # float64 copies, used only to decide which components can be skipped at a node
        self.f_mu = np.array([[float(v) for v in row] for row in self.mu])
        self.f_logc = np.array([float(v) for v in self.logc])
        self.f_inv2v = np.array([float(v) for v in self.inv2v])

    def exponents(self, x, idx=None):
        idx = range(self.K) if idx is None else idx
        out = []
        for k in idx:
            s = 0
            for c in range(self.d):
                t = x[c] - self.mu[k][c]
                s += t * t
            out.append(self.logc[k] - s * self.inv2v[k])
        return out

    def logpdf(self, x, idx=None):
        e = self.exponents(x, idx)
        if len(e) == 1:
            return e[0]
        m = max(e)
        return m + mp.log(mp.fsum(mp.exp(v - m) for v in e))

    def keep_mask(self, pts: np.ndarray) -> np.ndarray:
        """(n, K) mask of components within e^-SCREEN of the dominant one at float64 points (n, d)."""
        d2 = np.sum((pts[:, None, :] - self.f_mu[None]) ** 2, axis=-1)
        e = self.f_logc[None] - d2 * self.f_inv2v[None]
        return e >= e.max(axis=1, keepdims=True) - SCREEN

    # 1D cdf / sf
    def cdf(self, x):
        return mp.fsum(w * mp.ncdf((x - m[0]) / s) for w, m, s in zip(self.w, self.mu, self.sd))

    def sf(self, x):
        return mp.fsum(w * mp.ncdf(-(x - m[0]) / s) for w, m, s in zip(self.w, self.mu, self.sd))


def cdf_gap(P: MPMix, Q: MPMix, x):
    """F_P(x) − F_Q(x), formed from survival functions (S_Q − S_P) where F_P(x) > 1/2 (no 1 − 1 cancellation)."""
    fp = P.cdf(x)
    if fp < mp.mpf("0.5"):
        return fp - Q.cdf(x)
    return Q.sf(x) - P.sf(x)


def point_values(lp, lq, alphas=(mp.mpf("0.5"), mp.mpf(2))):
    """q·f(p/q) for the 10 f-divergences of MESH_KEYS, written from the definitions (not the φ forms)."""
    p, q = mp.exp(lp), mp.exp(lq)
    r = lp - lq
    dpq = p - q
    d2 = dpq * dpq
    sp, sq = mp.sqrt(p), mp.sqrt(q)
    lm = mp.log(p + q)
    l2 = mp.log(2)
    jsd = (p * (l2 + lp - lm) + q * (l2 + lq - lm)) / 2
    gan = p * (lp - lm) + q * (lq - lm)
    out = [p * r, -q * r, d2 / q, d2 / p, (sp - sq) ** 2, jsd, abs(dpq) / 2, gan]
    for a in alphas:
        if a == mp.mpf("0.5"):
            s = (sp + sq) ** 2
        elif a == 2:
            s = mp.sqrt(p * p + q * q)
        else:
            s = mp.power(mp.exp(a * lp) + mp.exp(a * lq), 1 / a)
        out.append(a / (a - 1) * (s - p - q - (mp.power(2, 1 / a) - 2) * q))
    return out


def f_generator(key: str):
    """f(u) in mpmath for the closed forms D = Σ q_j f(p_j/q_j) + p_0 f'(∞); returns (f, f'(∞))."""
    l2 = mp.log(2)
    table = {
        "reverse_kl": (lambda u: -mp.log(u), mp.mpf(0)),
        "neyman_chi2": (lambda u: (1 - u) ** 2 / u, mp.mpf(1)),
        "squared_hellinger": (lambda u: (mp.sqrt(u) - 1) ** 2, mp.mpf(1)),
        "jsd": (lambda u: (u * mp.log(u) - (u + 1) * mp.log((u + 1) / 2)) / 2, l2 / 2),
        "total_variation": (lambda u: abs(u - 1) / 2, mp.mpf("0.5")),
        "gan": (lambda u: u * mp.log(u) - (u + 1) * mp.log(u + 1), mp.mpf(0)),
    }
    for a in (mp.mpf("0.5"), mp.mpf(2)):
        key_a = "arimoto_0.5" if a < 1 else "arimoto_2"
        table[key_a] = ((lambda a: lambda u: a / (a - 1) * (mp.power(1 + mp.power(u, a), 1 / a) - (1 + u)
                                                            - mp.power(2, 1 / a) + 2))(a), mp.mpf(0))
    return table.get(key)


# ----------------------------------------------------------------------------- Gauss-Legendre in mp
@lru_cache(maxsize=None)
def gl_rule(n: int):
    """n-point Gauss-Legendre nodes and weights on [-1, 1] in mpmath (Newton on the recurrence)."""
    x0, _ = np.polynomial.legendre.leggauss(n)
    xs, ws = [], []
    for g in x0:
        x = mp.mpf(g)
        for _ in range(60):
            p0, p1 = mp.mpf(1), x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = n * (x * p1 - p0) / (x * x - 1)
            dx = p1 / dp
            x -= dx
            if abs(dx) < mp.mpf(10) ** (-(mp.mp.dps + 3)):
                break
        p0, p1 = mp.mpf(1), x
        for k in range(2, n + 1):
            p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
        dp = n * (x * p1 - p0) / (x * x - 1)
        xs.append(x)
        ws.append(2 / ((1 - x * x) * dp * dp))
    return tuple(xs), tuple(ws)


# ----------------------------------------------------------------------------- worker state
_MIX: dict = {}
_RAW: list = []


def _init_worker(case_params: dict):
    mp.mp.dps = DPS
    _MIX.clear()
    for name, (pp, qp) in case_params.items():
        _MIX[name] = (MPMix(pp), MPMix(qp))
    raw = _Raw()
    _RAW[:] = [raw, {id(M): raw.mix(M) for pair in _MIX.values() for M in pair if M.d == 2}]


class _Raw:
    """Raw mpmath (libmp tuple) arithmetic for the mesh inner loop: the same operations as the mpf
    wrappers without the object overhead (about 7x faster per node)."""

    def __init__(self):
        self.prec = mp.mp.prec
        self.log2 = mp.log(2)._mpf_
        self.sqrt2m2 = (mp.sqrt(2) - 2)._mpf_
        self.zero = mp.mpf(0)._mpf_

    def mix(self, M: MPMix):
        return [(M.mu[k][0]._mpf_, M.mu[k][1]._mpf_, M.logc[k]._mpf_, M.inv2v[k]._mpf_) for k in range(M.K)]

    def logpdf(self, comps, x, y, idx):
        pr = self.prec
        es = []
        for k in idx:
            mx, my, lc, iv = comps[k]
            dx = libmp.mpf_sub(x, mx, pr, "n")
            dy = libmp.mpf_sub(y, my, pr, "n")
            s = libmp.mpf_add(libmp.mpf_mul(dx, dx, pr, "n"), libmp.mpf_mul(dy, dy, pr, "n"), pr, "n")
            es.append(libmp.mpf_sub(lc, libmp.mpf_mul(s, iv, pr, "n"), pr, "n"))
        if len(es) == 1:
            return es[0]
        m = max(es, key=libmp.to_float)
        tot = self.zero
        for e in es:
            tot = libmp.mpf_add(tot, libmp.mpf_exp(libmp.mpf_sub(e, m, pr, "n"), pr, "n"), pr, "n")
        return libmp.mpf_add(m, libmp.mpf_log(tot, pr, "n"), pr, "n")

    def values(self, lp, lq):
        """Same formulas as :func:`point_values` (Arimoto specialised to α = 1/2 and 2)."""
        pr = self.prec
        add, sub, mul, div = libmp.mpf_add, libmp.mpf_sub, libmp.mpf_mul, libmp.mpf_div
        p, q = libmp.mpf_exp(lp, pr, "n"), libmp.mpf_exp(lq, pr, "n")
        r = sub(lp, lq, pr, "n")
        d = sub(p, q, pr, "n")
        d2 = mul(d, d, pr, "n")
        sp, sq = libmp.mpf_sqrt(p, pr, "n"), libmp.mpf_sqrt(q, pr, "n")
        s = add(p, q, pr, "n")
        lm = libmp.mpf_log(s, pr, "n")
        # jsd = ½[p(log2 + lp − lm) + q(log2 + lq − lm)], gan = p(lp − lm) + q(lq − lm)
        jsd = libmp.mpf_shift(add(mul(p, add(self.log2, sub(lp, lm, pr, "n"), pr, "n"), pr, "n"),
                                  mul(q, add(self.log2, sub(lq, lm, pr, "n"), pr, "n"), pr, "n"), pr, "n"), -1)
        gan = add(mul(p, sub(lp, lm, pr, "n"), pr, "n"), mul(q, sub(lq, lm, pr, "n"), pr, "n"), pr, "n")
        h = sub(sp, sq, pr, "n")
        ss = add(sp, sq, pr, "n")
        # Arimoto α/(α−1)[(p^α + q^α)^{1/α} − p − q − (2^{1/α} − 2) q]: α = 1/2 → −[(√p+√q)² − s − 2q]
        ar05 = sub(add(s, libmp.mpf_shift(q, 1), pr, "n"), mul(ss, ss, pr, "n"), pr, "n")
        # α = 2 → 2[√(p² + q²) − s − (√2 − 2) q]
        n2 = libmp.mpf_sqrt(add(mul(p, p, pr, "n"), mul(q, q, pr, "n"), pr, "n"), pr, "n")
        ar2 = libmp.mpf_shift(sub(sub(n2, s, pr, "n"), mul(self.sqrt2m2, q, pr, "n"), pr, "n"), 1)
        return (mul(p, r, pr, "n"), libmp.mpf_neg(mul(q, r, pr, "n")), div(d2, q, pr, "n"), div(d2, p, pr, "n"),
                mul(h, h, pr, "n"), jsd, libmp.mpf_shift(libmp.mpf_abs(d), -1), gan, ar05, ar2)


def _mesh_cell(P: MPMix, Q: MPMix, cell, n: int):
    """Integrals of the 10 pointwise values over one cell with the n×n tensor rule."""
    raw = _RAW[0]
    rp, rq = _RAW[1][id(P)], _RAW[1][id(Q)]
    kind, geom, au, bu, av, bv = cell
    xs, ws = gl_rule(n)
    hu, cu, hv, cv = (bu - au) / 2, (bu + au) / 2, (bv - av) / 2, (bv + av) / 2
    us = [cu + hu * x for x in xs]
    vs = [cv + hv * x for x in xs]
    wu = [hu * w for w in ws]
    wv = [hv * w for w in ws]
    pts, jac = [], []
    if kind == "polar":
        cs = [(mp.cos(v), mp.sin(v)) for v in vs]
        for i in range(n):
            for k in range(n):
                pts.append((us[i] * cs[k][0], us[i] * cs[k][1]))
                jac.append((wu[i] * wv[k] * us[i])._mpf_)
    else:
        c, e1, e2 = geom
        for i in range(n):
            for k in range(n):
                pts.append((c[0] + us[i] * e1[0] + vs[k] * e2[0], c[1] + us[i] * e1[1] + vs[k] * e2[1]))
                jac.append((wu[i] * wv[k])._mpf_)
    fpts = np.array([[float(a), float(b)] for a, b in pts])
    kp, kq = P.keep_mask(fpts), Q.keep_mask(fpts)
    pr = raw.prec
    acc = [raw.zero] * len(MESH_KEYS)
    for j, ((x, y), wgt) in enumerate(zip(pts, jac)):
        x, y = x._mpf_, y._mpf_
        lp = raw.logpdf(rp, x, y, np.flatnonzero(kp[j]).tolist())
        lq = raw.logpdf(rq, x, y, np.flatnonzero(kq[j]).tolist())
        vals = raw.values(lp, lq)
        acc = [libmp.mpf_add(a, libmp.mpf_mul(wgt, v, pr, "n"), pr, "n") for a, v in zip(acc, vals)]
    return [mp.mpf(a) for a in acc]


def _task_mesh(args):
    case, cells = args
    P, Q = _MIX[case]
    s_main = [mp.mpf(0)] * len(MESH_KEYS)
    s_chk = [mp.mpf(0)] * len(MESH_KEYS)
    s_abs = [mp.mpf(0)] * len(MESH_KEYS)
    for cell in cells:
        a = _mesh_cell(P, Q, cell, GL_MAIN)
        b = _mesh_cell(P, Q, cell, GL_CHECK)
        s_main = [x + y for x, y in zip(s_main, a)]
        s_chk = [x + y for x, y in zip(s_chk, b)]
        s_abs = [x + abs(y - z) for x, y, z in zip(s_abs, a, b)]
    return ("mesh", case, len(cells), s_main, s_chk, s_abs)


# ----------------------------------------------------------------------------- 1D quadrature
def _np_logpdf(prm: dict, x: np.ndarray) -> np.ndarray:
    w, m, v = (np.asarray(prm[k], float) for k in ("weights", "means", "vars"))
    m = m[:, 0]
    e = np.log(w) - 0.5 * np.log(2 * np.pi * v) - (x[:, None] - m) ** 2 / (2 * v)
    return np_logsumexp(e, axis=1)


def _np_cdf_gap_sign(pp: dict, qp: dict, x: np.ndarray) -> np.ndarray:
    """sign(F_P − F_Q) on a float64 grid, from log-CDFs left of 0-crossing and log-SFs right."""
    def logF(prm, z_sign):
        w, m, v = (np.asarray(prm[k], float) for k in ("weights", "means", "vars"))
        z = (x[:, None] - m[:, 0]) / np.sqrt(v)
        return np_logsumexp(np.log(w) + log_ndtr(z_sign * z), axis=1)
    lf = np.sign(logF(pp, 1) - logF(qp, 1))
    ls = np.sign(logF(qp, -1) - logF(pp, -1))  # F_P − F_Q = S_Q − S_P
    fp = ndtr((x[:, None] - np.asarray(pp["means"])[:, 0]) / np.sqrt(pp["vars"])) @ np.asarray(pp["weights"])
    return np.where(fp < 0.5, lf, ls)


def _crossings(signs: np.ndarray, grid: np.ndarray, fn) -> list:
    out = []
    s = np.sign(signs)
    for i in np.flatnonzero(s[:-1] * s[1:] < 0):
        a, b = mp.mpf(grid[i]), mp.mpf(grid[i + 1])
        fa, fb = fn(a), fn(b)
        if fa == 0 or fb == 0 or (fa > 0) == (fb > 0):
            out.append((a + b) / 2)  # float64 scan and mp disagree on the sign: a plain breakpoint
            continue
        for _ in range(400):  # bisection: stays in the bracket whatever fn looks like
            c = (a + b) / 2
            fc = fn(c)
            if fc == 0 or b - a < mp.mpf(10) ** (-mp.mp.dps) * (1 + abs(c)):
                break
            if (fc > 0) == (fa > 0):
                a, fa = c, fc
            else:
                b, fb = c, fc
        out.append((a + b) / 2)
    return out


def _breakpoints_1d(pp: dict, qp: dict, P: MPMix, Q: MPMix, kind: str) -> list:
    comps = [(m[0], s) for M in (P, Q) for m, s in zip(M.mu, M.sd)]
    pts = set()
    for m, s in comps:
        for k in (0, 1, 2, 4, 8, 16, 32):
            pts.add(m + k * s)
            pts.add(m - k * s)
    lo = min(float(m - 60 * s) for m, s in comps)
    hi = max(float(m + 60 * s) for m, s in comps)
    smin = min(float(s) for _, s in comps)
    grid = np.linspace(lo, hi, int((hi - lo) / (smin / 10)) + 2)
    if kind == "density":
        sgn = _np_logpdf(pp, grid) - _np_logpdf(qp, grid)
        pts.update(_crossings(sgn, grid, lambda x: P.logpdf([x]) - Q.logpdf([x])))
        # peaks of the χ² integrands a_i a_j / b_k (Pearson: a from P, b from Q; Neyman swapped)
        for A, B in ((P, Q), (Q, P)):
            for i in range(A.K):
                for j in range(A.K):
                    for k in range(B.K):
                        c2 = 1 / A.var[i] + 1 / A.var[j] - 1 / B.var[k]
                        if c2 > 0:
                            xs = (A.mu[i][0] / A.var[i] + A.mu[j][0] / A.var[j] - B.mu[k][0] / B.var[k]) / c2
                            for t in (0, 1, -1, 3, -3):
                                pts.add(xs + t / mp.sqrt(c2))
    else:
        sgn = _np_cdf_gap_sign(pp, qp, grid)
        pts.update(_crossings(sgn, grid, lambda x: cdf_gap(P, Q, x)))
    return [mp.ninf] + sorted(pts) + [mp.inf]


def _task_quad1d(args):
    """All requested measures of one 1D pair by mpmath.quad (tanh-sinh, then Gauss-Legendre), sharing
    the density evaluations between measures."""
    case, keys, pp, qp = args
    P, Q = _MIX[case]
    out = []
    memo = {}

    def vals(x):
        v = memo.get(x)
        if v is None:
            v = memo[x] = point_values(P.logpdf([x]), Q.logpdf([x]))
        return v

    fkeys = [k for k in keys if k in MESH_KEYS]
    if fkeys:
        pts = _breakpoints_1d(pp, qp, P, Q, "density")
        for key in fkeys:
            idx = MESH_KEYS.index(key)
            f = lambda x: vals(x)[idx]
            v_ts, e_ts = mp.quad(f, pts, error=True)
            v_gl = mp.quad(f, pts, method="gauss-legendre")
            out.append((key, v_ts, max(e_ts, abs(v_ts - v_gl)), len(pts) - 1))
    if "wasserstein1" in keys:
        pts = _breakpoints_1d(pp, qp, P, Q, "cdf")
        f = lambda x: abs(cdf_gap(P, Q, x))
        v_ts, e_ts = mp.quad(f, pts, error=True)
        v_gl = mp.quad(f, pts, method="gauss-legendre")
        out.append(("wasserstein1", v_ts, max(e_ts, abs(v_ts - v_gl)), len(pts) - 1))
    return ("quad1d", case, out)


def _task_pairs(args):
    """Σ_j w_j D_f(N(0,1) || N(δ_j,1)) for each key (jsd / gan / arimoto_2) by 1D mpmath.quad, P at 0, Q at δ."""
    case, keys, deltas, weights = args
    c = -mp.log(2 * mp.pi) / 2
    tot = {k: mp.mpf(0) for k in keys}
    unc = {k: mp.mpf(0) for k in keys}
    for d, w in zip(deltas, weights):
        d, w = mp.mpf(d), mp.mpf(w)
        memo = {}

        def vals(x):
            v = memo.get(x)
            if v is None:
                v = memo[x] = point_values(c - x * x / 2, c - (x - d) ** 2 / 2)
            return v

        pts = [mp.ninf] + sorted({mp.mpf(k) for k in (-32, -16, -8, -4, -2, -1, 0)} |
                                 {d / 2} | {d + k for k in (0, 1, 2, 4, 8, 16, 32)}) + [mp.inf]
        for key in keys:
            idx = MESH_KEYS.index(key)
            f = lambda x: vals(x)[idx]
            v1, e1 = mp.quad(f, pts, error=True)
            v2 = mp.quad(f, pts, method="gauss-legendre")
            tot[key] += w * v1
            unc[key] += w * max(e1, abs(v1 - v2))
    return ("pairs", case, tot, unc)


def _task_disc_tv(args):
    """∫_{disc around P mode j} (p − q)_+ in polar coordinates around the mode (ring vs N(0, I))."""
    case, j, n_phi, n_s = args
    P, Q = _MIX[case]
    mu, sd = P.mu[j], P.sd[j]
    xs, ws = gl_rule(n_s)
    total = mp.mpf(0)
    for k in range(n_phi):
        phi = 2 * mp.pi * k / n_phi
        e = (mp.cos(phi), mp.sin(phi))
        at = lambda s: (mu[0] + s * e[0], mu[1] + s * e[1])
        g = lambda s: P.logpdf(at(s)) - Q.logpdf(at(s))
        assert g(mp.mpf(0)) > 0 and g(16 * sd) < 0 and g(30 * sd) < 0
        s_star = mp.findroot(g, (sd, 10 * sd), solver="anderson")
        acc = mp.mpf(0)
        for x, w in zip(xs, ws):
            s = s_star * (x + 1) / 2
            acc += w * s_star / 2 * s * (mp.exp(P.logpdf(at(s))) - mp.exp(Q.logpdf(at(s))))
        total += acc
    return ("disc_tv", case, j, n_phi, n_s, total * 2 * mp.pi / n_phi)


def _run_task(task):
    kind, args = task
    return {"mesh": _task_mesh, "quad1d": _task_quad1d, "pairs": _task_pairs, "disc_tv": _task_disc_tv}[kind](args)


# ----------------------------------------------------------------------------- meshes
def _wrap(a):
    return a - 2 * mp.pi * mp.floor((a + mp.pi) / (2 * mp.pi))


def _graded(dmin, dmax, ratio=4):
    out, d = [], mp.mpf(dmin)
    while d < dmax:
        out.append(d)
        d *= ratio
    return out + [mp.mpf(dmax)]


def _theta_edges(fine_centres, fine_offsets, graded, dmin, gmax, extra, max_width):
    edges = {-mp.mpf(mp.pi), mp.mpf(mp.pi)}
    for a in fine_centres:
        for o in fine_offsets:
            edges.update({_wrap(a + o), _wrap(a - o)})
    for a in graded:
        edges.add(_wrap(a))
        for o in _graded(dmin, gmax):
            edges.update({_wrap(a + o), _wrap(a - o)})
    edges.update(_wrap(a) for a in extra)
    e = sorted(edges)
    e = [x for i, x in enumerate(e) if i == 0 or x - e[i - 1] > mp.mpf(10) ** -25]
    out = [e[0]]
    for x in e[1:]:
        base = out[-1]
        gap = x - base
        m = int(mp.ceil(gap / max_width))
        out.extend([base + gap * t / m for t in range(1, m)])
        out.append(x)
    assert all(b > a for a, b in zip(out[:-1], out[1:])), "theta edges must increase"
    return out


def _polar_cells(r_edges, t_edges):
    return [("polar", None, r0, r1, t0, t1) for r0, r1 in zip(r_edges[:-1], r_edges[1:])
            for t0, t1 in zip(t_edges[:-1], t_edges[1:])]


def ring_mesh(P: MPMix, Q: MPMix, sigma, fine_centres, graded, extra=(), background=False, gmax=None):
    """Polar mesh for ring cases (all modes at radius 1): see the module docstring."""
    s = mp.mpf(sigma)
    band = [1 + s * k for k in (-16, -12, -8, -4, 0, 4, 8, 12, 16)]
    fine_off = [mp.mpf(0)] + [s * k for k in (4, 8, 12, 17)]
    t_band = _theta_edges(fine_centres, fine_off, graded, mp.mpf("1e-5"), s if gmax is None else mp.mpf(gmax), extra,
                          mp.mpf("0.1"))
    cells = _polar_cells(band, t_band)
    if background:
        inner = [mp.mpf(0)] + _graded(mp.mpf("1e-5"), mp.mpf("0.16"))[:-1] + [mp.mpf(x) for x in ("0.16", "0.4", "0.64")] + [band[0]]
        outer = [band[-1]] + [mp.mpf(x) for x in ("1.5", "2", "2.75", "3.5", "4.5", "5.5", "6.5", "7.75", "9", "10.5", "12", "13.5")]
        for edges in (inner, outer):
            for r0, r1 in zip(edges[:-1], edges[1:]):
                dmin = min(mp.mpf("0.01"), max(mp.mpf("1e-6"), mp.mpf("1e-5") / r1))
                t = _theta_edges([], [], graded, dmin, mp.mpf("0.16"), extra, mp.mpf("0.4"))
                cells += _polar_cells([r0, r1], t)
    return cells


def frame_mesh(P: MPMix, Q: MPMix, sigma, half: float = 13.0):
    """Per mode pair: a square patch in the frame (e1 along μ_Q − μ_P, e2 ⟂), u edge at 0 (p = q line)."""
    s = mp.mpf(sigma)
    cells = []
    for j in range(P.K):
        a, b = P.mu[j], Q.mu[j]
        dx, dy = b[0] - a[0], b[1] - a[1]
        L = mp.sqrt(dx * dx + dy * dy)
        e1, e2 = (dx / L, dy / L), (-dy / L, dx / L)
        c = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        hu, hv = L / 2 + half * s, half * s
        ue = sorted({-hu, hu} | {k * 4 * s for k in range(-3, 4)})
        ve = sorted({-hv, hv} | {k * 4 * s for k in range(-3, 4)})
        cells += [("frame", (c, e1, e2), u0, u1, v0, v1) for u0, u1 in zip(ue[:-1], ue[1:]) for v0, v1 in zip(ve[:-1], ve[1:])]
    return cells


def _check_frame_patches_disjoint(cells):
    """Separating-axis test on the (equally rotated) patches of frame_mesh: no double counting."""
    patches = {}
    for kind, (c, e1, e2), u0, u1, v0, v1 in cells:
        key = (float(c[0]), float(c[1]))
        lo, hi = patches.get(key, ((np.inf, np.inf), (-np.inf, -np.inf)))
        patches[key] = ((min(lo[0], float(u0)), min(lo[1], float(v0))), (max(hi[0], float(u1)), max(hi[1], float(v1))))
    e1, e2 = cells[0][1][1], cells[0][1][2]
    keys = list(patches)
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            d = (keys[j][0] - keys[i][0], keys[j][1] - keys[i][1])
            du, dv = d[0] * float(e1[0]) + d[1] * float(e1[1]), d[0] * float(e2[0]) + d[1] * float(e2[1])
            (lo_i, hi_i), (lo_j, hi_j) = patches[keys[i]], patches[keys[j]]
            sep_u = du + lo_j[0] >= hi_i[0] or -du + lo_i[0] >= hi_j[0]
            sep_v = dv + lo_j[1] >= hi_i[1] or -dv + lo_i[1] >= hi_j[1]
            assert sep_u or sep_v, f"patches {keys[i]} and {keys[j]} overlap"


# ----------------------------------------------------------------------------- assembly
def _angle(m):
    return mp.atan2(m[1], m[0])


def _entry(value, unc, method, finite=True, checks=None, note=None):
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    if not finite:
        out = {"value": "inf", "float": "inf", "uncertainty": "0", "finite": False, "exceeds_float64": True}
    else:
        v = mp.mpf(value)
        big = abs(v) > F64_MAX
        out = {"value": mp.nstr(v, 25), "float": ("inf" if v > 0 else "-inf") if big else float(v),
               "uncertainty": mp.nstr(mp.mpf(unc), 3), "finite": True, "exceeds_float64": bool(big)}
    out.update({"method": method, "dps": DPS, "timestamp": now})
    if checks:
        out["checks"] = checks
    if note:
        out["note"] = note
    return out


def _check(method, value, ref):
    return {"method": method, "value": mp.nstr(mp.mpf(value), 20), "abs_diff_from_reference": mp.nstr(abs(mp.mpf(value) - mp.mpf(ref)), 3)}


def _tail_evidence_1d(P: MPMix, Q: MPMix):
    """Neyman χ² = ∫ q²/p: log(q²/p) at growing |x| and the quadratic tail coefficient."""
    coef = -2 * min(Q.inv2v) + min(P.inv2v)  # log(q²/p) ≈ coef·x² for |x| → ∞
    ev = {mp.nstr(x, 5): mp.nstr(2 * Q.logpdf([x]) - P.logpdf([x]), 8) for x in (mp.mpf(-100), mp.mpf(-10), mp.mpf(10), mp.mpf(100))}
    return coef, ev


def _gauss_pearson(P: MPMix, Q: MPMix):
    """Closed form Pearson χ² = Σ_ij w_i w_j ∫ a_i a_j / b − 1 for a single-Gaussian Q = b (1D)."""
    assert Q.K == 1
    m, t2 = Q.mu[0][0], Q.var[0]
    tot = mp.mpf(0)
    for i in range(P.K):
        for j in range(P.K):
            si2, sj2 = P.var[i], P.var[j]
            A = 1 / si2 + 1 / sj2 - 1 / t2
            assert A > 0
            B = P.mu[i][0] / si2 + P.mu[j][0] / sj2 - m / t2
            C = P.mu[i][0] ** 2 / si2 + P.mu[j][0] ** 2 / sj2 - m * m / t2
            tot += P.w[i] * P.w[j] * mp.sqrt(t2) / (mp.sqrt(si2 * sj2) * mp.sqrt(A)) * mp.exp((B * B / A - C) / 2)
    return tot - 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--chunk", type=int, default=24, help="mesh cells per task")
    ap.add_argument("--cases", default="", help="comma-separated subset of cases (and/or 'batch') to recompute; "
                    "the other entries of an existing references.json are kept")
    args = ap.parse_args(argv)
    subset = set(filter(None, args.cases.split(",")))
    mp.mp.dps = DPS
    t_start = time.perf_counter()
    cases = build_cases()
    cp = {c.name: (params(c.P), params(c.Q)) for c in cases}
    _init_worker(cp)

    # ---------------------------------------------------------------- task list
    tasks, mesh_sizes = [], {}
    todo = [c for c in cases if not subset or c.name in subset]
    for c in todo:
        P, Q = _MIX[c.name]
        pp, qp = cp[c.name]
        if c.dim == 1:
            tasks.append(("quad1d", (c.name, MESH_KEYS, pp, qp)))
            tasks.append(("quad1d", (c.name, ("wasserstein1",), pp, qp)))
            continue
        sig = float(mp.sqrt(P.var[0]))
        if c.name == "ring_rot0.01":
            mids = [_angle(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)) for a, b in zip(P.mu, Q.mu)]
            cells = ring_mesh(P, Q, sig, mids, graded=[], extra=mids)
        elif c.name == "ring_rot_pi8":
            angs = [_angle(m) for m in P.mu + Q.mu]
            cells = ring_mesh(P, Q, sig, angs, graded=angs)
        elif c.name == "ring_vs_7ring":
            angs = [_angle(m) for m in P.mu]
            cells = ring_mesh(P, Q, sig, angs, graded=[angs[0]])
        elif c.name == "ring_vs_gauss":
            angs = [_angle(m) for m in P.mu]
            bis = [_angle(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)) for a, b in zip(P.mu, P.mu[1:] + P.mu[:1])]
            cells = ring_mesh(P, Q, sig, angs, graded=bis, background=True, gmax="0.16")
            for j in range(P.K):
                tasks.append(("disc_tv", (c.name, j, 64, 24)))
                tasks.append(("disc_tv", (c.name, j, 32, 16)))
        elif c.name == "grid_shift":
            cells = frame_mesh(P, Q, sig)
            _check_frame_patches_disjoint(cells)
        else:
            raise KeyError(c.name)
        mesh_sizes[c.name] = len(cells)
        for i in range(0, len(cells), args.chunk):
            tasks.append(("mesh", (c.name, cells[i:i + args.chunk])))
        if c.name in ("ring_rot0.01", "grid_shift"):
            deltas = [mp.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) / mp.sqrt(v) for a, b, v in zip(P.mu, Q.mu, P.var)]
            assert all(abs(wp - wq) < 1e-15 for wp, wq in zip(P.w, Q.w)) and P.var == Q.var
            for i in range(0, len(deltas), 4):
                tasks.append(("pairs", (c.name, ("jsd", "gan", "arimoto_2"), deltas[i:i + 4], P.w[i:i + 4])))
    # batch spot checks: P = toy real, Q = N(m, 0.09) at a few of the 1000 batch settings
    grid_m = np.linspace(-2.0, 8.0, 1000)
    batch_idx = (0, 333, 500, 999) if not subset or "batch" in subset else ()
    toyP = cp["toy_right"][0]
    for i in batch_idx:
        qprm = {"weights": [1.0], "means": [[float(grid_m[i])]], "vars": [0.09]}
        name = f"batch_{i}"
        cp[name] = (toyP, qprm)
        _MIX[name] = (MPMix(toyP), MPMix(qprm))
        tasks.append(("quad1d", (name, ("jsd", "kl"), toyP, qprm)))
    print(f"references: {len(tasks)} tasks, mesh cells per case {mesh_sizes}, {args.workers} workers", flush=True)

    # ---------------------------------------------------------------- run
    results = []
    order = sorted(tasks, key=lambda t: {"mesh": 0, "disc_tv": 1, "quad1d": 2, "pairs": 3}[t[0]])
    if args.workers > 1:
        ctx = mproc.get_context("fork")
        with ctx.Pool(args.workers, initializer=_init_worker, initargs=(cp,)) as pool:
            for k, r in enumerate(pool.imap_unordered(_run_task, order, chunksize=1)):
                results.append(r)
                if (k + 1) % 50 == 0:
                    print(f"  {k + 1}/{len(order)} tasks, {time.perf_counter() - t_start:.0f} s", flush=True)
    else:
        for k, t in enumerate(order):
            results.append(_run_task(t))
    t_compute = time.perf_counter() - t_start

    # ---------------------------------------------------------------- collect
    mesh = {}
    quad, pairs, disc = {}, {}, {}
    for r in results:
        if r[0] == "mesh":
            _, case, n, a, b, d = r
            m = mesh.setdefault(case, [[mp.mpf(0)] * 10, [mp.mpf(0)] * 10, [mp.mpf(0)] * 10, 0])
            m[0] = [x + y for x, y in zip(m[0], a)]
            m[1] = [x + y for x, y in zip(m[1], b)]
            m[2] = [x + y for x, y in zip(m[2], d)]
            m[3] += n
        elif r[0] == "quad1d":
            for key, v, u, nint in r[2]:
                quad[(r[1], key)] = (v, u, nint)
        elif r[0] == "pairs":
            for key in r[2]:
                t0, u0 = pairs.get((r[1], key), (mp.mpf(0), mp.mpf(0)))
                pairs[(r[1], key)] = (t0 + r[2][key], u0 + r[3][key])
        elif r[0] == "disc_tv":
            disc.setdefault(r[1], {}).setdefault((r[3], r[4]), mp.mpf(0))
            disc[r[1]][(r[3], r[4])] += r[5]

    refs = {}
    ring_method = (f"GL mesh {GL_MAIN}x{GL_MAIN}/cell (unc: sum |I{GL_MAIN} - I{GL_CHECK}|), polar mesh around the ring"
                   " graded at mode-switching rays")
    for c in todo:
        P, Q = _MIX[c.name]
        out = refs[c.name] = {}
        if c.name == "grid_shift":
            mesh_method = (f"GL mesh {GL_MAIN}x{GL_MAIN}/cell (unc: sum |I{GL_MAIN} - I{GL_CHECK}|), square patch per mode pair "
                           "in a frame aligned with the shift (p = q line on a cell edge)")
        else:
            mesh_method = ring_method
        if c.dim == 1:
            for key in MEASURE_KEYS:
                v, u, nint = quad[(c.name, key)]
                meth = f"mpmath.quad tanh-sinh vs gauss-legendre, {nint} intervals"
                if key == "neyman_chi2" and c.name == "thin_1d":
                    coef, ev = _tail_evidence_1d(P, Q)
                    assert coef > 0
                    out[key] = _entry(0, 0, f"infinite: log(q^2/p) ~ {mp.nstr(coef, 6)}·x^2 -> +inf", finite=False,
                                      note={"log(q^2/p) at x": ev})
                    continue
                if key == "pearson_chi2" and Q.K == 1:
                    cf = _gauss_pearson(P, Q)
                    out[key] = _entry(cf, abs(cf) * mp.mpf(10) ** (-DPS + 5), "closed form (Gaussian integrals)",
                                      checks=[_check(meth, v, cf)])
                    continue
                out[key] = _entry(v, u, meth)
            continue
        mm = mesh.get(c.name)
        mesh_vals = {k: (mm[0][i], mm[2][i]) for i, k in enumerate(MESH_KEYS)}
        if c.name in ("ring_rot0.01", "grid_shift"):
            deltas = [mp.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) / mp.sqrt(v) for a, b, v in zip(P.mu, Q.mu, P.var)]
            cf = {
                "kl": mp.fsum(w * d * d / 2 for w, d in zip(P.w, deltas)),
                "reverse_kl": mp.fsum(w * d * d / 2 for w, d in zip(P.w, deltas)),
                "pearson_chi2": mp.fsum(w * mp.expm1(d * d) for w, d in zip(P.w, deltas)),
                "neyman_chi2": mp.fsum(w * mp.expm1(d * d) for w, d in zip(P.w, deltas)),
                "squared_hellinger": mp.fsum(w * -2 * mp.expm1(-d * d / 8) for w, d in zip(P.w, deltas)),
                "arimoto_0.5": mp.fsum(w * -2 * mp.expm1(-d * d / 8) for w, d in zip(P.w, deltas)),
                "total_variation": mp.fsum(w * mp.erf(d / (2 * mp.sqrt(2))) for w, d in zip(P.w, deltas)),
            }
            tiny = "up to e^-700-size cross-mode terms"
            for key in MESH_KEYS:
                mv, mu_ = mesh_vals[key]
                if key in cf:
                    out[key] = _entry(cf[key], abs(cf[key]) * mp.mpf(10) ** (-DPS + 3),
                                      f"closed form, mode-wise 1D Gaussian pair ({tiny})",
                                      checks=[_check(f"{mesh_method}; unc {mp.nstr(mu_, 3)}", mv, cf[key])])
                else:
                    v, u = pairs[(c.name, key)]
                    out[key] = _entry(v, u, f"mode-wise 1D Gaussian pair by mpmath.quad TS vs GL ({tiny})",
                                      checks=[_check(f"{mesh_method}; unc {mp.nstr(mu_, 3)}", mv, v)])
            w1 = mp.fsum(w * mp.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) for w, a, b in zip(P.w, P.mu, Q.mu))
            meth = ("closed form: shift length (translated copy)" if c.name == "grid_shift" else
                    "closed form: sum_j w_j |mu_j^Q - mu_j^P| (mode-wise translation, optimal up to e^-160 terms)")
            out["wasserstein1"] = _entry(w1, abs(w1) * mp.mpf(10) ** (-DPS + 3), meth)
            continue
        for key in MESH_KEYS:
            v, u = mesh_vals[key]
            out[key] = _entry(v, u, mesh_method)
        out["wasserstein1"] = {"value": "n/a", "float": None, "uncertainty": None, "finite": True,
                               "exceeds_float64": False, "method": "n/a (bound only)", "dps": DPS,
                               "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        if c.name == "ring_vs_gauss":
            coef = -1 + min(P.inv2v)  # log(q²/p) ≈ coef·|x|² along any ray (q = N(0, I))
            ev = {str(r): mp.nstr(2 * Q.logpdf([mp.mpf(r), 0]) - P.logpdf([mp.mpf(r), 0]), 8) for r in (3, 10, 100)}
            out["neyman_chi2"] = _entry(0, 0, f"infinite: log(q^2/p) ~ {mp.nstr(coef, 6)}·|x|^2 -> +inf", finite=False,
                                        note={"log(q^2/p) at (r, 0)": ev})
            hi, lo = disc[c.name][(64, 24)], disc[c.name][(32, 16)]
            mv, mu_ = mesh_vals["total_variation"]
            out["total_variation"] = _entry(hi, abs(hi - lo), "int (p-q)_+ in polar coords around each mode, crossing radius by "
                                            "mp.findroot; trapezoid 64 x GL 24 (unc vs 32 x 16)",
                                            checks=[_check(f"{mesh_method} (kink not aligned); unc {mp.nstr(mu_, 3)}", mv, hi)])
        if c.name in ("ring_rot_pi8", "ring_vs_7ring"):
            for key in ("pearson_chi2", "neyman_chi2"):
                v, u = mesh_vals[key]
                if v > F64_MAX:
                    out[key] = _entry(v, u, mesh_method + "; mesh covers the mode patches only, so this is a lower bound "
                                      "(integrand >= 0): the value exceeds float64")
                    out[key]["lower_bound_only"] = True
        if c.name == "ring_vs_7ring":
            # closed forms: Q's modes = P's modes 1..7 (weights q_j), P's mode 0 has no partner
            for key in MESH_KEYS:
                g = f_generator(key)
                if g is None:
                    continue
                f, fpinf = g
                cf = mp.fsum(qw * f(pw / qw) for pw, qw in zip(P.w[1:], Q.w)) + P.w[0] * fpinf
                mv, mu_ = mesh_vals[key]
                out[key] = _entry(cf, abs(cf) * mp.mpf(10) ** (-DPS + 3),
                                  "closed form: sum_j q_j f(p_j/q_j) + p_0 f'(inf) (dropped mode 76 sigma from the rest)",
                                  checks=[_check(f"{mesh_method}; unc {mp.nstr(mu_, 3)}", mv, cf)])
    batch = {}
    for i in batch_idx:
        name = f"batch_{i}"
        batch[str(i)] = {"m": float(grid_m[i]), **{k: _entry(*quad[(name, k)][:2], "mpmath.quad TS vs GL") for k in ("jsd", "kl")}}
    if subset:
        with open(args.out) as fh:
            old = json.load(fh)
        if old["meta"]["fingerprint"] != fingerprint(cases):
            raise SystemExit("existing references.json has another fingerprint: regenerate everything")
        old["references"].update(refs)
        if batch:
            old["batch"] = batch
        old["meta"].setdefault("partial_updates", []).append(
            {"cases": sorted(subset), "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
             "runtime_s": round(time.perf_counter() - t_start, 1)})
        refs, batch = old["references"], old["batch"]
        prev_meta = old["meta"]
    doc = {
        "meta": {
            "generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": "python -m benchmarks.references " + " ".join(argv if argv is not None else sys.argv[1:]),
            "fingerprint": fingerprint(cases), "dps": DPS, "gl_orders": [GL_MAIN, GL_CHECK],
            "mesh_cells": mesh_sizes, "workers": args.workers, "runtime_s": round(time.perf_counter() - t_start, 1),
            "compute_s": round(t_compute, 1), "mpmath": mp.__version__, "mpmath_backend": mp.libmp.BACKEND,
            "python": platform.python_version(), "machine": platform.machine(),
            "cases": {c.name: c.description for c in cases},
        },
        "references": refs,
        "batch": batch,
    }
    if subset:
        doc["meta"] = prev_meta
    write_atomic(args.out, json.dumps(doc, indent=1))
    print(f"wrote {args.out} in {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
