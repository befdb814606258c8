"""Wasserstein-1 distance between Gaussian mixtures, and the 1D Kantorovich potential (WGAN critic).

1D (exact up to cubature tolerance): W1(P, Q) = ∫ |F_P(x) − F_Q(x)| dx (Vallender 1974), the
difference formed from CDFs left of the pooled median and from survival functions right of it.

2D: a bracket [L, U] that holds W1 (:mod:`divergences.w1_2d`): U is the cost of an explicit coupling (of
components, or of quantisation cells, whose expected distances are bounded in closed form), L the gap E_P f − E_Q f
of explicit 1-Lipschitz potentials (linear on clusters of components; c-transforms of the cell problem's duals,
integrated by the adaptive cubature). The value returned is the midpoint and the error the half-width. A Q that is
P with every component moved by the same shift s returns ||s|| exactly: W1 ≥ ||E_P X − E_Q X|| by Jensen, and the
translation coupling attains it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._numerics import Array
from .mixture import GaussianMixture
from .quadrature import PairCubature, pair_up
from .w1_1d import cdf_gap, points_at, translation, w1_1d
from .w1_2d import w1_bracket

W1_2D_RTOL = 1e-2
"""Default relative width of the 2D bracket."""


def wasserstein1(P, Q, error: bool = False, rtol: float | None = None):
    """Wasserstein-1 distance W1(P, Q) = inf over couplings E||X − Y|| (Euclidean ground cost).

    1D: ∫|F_P − F_Q| dx by adaptive cubature (batched like the divergences; ``rtol`` as there), error = its
    estimate. 2D: the midpoint of a bracket [L, U] ∋ W1 (:func:`divergences.w1_2d.w1_bracket`: U the cost of an
    explicit coupling, L the gap of an explicit 1-Lipschitz potential), error = (U − L)/2; the bracket is refined until
    U − L ≤ ``rtol``·L (default 1e-2) or its largest cell problem is reached. Translated copies return the shift length
    exactly (error 0 up to the rounding of the shifted means).
    """
    Ps, Qs, batched = pair_up(P, Q)
    if Ps[0].dim not in (1, 2):
        raise ValueError(f"wasserstein1 handles 1D and 2D mixtures; got dimension {Ps[0].dim}")
    if rtol is not None and not (isinstance(rtol, (int, float, np.floating)) and not isinstance(rtol, bool)
                                 and 0 < rtol < np.inf):
        raise ValueError(f"rtol must be a finite number > 0; got {rtol!r}")
    if Ps[0].dim == 1:
        vals, errs = w1_1d(Ps, Qs, rtol)
    else:
        vals, errs = np.zeros(len(Ps)), np.zeros(len(Ps))
        for i, (p, q) in enumerate(zip(Ps, Qs)):
            shift = translation(p, q)
            bracket = None if shift is not None else w1_bracket(p, q, rtol=W1_2D_RTOL if rtol is None else rtol)
            vals[i], errs[i] = shift if shift is not None else (bracket.value, bracket.half_width)
    if not batched:
        vals, errs = float(vals[0]), float(errs[0])
    return (vals, errs) if error else vals


def kantorovich_potential(P: GaussianMixture, Q: GaussianMixture) -> Callable[[Array], Array]:
    """The 1D optimal WGAN critic: f(x) = ∫_{x0}^x sign(F_Q(t) − F_P(t)) dt, 1-Lipschitz, with
    E_P f − E_Q f = ∫ |F_P − F_Q| = W1(P, Q) (Kantorovich-Rubinstein duality; Villani 2009, ch. 5).

    Piecewise linear with slopes ±1, kinks at the crossings of F_P and F_Q (bracketed on the
    cubature mesh and located to a few ulps; exposed as the critic's ``kinks``). Normalised by f(x0) = 0 at the left end of the
    mesh; a critic is defined up to an additive constant.
    """
    if P.dim != 1 or Q.dim != 1:
        raise ValueError("the closed-form WGAN critic is implemented for 1D mixtures only")
    cub = PairCubature([P], [Q])
    cells = cub.initial_cells()
    gap = cdf_gap([P], [Q], signed=True)
    kink = lambda org, x, ids: gap(points_at(org, x, ids))
    local, ci, _ = cub.kink_roots(cells, kink)
    roots = np.sort(cells.org[ci, 0] + local)  # the critic is defined on absolute x
    knots = np.concatenate([[np.min(cells.org + cells.a)], roots])
    ends = np.concatenate([knots, [np.max(cells.org + cells.b)]])
    signed_gap = lambda x, ids: kink(np.zeros_like(x), x, ids)
    # slope of each piece: the sign of the gap where it is largest on 33 probes (the midpoint alone
    # can sit where F_P = F_Q to the last bit, e.g. between well-separated modes)
    probes = ends[:-1, None] + (ends[1:] - ends[:-1])[:, None] * np.linspace(0.0, 1.0, 35)[None, 1:-1]
    gaps = signed_gap(probes.ravel(), np.zeros(probes.size, dtype=int)).reshape(probes.shape)
    slopes = np.sign(gaps[np.arange(len(knots)), np.argmax(np.abs(gaps), axis=1)])
    values = np.concatenate([[0.0], np.cumsum(slopes[:-1] * np.diff(knots))])

    def critic(x):
        pts = P.as_points(x)[:, 0]
        k = np.clip(np.searchsorted(knots, pts, side="right") - 1, 0, len(knots) - 1)
        return values[k] + slopes[k] * (pts - knots[k])

    critic.kinks = roots  # read by value_function, which cuts its mesh there
    return critic
