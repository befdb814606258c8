"""Vectorised adaptive cubature over batches of mixture pairs (d = 1 or 2).

Integrals ∫ g(x, log p(x), log q(x)) dx over R^d for B pairs (P_b, Q_b) at once:

1. **Mesh where the mass is.** Per pair, a box covering every component to ``tail`` standard
   deviations is divided so that every cell within ``reach`` σ_c of a component c is at most
   ``cell`` σ_c wide (1D: the cells between the sorted breakpoints of all components; 2D: a graded
   quad-tree, distances and widths measured in each component's own metric (x − μ_c)ᵀΣ_c⁻¹(x − μ_c), so a
   thin component at any angle to the axes is meshed at its thin width). Thin far-apart modes get small
   cells; empty space gets a few large ones. Callers may add shapes to mesh around (the χ² tail Gaussians
   a_i²/b_j, :func:`divergences.measures.chi2_tail_components`). In 1D the
   cells are also cut at the integrand's known kinks (crossings of log p/q with given levels, or
   given points), located by the ITP method.
2. **Tensor Gauss-Legendre with a built-in error estimate.** Each cell is integrated with an
   n-point rule (n = 20 in 1D, 10×10 in 2D) and with the n/2-point rule; |I_n − I_{n/2}| is the
   cell's error estimate (conservative: it is the error of the *coarser* rule). In 2D, where the
   mesh cannot be cut along the curve on which a kinked integrand bends (log p/q = a given level,
   e.g. p = q for |p − q|), a cell whose Gauss nodes or corners straddle such a level is also
   integrated as its four children, and its estimate is the larger of |I_n − I_{n/2}| and
   |I_n − Σ children|: the two rules can agree by accident across a kink, and a kink in the
   sliver between a cell's border and its outermost nodes is invisible to both (2D TV was off by
   1.5e-6 against an estimate of 7e-9 without this).
   Log densities are evaluated per cell from the components that matter there (per-cell pruning
   with a proven bound, :data:`PRUNE_NATS`).
3. **Adaptive refinement.** While a pair's summed estimate exceeds max(atol, rtol·|I|), its
   cells whose estimate exceeds their share tol/N_cells are bisected (2 or 4 children), all
   pairs and cells in one array pass per round.

The returned error is the summed conservative estimate; the true error of the returned value
(the finer rule) is in practice orders of magnitude below it (see ``benchmarks/analytic.py``).
References: Davis & Rabinowitz, *Methods of Numerical Integration* (1984), ch. 6 (adaptive
quadrature); Genz & Malik (1980) for the cell-splitting strategy.
"""

from __future__ import annotations

import math
import warnings
from functools import cached_property, lru_cache
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ._numerics import Array, logsumexp
from .mixture import GaussianMixture, gaussian_log_terms

Integrand = Callable[[Array, Array, Array, Array], Array]
"""g(x (n, d), log p (n,), log q (n,), pair index (n,)) -> values (n,)."""
Kink = Callable[[Array, Array], Array]
"""k(x (n,), pair index (n,)) -> values whose sign changes mark kinks of the integrand (1D)."""

N_NODES = {1: 20, 2: 10}
CELL_SIGMAS = {1: 8.0 / 3.0, 2: 4.0}
"""Default largest cell width near a component, in its σ: 6 cells over ±8σ in 1D (most 1D integrals
then converge on the first mesh, one refinement round fewer), 4σ in 2D (where points cost more)."""
DEFAULT_RTOL = {1: 1e-11, 2: 1e-8}
DEFAULT_ATOL = 1e-14  # absolute floor: integrands are formed to ~1e-16 · (p + q)


class IntegrationWarning(UserWarning):
    """The adaptive cubature stopped before meeting its tolerance (value and error are still returned)."""


@lru_cache(maxsize=None)
def _gl(n: int) -> tuple[Array, Array]:
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w  # on [0, 1]


PRUNE_NATS = 50.0
"""A component is left out of a cell's log density when, everywhere in the cell, its term is
below the density's lower bound by more than this (its share of p is then < e^{-50} ≈ 2e-22)."""
PRUNE_MIN_COMPONENTS = 4
"""Mixtures with fewer (padded) components are evaluated whole: the bounds would cost more than they save."""


