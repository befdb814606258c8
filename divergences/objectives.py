"""Adversarial objectives in closed form: optimal discriminators and value functions.

A registry maps a loss name to one :class:`Objective`: the discriminator's expected reward
``V(D) = E_P[real(D(X))] + E_Q[fake(D(X))]`` (which D maximises) and the maximiser D* as a
function of r = log p(x) − log q(x). Discriminators here output probabilities (vanilla, α,
LSGAN targets) or critic values (hinge, WGAN, f-GAN), as the conventions of the package say;
probability-valued optimal discriminators also expose ``.logit(x)`` so that value functions
are integrated in log space.

| loss | V(D) | D*(x) | sup_D V |
|---|---|---|---|
| vanilla | E_P log D + E_Q log(1 − D) | p/(p+q) | 2 JSD − log 4 |
| alpha | −E_P ℓ_α(1, D) − E_Q ℓ_α(0, D) | p^α/(p^α+q^α) | D_{f_α} + α/(α−1)(2^{1/α} − 2) |
| lsgan (a, b) | −½ E_P (D − b)² − ½ E_Q (D − a)² | (b p + a q)/(p + q) | −½(b − a)² ∫ pq/(p+q) |
| hinge | −E_P (1 − D)₊ − E_Q (1 + D)₊ | sign(p − q) | 2 TV − 2 |
| wgan | E_P D − E_Q D, D 1-Lipschitz | Kantorovich potential (1D) | W1 |
| f-GAN (name of f) | E_P T − E_Q f*(T) | f'(p/q) | D_f |

References: Goodfellow et al. (2014); Kurri et al. (2021) for α-GAN; Mao et al. (2017) LSGAN;
Lim & Ye (2017) hinge; Arjovsky et al. (2017) WGAN; Nowozin et al. (2016) f-GAN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from ._numerics import Array, check_alpha, check_finite, real_array, sigmoid, softplus
from .fdiv import F_DIVERGENCES, FDivergence, _arimoto_g, alpha_reward_log, get_f
from .measures import _CHI2_ROLES, chi2_mesh
from .mixture import GaussianMixture
from .quadrature import integrate_pairs, pair_up


# ----------------------------------------------------------------------------- α-loss
def alpha_loss(y: ArrayLike, yhat: ArrayLike, alpha: float) -> Array:
    """α-loss ℓ_α(y, ŷ) = α/(α−1) [1 − y ŷ^{(α−1)/α} − (1−y)(1−ŷ)^{(α−1)/α}] (Sypherd et al. 2019).

    y ∈ [0, 1] (soft labels are linear in y), ŷ ∈ [0, 1], α ∈ (0, ∞]. α → 1 is the log-loss
    −y log ŷ − (1−y) log(1−ŷ) (evaluated through expm1(x)/x, no 1/(α−1) cancellation);
    α = ∞ is 1 − y ŷ − (1−y)(1−ŷ).

    >>> float(alpha_loss(1.0, 0.5, 1.0))  # log 2
    0.6931471805599453
    """
    a = check_alpha(alpha)
    y = check_finite("y", y)
    p = real_array("yhat", yhat)
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)) or np.any((y < 0) | (y > 1)):
        raise ValueError("alpha_loss needs y and yhat in [0, 1] (no NaN)")
    with np.errstate(divide="ignore", invalid="ignore"):
        r1, r0 = _alpha_reward(a, np.log(p)), _alpha_reward(a, np.log1p(-p))
        # a label with weight 0 contributes 0 even where its reward is −inf
        return -(np.where(y > 0, y * r1, 0.0) + np.where(y < 1, (1.0 - y) * r0, 0.0))


def _alpha_reward(alpha: float, log_t: Array) -> Array:
    """−ℓ_α for the probability t of the true label, from log t (t = 0 gives the limit −α/(α−1), −1 or −inf)."""
    with np.errstate(invalid="ignore"):
        return alpha_reward_log(alpha, log_t)


# ----------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Objective:
    """One adversarial objective: per-sample rewards of D on real and fake points, and D*."""

    name: str
    real: Callable[[Array], Array]  # reward of output t on a real point
    fake: Callable[[Array], Array]  # reward of output t on a fake point
    optimal_from_r: Callable[[Array], Array] | None  # D*(r), r = log p − log q (None: not pointwise)
    logit_rewards: tuple[Callable[[Array], Array], Callable[[Array], Array]] | None = None  # same, from logits
    output: str = "probability"  # or "critic"
    params: dict = field(default_factory=dict)
    f_record: FDivergence | None = None  # the f of an f-GAN objective (its critic is T* = f'(p/q))


def _vanilla() -> Objective:
    return Objective(
        "vanilla", real=np.log, fake=lambda t: np.log1p(-t), optimal_from_r=sigmoid,
        logit_rewards=(lambda v: -softplus(-v), lambda v: -softplus(v)),
    )


def _alpha(alpha: float) -> Objective:
    a = check_alpha(alpha)
    return Objective(
        "alpha",
        real=lambda t: _alpha_reward(a, np.log(t)),
        fake=lambda t: _alpha_reward(a, np.log1p(-t)),
        optimal_from_r=(lambda r: sigmoid(a * r)) if np.isfinite(a) else (lambda r: np.where(r > 0, 1.0, np.where(r < 0, 0.0, 0.5))),
        logit_rewards=(lambda v: _arimoto_g(a, v), lambda v: _arimoto_g(a, -v)),
        params={"alpha": a},
    )


def _lsgan(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> Objective:
    a, b, c = (float(check_finite(n, v)) for n, v in (("a", a), ("b", b), ("c", c)))
    if a == b:
        raise ValueError(f"LSGAN needs distinct targets a (fake) and b (real); got a = b = {a}")
    return Objective(
        "lsgan", real=lambda t: -0.5 * (t - b) ** 2, fake=lambda t: -0.5 * (t - a) ** 2,
        optimal_from_r=lambda r: a + (b - a) * sigmoid(r), output="critic", params={"a": a, "b": b, "c": c},
    )


def _hinge() -> Objective:
    return Objective(
        "hinge", real=lambda t: -np.maximum(1.0 - t, 0.0), fake=lambda t: -np.maximum(1.0 + t, 0.0),
        optimal_from_r=np.sign, output="critic",
    )


def _wgan() -> Objective:
    return Objective("wgan", real=lambda t: t, fake=lambda t: -t, optimal_from_r=None, output="critic")


def _fgan(name: str, alpha: float | None = None) -> Objective:
    rec = get_f(name, alpha)
    dom = rec.conj_domain
    lo = dom.lo if dom.lo_closed else np.nextafter(dom.lo, np.inf)
    hi = dom.hi if dom.hi_closed else np.nextafter(dom.hi, -np.inf)

    def t_star(r: Array) -> Array:
        # T* = f'(p/q) tends to an open end of dom f* as p/q → 0 or ∞; keep the rounded value inside.
        return np.clip(rec.t_star_log(r), lo, hi)

    return Objective(
        rec.name, real=lambda t: t, fake=lambda t: -rec.f_conj(t), optimal_from_r=t_star,
        logit_rewards=(lambda v: rec.g_f(v), lambda v: -rec.conj_g_f(v)), output="critic",
        params={"f": rec.name}, f_record=rec,
    )


OBJECTIVES: dict[str, Callable[..., Objective]] = {
    "vanilla": _vanilla, "alpha": _alpha, "lsgan": _lsgan, "hinge": _hinge, "wgan": _wgan,
}


def get_objective(loss: str, **params) -> Objective:
    """Registry lookup: a name of ``OBJECTIVES`` or of an f-divergence (f-GAN); ``arimoto`` takes alpha."""
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a string name; got {type(loss).__name__}")
    if loss in OBJECTIVES:
        try:
            return OBJECTIVES[loss](**params)
        except TypeError as exc:
            raise ValueError(f"bad parameters for loss {loss!r}: {exc}") from None
    if loss in F_DIVERGENCES or loss == "arimoto":
        try:
            return _fgan(loss, **params)
        except TypeError as exc:
            raise ValueError(f"bad parameters for the f-GAN loss {loss!r} (only 'arimoto' takes alpha): {exc}") from None
    known = ", ".join(list(OBJECTIVES) + sorted(F_DIVERGENCES) + ["arimoto"])
    raise ValueError(f"unknown loss {loss!r}; known: {known}")


# ----------------------------------------------------------------------------- optimal discriminators
class OptimalDiscriminator:
    """x ↦ D*(x) for a pair (P, Q) and an objective; accepts x of shape (n, d) or (n,) in 1D.

    ``logit(x)`` (probability-valued objectives only) returns the logit of D* in log space.
    """

    def __init__(self, P: GaussianMixture, Q: GaussianMixture, objective: Objective,
                 fn: Callable[[Array], Array] | None = None):
        self.P, self.Q, self.objective = P, Q, objective
        self._fn = fn

    def log_ratio(self, x: ArrayLike) -> Array:
        """r(x) = log p(x) − log q(x)."""
        return self.P.logpdf(x) - self.Q.logpdf(x)

    @property
    def kinks(self) -> Array:
        """1D points where D* is not smooth other than the density crossings (the WGAN critic's knots)."""
        return getattr(self._fn, "kinks", np.empty(0))

    def __call__(self, x: ArrayLike) -> Array:
        if self._fn is not None:
            return self._fn(self.P.as_points(x))
        with np.errstate(over="ignore", under="ignore"):  # T* = f'(p/q) saturates where p/q → 0 or ∞
            return self.objective.optimal_from_r(self.log_ratio(x))

    @property
    def bend_levels(self) -> tuple[float, ...]:
        """Values of log p/q where the value function's integrand at D* is not smooth (or bends sharply): p = q
        for the hinge, α = ∞ and TV-type critics, Arimoto's levels for α-GAN / f-GAN at large α (the records'
        ``bend_levels``); () for smooth ones."""
        name, params = self.objective.name, self.objective.params
        if name == "hinge":
            return (0.0,)
        if name == "alpha":
            return get_f("arimoto", params["alpha"]).bend_levels
        return self.objective.f_record.bend_levels if self.objective.f_record is not None else ()

    @property
    def has_logit(self) -> bool:
        """Whether D* is a probability with a finite logit (vanilla, α-GAN with α < ∞)."""
        name = self.objective.name
        return name == "vanilla" or (name == "alpha" and bool(np.isfinite(self.objective.params["alpha"])))

    def logit(self, x: ArrayLike) -> Array:
        """Logit of D*: r for vanilla, α r for α-GAN (α < ∞)."""
        if not self.has_logit:
            raise ValueError(f"D* of loss {self.objective.name!r} has no finite logit")
        return self.objective.params.get("alpha", 1.0) * self.log_ratio(x)

    def __repr__(self) -> str:
        return f"OptimalDiscriminator({self.objective.name}, params={self.objective.params})"


def optimal_discriminator(P: GaussianMixture, Q: GaussianMixture, loss: str = "vanilla", **params) -> OptimalDiscriminator:
    """Closed-form maximiser D* of the value function of ``loss`` for data P and generator Q.

    ``loss``: ``vanilla`` (p/(p+q)), ``alpha`` (alpha=..., p^α/(p^α+q^α); α = inf gives 1{p>q}, ½ on ties),
    ``lsgan`` (a=0, b=1, c=1: (b p + a q)/(p + q)), ``hinge`` (sign(p − q)), ``wgan`` (1D only:
    the Kantorovich potential, see :func:`divergences.wasserstein.kantorovich_potential`), or the name
    of an f-divergence for the f-GAN critic T* = f'(p/q) (``arimoto`` takes alpha).

    >>> from divergences import seed_toy
    >>> toy = seed_toy()
    >>> D = optimal_discriminator(toy.real, toy.gen_right)
    >>> float(D([5.0])[0]) > 0.5
    True
    """
    pair_up(P, Q)  # validates types and dimensions
    obj = get_objective(loss, **params)
    if obj.name == "wgan":
        from .wasserstein import kantorovich_potential

        return OptimalDiscriminator(P, Q, obj, fn=kantorovich_potential(P, Q))
    return OptimalDiscriminator(P, Q, obj)


# ----------------------------------------------------------------------------- value functions
T_OVERFLOW = 1e300
"""An f-GAN critic value |T*| above this has overflowed or been clipped at an open end of dom f* (T* = −e^{−r}
for reverse KL, 1 − e^{−2r} for Neyman χ², 2 expm1(r) for Pearson χ², at |r| ≳ 350-710)."""


def _same_mixture(a: GaussianMixture, b: GaussianMixture) -> bool:
    return a is b or (a.dim == b.dim and all(np.array_equal(getattr(a, k), getattr(b, k))
                                             for k in ("weights", "means", "covs")))


def _optimal_fgan_record(D: Callable, obj: Objective, P: GaussianMixture, Q: GaussianMixture):
    """The f record when D is the closed-form f-GAN critic T* = f'(p/q) of this objective and pair, else None."""
    if not (isinstance(D, OptimalDiscriminator) and D._fn is None and obj.f_record is not None
            and D.objective.name == obj.name and D.objective.params == obj.params):
        return None
    return obj.f_record if _same_mixture(D.P, P) and _same_mixture(D.Q, Q) else None


def _density_times(log_density: Array, reward: Array) -> Array:
    """density · reward: the plain product where the density is a normal float64 (log density > −700), else
    sign(reward) · exp(log density + log|reward|), so that a subnormal or underflowed density keeps its
    precision against a large finite reward. Where the density rounds to 0 and the reward is ±inf (a reward
    that overflowed far out in the tails) the term is 0, as 0·(±∞)."""
    reward = np.broadcast_to(reward, log_density.shape)
    density = np.exp(log_density)
    tiny = log_density <= -700.0
    out = density * reward
    if tiny.any():
        far = np.sign(reward[tiny]) * np.exp(log_density[tiny] + np.log(np.abs(reward[tiny])))
        out[tiny] = np.where((density[tiny] == 0.0) & ~np.isfinite(reward[tiny]), 0.0, far)
    return out


def _fenchel_young(rec, lp: Array, lq: Array) -> Array:
    """p·f'(u) − q·f*(f'(u)) = q·f(u), u = p/q, as q φ(u) + f(1) q + f'(1) (p − q) from the record's log-space
    Bregman integrand q φ (:mod:`divergences.fdiv`); finite wherever the densities are."""
    p, q = np.exp(lp), np.exp(lq)
    return rec.integrand(lp, lq) + rec.f_one * q + float(rec.f_prime(1.0)) * (p - q)


def _outputs(t, n: int) -> Array:
    """D's outputs on n points as a float array of shape (n,) (or a scalar, broadcast), else an error naming D."""
    t = real_array("D(x)", t)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.shape not in ((), (n,)):
        raise ValueError(f"D must return one value per point, shape ({n},) or ({n}, 1) for {n} points; "
                         f"got shape {t.shape}")
    return t


def value_function(P: GaussianMixture, Q: GaussianMixture, D: Callable[[Array], Array], loss: str = "vanilla",
                   error: bool = False, rtol: float | None = None, **params):
    """V(D) = E_P[real(D(X))] + E_Q[fake(D(X))] for a given discriminator callable D (see the module table).

    D receives points of shape (n,) for 1D mixtures and (n, d) otherwise. If D has a ``logit``
    method (as optimal discriminators of probability-valued losses do; ``has_logit`` may say it is
    unavailable) and the loss has a logit form, rewards are evaluated from logits (softplus, no log of
    a rounded probability). Integrated by the same adaptive cubature as the divergences (rtol as there).
    Density × reward is formed in log space, so a density below the float64 range keeps its precision
    against a large reward; where the density rounds to 0 and the reward is infinite the term is 0
    (0·(−∞) = 0). In 1D the mesh is cut at the density crossings and at ``D.kinks`` where D has that
    attribute (points where D is not smooth, e.g. the knots of the WGAN critic at the crossings of F_P
    and F_Q) and where log p/q crosses ``D.bend_levels``: Gauss rules, and their error estimate, assume a smooth integrand inside each cell. In 2D the
    cells straddling ``D.bend_levels`` (optimal discriminators declare them) get a bisection error estimate.

    For the closed-form f-GAN critic of the same loss and pair (``optimal_discriminator(P, Q, f)``),
    T* = f'(p/q) and f*(T*) leave the float64 range where |log p/q| is large while p or q still carries
    mass (T* = 2(e^r − 1) and f*(T*) = e^{2r} − 1 for Pearson, e^r for KL's conjugate, −e^{−r} for
    reverse KL's T*). At points where T*, f*(T*) or p·T* − q·f*(T*) is not finite, or |T*| >
    :data:`T_OVERFLOW`, the integrand is evaluated as its exact value q·f(p/q) (the Fenchel–Young
    equality f*(f'(u)) = u f'(u) − f(u); Nowozin et al. 2016, eq. 5) from the record's log-space
    integrand; everywhere else term by term as for any D (the form q φ(u) + f(1) q + f'(1)(p − q)
    cancels where p ≫ q for records with f'(1) ≠ 0, so it is not used where the terms are fine). For
    Pearson and Neyman χ² the mesh follows the divergence's tails (``divergences.measures.chi2_mesh``), and an
    infinite χ² gives V(T*) = sup V = +inf.
    """
    if not callable(D):
        raise TypeError("D must be callable: x -> discriminator output")
    Ps, Qs, batched = pair_up(P, Q)
    if batched:
        raise TypeError("value_function takes a single pair (P, Q)")
    obj = get_objective(loss, **params)
    use_logit = obj.logit_rewards is not None and getattr(D, "has_logit", hasattr(D, "logit"))
    real, fake = obj.logit_rewards if use_logit else (obj.real, obj.fake)
    call = D.logit if use_logit else D
    rec = _optimal_fgan_record(D, obj, Ps[0], Qs[0])
    spread, extra = None, None
    if rec is not None and rec.name in _CHI2_ROLES:
        finite, spread, extra = chi2_mesh(Ps, Qs, rec.name)
        if not finite[0]:
            return (math.inf, 0.0) if error else math.inf

    def integrand(points, lp: Array, lq: Array) -> Array:
        x = points.absolute
        t = _outputs(call(x[:, 0] if x.shape[1] == 1 else x), x.shape[0])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r_real, r_fake = real(t), fake(t)
            out = _density_times(lp, r_real) + _density_times(lq, r_fake)
            if rec is not None:
                bad = ~(np.isfinite(r_real) & np.isfinite(r_fake) & np.isfinite(out)) | (np.abs(t) > T_OVERFLOW)
                if bad.any():
                    out[bad] = _fenchel_young(rec, lp[bad], lq[bad])
        return out

    # 1D: cut at p = q (cheap, and where most critics' kinks lie) and where D is known to bend (Arimoto's levels
    # r = ±k/α of large-α critics); 2D: a bisection error estimate along the bend levels only (it costs up to 4x
    # the cells that straddle them)
    bends = tuple(getattr(D, "bend_levels", ()))
    levels = tuple(sorted({0.0, *bends})) if Ps[0].dim == 1 else bends
    v, e = integrate_pairs(Ps, Qs, integrand, rtol=rtol, cuts=getattr(D, "kinks", None), spread=spread,
                           crossing_levels=levels, mesh_extra=extra)
    if np.isnan(v[0]):
        raise ValueError(f"V(D) is undefined (NaN) for the loss {obj.name!r}: D returned values outside the domain of "
                         "its rewards (a probability outside [0, 1] for the probability-valued losses, a critic "
                         "outside dom f* for an f-GAN) or NaN")
    return (float(v[0]), float(e[0])) if error else float(v[0])
