"""Vectorised adaptive cubature over batches of mixture pairs (d = 1 or 2).

Integrals ∫ g(x, log p(x), log q(x)) dx over R^d for B pairs (P_b, Q_b) at once:

1. **Mesh where the mass is, in each component's own location and scale.** Every cell carries an
   anchor (the mean of a component) and its corners relative to it, so a thin mode at 1e20 is meshed as
   finely as one at 0 (in absolute coordinates the cells would round away: ulp(1e20) = 16384); densities
   are evaluated from the exact offsets (x − μ_c) = (anchor − μ_c) + local. Per pair, a box covering every
   component to ``tail`` standard deviations (in 2D one box per cluster of components whose boxes overlap)
   is divided so that every cell within ``reach`` σ_c of a component c is at most
   ``cell`` σ_c wide (1D: the cells between the sorted breakpoints of all components; 2D: a graded
   quad-tree, distances and widths measured in each component's own metric (x − μ_c)ᵀΣ_c⁻¹(x − μ_c), so a
   thin component at any angle to the axes is meshed at its thin width). Thin far-apart modes get small
   cells; empty space gets a few large ones. Callers may add shapes to mesh around (the χ² tail Gaussians
   a_i²/b_j, :func:`divergences.measures.chi2_tail_components`). In 2D the mesh is built in a common frame
   x' = A(x − anchor) that makes the most elongated components axis-aligned (a simultaneous
   diagonalisation; f-divergences are invariant under a common affine map), and a cell is halved only along
   the axes on which it is too wide: an axis-aligned thin Gaussian costs O(log of its condition number)
   cells, not O(condition number). In 1D the
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
import weakref
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Callable, NamedTuple, Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ._numerics import Array, logsumexp
from .mixture import GaussianMixture, cholesky_factors, gaussian_log_terms


class Points:
    """Cubature nodes: ``local`` (n, d) coordinates in the frame of their cell's anchor, ``reps`` consecutive nodes
    per cell of ``cells`` (in order).

    The absolute point is x = org + A⁻¹ local (A the pair's frame, identity in 1D); :attr:`absolute` forms it
    (rounded: at |x| ≫ the cell width its last bits are lost), :meth:`offsets` forms x − c for given centres
    c as (org − c) + A⁻¹ local (one rounding of the anchor's offset, none of the node's). The per-node anchors and
    pair indices are formed only when asked for (most integrands need neither).
    """

    def __init__(self, cells: "Cells", local: Array, reps: int, inv_frames: Array | None):
        self._cells, self.local, self.reps, self._inv = cells, local, reps, inv_frames

    @cached_property
    def org(self) -> Array:
        """Each node's anchor, (n, d)."""
        return np.repeat(self._cells.org, self.reps, axis=0)

    @cached_property
    def bid(self) -> Array:
        """Each node's pair index, (n,)."""
        return np.repeat(self._cells.bid, self.reps)

    @cached_property
    def _unframed(self) -> Array:
        if self._inv is None:
            return self.local
        return np.einsum("nij,nj->ni", self._inv[self.bid], self.local)

    @cached_property
    def absolute(self) -> Array:
        """x = org + A⁻¹ local, shape (n, d)."""
        return self.org + self._unframed

    def offsets(self, centres: Array) -> Array:
        """x − c for every point and centre: centres (k, d) -> (n, k, d)."""
        return (self.org[:, None, :] - centres[None]) + self._unframed[:, None, :]

    def subset(self, sel: Array) -> "Points":
        """The nodes ``sel`` (a boolean mask), as a Points of one node per cell."""
        return Points(Cells(self.org[sel], self.local[sel], self.local[sel], self.bid[sel]), self.local[sel], 1,
                      self._inv)


Integrand = Callable[[Points, Array, Array], Array]
"""g(points, log p (n,), log q (n,)) -> values (n,); ``points.bid`` holds each node's pair."""
Kink = Callable[[Array, Array, Array], Array]
"""k(anchor (n,), local x (n,), pair index (n,)) -> values whose sign changes mark kinks of the integrand (1D)."""


class Cells(NamedTuple):
    """A batch of cells: anchor ``org`` (n, d) (absolute; None where every anchor is 0, as the log densities take
    it on the plain 1D mesh), corners ``a``, ``b`` (n, d) in the anchor's frame, pair ``bid``."""

    org: Array
    a: Array
    b: Array
    bid: Array

    def take(self, sel) -> "Cells":
        return Cells(None if self.org is None else self.org[sel], self.a[sel], self.b[sel], self.bid[sel])

    @staticmethod
    def join(parts: Sequence["Cells"]) -> "Cells":
        return Cells(*(np.concatenate([getattr(p, f) for p in parts]) for f in Cells._fields))

    @property
    def n(self) -> int:
        """Number of cells."""
        return len(self.bid)


N_NODES = {2: 10}  # 2D tensor Gauss rule per axis (and half of it); 1D: Gauss-Kronrod, see rule_pair
_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
CELL_SIGMAS = {1: 8.0 / 3.0, 2: 4.0}
"""Default largest cell width near a component, in its σ: 6 cells over ±8σ in 1D (most 1D integrals
then converge on the first mesh, one refinement round fewer), 4σ in 2D (where points cost more)."""
DEFAULT_RTOL = {1: 1e-11, 2: 1e-8}
DEFAULT_ATOL = 1e-14  # absolute floor: integrands are formed to ~1e-16 · (p + q)
MAX_MESH_CELLS = 2_000_000
"""A 2D starting mesh that would need more cells is refused with a ValueError instead of running for minutes."""
FRAME_CONDITION = 10.0
"""In 2D a pair whose most elongated component has σ_max/σ_min above this is meshed in a frame that makes it
axis-aligned (below it, thin directions cost few extra cells and the mesh stays the absolute-axes one)."""
PLACEMENT_ULPS = 1e-7
"""2D: a component around which float64 rounds node coordinates (at their offset from the cluster's anchor) by more
than this many of its standard deviations, in its own metric, cannot be meshed at its location: ValueError."""


class IntegrationWarning(UserWarning):
    """The adaptive cubature stopped before meeting its tolerance (value and error are still returned)."""


@lru_cache(maxsize=None)
def _gl(n: int) -> tuple[Array, Array]:
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w  # on [0, 1]


# The 21-point Gauss-Kronrod rule and its embedded 10-point Gauss rule on [−1, 1] (QUADPACK's QK21: Piessens et al.,
# *QUADPACK* (1983); Kronrod (1965)): abscissae ≥ 0 (the Gauss nodes are the odd-indexed ones) and weights.
_K21_X = np.array([0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
                   0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
                   0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
                   0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
                   0.294392862701460198131126603103866, 0.148874338981631210884826001129720, 0.0])
_K21_W = np.array([0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
                   0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
                   0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
                   0.123491976262065851077208175212855, 0.134709217311473325928054001771707,
                   0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
                   0.149445554002916905664936468389821])
_G10_W = np.array([0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
                   0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
                   0.295524224714752870173892994651338])


def _kronrod21() -> tuple[Array, Array, Array]:
    """1D nodes on [0, 1] with the K21 weights and, on the same nodes, the G10 weights (0 off the Gauss nodes)."""
    x = np.concatenate([-_K21_X[:-1], _K21_X[::-1]])
    w = np.concatenate([_K21_W[:-1], _K21_W[::-1]])
    g = np.zeros(11)
    g[1::2] = _G10_W
    wg = np.concatenate([g[:-1], g[::-1]])
    return 0.5 * (x + 1.0), 0.5 * w, 0.5 * wg


@lru_cache(maxsize=None)
def rule_pair(d: int) -> tuple[Array, Array, Array]:
    """The cubature's node set on [0, 1]^d (m, d) with the fine and the coarse weights on it (m,) each.

    1D: Gauss-Kronrod K21 with its embedded G10, 21 evaluations per cell (the old G20 + G10 pair took 30);
    |K21 − G10| estimates the error of G10 (conservative for the returned K21). 2D: the tensor G10² and G5² rules
    side by side (125 nodes), each weight vector zero on the other's nodes."""
    if d == 1:
        x, w, wg = _kronrod21()
        return x[:, None], w, wg
    (xf, wf), (xc, wc) = _gl(N_NODES[d]), _gl(N_NODES[d] // 2)
    grids = [np.stack([g.ravel() for g in np.meshgrid(x, x, indexing="ij")], axis=1) for x in (xf, xc)]
    fine, coarse = np.outer(wf, wf).ravel(), np.outer(wc, wc).ravel()
    zf, zc = np.zeros(coarse.size), np.zeros(fine.size)
    return np.concatenate(grids), np.concatenate([fine, zf]), np.concatenate([zc, coarse])


@lru_cache(maxsize=None)
def _rule_selection(d: int) -> tuple[Array, tuple[Array, Array], tuple[Array, Array]]:
    """:func:`rule_pair`'s nodes and, for the fine and the coarse rule, (the columns of its nonzero weights, those
    weights), computed once per dimension. Zero weights are left out: inf · 0 would be NaN where the integrand is
    inf."""
    nodes, w_fine, w_coarse = rule_pair(d)
    return nodes, (np.flatnonzero(w_fine), w_fine[w_fine != 0]), (np.flatnonzero(w_coarse), w_coarse[w_coarse != 0])


ROUNDING_ULPS = 4.0
"""Ulps of |log p| + |log q| counted as each integrand value's relative rounding error (see ``_fine_coarse``)."""
QUIET = dict(divide="ignore", over="ignore", under="ignore", invalid="ignore")
"""numpy's floating-point state inside the cubature (see :meth:`PairCubature.integrate`)."""

PRUNE_NATS = 50.0
"""A component is left out of a cell's log density when, everywhere in the cell, its term is
below the density's lower bound by more than this (its share of p is then < e^{-50} ≈ 2e-22)."""
PRUNE_MIN_COMPONENTS = 4
"""Mixtures with fewer (padded) components are evaluated whole: the bounds would cost more than they save."""


@lru_cache(maxsize=None)
def _ticks(reach: float, cell: float) -> Array:
    """The offsets, in σ, of a component's breakpoints: ceil(2 reach / cell) cells over [−reach, reach]."""
    t = np.linspace(-reach, reach, max(1, int(np.ceil(2.0 * reach / cell))) + 1)
    t.setflags(write=False)
    return t


@lru_cache(maxsize=None)
def _graded_ticks(reach: float, tail: float) -> Array:
    """±2^k reach for k ≥ 1 below ``tail``: breakpoints that grade a thin component's mesh into a wide one's."""
    k = np.arange(1, max(1, int(np.ceil(np.log2(tail / reach)))))
    t = np.concatenate([-reach * 2.0**k, reach * 2.0**k])
    t = t[np.abs(t) < tail]
    t.setflags(write=False)
    return t


def _in_frame(diff: Array, frame: Array | None) -> Array:
    """A·diff for vectors diff (n, ..., d) and per-row frames (n, d, d); diff itself without a frame."""
    if frame is None:
        return diff
    return np.einsum("nij,n...j->n...i", frame, diff)


def pair_frame(mixtures: Sequence[GaussianMixture]) -> Array | None:
    """2D: the common frame A (2, 2) in which the pair is meshed, or None (the absolute axes).

    Taken when some component has σ_max/σ_min > :data:`FRAME_CONDITION`: with c1 the most elongated component
    and c2 the most elongated of the others (c1 again if it is alone), A simultaneously diagonalises Σ_c1 and
    Σ_c2 (A Σ_c1 Aᵀ = I, A Σ_c2 Aᵀ = Λ diagonal: Golub & Van Loan, *Matrix Computations*, §8.7), so both are
    axis-aligned there and the mesh, halving cells only along the axes where they are too wide, follows them at
    O(log σ_max/σ_min) cost. For one Gaussian against another the whole problem is then axis-aligned.
    """
    covs = np.concatenate([m.covs for m in mixtures])
    if covs.shape[-1] != 2:
        return None
    eig = np.concatenate([m._cov_eigvals for m in mixtures])
    cond = np.sqrt(eig[:, 1] / eig[:, 0])
    if cond.max() <= FRAME_CONDITION:
        return None
    order = np.argsort(-cond, kind="stable")
    c1 = order[0]
    c2 = order[1] if len(order) > 1 else order[0]
    w1, v1 = np.linalg.eigh(covs[c1])
    whiten = (v1 / np.sqrt(w1)).T  # whiten Σ_c1: whiten Σ_c1 whitenᵀ = I
    inner = whiten @ covs[c2] @ whiten.T
    _, rot = np.linalg.eigh(0.5 * (inner + inner.T))
    return rot.T @ whiten


_SINGLE_STACKS: "weakref.WeakKeyDictionary[GaussianMixture, _Stack]" = weakref.WeakKeyDictionary()
"""The :class:`_Stack` of a single mixture without a frame, per mixture (kept while the mixture lives)."""


@dataclass(frozen=True, eq=False)
class _Stack:
    """Parameters of B mixtures padded to a common component count K (padding has log-weight −inf), with the
    covariances expressed in each pair's frame (``frame`` (B, d, d), None for the identity)."""

    logw: Array  # (B, K)
    means: Array  # (B, K, d) absolute
    scales: Array  # (B, K, d) per-axis standard deviations in the frame
    prec_chol: Array  # (B, K, d, d) in the frame
    const: Array  # (B, K): log w + log normaliser in the frame
    sd_min: Array  # (B, K): sqrt of the smallest / largest eigenvalue of Σ in the frame
    sd_max: Array  # (B, K)
    frame: Array | None  # (B, d, d)

    @classmethod
    def of(cls, mixtures: Sequence[GaussianMixture], frames: Array | None = None) -> "_Stack":
        if frames is None and len(mixtures) == 1:  # nothing to pad, nothing to transform
            m = mixtures[0]
            stack = _SINGLE_STACKS.get(m)
            if stack is None:  # a mixture is immutable: its stack is built once
                sd = np.sqrt(m._cov_eigvals)
                stack = cls(m._log_weights[None], m.means[None], m.scales()[None], m._prec_chol[None],
                            (m._log_weights + m._log_norm)[None], sd.min(axis=-1)[None], sd.max(axis=-1)[None], None)
                _SINGLE_STACKS[m] = stack
            return stack
        B, K, d = len(mixtures), max(m.n_components for m in mixtures), mixtures[0].dim
        logw = np.full((B, K), -np.inf)
        means = np.zeros((B, K, d))
        covs = np.tile(np.eye(d), (B, K, 1, 1))
        for b, m in enumerate(mixtures):
            k = m.n_components
            logw[b, :k] = m._log_weights
            means[b] = m.means[np.minimum(np.arange(K), k - 1)]  # padding repeats the last component
            covs[b] = m.covs[np.minimum(np.arange(K), k - 1)]
        if frames is not None:  # A Σ Aᵀ in extended precision (the frame whitens thin components: cancellation)
            fr = frames.astype(np.longdouble)
            covs = np.einsum("bij,bkjl,bml->bkim", fr, covs.astype(np.longdouble), fr)
            covs = 0.5 * (covs + np.swapaxes(covs, -1, -2))
        _, prec, half_log_det = cholesky_factors(covs.reshape(B * K, d, d))  # before rounding covs to float64
        covs = covs.astype(float)
        prec = prec.reshape(B, K, d, d)
        lnorm = -0.5 * d * np.log(2.0 * np.pi) - half_log_det.reshape(B, K)
        sd = np.sqrt(np.linalg.eigvalsh(covs))
        scales = np.sqrt(np.diagonal(covs, axis1=-2, axis2=-1))
        return cls(logw, means, scales, prec, logw + lnorm, sd.min(axis=-1), sd.max(axis=-1), frames)

    @property
    def B(self) -> int:
        """Number of mixtures."""
        return self.logw.shape[0]

    @property
    def n_components(self) -> int:
        """K, the padded component count."""
        return self.logw.shape[1]

    def local_means(self, org: Array | None, bid: Array, comp: Array | None = None) -> Array:
        """Means of mixture ``bid[i]`` (components ``comp[i]``, default all) relative to ``org[i]`` (None: 0), in the
        frame: A(μ − org), shape (n or 1, K or c, d); μ − org is formed first (exact when the two are close)."""
        if comp is None:
            mu = self.means[0][None] if self.B == 1 else self.means[bid]  # one mixture: broadcast, no gather
        else:
            mu = self.means[bid[:, None], comp]
        if org is not None:
            mu = mu - org[:, None, :]
        return _in_frame(mu, None if self.frame is None else self.frame[bid])

    def logpdf_cells(self, x: Array, cells: Cells) -> Array:
        """log density (in the frame) of mixture ``cells.bid[i]`` at the local points ``x[i]`` (n, m, d) of cell i.

        With K ≥ :data:`PRUNE_MIN_COMPONENTS`, components whose term is provably negligible
        everywhere in a cell are left out of it (:data:`PRUNE_NATS`): with Mahalanobis distances
        bounded by Euclidean ones over σ_max / σ_min, u_k = c_k − ½ (dist(cell, μ_k)/σ_max,k)² bounds
        component k's log term from above and ℓ = max_k [c_k − ½ (farthest corner − μ_k)²/σ_min,k²]
        bounds log p from below; k is kept where u_k ≥ ℓ − PRUNE_NATS. Cells are then grouped by
        their number of kept components.
        """
        K = self.n_components
        bid = cells.bid
        if K < PRUNE_MIN_COMPONENTS:
            return self._logsumexp_terms(x, cells, None)
        mu = self.local_means(cells.org, bid)  # (n, K, d)
        lo, hi = cells.a[:, None], cells.b[:, None]
        near = np.maximum(np.maximum(lo - mu, mu - hi), 0.0)
        far = np.maximum(np.abs(lo - mu), np.abs(hi - mu))
        const = self.const[bid]
        upper = const - 0.5 * np.sum(near * near, axis=-1) / self.sd_max[bid] ** 2
        lower = np.max(const - 0.5 * np.sum(far * far, axis=-1) / self.sd_min[bid] ** 2, axis=1)
        keep = ~(upper < lower[:, None] - PRUNE_NATS)  # NaN bounds (overflowed distances) keep the component
        count = keep.sum(axis=1)
        order = np.argsort(~keep, axis=1, kind="stable")  # kept components first
        out = np.empty(x.shape[:2])
        for c in np.unique(count):
            rows = np.flatnonzero(count == c)
            out[rows] = self._logsumexp_terms(x[rows], cells.take(rows), order[rows, :c])
        return out

    def _logsumexp_terms(self, x: Array, cells: Cells, comp: Array | None) -> Array:
        """logsumexp over the components ``comp`` (r, c) (None: all K) of mixture ``cells.bid`` at local points
        x (r, m, d)."""
        mu = self.local_means(cells.org, cells.bid, comp)  # (r, c, d)
        if comp is None and self.B == 1:  # one mixture, every component: its parameters broadcast over the cells
            prec, const = self.prec_chol[0].transpose(1, 2, 0)[..., None, None], self.const[0][:, None, None]
        else:
            pair = cells.bid[:, None]
            comp = np.broadcast_to(np.arange(self.n_components), (len(pair), self.n_components)) if comp is None else comp
            prec = self.prec_chol[pair, comp].transpose(2, 3, 1, 0)[..., None]
            const = self.const[pair, comp].T[..., None]
        terms = gaussian_log_terms(x, mu.transpose(2, 1, 0)[..., None], prec, const)
        if cells.org is not None and not (np.abs(mu) < 1e300).all():  # inf − inf in a distance: a far point
            terms = np.where(np.isnan(terms), -np.inf, terms)
        return logsumexp(terms, axis=0)

    def logpdf_at(self, org: Array | None, x: Array, bid: Array) -> Array:
        """log density of mixture ``bid[i]`` at the local point ``x[i]`` (n, d) of anchor ``org[i]`` (None: 0)."""
        return self.logpdf_cells(x[:, None, :], Cells(org, x, x, bid))[:, 0]


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
    all at once, each to |root − x| ≤ ε = max(2 ulp(max(|lo|, |hi|)), 2^-50 (hi − lo)) (the second term matters
    near 0, where ulp alone would ask for up to ~1075 bisections; a cell cut 1e-15 of its width off the kink
    changes the integral by ~1e-24 of it).

    The ITP method (Oliveira & Takahashi 2020, ACM TOMS 47(1)): a regula falsi point, truncated
    towards the midpoint by δ = κ1' (hi − lo)^κ2 with κ1' = κ1 / (initial width), then projected
    into a shrinking interval about the midpoint. It needs at most n_½ + n0 steps, where n_½ is the
    number of bisections, and converges superlinearly at simple roots.
    """
    lo, hi, f_lo, f_hi = (np.array(v, dtype=float) for v in (lo, hi, f_lo, f_hi))
    width0 = hi - lo
    eps = np.maximum(2.0 * np.spacing(np.maximum(np.abs(lo), np.abs(hi))), 2.0**-50 * width0)
    k1 = kappa1 / np.where(width0 > 0, width0, 1.0)
    n_max = np.ceil(np.log2(np.maximum(width0 / (2.0 * eps), 1.0))) + n0
    neg_lo = f_lo < 0
    with np.errstate(all="ignore"):  # brackets up to 1e308 wide: width ** κ2 may overflow (δ = inf: midpoint step)
        return _itp_loop(f, lo, hi, f_lo, f_hi, eps, k1, n_max, neg_lo, kappa2)


def _itp_loop(f, lo, hi, f_lo, f_hi, eps, k1, n_max, neg_lo, kappa2):
    """The iterations of :func:`_itp_roots`."""
    for j in range(int(n_max.max()) if lo.size else 0):
        width = hi - lo
        if np.all(width <= 2.0 * eps):
            break
        mid = 0.5 * (lo + hi)
        radius = np.maximum(eps * 2.0 ** (n_max - j) - 0.5 * width, 0.0)
        delta = k1 * width ** kappa2
        x_f = (f_hi * lo - f_lo * hi) / (f_hi - f_lo)
        x_f = np.where(np.isfinite(x_f), x_f, mid)
        sigma = np.sign(mid - x_f)
        x_t = np.where(delta <= np.abs(mid - x_f), x_f + sigma * delta, mid)
        x = np.where(np.abs(x_t - mid) <= radius, x_t, mid - sigma * radius)
        # at least ε/2 inside the bracket: with f(end) ≈ 0 the regula falsi point is that end, and the step is lost
        x = np.clip(x, lo + 0.5 * eps, np.maximum(hi - 0.5 * eps, lo + 0.5 * eps))
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
        if self.d not in (1, 2):
            raise ValueError(f"the divergence engine integrates in d = 1 or 2; got d = {self.d}")
        self.B = len(Ps)
        frames = [pair_frame([p, q]) for p, q in zip(Ps, Qs)] if self.d == 2 else [None]
        self.frames = None if all(f is None for f in frames) else np.stack(
            [np.eye(self.d) if f is None else f for f in frames])
        self.inv_frames = None if self.frames is None else np.linalg.inv(self.frames)
        self.P, self.Q = _Stack.of(Ps, self.frames), _Stack.of(Qs, self.frames)
        self.spread = np.ones(self.B) if spread is None else np.asarray(spread, float)
        # components the mesh is built around besides those of P and Q (2D; e.g. the χ² tail Gaussians a_i²/b_j)
        self.E = None if mesh_extra is None else _Stack.of(mesh_extra, self.frames)
        self._mesh_stacks = [("P", self.P), ("Q", self.Q)] + ([] if self.E is None else [("the mesh's extra", self.E)])
        self.tail, self.cell, self.reach = tail, CELL_SIGMAS[self.d] if cell is None else cell, reach
        self._nodes, self._fine, self._coarse = _rule_selection(self.d)
        self._plain = False  # set by the mesh: every cell anchored at 0
        self._log_scale = 0.0  # set by integrate

    # ------------------------------------------------------------------ mesh
    def _components(self) -> tuple[Array, Array, Array, Array]:
        """All components of the mesh: absolute centres (B, n, d), per-axis σ in the frame (B, n, d), the thinnest σ
        in the frame (B, n) (both widened by ``spread``), valid mask (B, n)."""
        stacks = [st for _, st in self._mesh_stacks]
        mu = np.concatenate([m.means for m in stacks], axis=1)
        sd = np.concatenate([m.scales for m in stacks], axis=1) * self.spread[:, None, None]
        sd_min = np.concatenate([m.sd_min for m in stacks], axis=1) * self.spread[:, None]
        ok = np.concatenate([np.isfinite(m.logw) for m in stacks], axis=1)
        return mu, sd, sd_min, ok

    def _precisions(self) -> Array:
        """Σ_c^{-1} / spread² in the frame for the components of :meth:`_components` (B, n, d, d), from W (Σ^{-1} = W Wᵀ)."""
        W = np.concatenate([st.prec_chol for _, st in self._mesh_stacks], axis=1)
        return np.einsum("bkij,bklj->bkil", W, W) / self.spread[:, None, None, None] ** 2

    def _component_name(self, k: int) -> str:
        for name, st in self._mesh_stacks:
            if k < st.n_components:
                return f"component {k} of {name}"
            k -= st.n_components
        return "a component"

    def initial_cells(self) -> Cells:
        """The starting mesh: per pair, cells covering every component to ``tail`` σ, and at most
        ``cell`` σ_c wide within ``reach`` σ_c of each component c, each anchored at a component's mean."""
        mu, sd, sd_min, ok = self._components()
        self._plain = False
        if self.d == 1:
            return self._breakpoint_mesh(mu[..., 0], sd[..., 0], ok)
        prec = self._precisions()
        return self._quadtree_mesh(self._cluster_boxes(mu, sd, sd_min, ok, prec), mu, prec, ok)

    def _breakpoint_mesh(self, mu: Array, sd: Array, ok: Array) -> Cells:
        """1D: the cells between the sorted union of the box ends (the outermost μ_c ∓ tail σ_c) and, for every
        component c, the points μ_c + j·(cell σ_c) that tile [μ_c − reach σ_c, μ_c + reach σ_c].

        A breakpoint is kept as (μ_c, offset) and sorted by its rounded value, ties broken by (μ_c − value) + offset;
        each cell is anchored at the end whose component is thinner (its own scale is then represented exactly)."""
        t, graded = _ticks(self.reach, self.cell), _graded_ticks(self.reach, self.tail)
        B, rows = self.B, np.arange(self.B)[:, None]
        outer = np.where(ok, self.tail * sd, -np.inf)  # invalid (padding) components never give a box end
        lo_end, hi_end = (outer - mu).max(axis=1), (outer + mu).max(axis=1)
        # a component next to one more than twice as wide gets breakpoints at ±2^k reach σ too: else the wide one's
        # first cell (8/3 of its σ) starts right at the thin one's reach, and tails decaying like p^½ (√(pq) in H²,
        # σ√2 wide) were integrated by nodes that all lay beyond them (H² of σ = 1 and 1000 off by 1.4e-9)
        needs = (np.where(ok, sd, 0.0).max(axis=1, keepdims=True) > 2.0 * sd) & ok
        if needs.any():
            ticks = np.where(needs[..., None], graded, np.nan)  # (B, K, n_graded)
            t = np.concatenate([np.broadcast_to(t, sd.shape + t.shape), ticks], axis=-1)
        if (np.spacing(np.maximum(lo_end, hi_end)) <= 2.0**-40 * np.where(ok, sd, np.inf).min(axis=1)).all():
            self._plain = True
            return self._plain_breakpoints(mu, sd, ok, t, -lo_end, hi_end)
        k_lo, k_hi = np.argmax(outer - mu, axis=1), np.argmax(outer + mu, axis=1)
        r0 = rows[:, 0]
        n_t = t.shape[-1]
        offsets = np.broadcast_to(sd[..., None] * t, sd.shape + (n_t,)).reshape(B, -1)
        anchor = np.concatenate([mu[r0, k_lo, None], np.repeat(mu, n_t, axis=1), mu[r0, k_hi, None]], axis=1)
        offset = np.concatenate([-self.tail * sd[r0, k_lo, None], offsets, self.tail * sd[r0, k_hi, None]], axis=1)
        scale = np.concatenate([sd[r0, k_lo, None], np.repeat(sd, n_t, axis=1), sd[r0, k_hi, None]], axis=1)
        valid = np.concatenate([np.ones((B, 1), bool), np.repeat(ok, n_t, axis=1) & ~np.isnan(offsets),
                                np.ones((B, 1), bool)], axis=1)
        value = np.where(valid, anchor + offset, np.inf)
        order = np.argsort(value, axis=1, kind="stable")
        v = value[rows, order]
        if np.any(v[:, 1:] == v[:, :-1]):  # equal rounded values: order them by their exact offsets
            rest = np.where(valid, (anchor - value) + offset, 0.0)
            order = np.lexsort((rest, value), axis=-1)
        anchor, offset, scale, valid = (a[rows, order] for a in (anchor, offset, scale, valid))
        a_l, a_r, o_l, o_r = anchor[:, :-1], anchor[:, 1:], offset[:, :-1], offset[:, 1:]
        gap = a_r - a_l
        finer = scale[:, 1:] < scale[:, :-1]  # anchor the cell at its right end
        org = np.where(finer, a_r, a_l)
        lo = np.where(finer, o_l - gap, o_l)
        hi = np.where(finer, o_r, gap + o_r)
        keep = valid[:, 1:] & (hi > lo)
        # A cell between the breakpoints of far-apart components is given in one anchor's coordinates, where its
        # other end is rounded to ulp(anchor gap): with that coarser than 2^-40 of the thinner component's σ, the cell
        # is halved and each half anchored at its own end (the halves meet in the empty space between the two)
        far = keep & (np.spacing(np.abs(gap)) > 2.0**-40 * np.minimum(scale[:, :-1], scale[:, 1:]))
        keep &= ~far
        bid = np.broadcast_to(rows, keep.shape)
        cells = Cells(org[keep][:, None], lo[keep][:, None], hi[keep][:, None], bid[keep])
        if not far.any():
            return cells
        o_l, o_r, g = o_l[far], o_r[far], gap[far]
        halves = Cells(np.concatenate([a_l[far], a_r[far]])[:, None],
                       np.concatenate([o_l, 0.5 * ((o_l - g) + o_r)])[:, None],
                       np.concatenate([0.5 * (o_l + (g + o_r)), o_r])[:, None],
                       np.concatenate([bid[far], bid[far]]))
        return Cells.join([cells, halves])

    def _plain_breakpoints(self, mu: Array, sd: Array, ok: Array, t: Array, lo: Array, hi: Array) -> Cells:
        """1D, where every breakpoint is exact enough in absolute coordinates (ulp(|x|) ≤ 2^-40 of the thinnest σ
        over the box): the cells between the sorted breakpoints, all anchored at 0 (the common case, and cheaper)."""
        B = self.B
        points = np.where(ok[..., None], mu[..., None] + sd[..., None] * t, np.nan).reshape(B, -1)  # NaN: no tick
        points = np.sort(np.concatenate([lo[:, None], points, hi[:, None]], axis=1), axis=1)  # NaN sorts last
        a, b = points[:, :-1], points[:, 1:]
        cell = b > a  # also drops the NaN padding and repeated points
        bid = np.nonzero(cell)[0]
        return Cells(np.zeros((bid.size, 1)), a[cell][:, None], b[cell][:, None], bid)

    def _cluster_boxes(self, mu: Array, sd: Array, sd_min: Array, ok: Array, prec: Array) -> Cells:
        """2D: per pair, one root box per cluster of components whose tail boxes (μ_c ± tail σ_c) overlap, anchored at
        the mean of the cluster's thinnest component and expressed in the pair's frame. Far-apart clusters are
        meshed separately (the space between them holds less than e^{-800} of either density), each in coordinates
        where its own scales are representable. A component whose thin σ is too small for float64 at its offset from
        the anchor (:data:`PLACEMENT_ULPS`) is refused with a ValueError."""
        org, lo, hi, bid = [], [], [], []
        for b in range(self.B):
            idx = np.flatnonzero(ok[b])
            frame = None if self.frames is None else self.frames[b]
            centre = mu[b, idx] if frame is None else mu[b, idx] @ frame.T
            half = self.tail * sd[b, idx]
            with np.errstate(invalid="ignore", over="ignore"):
                lo_c, hi_c = centre - half, centre + half
                touch = np.all((lo_c[:, None] <= hi_c[None]) & (lo_c[None] <= hi_c[:, None]), axis=-1)
            n_cl, label = connected_components(coo_matrix(touch), directed=False)
            for c in range(n_cl):
                mem = idx[label == c]
                anchor = mem[np.argmin(sd_min[b, mem])]
                loc = mu[b, mem] - mu[b, anchor]
                if frame is not None:
                    loc = loc @ frame.T
                # rounding of node coordinates around each member, measured in the member's own metric
                ulp = np.spacing(np.abs(loc) + self.reach * sd[b, mem])
                L = prec[b, mem]
                slip = np.sqrt(L[:, 0, 0] * ulp[:, 0] ** 2 + L[:, 1, 1] * ulp[:, 1] ** 2
                               + 2.0 * np.abs(L[:, 0, 1]) * ulp[:, 0] * ulp[:, 1])
                bad = np.flatnonzero(~(slip <= PLACEMENT_ULPS))
                if bad.size:
                    k = mem[bad[0]]
                    raise ValueError(
                        f"{self._component_name(k)} of pair {b} (thinnest standard deviation {sd_min[b, k]:.3g}) lies "
                        f"{np.max(np.abs(loc[bad[0]])):.3g} from {self._component_name(anchor)}, the thinnest component "
                        f"near it (in the mesh's frame): at that offset float64 places cubature nodes only to "
                        f"{slip[bad[0]]:.2g} of its standard deviation (at most {PLACEMENT_ULPS:g} is needed); widen it "
                        f"or move it")
                org.append(mu[b, anchor])
                lo.append(np.min(loc - self.tail * sd[b, mem], axis=0))
                hi.append(np.max(loc + self.tail * sd[b, mem], axis=0))
                bid.append(b)
        return Cells(np.array(org), np.array(lo), np.array(hi), np.array(bid))

    def _quadtree_mesh(self, boxes: Cells, mu: Array, prec: Array, ok: Array) -> Cells:
        """2D: each root box split until no cell within Mahalanobis distance ``reach`` of a component c spans more than
        ``cell`` in c's metric along an axis; a cell is halved only along the axes where it is too wide (2 or 4
        children), so cells take the aspect ratio of the axis-aligned components they meet. A graded mesh: cells grow
        geometrically away from the components.

        Both tests use c's full covariance (precision ``prec``), so a thin component at any orientation gets cells of
        its thin width along its whole length (with per-axis σ a rotated thin Gaussian looked up to σ_max wide,
        and a KL at correlation 1 − 1e-6 was off by 1 with an estimate of 1e-8): near = exact minimum of
        (x − μ_c)ᵀΛ_c(x − μ_c) over the cell (:func:`_box_mahalanobis2`) < reach²; too wide along x =
        Λ_xx w_x² + |Λ_xy w_x w_y| > cell² (likewise y; for an axis-aligned component, w_x > cell σ_x).
        A mesh that would exceed :data:`MAX_MESH_CELLS` is refused with a ValueError (thin components at different
        orientations, which no common frame aligns, cost cells in proportion to their length over their width).
        """
        mu_box = _in_frame(mu[boxes.bid] - boxes.org[:, None, :], None if self.frames is None else self.frames[boxes.bid])
        prec_box = prec[boxes.bid]
        ok_box = ok[boxes.bid]
        a, b, box = boxes.a, boxes.b, np.arange(boxes.n)
        done: list[tuple[Array, Array, Array]] = []
        n_done = 0
        for _ in range(400):
            L, m = prec_box[box], mu_box[box]
            with np.errstate(invalid="ignore", over="ignore"):
                near = (_box_mahalanobis2(a[:, None, :] - m, b[:, None, :] - m, L) < self.reach**2) & ok_box[box]
                w = (b - a)[:, None, :]
                wx, wy = w[..., 0], w[..., 1]
                cross = np.abs(L[..., 0, 1] * wx * wy)
                sx = np.any(near & (L[..., 0, 0] * wx**2 + cross > self.cell**2), axis=1)
                sy = np.any(near & (L[..., 1, 1] * wy**2 + cross > self.cell**2), axis=1)
            split = sx | sy
            done.append((a[~split], b[~split], box[~split]))
            n_done += int(np.sum(~split))
            if not split.any():
                break
            a, b, box = self._split_axes(a[split], b[split], box[split], sx[split], sy[split])
            if n_done + len(box) > MAX_MESH_CELLS:
                raise ValueError(self._mesh_too_large())
        else:
            raise ValueError(self._mesh_too_large())
        a, b, box = (np.concatenate(v) for v in zip(*done))
        return Cells(boxes.org[box], a, b, boxes.bid[box])

    def _mesh_too_large(self) -> str:
        cond = [float(np.max(s.sd_max / s.sd_min)) for s in (self.P, self.Q)]
        return (f"the 2D mesh needs more than {MAX_MESH_CELLS:,} cells: thin components at different orientations "
                f"(largest σ_max/σ_min of P {cond[0]:.3g}, of Q {cond[1]:.3g} in the mesh's frame) cannot all be "
                f"axis-aligned; the cost grows with their length over their width")

    @staticmethod
    def _split_axes(a: Array, b: Array, box: Array, sx: Array, sy: Array) -> tuple[Array, Array, Array]:
        """Halve cells along x where ``sx``, along y where ``sy`` (both: four children)."""
        mid = 0.5 * (a + b)
        lo, hi, ids = [], [], []
        for cut_x, cut_y in ((True, False), (False, True), (True, True)):
            sel = (sx == cut_x) & (sy == cut_y)
            if not sel.any():
                continue
            a_s, b_s, m_s = a[sel], b[sel], mid[sel]
            xs = [(a_s[:, 0], m_s[:, 0]), (m_s[:, 0], b_s[:, 0])] if cut_x else [(a_s[:, 0], b_s[:, 0])]
            ys = [(a_s[:, 1], m_s[:, 1]), (m_s[:, 1], b_s[:, 1])] if cut_y else [(a_s[:, 1], b_s[:, 1])]
            for x0, x1 in xs:
                for y0, y1 in ys:
                    lo.append(np.stack([x0, y0], 1)), hi.append(np.stack([x1, y1], 1)), ids.append(box[sel])
        return np.concatenate(lo), np.concatenate(hi), np.concatenate(ids)

    def kink_roots(self, cells: Cells, kink: Kink, probes: int = 32) -> tuple[Array, Array, Array]:
        """1D: the sign changes of ``kink(anchor, x, pair)`` inside the cells, bracketed on ``probes`` points per
        cell and located to 2 ulps (of the local coordinate) by the vectorised ITP method (:func:`_itp_roots`).
        Returns (local roots, their cell, their pair)."""
        a, b, org, bid = cells.a[:, 0], cells.b[:, 0], cells.org[:, 0], cells.bid
        t = np.linspace(0.0, 1.0, probes + 1)
        x = a[:, None] + (b - a)[:, None] * t[None, :]
        x[:, -1] = b  # exactly the next cell's first probe: a sign change at a shared end is seen once
        reps = probes + 1
        v = kink(np.repeat(org, reps), x.reshape(-1), np.repeat(bid, reps)).reshape(x.shape)
        neg = v < 0  # an exact zero counts as positive: a crossing through it is kept
        known = ~np.isnan(v)  # NaN: both densities are 0 there, no kink to find
        ci, ji = np.nonzero((neg[:, :-1] != neg[:, 1:]) & known[:, :-1] & known[:, 1:])
        lo, hi, ids, anc = x[ci, ji], x[ci, ji + 1], bid[ci], org[ci]
        return _itp_roots(lambda z: kink(anc, z, ids), lo, hi, v[ci, ji], v[ci, ji + 1]), ci, ids

    def split_at_kinks(self, cells: Cells, kinks: Sequence[Kink]) -> Cells:
        """1D: cut cells at the sign changes of every function in ``kinks`` (e.g. log p − log q for |p − q|).

        Gauss rules converge slowly across a kink and their error estimate can miss it, so the
        integrand's known non-smooth points become cell boundaries.
        """
        if self.d != 1 or not kinks:
            return cells
        found = [self.kink_roots(cells, kink) for kink in kinks]
        return self._cut(cells, np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found]))

    def split_at_points(self, cells: Cells, points: Array) -> Cells:
        """1D: cut every pair's cells at the given absolute points (known kinks of an integrand, e.g. of a critic)."""
        points = np.asarray(points, dtype=float).ravel()
        if self.d != 1 or points.size == 0:
            return cells
        cell = np.repeat(np.arange(cells.n), points.size)
        x = np.tile(points, cells.n) - cells.org[cell, 0]
        inside = (cells.a[cell, 0] < x) & (x < cells.b[cell, 0])
        return self._cut(cells, x[inside], cell[inside])

    @staticmethod
    def _cut(cells: Cells, roots: Array, ci: Array) -> Cells:
        """1D: split cell ``ci[j]`` at the local point ``roots[j]`` for every j."""
        if roots.size == 0:
            return cells
        keep = np.ones(cells.n, dtype=bool)
        keep[ci] = False
        a, b = cells.a[:, 0], cells.b[:, 0]
        pieces = [(a[keep], b[keep], np.flatnonzero(keep))]
        for c in np.unique(ci):
            cuts = np.concatenate([[a[c]], np.sort(roots[ci == c]), [b[c]]])
            pieces.append((cuts[:-1], cuts[1:], np.full(len(cuts) - 1, c)))
        na, nb, src = (np.concatenate(v) for v in zip(*pieces))
        ok = nb > na
        return Cells(cells.org[src[ok]], na[ok, None], nb[ok, None], cells.bid[src[ok]])

    def _split(self, cells: Cells) -> Cells:
        """Bisect every cell (1D: 2 children, 2D: 4 quadrants); children come grouped by position, all first
        children first."""
        a, b = cells.a, cells.b
        mid = 0.5 * (a + b)
        if self.d == 1:
            lo, hi = [a, mid], [mid, b]
        else:
            lo = [a, np.stack([mid[:, 0], a[:, 1]], 1), np.stack([a[:, 0], mid[:, 1]], 1), mid]
            hi = [mid, np.stack([b[:, 0], mid[:, 1]], 1), np.stack([mid[:, 0], b[:, 1]], 1), b]
        k = len(lo)
        return Cells(np.tile(cells.org, (k, 1)), np.concatenate(lo), np.concatenate(hi), np.tile(cells.bid, k))

    # ------------------------------------------------------------------ rules
    @staticmethod
    def _rule_points(a: Array, b: Array, nodes: Array) -> Array:
        """Nodes (m, d) on [0, 1]^d mapped into each cell: (n_cells, m, d) local coordinates."""
        return a[:, None, :] + (b - a)[:, None, :] * nodes[None]

    def evaluate_cells(self, g: Integrand, cells: Cells, levels: Sequence[float] = (),
                       check_below: Array | None = None) -> tuple[Array, Array, Array, Array]:
        """Fine-rule integral, conservative quadrature error estimate, rounding bound and an "unchecked" flag for
        each cell.

        The nodes of both rules are evaluated in one call of ``g`` (one pass of each log density).
        ``levels`` (2D): values of log p/q where g has a kink; a cell whose nodes or corners straddle one is also
        integrated as its four children, and its estimate becomes max(|I_n − I_{n/2}|, |I_n − Σ children|)
        (the two Gauss rules can agree by accident across a kink; the bisection difference cannot be made
        small without resolving it). The value stays I_n: Σ children was not consistently closer on the TV
        test pairs. ``check_below`` (per cell): the children are integrated only where |I_n − I_{n/2}| is
        at most this (a cell above it is split anyway); the other straddling cells come back flagged
        unchecked, and the driver splits them.
        """
        kinked = self.d == 2 and bool(levels) and cells.n > 0
        fine, err, rounding, lr = self._fine_coarse(g, cells, corners=kinked)
        unchecked = np.zeros(cells.n, dtype=bool)
        if kinked:
            crossed = np.zeros(cells.n, dtype=bool)
            for t in levels:
                above = lr > t
                crossed |= above.any(axis=1) & ~above.all(axis=1)
            if check_below is not None:
                unchecked = crossed & ~(err <= check_below)
                crossed &= ~unchecked
            if crossed.any():
                kids = self._fine_coarse(g, self._split(cells.take(crossed)))[0].reshape(4, -1).sum(axis=0)
                with np.errstate(invalid="ignore"):
                    err[crossed] = np.maximum(err[crossed], np.abs(fine[crossed] - kids))
        return fine, err, rounding, unchecked

    def _fine_coarse(self, g: Integrand, cells: Cells, corners: bool = False
                     ) -> tuple[Array, Array, Array, Array | None]:
        """Fine-rule integral, |fine − coarse| and a bound on the rounding of the fine rule per cell (one pass over
        the nodes of :func:`rule_pair`); with ``corners``, also log p/q at every node and at the cell's corners
        (which the Gauss nodes never reach), else None."""
        a, b = cells.a, cells.b
        pts = self._rule_points(a, b, self._nodes)
        n_rules = self._nodes.shape[0]
        if corners:
            pts = np.concatenate([pts, self._rule_points(a, b, _CORNERS)], axis=1)
        m = pts.shape[1]
        lp, lq = (s.logpdf_cells(pts, self._anchored(cells)) for s in (self.P, self.Q))
        if corners:
            lp, lq, lr = lp[:, :n_rules], lq[:, :n_rules], (lp - lq).reshape(-1, m)
        points = Points(cells, pts[:, :n_rules].reshape(-1, self.d), n_rules, self.inv_frames)
        vals = g(points, lp.ravel(), lq.ravel()).reshape(-1, n_rules)
        vol = np.prod(b - a, axis=1)
        (fi, fw), (ci, cw) = self._fine, self._coarse
        fine = vol * (vals[:, fi] @ fw)
        coarse = vol * (vals[:, ci] @ cw)
        # rounding: an integrand formed from exp(log densities) carries their absolute rounding, ~ε(|log p| + |log q|),
        # as a relative error (the χ² near its tail tie integrates p²/q where log p ≈ −1e6: 1e-10 relative), plus that
        # of any large constant the integrand adds in log space (``log_scale``: Arimoto's (log 2)/α)
        lpf, lqf = lp[:, fi], lq[:, fi]
        magnitude = np.abs(lpf) + np.abs(lqf) + self._log_scale
        if not np.isfinite(magnitude).all():  # a −inf log density: the value is a limit, its rounding the other's
            magnitude = np.where(np.isfinite(lpf), np.abs(lpf), 0.0) + np.where(np.isfinite(lqf), np.abs(lqf), 0.0)
        rounding = ROUNDING_ULPS * np.finfo(float).eps * vol * ((np.abs(vals[:, fi]) * magnitude) @ fw)
        return fine, np.abs(fine - coarse), rounding, lr if corners else None

    def _budget_estimate(self, g: Integrand, cells: Cells, ic: Array, ec: Array, unresolved: Array,
                         chunk: int) -> Array:
        """Error estimates when refinement stops at its budget with ``unresolved`` cells still above their share.

        Their |I_n − I_{n/2}| is the estimate least to be trusted there (the rules have not converged), so each is
        also integrated as its children (2 or 4) and takes max(|I_n − I_{n/2}|, |I_n − Σ children| + Σ children's
        estimates): the difference to a finer evaluation, plus how uncertain that one still is.
        """
        ec = ec.copy()
        idx = np.flatnonzero(unresolved)
        k = 2**self.d
        for s in range(0, idx.size, max(1, chunk // k)):
            rows = idx[s:s + max(1, chunk // k)]
            fine, err, rnd, _ = self._fine_coarse(g, self._split(cells.take(rows)))
            kids, kid_err = fine.reshape(k, -1).sum(axis=0), (err + rnd).reshape(k, -1).sum(axis=0)
            ec[rows] = np.maximum(ec[rows], np.abs(ic[rows] - kids) + kid_err)
        return ec

    def log_ratio(self, org: Array, x: Array, bid: Array) -> Array:
        """1D: log p − log q at the local points x (n,) of anchors org (n,)."""
        o, z = (None if self._plain else org[:, None]), x[:, None]
        return self.P.logpdf_at(o, z, bid) - self.Q.logpdf_at(o, z, bid)  # NaN where both are −inf: no kink there

    def _anchored(self, cells: Cells) -> Cells:
        """``cells`` as the log densities take them: with org None when every anchor is 0 (the plain 1D mesh)."""
        return cells._replace(org=None) if self._plain else cells

    # ------------------------------------------------------------------ driver
    def integrate(self, g: Integrand, rtol: float | None = None, atol: float = DEFAULT_ATOL,
                  max_rounds: int = 40, max_cells: int = 400_000, chunk: int = 20_000,
                  kinks: Sequence[Kink] = (), cuts: Array | None = None,
                  levels: Sequence[float] = (), log_scale: float = 0.0) -> tuple[Array, Array]:
        """Integrate ``g`` for every pair; returns (values (B,), error estimates (B,)).

        ``kinks`` (1D): functions whose sign changes mark points where g is not smooth; cells are
        cut there first (see :meth:`split_at_kinks`); ``cuts`` (1D): fixed absolute points where every pair's
        cells are cut too (:meth:`split_at_points`); ``levels`` (2D): the values of log p/q along which g
        bends, whose straddling cells get the bisection error estimate of :meth:`evaluate_cells`.
        A pair whose integrand is +inf somewhere gets the value inf (or −inf), one with a NaN gets NaN, with error
        estimate inf; neither is refined further. ``log_scale``: the size of a constant that ``g`` adds to the log
        densities before exponentiating (counted in the rounding part of the estimate).
        """
        rtol = DEFAULT_RTOL[self.d] if rtol is None else rtol
        for name, tol in (("rtol", rtol), ("atol", atol)):
            if not (isinstance(tol, (int, float, np.floating)) and not isinstance(tol, bool) and 0 <= tol < math.inf):
                raise ValueError(f"{name} must be a finite number >= 0; got {tol!r}")
        # one floating-point state for the whole run: log densities of far points are −inf (overflowed squared
        # distances), their differences NaN; both are handled where they arise (limits, dead pairs)
        self._log_scale = float(log_scale)
        with np.errstate(**QUIET):
            return self._integrate(g, rtol, atol, max_rounds, max_cells, chunk, kinks, cuts, levels)

    def _integrate(self, g, rtol, atol, max_rounds, max_cells, chunk, kinks, cuts, levels) -> tuple[Array, Array]:
        """The body of :meth:`integrate` (arguments checked)."""
        cells = self.split_at_kinks(self.initial_cells(), kinks)
        if cuts is not None:
            cells = self.split_at_points(cells, cuts)
        acc_i, acc_e, acc_r = np.zeros(self.B), np.zeros(self.B), np.zeros(self.B)
        dead = np.zeros(self.B, dtype=bool)  # pairs whose integrand produced inf/NaN: final, not refined
        converged = False
        check_below = None  # first round: every straddling cell gets its bisection estimate
        for _ in range(max_rounds):
            parts = [self.evaluate_cells(g, cells.take(slice(s, s + chunk)), levels,
                                         None if check_below is None else check_below[s:s + chunk])
                     for s in range(0, cells.n, chunk)]
            ic, ec, rc, unchecked = parts[0] if len(parts) == 1 else (np.concatenate([p[k] for p in parts])
                                                                       for k in range(4))
            bid = cells.bid
            if not (np.isfinite(ic).all() and np.isfinite(ec).all()):
                bad = ~(np.isfinite(ic) & np.isfinite(ec))
                newly = np.zeros(self.B, dtype=bool)
                newly[np.unique(bid[bad])] = True
                for pair in np.flatnonzero(newly):
                    vals = ic[bid == pair]
                    acc_i[pair] = np.nan if np.any(np.isnan(vals)) else np.sum(vals)
                    acc_e[pair] = np.inf
                dead |= newly
                live = ~dead[bid]
                cells, ic, ec, rc, unchecked = cells.take(live), ic[live], ec[live], rc[live], unchecked[live]
                bid = cells.bid
            tot_i = acc_i + np.bincount(bid, ic, self.B)
            tot_e = acc_e + np.bincount(bid, ec, self.B)
            tot_r = acc_r + np.bincount(bid, rc, self.B)
            # below the rounding floor the quadrature estimate (itself formed from rounded values) cannot go
            tol = np.maximum(np.maximum(atol, rtol * np.abs(tot_i)), tot_r)
            if not (unchecked.any() or (tot_e[~dead] > tol[~dead]).any()):
                converged = True
                break
            width = cells.b - cells.a
            width_ok = np.min(width, axis=1) > 1e-13 * np.maximum(1.0, np.max(np.abs(cells.a), axis=1))
            unchecked &= width_ok  # a straddling cell too thin to split is accepted with its Gauss estimate
            open_pair = ((tot_e > tol) | (np.bincount(bid, unchecked, self.B) > 0)) & ~dead
            if not open_pair.any():
                converged = True
                break
            n_cells = np.bincount(bid, minlength=self.B) + 1
            share = tol / n_cells
            split = open_pair[bid] & ((ec > share[bid]) | unchecked) & width_ok
            if not split.any() or 4 * split.sum() + len(bid) > max_cells:
                ec = self._budget_estimate(g, cells, ic, ec, split, chunk)
                tot_e = acc_e + np.bincount(bid, ec, self.B)
                break
            keep = ~split
            acc_i += np.bincount(bid[keep], ic[keep], self.B)
            acc_e += np.bincount(bid[keep], ec[keep], self.B)
            acc_r += np.bincount(bid[keep], rc[keep], self.B)
            cells = self._split(cells.take(split))
            check_below = share[cells.bid]  # a child above its parent's share will be split in any case
        if not converged:
            warnings.warn(
                f"cubature stopped before its tolerance (rtol={rtol:g}, atol={atol:g}): max relative error "
                f"estimate {np.max((tot_e / np.maximum(np.abs(tot_i), 1e-300))[~dead], initial=0.0):.2e}",
                IntegrationWarning, stacklevel=4)
        # refinement chases the quadrature estimate only (splitting does not reduce rounding); both are reported
        return tot_i, tot_e + tot_r


def integrate_pairs(Ps: Sequence[GaussianMixture], Qs: Sequence[GaussianMixture], g: Integrand,
                    rtol: float | None = None, atol: float = DEFAULT_ATOL, spread: Array | None = None,
                    crossing_levels: Sequence[float] = (0.0,), cuts: Array | None = None,
                    mesh_extra: Sequence[GaussianMixture] | None = None, log_scale: float = 0.0
                    ) -> tuple[Array, Array]:
    """Integrate ``g(points, log p, log q)`` over R^d for each pair; see :class:`PairCubature` (``log_scale``: see
    :meth:`PairCubature.integrate`).

    In 1D the mesh is first cut where log p − log q crosses each of ``crossing_levels``: by default
    where p = q, the kinks of |p − q|, of the α = ∞ and hinge discriminators and of every integrand
    built on sign(p − q) (``()``: no cuts); and at the points ``cuts`` (other known kinks of g,
    e.g. those of a WGAN critic). In 2D the cells that straddle those levels get a bisection error
    estimate instead (:meth:`PairCubature.evaluate_cells`). ``spread`` (per pair) widens every component for the
    mesh; ``mesh_extra`` (per pair) adds components the mesh is refined around as around those of P and Q.
    """
    cub = PairCubature(Ps, Qs, spread=spread, mesh_extra=mesh_extra)
    kinks = [lambda org, x, bid, t=float(t): cub.log_ratio(org, x, bid) - t for t in crossing_levels]
    return cub.integrate(g, rtol=rtol, atol=atol, kinks=kinks, cuts=cuts, levels=tuple(crossing_levels),
                         log_scale=log_scale)