@dataclass(frozen=True, eq=False)
class _Stack:
    """Parameters of B mixtures padded to a common component count K (padding has log-weight −inf)."""

    logw: Array  # (B, K)
    means: Array  # (B, K, d)
    scales: Array  # (B, K, d) per-axis standard deviations
    prec_chol: Array  # (B, K, d, d)
    const: Array  # (B, K): log w + log normaliser
    sd_min: Array  # (B, K): sqrt of the smallest / largest eigenvalue of Σ
    sd_max: Array  # (B, K)

    @classmethod
    def of(cls, mixtures: Sequence[GaussianMixture]) -> "_Stack":
        if len(mixtures) == 1:  # nothing to pad
            m = mixtures[0]
            sd = np.sqrt(m._cov_eigvals)
            return cls(m._log_weights[None], m.means[None], m.scales()[None], m._prec_chol[None],
                       (m._log_weights + m._log_norm)[None], sd.min(axis=-1)[None], sd.max(axis=-1)[None])
        B, K, d = len(mixtures), max(m.n_components for m in mixtures), mixtures[0].dim
        logw = np.full((B, K), -np.inf)
        means = np.zeros((B, K, d))
        prec = np.tile(np.eye(d), (B, K, 1, 1))
        lnorm = np.zeros((B, K))
        scales = np.ones((B, K, d))
        eig = np.ones((B, K, d))
        for b, m in enumerate(mixtures):
            k = m.n_components
            logw[b, :k] = m._log_weights
            means[b, :k] = m.means
            prec[b, :k] = m._prec_chol
            lnorm[b, :k] = m._log_norm
            scales[b, :k] = m.scales()
            scales[b, k:] = m.scales()[:1]
            means[b, k:] = m.means[:1]
            eig[b, :k] = m._cov_eigvals
        sd = np.sqrt(eig)
        return cls(logw, means, scales, prec, logw + lnorm, sd.min(axis=-1), sd.max(axis=-1))

    @property
    def B(self) -> int:
        """Number of mixtures."""
        return self.logw.shape[0]

    @cached_property
    def _whole(self) -> tuple[Array, Array, Array]:
        """The first mixture's parameters in :func:`gaussian_log_terms` layout, broadcasting over (r, m) points."""
        return (self.means[0].T[:, :, None, None], self.prec_chol[0].transpose(1, 2, 0)[..., None, None],
                self.const[0][:, None, None])

    @property
    def n_components(self) -> int:
        """K, the padded component count."""
        return self.logw.shape[1]

    def logpdf_cells(self, x: Array, lo: Array, hi: Array, bid: Array) -> Array:
        """log density of mixture ``bid[i]`` at the points ``x[i]`` (n, m, d) of cell [lo[i], hi[i]].

        With K ≥ :data:`PRUNE_MIN_COMPONENTS`, components whose term is provably negligible
        everywhere in a cell are left out of it (:data:`PRUNE_NATS`): with Mahalanobis distances
        bounded by Euclidean ones over σ_max / σ_min, u_k = c_k − ½ (dist(cell, μ_k)/σ_max,k)² bounds
        component k's log term from above and ℓ = max_k [c_k − ½ (farthest corner − μ_k)²/σ_min,k²]
        bounds log p from below; k is kept where u_k ≥ ℓ − PRUNE_NATS. Cells are then grouped by
        their number of kept components.
        """
        K = self.n_components
        if K < PRUNE_MIN_COMPONENTS and self.B == 1:  # one mixture, every component: no gather
            return logsumexp(gaussian_log_terms(x, *self._whole), axis=0)
        if K < PRUNE_MIN_COMPONENTS:
            return self._logsumexp_terms(x, bid[:, None], np.arange(K)[None, :])
        mu = self.means[bid]  # (n, K, d)
        near = np.maximum(np.maximum(lo[:, None] - mu, mu - hi[:, None]), 0.0)
        far = np.maximum(np.abs(lo[:, None] - mu), np.abs(hi[:, None] - mu))
        const = self.const[bid]
        with np.errstate(over="ignore"):
            upper = const - 0.5 * np.sum(near * near, axis=-1) / self.sd_max[bid] ** 2
            lower = np.max(const - 0.5 * np.sum(far * far, axis=-1) / self.sd_min[bid] ** 2, axis=1)
        keep = upper >= lower[:, None] - PRUNE_NATS
        count = keep.sum(axis=1)
        order = np.argsort(~keep, axis=1, kind="stable")  # kept components first
        out = np.empty(x.shape[:2])
        for c in np.unique(count):
            rows = np.flatnonzero(count == c)
            out[rows] = self._logsumexp_terms(x[rows], bid[rows, None], order[rows, :c])
        return out

    def _logsumexp_terms(self, x: Array, pair: Array, comp: Array) -> Array:
        """logsumexp over the components ``comp`` (r, c) of mixture ``pair`` (r, 1) at points x (r, m, d)."""
        terms = gaussian_log_terms(x, self.means[pair, comp].transpose(2, 1, 0)[..., None],
                                   self.prec_chol[pair, comp].transpose(2, 3, 1, 0)[..., None],
                                   self.const[pair, comp].T[..., None])
        return logsumexp(terms, axis=0)

    def logpdf(self, x: Array, bid: Array) -> Array:
        """log density of mixture ``bid[i]`` at the point ``x[i]``; x (n, d), bid (n,)."""
        return self.logpdf_cells(x[:, None, :], x, x, bid)[:, 0]


