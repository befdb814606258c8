"""2D Wasserstein-1 between Gaussian mixtures as a bracket [L, U] that holds W1(P, Q).

Upper bounds are costs of explicit couplings of P and Q; lower bounds are gaps E_P f − E_Q f of explicit
1-Lipschitz functions f (Kantorovich–Rubinstein duality, Villani 2009, Thm 5.10 and Particular Case 5.16).

* **Component coupling** (U): for any coupling π of the component weights, Σ_kl π_kl γ_kl with γ_kl the coupling of
  N_k and N_l by the W2-optimal affine map T couples P and Q, at cost E‖X − T(X)‖ = E‖d + M Z‖, bounded in closed
  form (:func:`w1_costs`; ≤ W2(N_k, N_l), Dowson & Landau 1982). U_c = the optimal π for those costs (exact for
  components that are translates of each other, or concentric).
* **Cell coupling** (U): each component is cut into m × m cells along its principal axes by the Lloyd–Max quantiser
  of N(0, 1) (Max 1960) per axis; cell i has mass a_i, conditional mean x_i and E[‖X − x_i‖² | cell] = t_i (closed
  forms of the truncated normal). For any coupling π of the cell masses, Σ_ij π_ij (P|cell_i ⊗ Q|cell_j) couples P
  and Q, and E‖X − Y‖ ≤ √(‖x_i − y_j‖² + t_i + s_j) for independent X, Y (Jensen). U_q = the exact optimum of that
  discrete problem (network simplex, POT's ``ot.emd``).
* **Difference cells** (U, L): W1(P, Q) = W1((p − q)⁺, (p − q)⁻) (KR duality: it depends on P − Q only), so the
  common part min(p, q) stays in place and only the rest is moved. Both parts are cut by one grid of squares, coupled
  cell by cell as above by the optimal plan of that discrete problem (:func:`difference_upper`); the cells' moments
  come from a Gauss rule, refined where p = q kinks the parts, and their estimated errors are accounted for outwards.
  Used for overlapping components (the per-component cells then pair nearby cells of P and Q, whose spreads dominate
  √(‖x_i − y_j‖² + t_i + s_j)) when the cells are finer than every component (:func:`difference_grid`); the
  c-transforms of its duals give L as below.
* **Linear pieces** (L): components are grouped into clusters whose balls B_k (centre m_k, radius r_k reaching
  :data:`BALL_SIGMAS` σ_max beyond every member's mean) are disjoint; f = u_k·(x − m_k) + c_k on B_k with |u_k| ≤ 1 is
  1-Lipschitz on their union when |c_k − c_l| ≤ ‖m_k − m_l‖ − 2(r_k + r_l), and extends to R² (McShane). Its gap is
  Σ_k ‖g_k − Δ_k m_k‖ + EMD(Δ⁺, Δ⁻; those distances) with g_k = Σ ±w_c μ_c and Δ_k = P(k) − Q(k) over the members,
  less a Gaussian tail bound for the mass outside the balls (P(‖Z‖ > R) = e^{−R²/2} in 2D). Exact for a pair of
  mixtures whose clusters are only moved (a rotated ring: all Δ_k = 0).
* **Dual potentials** (L): f(x) = min_j (‖x − y_j‖ − v_j) is 1-Lipschitz for any points y_j and values v_j; with the
  component means of Q and the duals of the component coupling, and with the cells of Q and the duals of the cell
  problem, ∫ f (p − q) dx is integrated by the adaptive cubature of :mod:`divergences.quadrature` and its error
  estimate subtracted (the one step that is not in closed form).

Cell problems of growing size (:data:`CELL_CAPS`, cells per component ∝ √σ, see :func:`cell_levels`) are solved only
while the bounds are more than ``rtol``·L apart and the last one narrowed them (:data:`STALL`). Translated copies are
exact (:func:`divergences.w1_1d.translation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import ndtr, ndtri

from ._numerics import Array
from .mixture import GaussianMixture
from .quadrature import Points, integrate_pairs
from .w1_1d import w1_1d

SQRT_2PI = float(np.sqrt(2.0 * np.pi))
STALL = 0.7
"""The next (4x larger) cell problem is tried only if the last one shrank the bracket below this fraction."""
CELL_CAPS = (100_000, 400_000, 1_500_000)
"""Cost-matrix sizes of the cell problems tried in turn until the bracket is within rtol (the largest: 12 MB; the
network simplex then takes 0.1 to a few seconds)."""
DUAL_RTOL = 1e-3
"""Relative tolerance of the cubature of ∫ f (p − q) (its estimate is subtracted from L)."""
BALL_SIGMAS = (12.0, 8.0, 6.0, 4.0)
"""Radii of clusters' balls beyond each member's mean, in its largest σ (mass outside: e^{−R²/2}, 5e-32 to 3e-4)."""


@dataclass(frozen=True)
class Bracket:
    """W1(P, Q) ∈ [lower, upper], with the m (cells per axis) of the last refinement (0: closed form)."""

    lower: float
    upper: float
    m: int

    @property
    def value(self) -> float:
        """The midpoint, the value returned by :func:`divergences.wasserstein1`."""
        return 0.5 * (self.lower + self.upper)

    @property
    def half_width(self) -> float:
        """(upper − lower)/2, the error returned with it."""
        return 0.5 * (self.upper - self.lower)


@lru_cache(maxsize=None)
def lloyd_max(m: int, iters: int = 2000) -> tuple[Array, Array, Array]:
    """Lloyd–Max quantiser of N(0, 1) with m cells (Max 1960): conditional means c_k, masses w_k and conditional
    variances v_k = E[(Z − c_k)² | cell k] = 1 + (a φ(a) − b φ(b))/w_k − c_k² for the cell (a, b)."""
    c = ndtri((np.arange(m) + 0.5) / m)
    for _ in range(iters):
        edges = np.concatenate([[-np.inf], 0.5 * (c[1:] + c[:-1]), [np.inf]])
        pdf = np.exp(-0.5 * np.square(edges)) / SQRT_2PI
        mass = ndtr(edges[1:]) - ndtr(edges[:-1])
        new = (pdf[:-1] - pdf[1:]) / mass
        done = np.max(np.abs(new - c)) < 1e-15
        c = new
        if done:
            break
    edges = np.concatenate([[-np.inf], 0.5 * (c[1:] + c[:-1]), [np.inf]])
    pdf = np.exp(-0.5 * np.square(edges)) / SQRT_2PI
    epdf = np.zeros_like(edges)
    epdf[1:-1] = edges[1:-1] * pdf[1:-1]  # a φ(a) → 0 at ±inf
    mass = ndtr(edges[1:]) - ndtr(edges[:-1])
    var = np.maximum(1.0 + (epdf[:-1] - epdf[1:]) / mass - c**2, 0.0)
    for v in (c, mass, var):
        v.setflags(write=False)
    return c, mass, var


def quantise(M: GaussianMixture, levels: Array) -> tuple[Array, Array, Array]:
    """Cells of the m_k × m_k principal-axis quantisation of each component k (``levels`` (k,)): conditional means
    (n, 2), masses (n,) and conditional second moments E[‖X − mean‖² | cell] (n,)."""
    lam, axes = np.linalg.eigh(M.covs)
    A = axes * np.sqrt(np.maximum(lam, 0.0))[:, None, :]  # x = μ + A z
    pts, mass, second = [], [], []
    for k, m in enumerate(levels):
        c, w, v = lloyd_max(int(m))
        z = np.stack(np.meshgrid(c, c, indexing="ij"), axis=-1).reshape(-1, 2)
        zv = np.stack(np.meshgrid(v, v, indexing="ij"), axis=-1).reshape(-1, 2)
        pts.append(M.means[k] + z @ A[k].T)
        second.append(zv @ (A[k] ** 2).sum(axis=0))
        mass.append(M.weights[k] * np.outer(w, w).ravel())
    mass = np.concatenate(mass)
    return np.concatenate(pts), mass / mass.sum(), np.concatenate(second)


def cell_levels(P: GaussianMixture, Q: GaussianMixture, cap: int) -> tuple[Array, Array]:
    """Cells per axis for each component of P and Q: m_k ∝ √(σ_max,k / σ_max) (wide components get more cells, where
    the cell coupling's cost √(d² + t + s) − d, of order (cell size)²/d, is largest), at least 2, scaled to the
    largest size whose cost matrix has at most ``cap`` entries."""
    sd = [np.sqrt(M._cov_eigvals[:, -1]) for M in (P, Q)]
    top = max(float(s.max()) for s in sd)
    rel = [np.sqrt(s / top) for s in sd]
    lo, hi = 2.0, 400.0
    for _ in range(40):  # bisect the scale
        mid = 0.5 * (lo + hi)
        size = [np.sum(np.maximum(2, np.round(mid * r)) ** 2) for r in rel]
        lo, hi = (mid, hi) if size[0] * size[1] <= cap else (lo, mid)
    return tuple(np.maximum(2, np.round(lo * r)).astype(int) for r in rel)


def _sqrt_spd2(M: Array) -> Array:
    """√M for symmetric positive semi-definite 2×2 matrices (..., 2, 2): (M + √det M I)/√(tr M + 2√det M)."""
    s = np.sqrt(np.maximum(M[..., 0, 0] * M[..., 1, 1] - M[..., 0, 1] * M[..., 1, 0], 0.0))
    t = np.sqrt(M[..., 0, 0] + M[..., 1, 1] + 2.0 * s)
    return (M + s[..., None, None] * np.eye(2)) / np.where(t > 0, t, 1.0)[..., None, None]


def _mean_norm(d: Array, M: Array) -> Array:
    """An upper bound of E‖d + M Z‖ for Z ~ N(0, I₂), for d (n, 2) and M (n, 2, 2): the smaller of
    √(‖d‖² + ‖M‖²_F) (Jensen) and ‖d‖ + E‖M Z‖ (triangle inequality), with E‖M Z‖ in closed form: ‖M Z‖ = R ‖M u_θ‖
    with R, θ independent, E R = √(π/2), and the mean of ‖M u_θ‖ over θ is (2/π) √s₁ E(1 − s₂/s₁), s₁ ≥ s₂ the
    eigenvalues of MᵀM and E the complete elliptic integral of the second kind. Exact for d = 0 (concentric
    components) and for M = 0 (translated ones)."""
    from scipy.special import ellipe

    s = np.linalg.eigvalsh(np.swapaxes(M, -1, -2) @ M)  # ascending: s₂, s₁
    s1 = np.maximum(s[:, 1], 0.0)
    ratio = np.where(s1 > 0, np.maximum(s[:, 0], 0.0) / np.where(s1 > 0, s1, 1.0), 1.0)
    spread = np.sqrt(0.5 * np.pi) * (2.0 / np.pi) * np.sqrt(s1) * ellipe(1.0 - ratio)
    gap = np.sqrt(np.sum(d * d, axis=-1))
    return np.minimum(np.sqrt(gap * gap + s1 + np.maximum(s[:, 0], 0.0)), gap + spread)


def w1_costs(P: GaussianMixture, Q: GaussianMixture) -> Array:
    """Upper bounds of W1(P_k, Q_l) for every pair of components (k_P, k_Q): the cost E‖X − T(X)‖ of the W2-optimal
    map T(x) = μ_l + A(x − μ_k), A = Σ_k^{-½}(Σ_k^½ Σ_l Σ_k^½)^½ Σ_k^{-½} (Dowson & Landau 1982; Knott & Smith 1984),
    = E‖(μ_k − μ_l) + (I − A)Σ_k^½ Z‖, bounded by :func:`_mean_norm`: at most W2(P_k, Q_l), exact for translated
    and for concentric components."""
    r = _sqrt_spd2(P.covs)  # Σ_k^½
    ri = np.linalg.inv(r)
    mid = _sqrt_spd2(r[:, None] @ Q.covs[None] @ r[:, None])  # (Σ_k^½ Σ_l Σ_k^½)^½
    A = ri[:, None] @ mid @ ri[:, None]
    M = (np.eye(2) - A) @ r[:, None]
    d = np.broadcast_to(P.means[:, None] - Q.means[None], M.shape[:2] + (2,))
    kp, kq = M.shape[:2]
    return _mean_norm(d.reshape(-1, 2), M.reshape(-1, 2, 2)).reshape(kp, kq)


def _cone_min(points: Points, Y: Array, h: Array, block: int = 4_000_000) -> Array:
    """f(x) = min_j (‖x − y_j‖ + h_j) at cubature nodes, per cell only over the j that can attain the minimum there:
    with c the mean of a cell's nodes and r their largest distance from it, j is kept iff ‖c − y_j‖ + h_j − r ≤
    min_k (‖c − y_k‖ + h_k) + r (each term is 1-Lipschitz, so this loses no minimiser)."""
    reps = points.reps
    X = points.absolute.reshape(-1, reps, 2)
    centre = X.mean(axis=1)
    radius = np.sqrt(np.max(np.sum((X - centre[:, None]) ** 2, axis=-1), axis=1))
    out = np.empty(X.shape[:2])
    step = max(1, block // max(1, Y.shape[0]))
    for s in range(0, X.shape[0], step):
        rows = slice(s, s + step)
        at_centre = np.sqrt(np.sum((centre[rows, None] - Y[None]) ** 2, axis=-1)) + h
        cand = at_centre - radius[rows, None] <= at_centre.min(axis=1, keepdims=True) + radius[rows, None]
        count = cand.sum(axis=1)
        order = np.argsort(~cand, axis=1, kind="stable")
        for k in np.unique(count):
            sel = np.flatnonzero(count == k) + s
            for t in range(0, sel.size, max(1, block // (reps * k))):
                ss = sel[t:t + max(1, block // (reps * k))]
                idx = order[ss - s, :k]
                d = np.sqrt(np.sum((X[ss, :, None, :] - Y[idx][:, None]) ** 2, axis=-1)) + h[idx][:, None]
                out[ss] = d.min(axis=-1)
    return out.reshape(-1)


def dual_lower(P: GaussianMixture, Q: GaussianMixture, Y: Array, v: Array) -> float:
    """L from f(x) = min_j (‖x − y_j‖ − v_j): ∫ f (p − q) dx by the adaptive cubature, less its error estimate."""
    def integrand(points: Points, lp: Array, lq: Array) -> Array:
        return _cone_min(points, Y, -v) * (np.exp(lp) - np.exp(lq))

    val, err = integrate_pairs([P], [Q], integrand, rtol=DUAL_RTOL, crossing_levels=())
    return float(val[0] - err[0])


def _tail_first_moment(R: float) -> float:
    """E[‖Z‖ 1{‖Z‖ > R}] for Z ~ N(0, I₂): R e^{−R²/2} + √(π/2) erfc(R/√2) (the Rayleigh tail)."""
    from scipy.special import erfc

    return float(R * np.exp(-0.5 * R * R) + np.sqrt(0.5 * np.pi) * erfc(R / np.sqrt(2.0)))


def cluster_lower(P: GaussianMixture, Q: GaussianMixture) -> float:
    """L from potentials linear on clusters' balls (see the module docstring), the best over ball radii
    :data:`BALL_SIGMAS` (smaller balls separate more clusters, larger ones leave less mass in the tails)."""
    return max(_cluster_lower(P, Q, R) for R in BALL_SIGMAS)


def _cluster_lower(P: GaussianMixture, Q: GaussianMixture, R: float) -> float:
    """L from a potential linear on each cluster's ball of radius R σ_max beyond its members' means; 0 if the
    balls cannot be separated (one cluster holding everything still gives the mean gap)."""
    import ot
    from scipy.sparse.csgraph import connected_components, shortest_path

    mu = np.concatenate([P.means, Q.means])
    sign = np.concatenate([np.ones(P.n_components), -np.ones(Q.n_components)])
    w = np.concatenate([P.weights, Q.weights])
    sd = np.sqrt(np.concatenate([P._cov_eigvals, Q._cov_eigvals])[:, -1])
    label = np.arange(len(w))
    while True:  # merge clusters until their balls are pairwise at least twice their radii apart
        n = label.max() + 1
        mass = np.bincount(label, w, n)
        centre = np.stack([np.bincount(label, w * mu[:, e], n) for e in (0, 1)], axis=1) / mass[:, None]
        radius = np.zeros(n)
        np.maximum.at(radius, label, np.linalg.norm(mu - centre[label], axis=1) + R * sd)
        dist = np.linalg.norm(centre[:, None] - centre[None], axis=-1)
        slack = dist - 2.0 * (radius[:, None] + radius[None])
        close = (slack < 0) & ~np.eye(n, dtype=bool)
        if not close.any():
            break
        _, merged = connected_components(close, directed=False)
        label = merged[label]
    delta = np.bincount(label, sign * w, n)
    g = np.stack([np.bincount(label, sign * w * mu[:, e], n) for e in (0, 1)], axis=1)
    linear = float(np.sum(np.linalg.norm(g - delta[:, None] * centre, axis=1)))
    excess = 0.0
    if n > 1 and np.any(np.abs(delta) > 0):
        metric = shortest_path(np.where(np.eye(n, dtype=bool), 0.0, np.maximum(slack, 0.0)), directed=False)
        pos, neg = np.maximum(delta, 0.0), np.maximum(-delta, 0.0)
        excess = float(ot.emd2(pos / pos.sum(), neg / neg.sum(), metric)) * pos.sum() if pos.sum() > 0 else 0.0
    # outside the balls: |f̃ − f_lin| ≤ 2 dist(x, B_k) ≤ 2 (‖x − μ_c‖ − R σ_c)₊ for each member c
    tail = 2.0 * float(np.sum(w * sd)) * _tail_first_moment(R)
    return max(linear + excess - tail, 0.0)


DIFF_CAP = 2_500_000
"""Largest cost matrix (P-excess cells × Q-excess cells) of the difference cell problem."""
DIFF_FINENESS = 1.5
"""The difference cell problem is solved only if its cells are this many times narrower than every component's
smallest σ (coarser cells would resolve the components worse than their own principal-axis cells)."""
DIFF_SIGMAS = 8.0
"""The difference grid's box reaches this many σ_max beyond every component's mean (mass outside: e^{−32})."""
DIFF_GAUSS = 4
"""Gauss–Legendre nodes per axis of the rule on each sub-square of a difference cell."""
DIFF_ATOL = 1e-10
"""Cells whose estimated mass error exceeds this get a finer rule (:func:`difference_moments`)."""
DIFF_DROP = 1e-10
"""Cells whose computed mass (p − q)± is below this are left out of the discrete problem (their mass is counted in
the mismatch term)."""


def _gauss_square(n: int, h: float, k: int) -> tuple[Array, Array]:
    """Offsets from the centre and weights of the n × n Gauss–Legendre rule on each of the k × k sub-squares of a
    square of side h."""
    g, gw = np.polynomial.legendre.leggauss(n)
    step = h / k
    x = (-0.5 * h + step * (np.arange(k)[:, None] + 0.5) + 0.5 * step * g[None]).ravel()
    wx = np.tile(0.5 * step * gw, k)
    return np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2), np.outer(wx, wx).ravel()


def _part_moments(P: GaussianMixture, Q: GaussianMixture, centres: Array, h: float, k: int,
                  block: int = 1 << 20) -> Array:
    """The moments of (p − q)⁺ and (p − q)⁻ on each cell (shape (2, n, 4): ∫ g, ∫ g (x − c), ∫ g ‖x − c‖²) by the
    :data:`DIFF_GAUSS`-point Gauss rule on k × k sub-squares."""
    off, w = _gauss_square(DIFF_GAUSS, h, k)
    basis = np.stack([np.ones(len(off)), off[:, 0], off[:, 1], np.sum(off * off, axis=1)], axis=1) * w[:, None]
    out = np.empty((2, len(centres), 4))
    step = max(1, block // len(off))
    for s in range(0, len(centres), step):
        c = centres[s:s + step]
        x = (c[:, None] + off[None]).reshape(-1, 2)
        g = (P.pdf(x) - Q.pdf(x)).reshape(len(c), -1)
        out[:, s:s + step] = np.stack([np.maximum(g, 0.0) @ basis, np.maximum(-g, 0.0) @ basis])
    return out


def difference_moments(P: GaussianMixture, Q: GaussianMixture, centres: Array, h: float) -> tuple[Array, Array]:
    """For each square cell (centre c, side h) and each part (p − q)⁺, (p − q)⁻ (shape (2, n, 4)): the moments
    ∫ g, ∫ g (x − c), ∫ g ‖x − c‖² and their error estimates |I_2k − I_k|, I_k the Gauss rule on k × k sub-squares
    (:func:`_part_moments`); the parts are kinked where p = q, and the cells whose estimate exceeds
    :data:`DIFF_ATOL` are refined (k = 2, 4, 8, 16; the finer rule is the one kept)."""
    vals = _part_moments(P, Q, centres, h, 2)
    errs = np.abs(vals - _part_moments(P, Q, centres, h, 1))
    for k in (4, 8, 16):
        rough = np.flatnonzero(np.max(errs[:, :, 0], axis=0) > DIFF_ATOL)
        if rough.size == 0:
            break
        finer = _part_moments(P, Q, centres[rough], h, k)
        errs[:, rough], vals[:, rough] = np.abs(finer - vals[:, rough]), finer
    return vals, errs


def _cell_stats(centres: Array, h: float, mom: Array, err: Array) -> tuple[Array, Array, Array, Array]:
    """Masses, conditional means x = c + M₁/M₀ and conditional spreads t = M₂/M₀ − ‖M₁/M₀‖² of cells from their
    moments (clipped to what a measure on the cell can have: x in the cell, 0 ≤ t ≤ h²/2), and a margin ε ≥
    |x − x̃| + √|t − t̃| per cell from the moments' error estimates (by √(‖d + e‖² + t + δ) ≤ √(‖d‖² + t) + ‖e‖ + √δ,
    each cost √(‖x_i − y_j‖² + t_i + s_j) computed from estimated moments is at most ε_i + ε_j too low)."""
    m0, m1, m2 = mom[:, 0], mom[:, 1:3], mom[:, 3]
    e0, e1, e2 = err[:, 0], np.linalg.norm(err[:, 1:3], axis=1), err[:, 3]
    safe = np.where(m0 > 0, m0, 1.0)
    u, q = m1 / safe[:, None], m2 / safe
    low = np.maximum(m0 - e0, 0.0)  # the true mass is at least this
    nu = np.linalg.norm(u, axis=1)
    with np.errstate(divide="ignore"):
        du = np.where(low > 0, (e1 + nu * e0) / np.where(low > 0, low, 1.0), np.inf)
        dq = np.where(low > 0, (e2 + np.abs(q) * e0) / np.where(low > 0, low, 1.0), np.inf)
    dt = dq + (2.0 * nu + du) * du
    margin = np.minimum(du + np.sqrt(dt), 1.5 * np.sqrt(2.0) * h)  # |δx| ≤ h√2 and |δt| ≤ h²/2 in any case
    t = np.clip(q - nu * nu, 0.0, 0.5 * h * h)  # clipping to the possible range moves towards the true values
    return m0, centres + np.clip(u, -0.5 * h, 0.5 * h), t, margin


def difference_grid(P: GaussianMixture, Q: GaussianMixture, cap: int = DIFF_CAP) -> tuple[Array, float] | None:
    """Centres and side h of the square cells of the difference cell problem: a grid over the box reaching
    :data:`DIFF_SIGMAS` σ_max beyond every mean; h starts at σ_min/:data:`DIFF_FINENESS` (σ_min the smallest σ of any
    component) and is refined by secant steps on log size against log h towards 0.97 cap (size = cells where p > q times cells
    where p < q, counted at the centres; about h⁻⁴), keeping the smallest h within ``cap``. None when the first is already too large, or
    when the box has more than 50 √cap cells (narrow components far apart: the grid would be mostly empty)."""
    sd = np.sqrt(np.concatenate([P._cov_eigvals, Q._cov_eigvals]))
    mu = np.concatenate([P.means, Q.means])
    lo = np.min(mu - DIFF_SIGMAS * sd[:, -1:], axis=0)
    hi = np.max(mu + DIFF_SIGMAS * sd[:, -1:], axis=0)
    h = float(sd[:, 0].min()) / DIFF_FINENESS
    if np.prod((hi - lo) / h) > 50.0 * np.sqrt(cap):
        return None  # a box of mostly empty cells: the components are narrow for their spread
    best, last, power = None, None, 4.0
    for _ in range(4):  # secant steps on log size against log h (about h⁻⁴), aiming just below cap
        n = np.ceil((hi - lo) / h).astype(int)
        axes = [lo[e] + h * (np.arange(n[e]) + 0.5) for e in (0, 1)]
        centres = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
        g = (P.pdf(centres) - Q.pdf(centres)) * h * h
        size = max(int(np.sum(g > DIFF_DROP)) * int(np.sum(-g > DIFF_DROP)), 1)
        if size <= cap and (best is None or h < best[1]):
            best = (centres, h)
        elif best is None:
            return None  # even the coarsest allowed cells make too large a problem
        if last is not None and last[0] != h and last[1] != size:
            power = min(max(np.log(size / last[1]) / np.log(last[0] / h), 2.0), 6.0)
        last = (h, size)
        h *= (size / (0.97 * cap)) ** (1.0 / power)
    return best


def difference_upper(P: GaussianMixture, Q: GaussianMixture, centres: Array, h: float
                     ) -> tuple[float, Array, Array, Array, Array]:
    """U from a coupling that leaves the common part min(p, q) in place and moves only the rest: W1(P, Q) =
    W1((p − q)⁺, (p − q)⁻) (it depends on P − Q only), and those parts are coupled cell by cell (square cells of a
    common grid, independently within each pair of cells, cost ≤ √(‖x_i − y_j‖² + t_i + s_j) as in the cell
    coupling) by the optimal plan of that discrete problem. The cells' moments come from a Gauss rule
    (:func:`difference_moments`); their estimated errors are accounted for outwards: a margin per cell on the costs
    (:func:`_cell_stats`), and the plan's marginals differ from the true cell masses by at most |mass error| (plus
    the dropped cells and the mass outside the box), a zero-mass remainder whose KR norm is at most its mass times
    the distance to the box centre. Returns U and the cells' points and duals of both sides (for the c-transforms)."""
    import ot

    mom, err = difference_moments(P, Q, centres, h)
    sides = []
    for k in (0, 1):
        m0, x, t, margin = _cell_stats(centres, h, mom[k], err[k])
        keep = m0 > DIFF_DROP
        sides.append((m0[keep], x[keep], t[keep], margin[keep], centres[keep], centres[~keep], m0[~keep]))
    (a, xa, ta, ea, _, outa, da), (b, xb, tb, eb, cb, outb, db) = sides
    cost = np.sqrt(np.sum((xa[:, None] - xb[None]) ** 2, axis=-1) + ta[:, None] + tb[None])
    plan, log = ot.emd(a / a.sum(), b / b.sum(), cost, numItermax=100_000_000, log=True)
    mass = float(a.sum())
    transport = mass * (float(np.sum(plan * cost)) + float(a @ ea) / mass + float(b @ eb) / b.sum())
    # the remainder: true masses minus the plan's marginals (a_i and b_j·Σa/Σb), the dropped cells, the tails
    z = 0.5 * (centres.min(axis=0) + centres.max(axis=0))
    reach = lambda c: np.linalg.norm(c - z, axis=1) + h / np.sqrt(2.0)
    mismatch = float((err[0, :, 0] + err[1, :, 0]) @ reach(centres)) + float(da @ reach(outa) + db @ reach(outb))
    mismatch += abs(1.0 - mass / float(b.sum())) * float(b @ reach(cb))
    tails = sum(_box_tail(M, z, centres.min(axis=0) - 0.5 * h, centres.max(axis=0) + 0.5 * h) for M in (P, Q))
    return transport + mismatch + tails, xa, np.asarray(log["u"]), xb, np.asarray(log["v"])