def pair_up(P: GaussianMixture | Sequence[GaussianMixture], Q: GaussianMixture | Sequence[GaussianMixture]) -> tuple[list[GaussianMixture], list[GaussianMixture], bool]:
    """Broadcast P and Q (single mixtures or sequences) to two equal-length lists.

    Returns (Ps, Qs, batched) where ``batched`` says whether the caller passed a sequence.
    """
    def as_list(m, name: str) -> list:
        if isinstance(m, GaussianMixture):
            return [m]
        if isinstance(m, (list, tuple)):
            return list(m)
        raise TypeError(f"{name} must be a GaussianMixture or a list/tuple of them; got {type(m).__name__}")

    ps, qs = as_list(P, "P"), as_list(Q, "Q")
    batched = not (isinstance(P, GaussianMixture) and isinstance(Q, GaussianMixture))
    for m in ps + qs:
        if not isinstance(m, GaussianMixture):
            raise TypeError(f"expected GaussianMixture objects; got {type(m).__name__}")
    if not ps or not qs:
        raise ValueError("empty batch of mixtures")
    if len(ps) == 1 and len(qs) > 1:
        ps = ps * len(qs)
    if len(qs) == 1 and len(ps) > 1:
        qs = qs * len(ps)
    if len(ps) != len(qs):
        raise ValueError(f"P and Q batches differ in length: {len(ps)} vs {len(qs)}")
    dims = {m.dim for m in ps + qs}
    if len(dims) != 1:
        raise ValueError(f"P and Q must have the same dimension; got dimensions {sorted(dims)}")
    return ps, qs, batched


def _itp_roots(f: Callable[[Array], Array], lo: Array, hi: Array, f_lo: Array, f_hi: Array,
               kappa1: float = 0.2, kappa2: float = 2.0, n0: int = 1) -> Array:
    """Roots of f inside the brackets [lo, hi] (sign(f(lo)) ≠ sign(f(hi)), zero counting as positive),
    all at once, each to |root − x| ≤ ε = 2 ulp(max(|lo|, |hi|)).

    The ITP method (Oliveira & Takahashi 2020, ACM TOMS 47(1)): a regula falsi point, truncated
    towards the midpoint by δ = κ1' (hi − lo)^κ2 with κ1' = κ1 / (initial width), then projected
    into a shrinking interval about the midpoint. It needs at most n_½ + n0 steps, where n_½ is the
    number of bisections, and converges superlinearly at simple roots.
    """
    lo, hi, f_lo, f_hi = (np.array(v, dtype=float) for v in (lo, hi, f_lo, f_hi))
    eps = 2.0 * np.spacing(np.maximum(np.abs(lo), np.abs(hi)))
    width0 = hi - lo
    k1 = kappa1 / np.where(width0 > 0, width0, 1.0)
    n_max = np.ceil(np.log2(np.maximum(width0 / (2.0 * eps), 1.0))) + n0
    neg_lo = f_lo < 0
    for j in range(int(n_max.max()) if lo.size else 0):
        width = hi - lo
        if np.all(width <= 2.0 * eps):
            break
        mid = 0.5 * (lo + hi)
        radius = np.maximum(eps * 2.0 ** (n_max - j) - 0.5 * width, 0.0)
        delta = k1 * width ** kappa2
        with np.errstate(all="ignore"):
            x_f = (f_hi * lo - f_lo * hi) / (f_hi - f_lo)
        x_f = np.where(np.isfinite(x_f), x_f, mid)
        sigma = np.sign(mid - x_f)
        x_t = np.where(delta <= np.abs(mid - x_f), x_f + sigma * delta, mid)
        x = np.where(np.abs(x_t - mid) <= radius, x_t, mid - sigma * radius)
        fx = f(x)
        move_lo = (fx < 0) == neg_lo
        lo, f_lo = np.where(move_lo, x, lo), np.where(move_lo, fx, f_lo)
        hi, f_hi = np.where(move_lo, hi, x), np.where(move_lo, f_hi, fx)
    return 0.5 * (lo + hi)


def _box_mahalanobis2(lo: Array, hi: Array, prec: Array) -> Array:
    """min over y in the box [lo, hi] of yᵀΛy, exactly, for 2D boxes (..., 2) and precisions Λ (..., 2, 2).

    0 if the box holds the origin; otherwise the minimum of the convex quadratic lies on an edge, and on the
    edge y₁ = s it is at y₂ = clip(−Λ₁₂ s/Λ₂₂) (likewise for y₂ = t): the smallest of the four edge minima.
    """
    A, B, C = prec[..., 0, 0], prec[..., 0, 1], prec[..., 1, 1]
    best = np.full(A.shape, np.inf)
    for s in (lo[..., 0], hi[..., 0]):
        y = np.clip(-B * s / C, lo[..., 1], hi[..., 1])
        best = np.minimum(best, A * s * s + 2.0 * B * s * y + C * y * y)
    for t in (lo[..., 1], hi[..., 1]):
        y = np.clip(-B * t / A, lo[..., 0], hi[..., 0])
        best = np.minimum(best, A * y * y + 2.0 * B * y * t + C * t * t)
    inside = np.all((lo <= 0.0) & (hi >= 0.0), axis=-1)
    return np.where(inside, 0.0, best)


class PairCubature:
    """Adaptive cubature engine for a batch of B pairs (P_b, Q_b) of the same dimension d ∈ {1, 2}."""

    def __init__(self, Ps: Sequence[GaussianMixture], Qs: Sequence[GaussianMixture], tail: float = 40.0,
                 spread: Array | None = None, cell: float | None = None, reach: float = 8.0,
                 mesh_extra: Sequence[GaussianMixture] | None = None):
        self.d = Ps[0].dim
        if self.d not in N_NODES:
            raise ValueError(f"the divergence engine integrates in d = 1 or 2; got d = {self.d}")
        self.B = len(Ps)
        self.P, self.Q = _Stack.of(Ps), _Stack.of(Qs)
        self.spread = np.ones(self.B) if spread is None else np.asarray(spread, float)
        # components the mesh is built around besides those of P and Q (2D; e.g. the χ² tail Gaussians a_i²/b_j)
        self.E = self.P if mesh_extra is None else _Stack.of(mesh_extra)
        self.tail, self.cell, self.reach = tail, CELL_SIGMAS[self.d] if cell is None else cell, reach
        n = N_NODES[self.d]
        self._rules = (_gl(n), _gl(n // 2))

    # ------------------------------------------------------------------ mesh
    def _components(self) -> tuple[Array, Array, Array]:
        """All components of both mixtures: centres (B, 2K, d), per-axis σ (B, 2K, d), valid mask (B, 2K)."""
        stacks = (self.P, self.Q, self.E)
        mu = np.concatenate([m.means for m in stacks], axis=1)
        sd = np.concatenate([m.scales for m in stacks], axis=1) * self.spread[:, None, None]
        ok = np.concatenate([np.isfinite(m.logw) for m in stacks], axis=1)
        return mu, sd, ok

    def _precisions(self) -> Array:
        """Σ_c^{-1} / spread² of the components of :meth:`_components` (B, n, d, d), from W (Σ^{-1} = W Wᵀ)."""
        W = np.concatenate([m.prec_chol for m in (self.P, self.Q, self.E)], axis=1)
        return np.einsum("bkij,bklj->bkil", W, W) / self.spread[:, None, None, None] ** 2

    def initial_cells(self) -> tuple[Array, Array, Array]:
        """The starting mesh: per pair, cells covering every component to ``tail`` σ, and at most
        ``cell`` σ_c wide within ``reach`` σ_c of each component c. Returns (lo (n, d), hi (n, d), pair (n,))."""
        mu, sd, ok = self._components()
        big = np.where(ok[..., None], 1.0, np.nan)
        lo = np.nanmin((mu - self.tail * sd) * big, axis=1)
        hi = np.nanmax((mu + self.tail * sd) * big, axis=1)
        if self.d == 1:
            return self._breakpoint_mesh(lo, hi, mu, sd, ok)
        return self._quadtree_mesh(lo, hi, mu, self._precisions(), ok)

    def _breakpoint_mesh(self, lo: Array, hi: Array, mu: Array, sd: Array, ok: Array) -> tuple[Array, Array, Array]:
        """1D: the cells between the sorted union of the box ends and, for every component c,
        the points μ_c + j·(cell σ_c) that tile [μ_c − reach σ_c, μ_c + reach σ_c]."""
        steps = max(1, int(np.ceil(2.0 * self.reach / self.cell)))
        t = np.linspace(-self.reach, self.reach, steps + 1)
        points = np.where(ok[..., None], mu[..., 0, None] + sd[..., 0, None] * t, np.nan).reshape(self.B, -1)
        points = np.sort(np.concatenate([lo, np.clip(points, lo, hi), hi], axis=1), axis=1)  # NaN sorts last
        a, b = points[:, :-1], points[:, 1:]
        cell = b > a  # also drops the NaN padding and repeated points
        bid = np.broadcast_to(np.arange(self.B)[:, None], a.shape)
        return a[cell][:, None], b[cell][:, None], bid[cell]

    def _quadtree_mesh(self, lo: Array, hi: Array, mu: Array, prec: Array, ok: Array) -> tuple[Array, Array, Array]:
        """2D: the box split into quadrants until no cell within Mahalanobis distance ``reach`` of a component c
        spans more than ``cell`` in c's metric (a graded mesh: cells grow geometrically away from the components).

        Both tests use c's full covariance (precision ``prec``), so a thin component at any orientation gets cells of
        its thin width along its whole length (with per-axis σ a rotated thin Gaussian looked up to σ_max wide,
        and a KL at correlation 1 − 1e-6 was off by 1 with an estimate of 1e-8): near = exact minimum of
        (x − μ_c)ᵀΛ_c(x − μ_c) over the cell (:func:`_box_mahalanobis2`) < reach²; too wide = the larger cell
        diagonal d has √(dᵀΛ_c d / 2) > cell (= the width in σ for an axis-aligned cell and component).
        """
        a, b, bid = lo, hi, np.arange(self.B)
        done_a, done_b, done_id = [], [], []
        for _ in range(64):
            L = prec[bid]  # (n, K, 2, 2)
            near = (_box_mahalanobis2(a[:, None, :] - mu[bid], b[:, None, :] - mu[bid], L) < self.reach**2) & ok[bid]
            w = (b - a)[:, None, :]
            wx, wy = w[..., 0], w[..., 1]
            diag2 = L[..., 0, 0] * wx**2 + L[..., 1, 1] * wy**2 + 2.0 * np.abs(L[..., 0, 1] * wx * wy)
            wide = diag2 > 2.0 * self.cell**2
            split = np.any(near & wide, axis=1)
            done_a.append(a[~split]), done_b.append(b[~split]), done_id.append(bid[~split])
            if not split.any():
                break
            a, b, bid = self._split(a[split], b[split], bid[split])
        return np.concatenate(done_a), np.concatenate(done_b), np.concatenate(done_id)

    def kink_roots(self, a: Array, b: Array, bid: Array, kink: Kink, probes: int = 32) -> tuple[Array, Array, Array]:
        """1D: the sign changes of ``kink(x, pair)`` inside the cells, bracketed on ``probes`` points per
        cell and located to 2 ulps by the vectorised ITP method (:func:`_itp_roots`).
        Returns (roots, their cell, their pair)."""
        t = np.linspace(0.0, 1.0, probes + 1)
        x = a[:, :1] + (b - a)[:, :1] * t[None, :]
        x[:, -1] = b[:, 0]  # exactly the next cell's first probe: a sign change at a shared end is seen once
        v = kink(x.reshape(-1), np.repeat(bid, probes + 1)).reshape(x.shape)
        neg = v < 0  # an exact zero counts as positive: a crossing through it is kept
        ci, ji = np.nonzero(neg[:, :-1] != neg[:, 1:])
        lo, hi, ids = x[ci, ji], x[ci, ji + 1], bid[ci]
        return _itp_roots(lambda z: kink(z, ids), lo, hi, v[ci, ji], v[ci, ji + 1]), ci, ids

    def split_at_kinks(self, a: Array, b: Array, bid: Array, kinks: Sequence[Kink]) -> tuple[Array, Array, Array]:
        """1D: cut cells at the sign changes of every function in ``kinks`` (e.g. log p − log q for |p − q|).

        Gauss rules converge slowly across a kink and their error estimate can miss it, so the
        integrand's known non-smooth points become cell boundaries.
        """
        if self.d != 1 or not kinks:
            return a, b, bid
        found = [self.kink_roots(a, b, bid, kink) for kink in kinks]
        return self._cut(a, b, bid, np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found]))

    def split_at_points(self, a: Array, b: Array, bid: Array, points: Array) -> tuple[Array, Array, Array]:
        """1D: cut every pair's cells at the given points (known kinks of an integrand, e.g. of a critic)."""
        points = np.asarray(points, dtype=float).ravel()
        if self.d != 1 or points.size == 0:
            return a, b, bid
        cell = np.repeat(np.arange(len(bid)), points.size)
        x = np.tile(points, len(bid))
        inside = (a[cell, 0] < x) & (x < b[cell, 0])
        return self._cut(a, b, bid, x[inside], cell[inside])

    @staticmethod
    def _cut(a: Array, b: Array, bid: Array, roots: Array, ci: Array) -> tuple[Array, Array, Array]:
        """1D: split cell ``ci[j]`` at ``roots[j]`` for every j."""
        if roots.size == 0:
            return a, b, bid
        keep = np.ones(len(bid), dtype=bool)
        keep[ci] = False
        pieces_a, pieces_b, pieces_id = [a[keep, 0]], [b[keep, 0]], [bid[keep]]
        for c in np.unique(ci):
            cuts = np.concatenate([[a[c, 0]], np.sort(roots[ci == c]), [b[c, 0]]])
            pieces_a.append(cuts[:-1]), pieces_b.append(cuts[1:]), pieces_id.append(np.full(len(cuts) - 1, bid[c]))
        na, nb, nid = np.concatenate(pieces_a), np.concatenate(pieces_b), np.concatenate(pieces_id)
        ok = nb > na
        return na[ok, None], nb[ok, None], nid[ok]

    def _split(self, a: Array, b: Array, bid: Array) -> tuple[Array, Array, Array]:
        mid = 0.5 * (a + b)
        if self.d == 1:
            return np.concatenate([a, mid]), np.concatenate([mid, b]), np.concatenate([bid, bid])
        lo = [a, np.stack([mid[:, 0], a[:, 1]], 1), np.stack([a[:, 0], mid[:, 1]], 1), mid]
        hi = [mid, np.stack([b[:, 0], mid[:, 1]], 1), np.stack([mid[:, 0], b[:, 1]], 1), b]
        return np.concatenate(lo), np.concatenate(hi), np.tile(bid, 4)

    # ------------------------------------------------------------------ rules
    def _rule_points(self, a: Array, b: Array, nodes: Array) -> Array:
        """Tensor-product nodes mapped into each cell: (n_cells, m, d)."""
        if self.d == 1:
            grid = nodes[:, None]
        else:
            gx, gy = np.meshgrid(nodes, nodes, indexing="ij")
            grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        return a[:, None, :] + (b - a)[:, None, :] * grid[None]

    def _tensor_weights(self, w: Array) -> Array:
        return w if self.d == 1 else np.outer(w, w).ravel()

    def evaluate_cells(self, g: Integrand, a: Array, b: Array, bid: Array, levels: Sequence[float] = (),
                       check_below: Array | None = None) -> tuple[Array, Array, Array]:
        """Fine-rule integral, conservative error estimate and an "unchecked" flag for each cell.

        The nodes of both rules are evaluated in one call of ``g`` (one pass of each log density).
        ``levels`` (2D): values of log p/q where g has a kink; a cell whose nodes or corners straddle one is also
        integrated as its four children, and its estimate becomes max(|I_n − I_{n/2}|, |I_n − Σ children|)
        (the two Gauss rules can agree by accident across a kink; the bisection difference cannot be made
        small without resolving it). The value stays I_n: Σ children was not consistently closer on the TV
        test pairs. ``check_below`` (per cell): the children are integrated only where |I_n − I_{n/2}| is
        at most this (a cell above it is split anyway); the other straddling cells come back flagged
        unchecked, and the driver splits them.
        """
        kinked = self.d == 2 and bool(levels) and len(bid) > 0
        fine, err, lr = self._fine_coarse(g, a, b, bid, corners=kinked)
        unchecked = np.zeros(len(bid), dtype=bool)
        if kinked:
            crossed = np.zeros(len(bid), dtype=bool)
            for t in levels:
                above = lr > t
                crossed |= above.any(axis=1) & ~above.all(axis=1)
            if check_below is not None:
                unchecked = crossed & ~(err <= check_below)
                crossed &= ~unchecked
            if crossed.any():
                ca, cb, cid = self._split(a[crossed], b[crossed], bid[crossed])
                kids = self._fine_coarse(g, ca, cb, cid)[0].reshape(4, -1).sum(axis=0)
                with np.errstate(invalid="ignore"):
                    err[crossed] = np.maximum(err[crossed], np.abs(fine[crossed] - kids))
        return fine, err, unchecked

    def _fine_coarse(self, g: Integrand, a: Array, b: Array, bid: Array,
                     corners: bool = False) -> tuple[Array, Array, Array | None]:
        """Fine-rule integral and |fine − coarse| per cell; with ``corners``, also log p/q at every node and at
        the cell's corners (which the Gauss nodes never reach), else None."""
        (fine_x, fine_w), (coarse_x, coarse_w) = self._rules
        rules = [self._rule_points(a, b, fine_x), self._rule_points(a, b, coarse_x)]
        if corners:
            rules.append(self._rule_points(a, b, np.array([0.0, 1.0])))
        pts = np.concatenate(rules, axis=1)
        m = pts.shape[1]
        lp, lq = (s.logpdf_cells(pts, a, b, bid) for s in (self.P, self.Q))
        n_fine = fine_x.size ** self.d
        n_rules = n_fine + coarse_x.size ** self.d
        vals = g(pts[:, :n_rules].reshape(-1, self.d), lp[:, :n_rules].ravel(), lq[:, :n_rules].ravel(),
                 np.repeat(bid, n_rules)).reshape(-1, n_rules)
        vol = np.prod(b - a, axis=1)
        fine = vol * (vals[:, :n_fine] @ self._tensor_weights(fine_w))
        coarse = vol * (vals[:, n_fine:] @ self._tensor_weights(coarse_w))
        with np.errstate(invalid="ignore"):
            return fine, np.abs(fine - coarse), (lp - lq).reshape(-1, m) if corners else None

    # ------------------------------------------------------------------ driver
    def integrate(self, g: Integrand, rtol: float | None = None, atol: float = DEFAULT_ATOL,
                  max_rounds: int = 40, max_cells: int = 400_000, chunk: int = 20_000,
                  kinks: Sequence[Kink] = (), cuts: Array | None = None,
                  levels: Sequence[float] = ()) -> tuple[Array, Array]:
        """Integrate ``g`` for every pair; returns (values (B,), error estimates (B,)).

        ``kinks`` (1D): functions whose sign changes mark points where g is not smooth; cells are
        cut there first (see :meth:`split_at_kinks`); ``cuts`` (1D): fixed points where every pair's
        cells are cut too (:meth:`split_at_points`); ``levels`` (2D): the values of log p/q along which g
        bends, whose straddling cells get the bisection error estimate of :meth:`evaluate_cells`.
        """
        rtol = DEFAULT_RTOL[self.d] if rtol is None else rtol
        for name, tol in (("rtol", rtol), ("atol", atol)):
            if not (isinstance(tol, (int, float, np.floating)) and not isinstance(tol, bool) and 0 <= tol < math.inf):
                raise ValueError(f"{name} must be a finite number >= 0; got {tol!r}")
        a, b, bid = self.split_at_kinks(*self.initial_cells(), kinks)
        if cuts is not None:
            a, b, bid = self.split_at_points(a, b, bid, cuts)
        acc_i, acc_e = np.zeros(self.B), np.zeros(self.B)
        dead = np.zeros(self.B, dtype=bool)  # pairs whose integrand produced inf/NaN: final, not refined
        converged = False
        check_below = None  # first round: every straddling cell gets its bisection estimate
        for _ in range(max_rounds):
            parts = [self.evaluate_cells(g, a[s:s + chunk], b[s:s + chunk], bid[s:s + chunk], levels,
                                         None if check_below is None else check_below[s:s + chunk])
                     for s in range(0, len(bid), chunk)]
            ic = np.concatenate([p[0] for p in parts])
            ec = np.concatenate([p[1] for p in parts])
            unchecked = np.concatenate([p[2] for p in parts])
            bad = ~(np.isfinite(ic) & np.isfinite(ec))
            if bad.any():
                newly = np.zeros(self.B, dtype=bool)
                newly[np.unique(bid[bad])] = True
                for pair in np.flatnonzero(newly):
                    vals = ic[bid == pair]
                    acc_i[pair] = np.nan if np.any(np.isnan(vals)) else np.sum(vals)
                    acc_e[pair] = np.inf
                dead |= newly
                live = ~dead[bid]
                a, b, bid, ic, ec, unchecked = a[live], b[live], bid[live], ic[live], ec[live], unchecked[live]
            tot_i = acc_i + np.bincount(bid, ic, self.B)
            tot_e = acc_e + np.bincount(bid, ec, self.B)
            tol = np.maximum(atol, rtol * np.abs(tot_i))
            width_ok = np.min(b - a, axis=1) > 1e-13 * np.maximum(1.0, np.max(np.abs(a), axis=1))
            unchecked &= width_ok  # a straddling cell too thin to split is accepted with its Gauss estimate
            open_pair = ((tot_e > tol) | (np.bincount(bid, unchecked, self.B) > 0)) & ~dead
            if not open_pair.any():
                converged = True
                break
            n_cells = np.bincount(bid, minlength=self.B) + 1
            share = tol / n_cells
            split = open_pair[bid] & ((ec > share[bid]) | unchecked) & width_ok
            if not split.any() or 4 * split.sum() + len(bid) > max_cells:
                break
            keep = ~split
            acc_i += np.bincount(bid[keep], ic[keep], self.B)
            acc_e += np.bincount(bid[keep], ec[keep], self.B)
            a, b, bid = self._split(a[split], b[split], bid[split])
            check_below = share[bid]  # a child above its parent's share will be split in any case
        if not converged:
            warnings.warn(
                f"cubature stopped before its tolerance (rtol={rtol:g}, atol={atol:g}): max relative error "
                f"estimate {np.max((tot_e / np.maximum(np.abs(tot_i), 1e-300))[~dead], initial=0.0):.2e}", IntegrationWarning, stacklevel=3)
        return tot_i, tot_e