def _box_tail(M: GaussianMixture, z: Array, lo: Array, hi: Array) -> float:
    """An upper bound of ∫ ‖x − z‖ dM over the outside of the box [lo, hi]: for each component the outside lies
    beyond r = (distance of its mean to the box's boundary) and ∫_{‖x − μ‖ > r} (‖x − μ‖ + ‖μ − z‖) dN ≤
    σ_max T(r/σ_max) + ‖μ − z‖ e^{−r²/2σ²_max} (‖A Z‖ ≤ σ_max ‖Z‖; T: :func:`_tail_first_moment`)."""
    sd = np.sqrt(M._cov_eigvals[:, -1])
    total = 0.0
    for w, mu, s in zip(M.weights, M.means, sd):
        r = float(max(np.min(np.concatenate([mu - lo, hi - mu])), 0.0)) / s
        total += w * (s * _tail_first_moment(r) + float(np.linalg.norm(mu - z)) * np.exp(-0.5 * r * r))
    return float(total)


SLICES = 48
"""Directions θ = πk/SLICES of the projected (sliced) lower bound."""


def sliced_lower(P: GaussianMixture, Q: GaussianMixture, n: int = SLICES) -> float:
    """L = max over directions θ of W1(θ·P, θ·Q), the exact 1D W1 of the projections (x ↦ θ·x is 1-Lipschitz, so
    W1 cannot grow under it), less the 1D cubature's error estimate. Exact for pairs that differ along one axis."""
    angles = np.pi * np.arange(n) / n
    dirs = np.stack([np.cos(angles), np.sin(angles)], axis=1)

    def project(M: GaussianMixture, t: Array) -> GaussianMixture:
        return GaussianMixture(M.weights, M.means @ t, np.einsum("i,kij,j->k", t, M.covs, t))

    vals, errs = w1_1d([project(P, t) for t in dirs], [project(Q, t) for t in dirs])
    return float(np.max(vals - errs))