def integrate_pairs(Ps: Sequence[GaussianMixture], Qs: Sequence[GaussianMixture], g: Integrand,
                    rtol: float | None = None, atol: float = DEFAULT_ATOL, spread: Array | None = None,
                    crossing_levels: Sequence[float] = (0.0,), cuts: Array | None = None,
                    mesh_extra: Sequence[GaussianMixture] | None = None) -> tuple[Array, Array]:
    """Integrate ``g(x, log p, log q, pair)`` over R^d for each pair; see :class:`PairCubature`.

    In 1D the mesh is first cut where log p − log q crosses each of ``crossing_levels``: by default
    where p = q, the kinks of |p − q|, of the α = ∞ and hinge discriminators and of every integrand
    built on sign(p − q) (``()``: no cuts); and at the points ``cuts`` (other known kinks of g,
    e.g. those of a WGAN critic). In 2D the cells that straddle those levels get a bisection error
    estimate instead (:meth:`PairCubature.evaluate_cells`). ``spread`` (per pair) widens every component for the
    mesh; ``mesh_extra`` (2D, per pair) adds components the mesh is refined around as around those of P and Q.
    """
    cub = PairCubature(Ps, Qs, spread=spread, mesh_extra=mesh_extra)
    log_ratio = lambda x, bid: cub.P.logpdf(x[:, None], bid) - cub.Q.logpdf(x[:, None], bid)
    kinks = [lambda x, bid, t=float(t): log_ratio(x, bid) - t for t in crossing_levels]
    return cub.integrate(g, rtol=rtol, atol=atol, kinks=kinks, cuts=cuts, levels=tuple(crossing_levels))