def w1_bracket(P: GaussianMixture, Q: GaussianMixture, rtol: float = 1e-2) -> Bracket:
    """A bracket [L, U] of W1(P, Q) for 2D mixtures (see the module docstring); the cell problem is solved only when
    the closed-form bounds are more than ``rtol``·L apart."""
    import ot

    gap = P.mean() - Q.mean()
    scale = float(np.max(np.abs(gap)))
    lower = max(scale * float(np.linalg.norm(gap / scale)) if scale > 0 else 0.0, cluster_lower(P, Q))
    comp_cost = w1_costs(P, Q)
    plan, log = ot.emd(P.weights, Q.weights, comp_cost, numItermax=1_000_000, log=True)
    upper = float(np.sum(plan * comp_cost))
    # the lower bounds in order of cost, each only while the bracket is wider than rtol
    for bound in (lambda: sliced_lower(P, Q), lambda: dual_lower(P, Q, Q.means, np.asarray(log["v"])),
                  lambda: dual_lower(Q, P, P.means, np.asarray(log["u"]))):
        if upper - lower <= rtol * lower:
            break
        lower = max(lower, bound())
    m = 0
    grid = difference_grid(P, Q) if upper - lower > rtol * lower else None
    if grid is not None:
        bound, xp, u, xq, v = difference_upper(P, Q, *grid)
        upper = min(upper, bound)
        m = int(np.ceil(np.sqrt(len(grid[0]))))
        # c-transforms of the duals, cones at the P-excess cells first (the more numerous side, finer potential)
        for bound in (lambda: dual_lower(Q, P, xp, u), lambda: dual_lower(P, Q, xq, v)):
            if upper - lower <= rtol * lower:
                break
            lower = max(lower, bound())
    widths = [upper - lower]
    for cap in CELL_CAPS:
        if upper - lower <= rtol * lower:
            break
        if len(widths) > 2 and widths[-1] > STALL * widths[-2]:  # a 4x larger cell problem barely helped: stop
            break
        mp, mq = cell_levels(P, Q, cap)
        m = int(max(mp.max(), mq.max()))
        xp, a, tp = quantise(P, mp)
        xq, b, tq = quantise(Q, mq)
        cost = np.sqrt(np.sum((xp[:, None] - xq[None]) ** 2, axis=-1) + tp[:, None] + tq[None])
        plan, log = ot.emd(a, b, cost, numItermax=100_000_000, log=True)
        upper = min(upper, float(np.sum(plan * cost)))
        # c-transforms: cones at the cells of the side with fewer (coarser: its components are the thinner), f =
        # min_j ‖x − y_j‖ − v_j; both sides when their cell counts are within a factor 2 (W1 is symmetric)
        if len(b) <= 2 * len(a):
            lower = max(lower, dual_lower(P, Q, xq, np.asarray(log["v"])))
        if len(a) <= 2 * len(b):
            lower = max(lower, dual_lower(Q, P, xp, np.asarray(log["u"])))
        widths.append(upper - lower)
    # float rounding of the sums above, a few ulps of the magnitudes involved, widens the bracket outwards
    pad = 16.0 * np.finfo(float).eps * (upper + sum(float(M.weights @ np.abs(M.means).sum(axis=1)) for M in (P, Q)))
    return Bracket(max(lower - pad, 0.0), max(upper, lower) + pad, m)
