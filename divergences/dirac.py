"""The Dirac-GAN: exact training dynamics of every objective near its equilibrium (numpy only).

Mescheder, Geiger & Nowozin (2018), "Which training methods for GANs do actually converge?", §2.2-§3:
data P = δ_0, generator Q_θ = δ_θ (one parameter θ), linear discriminator D_ψ(x) = ψ x, a logit or critic
value with the package's sign convention (a larger output means "more real"; Mescheder et al.'s ψ is the
negative of ours, which leaves every eigenvalue below unchanged). Every objective of ``gan.losses`` is three
element-wise terms of D's raw output v (D minimises d_real(v_real) + d_fake(v_fake), G minimises g_fake(v_fake));
here v_real = ψ·0 = 0 and v_fake = ψθ, so

    L_D(θ, ψ) = d_real(0) + d_fake(ψθ),        L_G(θ, ψ) = g_fake(ψθ),

and gradient descent of each player on its own loss follows the vector field (t = ψθ)

    v(θ, ψ) = (−∂_θ L_G, −∂_ψ L_D) = (−ψ g'(t), −θ d'(t)),

    ∂v/∂(θ, ψ) = [[−ψ² g''(t),  −g'(t) − t g''(t)],
                  [−d'(t) − t d''(t),  −θ² d''(t)]].

(0, 0) is a zero of v for every objective, with Jacobian J = [[0, −g'(0)], [−d'(0), 0]] and eigenvalues
±√(g'(0) d'(0)): purely imaginary for every GAN objective (g'(0) < 0 < d'(0)), e.g. ±i/2 for minimax and ns
(Mescheder et al.'s ±f'(0)i), ±i for WGAN and hinge; LSGAN with a = 0 has J nilpotent (eigenvalues 0, 0).
d', d'', g', g'' are written here in closed form for every loss (:data:`DIRAC_LOSSES`, the names of
``gan.losses``); the tests check them against finite differences of the analytic records' own values and,
through autograd, against the torch losses.

Regularizers (:data:`REGULARIZERS`; ``weight`` is the one parameter of each):

| name | what D minimises in addition / what changes | field | J at (0, 0) |
|---|---|---|---|
| none | | v | J |
| r1 (γ) | γ/2 E_P ‖∇_x D‖² = γψ²/2 (eq. 9) | v_ψ − γψ | J − diag(0, γ) |
| r2 (γ) | γ/2 E_Q ‖∇_x D‖² = γψ²/2 (eq. 10) | v_ψ − γψ | J − diag(0, γ) |
| gp (λ) | λ E(‖∇_x D(x̂)‖ − 1)² = λ(|ψ| − 1)² (Gulrajani et al. 2017) | v_ψ − 2λ(|ψ| − 1) sign ψ | none: see below |
| clip (c) | ψ ← clip(ψ, −c, c) after each D step (Arjovsky et al. 2017) | v inside |ψ| < c | J |
| instance_noise (σ) | D sees x + σξ, ξ ~ N(0, 1), in its step (as ``toy.train``) | E_ξ of v_ψ | J − diag(0, σ²(d_real''(0) + d_fake''(0))) |
| n_dis (k) | k D steps per G step | (v_θ, k v_ψ) (continuous-time limit) | diag(1, k) J |
| consensus (γ) | both players add γ/2 ‖v‖² (Mescheder, Nowozin & Geiger 2017, §4) | v − γ (∂v)ᵀ v | J − γ JᵀJ |

WGAN-GP is not differentiable at the equilibrium: for a linear D the penalty is λ(|ψ| − 1)², whose ψ-derivative
2λ(|ψ| − 1) sign ψ jumps from +2λ (ψ → 0⁻) to −2λ (ψ → 0⁺). So v_ψ(0, 0⁻) = −2λ and
v_ψ(0, 0⁺) = +2λ (the penalty pushes |ψ| towards 1): v jumps by 4λ across ψ = 0, (0, 0) is not a zero of it (only
of the subgradient choice sign 0 = 0), and no Jacobian exists there; the one-sided Jacobians (ψ → 0±) are both
[[0, −g'(0)], [−d'(0), −2λ]] (:meth:`DiracGAN.one_sided`).

Discrete dynamics (:meth:`DiracGAN.update_matrix`): the linearisation at (0, 0) of one iteration of
simultaneous or alternating gradient descent with step h (the D player first, ``n_dis`` times, then G, as in
``toy.train``), optionally with heavy-ball momentum β as ``torch.optim.SGD`` (buffer b ← βb + g, p ← p − h b).
Simultaneous GD: T = I + hJ with eigenvalues 1 + hλ; for the unregularised objectives |1 ± ih√(−g'd')| =
√(1 − h²g'(0)d'(0)) > 1 (spirals out); alternating: det T = 1 and |tr T| < 2 for small h, so both eigenvalues
have modulus 1 (cycles); R1/R2, instance noise and consensus move the eigenvalues of J into the left half-plane
and the spectral radius below 1 for small h (converges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike

from ._numerics import Array, check_alpha, sigmoid, softplus
from .fdiv import alpha_reward_log, get_f

ArrayFn = Callable[[Array], Array]


# ----------------------------------------------------------------------------- loss terms with derivatives
@dataclass(frozen=True)
class Term:
    """A scalar function of D's output v and its first two derivatives, vectorised (numpy).

    ``value`` is taken from the analytic records where one exists (``FDivergence.g_f``/``conj_g_f``,
    ``alpha_reward_log``, softplus); ``d1`` and ``d2`` are the hand-derived closed forms the Dirac-GAN uses.
    Kinks (hinge at v = ±1) have d2 = 0 on both sides and d1 the one-sided value of the side v lies on.
    """

    value: ArrayFn
    d1: ArrayFn
    d2: ArrayFn

    def reflect(self) -> "Term":
        """v ↦ f(−v): value f(−v), first derivative −f'(−v), second f''(−v)."""
        return Term(lambda v: self.value(-v), lambda v: -self.d1(-v), lambda v: self.d2(-v))

    def negate(self) -> "Term":
        """v ↦ −f(v)."""
        return Term(lambda v: -self.value(v), lambda v: -self.d1(v), lambda v: -self.d2(v))


@dataclass(frozen=True)
class LossTerms:
    """d_real, d_fake and g_fake of one objective (see ``gan.losses``), with derivatives."""

    name: str
    d_real: Term
    d_fake: Term
    g_fake: Term
    params: dict = field(default_factory=dict)


def _s(v: Array) -> Array:
    return sigmoid(np.asarray(v, dtype=float))


SOFTPLUS = Term(softplus, _s, lambda v: _s(v) * _s(-v))
"""softplus(v) = log(1 + e^v): derivatives σ(v) and σ(v)σ(−v)."""
LINEAR = Term(lambda v: np.asarray(v, float), lambda v: np.ones_like(np.asarray(v, float)),
              lambda v: np.zeros_like(np.asarray(v, float)))


def _square(target: float) -> Term:
    """½(v − target)²."""
    return Term(lambda v: 0.5 * (np.asarray(v, float) - target) ** 2, lambda v: np.asarray(v, float) - target,
                lambda v: np.ones_like(np.asarray(v, float)))


def _relu_one_plus() -> Term:
    """relu(1 + v): derivative 1{v > −1} (the one-sided value at v = −1 is taken as 0)."""
    return Term(lambda v: np.maximum(1.0 + np.asarray(v, float), 0.0),
                lambda v: (np.asarray(v, float) > -1.0).astype(float), lambda v: np.zeros_like(np.asarray(v, float)))


def alpha_activation(alpha: float) -> Term:
    """A_α(v) = α/(α−1)(σ(v)^k − 1), k = (α−1)/α: the α-loss reward of D = σ(v) (−ℓ_α(1, σ(v)); Kurri et al. 2021).

    With s = σ(v): A' = s^k (1 − s), A'' = s^k (1 − s)(k(1 − s) − s); α = 1 (k = 0) is log σ(v), α = ∞ (k = 1) σ(v) − 1.
    s^k is formed as exp(−k softplus(−v)).
    """
    a = check_alpha(alpha)
    k = 1.0 if math.isinf(a) else (a - 1.0) / a

    def d1(v):
        v = np.asarray(v, float)
        return np.exp(-k * softplus(-v)) * _s(-v)

    def d2(v):
        v = np.asarray(v, float)
        s = _s(v)
        return d1(v) * (k * _s(-v) - s)

    return Term(lambda v: alpha_reward_log(a, -softplus(-np.asarray(v, float))), d1, d2)


def _exp(scale: float, shift: float = 0.0) -> ArrayFn:
    return lambda v: np.exp(scale * np.asarray(v, float) + shift)


def _scaled(fn: ArrayFn, c: float) -> ArrayFn:
    return lambda v: c * fn(v)


# f-GAN: (g_f', g_f'') and ((f*∘g_f)', (f*∘g_f)'') for every record of divergences.fdiv (Nowozin et al. 2016, Table 2
# with this package's increasing activations); values come from the records themselves.
_SECH2 = lambda v: 1.0 - np.tanh(np.asarray(v, float)) ** 2
_FGAN_DERIVATIVES: dict[str, tuple[ArrayFn, ArrayFn, ArrayFn, ArrayFn]] = {
    # name: (g_f', g_f'', c', c'') with c = f*∘g_f
    "kl": (LINEAR.d1, LINEAR.d2, _exp(1.0, -1.0), _exp(1.0, -1.0)),  # g = v, c = e^{v−1}
    "reverse_kl": (_exp(-1.0), _scaled(_exp(-1.0), -1.0), LINEAR.d1, LINEAR.d2),  # g = −e^{−v}, c = v − 1
    "pearson": (LINEAR.d1, LINEAR.d2, lambda v: 0.5 * np.asarray(v, float) + 1.0,
                lambda v: np.full_like(np.asarray(v, float), 0.5)),  # g = v, c = v²/4 + v
    "neyman": (_exp(-1.0), _scaled(_exp(-1.0), -1.0), _exp(-0.5), _scaled(_exp(-0.5), -0.5)),  # 1 − e^{−v}, 2 − 2e^{−v/2}
    "squared_hellinger": (_exp(-1.0), _scaled(_exp(-1.0), -1.0), _exp(1.0), _exp(1.0)),  # 1 − e^{−v}, e^v − 1
    "js": (lambda v: 0.5 * _s(-v), lambda v: -0.5 * _s(v) * _s(-v),
           lambda v: 0.5 * _s(v), lambda v: 0.5 * _s(v) * _s(-v)),  # ½(log 2 − softplus(−v)), ½(softplus(v) − log 2)
    "gan": (lambda v: _s(-v), lambda v: -_s(v) * _s(-v), _s, lambda v: _s(v) * _s(-v)),  # −softplus(−v), softplus(v)
    "tv": (lambda v: 0.5 * _SECH2(v), lambda v: -np.tanh(np.asarray(v, float)) * _SECH2(v),
           lambda v: 0.5 * _SECH2(v), lambda v: -np.tanh(np.asarray(v, float)) * _SECH2(v)),  # ½tanh v (both)
}


def fgan_terms(f: str, g_form: str = "alternative", alpha: float | None = None) -> LossTerms:
    """f-GAN terms (Nowozin et al. 2016): d_real = −g_f, d_fake = f*∘g_f, g_fake = −g_f (alternative) or −f*∘g_f."""
    rec = get_f(f, alpha)
    if rec.name.startswith("arimoto("):
        A = alpha_activation(alpha)
        act = Term(rec.g_f, A.d1, A.d2)
        conj = Term(rec.conj_g_f, lambda v: A.d1(-np.asarray(v, float)), lambda v: -A.d2(-np.asarray(v, float)))
    else:
        g1, g2, c1, c2 = _FGAN_DERIVATIVES[rec.name]
        act, conj = Term(rec.g_f, g1, g2), Term(rec.conj_g_f, c1, c2)
    forms = {"alternative": act.negate(), "saturating": conj.negate()}
    if g_form not in forms:
        raise ValueError(f"g_form must be one of {sorted(forms)}; got {g_form!r}")
    params = {"f": rec.name, "g_form": g_form} | ({"alpha": alpha} if alpha is not None else {})
    return LossTerms(f"fgan_{rec.name.split('(')[0]}", act.negate(), conj, forms[g_form], params)


def _lsgan(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> LossTerms:
    a, b, c = (float(t) for t in (a, b, c))
    return LossTerms("lsgan", _square(b), _square(a), _square(c), {"a": a, "b": b, "c": c})


def _alpha(alpha: float = 2.0) -> LossTerms:
    A = alpha_activation(alpha)
    d_fake = A.reflect().negate()  # ℓ_α(0, σ(v)) = −A_α(−v)
    return LossTerms("alpha", A.negate(), d_fake, d_fake.negate(), {"alpha": float(alpha)})


def _alpha_d_alpha_g(alpha_d: float = 1.0, alpha_g: float = 1.0) -> LossTerms:
    Ad, Ag = alpha_activation(alpha_d), alpha_activation(alpha_g)
    return LossTerms("alpha_d_alpha_g", Ad.negate(), Ad.reflect().negate(), Ag.negate(),
                     {"alpha_d": float(alpha_d), "alpha_g": float(alpha_g)})


DIRAC_LOSSES: dict[str, Callable[..., LossTerms]] = {
    "minimax": lambda: LossTerms("minimax", SOFTPLUS.reflect(), SOFTPLUS, SOFTPLUS.negate()),
    "ns": lambda: LossTerms("ns", SOFTPLUS.reflect(), SOFTPLUS, SOFTPLUS.reflect()),
    "wgan": lambda: LossTerms("wgan", LINEAR.negate(), LINEAR, LINEAR.negate()),
    "lsgan": _lsgan,
    "hinge": lambda: LossTerms("hinge", _relu_one_plus().reflect(), _relu_one_plus(), LINEAR.negate()),
    "alpha": _alpha,
    "alpha_d_alpha_g": _alpha_d_alpha_g,
    **{f"fgan_{name}": (lambda name: lambda **kw: fgan_terms(name, **kw))(name) for name in _FGAN_DERIVATIVES},
    "fgan_arimoto": lambda alpha, **kw: fgan_terms("arimoto", alpha=alpha, **kw),
}
"""Loss name (as in ``gan.losses.LOSSES``) → its terms with closed-form derivatives."""


def dirac_loss_terms(name: str, **params) -> LossTerms:
    """The terms of the loss registered as ``name`` (``gan.losses`` names and parameters); ValueError if unknown."""
    if not isinstance(name, str) or name not in DIRAC_LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(DIRAC_LOSSES)}")
    try:
        return DIRAC_LOSSES[name](**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters {params} for loss {name!r}: {exc}") from None


# ----------------------------------------------------------------------------- the system
REGULARIZERS = ("none", "r1", "r2", "gp", "clip", "instance_noise", "n_dis", "consensus")
"""Regularizers of the Dirac-GAN; the meaning of ``weight`` for each: — , γ, γ, λ, c, σ, k, γ."""
METHODS = ("simultaneous", "alternating")


def _hermite(n: int) -> tuple[Array, Array]:
    """Nodes and weights of E[h(ξ)], ξ ~ N(0, 1): probabilists' Gauss-Hermite, weights normalised to sum 1."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


@dataclass(frozen=True)
class DiracGAN:
    """One objective with one regularizer on the Dirac-GAN (module docstring).

    loss, loss_params : a ``gan.losses`` name and its parameters.
    regularizer : one of :data:`REGULARIZERS`; weight : its parameter (γ, λ, c, σ or the integer k).
    n_quad : Gauss-Hermite nodes of the instance-noise expectations (field only; the Jacobian at (0, 0) is exact).
    """

    loss: str = "minimax"
    loss_params: Mapping = field(default_factory=dict)
    regularizer: str = "none"
    weight: float = 1.0
    n_quad: int = 81

    def __post_init__(self) -> None:
        object.__setattr__(self, "loss_params", dict(self.loss_params))
        if self.regularizer not in REGULARIZERS:
            raise ValueError(f"regularizer must be one of {REGULARIZERS}; got {self.regularizer!r}")
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)) or not math.isfinite(w):
            raise TypeError(f"weight must be a finite real number; got {w!r}")
        if self.regularizer == "n_dis":
            if float(w) != int(w) or w < 1:
                raise ValueError(f"n_dis weight k must be an integer >= 1; got {w!r}")
        elif self.regularizer in ("clip", "gp") and not w > 0:
            raise ValueError(f"{self.regularizer} weight must be > 0; got {w!r}")
        elif w < 0:
            raise ValueError(f"{self.regularizer} weight must be >= 0; got {w!r}")
        if isinstance(self.n_quad, bool) or not isinstance(self.n_quad, int) or self.n_quad < 2:
            raise ValueError(f"n_quad must be an integer >= 2; got {self.n_quad!r}")
        object.__setattr__(self, "_terms", dirac_loss_terms(self.loss, **self.loss_params))

    @property
    def terms(self) -> LossTerms:
        """The loss terms with their derivatives."""
        return self._terms

    @property
    def n_dis(self) -> int:
        """D steps per G step (k for the n_dis regularizer, else 1)."""
        return int(self.weight) if self.regularizer == "n_dis" else 1

    @property
    def differentiable_at_equilibrium(self) -> bool:
        """False for WGAN-GP (module docstring), True otherwise."""
        return self.regularizer != "gp"

    # ------------------------------------------------------------------ field
    def _base(self, theta: Array, psi: Array) -> tuple[Array, Array]:
        """(v_θ, v_ψ) of the loss with D's penalty (r1, r2, gp) and instance noise, before clip/n_dis/consensus."""
        T = self.terms
        t = psi * theta
        v_theta = -psi * T.g_fake.d1(t)
        if self.regularizer == "instance_noise":
            s = float(self.weight)
            xi, w = _hermite(self.n_quad)
            real = psi[..., None] * s * xi
            fake_x = theta[..., None] + s * xi
            grad = (T.d_real.d1(real) * s * xi + T.d_fake.d1(psi[..., None] * fake_x) * fake_x) @ w
            return v_theta, -grad
        v_psi = -theta * T.d_fake.d1(t)
        if self.regularizer in ("r1", "r2"):
            v_psi = v_psi - self.weight * psi
        elif self.regularizer == "gp":
            v_psi = v_psi - 2.0 * self.weight * (np.abs(psi) - 1.0) * np.sign(psi)
        return v_theta, v_psi

    def field(self, theta: ArrayLike, psi: ArrayLike) -> tuple[Array, Array]:
        """The continuous vector field (v_θ, v_ψ) at broadcast arrays θ, ψ (the table in the module docstring).

        clip: the field of the projected dynamics (v_ψ = 0 where |ψ| ≥ c and v_ψ points outwards).
        Instance noise: Gauss-Hermite with ``n_quad`` nodes (smooth terms: exact to rounding for |ψσ| ≲ 4;
        hinge's indicator converges slowly and is for drawing only).
        """
        th, ps = np.broadcast_arrays(np.asarray(theta, float), np.asarray(psi, float))
        vt, vp = self._base(th, ps)
        if self.regularizer == "clip":
            c = float(self.weight)
            vp = np.where((np.abs(ps) >= c) & (np.sign(vp) == np.sign(ps)), 0.0, vp)
        elif self.regularizer == "n_dis":
            vp = self.n_dis * vp
        elif self.regularizer == "consensus":
            J = self._base_jacobian(th, ps)
            g = float(self.weight)
            vt, vp = (vt - g * (J[..., 0, 0] * vt + J[..., 1, 0] * vp),
                      vp - g * (J[..., 0, 1] * vt + J[..., 1, 1] * vp))
        return vt, vp

    # ------------------------------------------------------------------ Jacobians
    def _base_jacobian(self, theta: Array, psi: Array, noise_moments: tuple[float, float] = (1.0, 1.0)) -> Array:
        """∂(v_θ, v_ψ)/∂(θ, ψ) of :meth:`_base`, shape (..., 2, 2), in closed form (module docstring)."""
        T = self.terms
        t = psi * theta
        J = np.empty(np.shape(t) + (2, 2))
        J[..., 0, 0] = -psi**2 * T.g_fake.d2(t)
        J[..., 0, 1] = -T.g_fake.d1(t) - t * T.g_fake.d2(t)
        if self.regularizer == "instance_noise":
            s = float(self.weight)
            xi, w = _hermite(self.n_quad)
            fake_x = theta[..., None] + s * xi
            mr, mf = noise_moments
            if np.all(theta == 0) and np.all(psi == 0):  # exact at the equilibrium, for any noise law with these moments
                J[..., 1, 0] = -T.d_fake.d1(np.zeros_like(t))
                J[..., 1, 1] = -s**2 * (T.d_real.d2(np.zeros_like(t)) * mr + T.d_fake.d2(np.zeros_like(t)) * mf)
                return J
            J[..., 1, 0] = -((T.d_fake.d2(psi[..., None] * fake_x) * psi[..., None] * fake_x
                              + T.d_fake.d1(psi[..., None] * fake_x)) @ w)
            J[..., 1, 1] = -((T.d_real.d2(psi[..., None] * s * xi) * (s * xi) ** 2
                              + T.d_fake.d2(psi[..., None] * fake_x) * fake_x**2) @ w)
            return J
        J[..., 1, 0] = -T.d_fake.d1(t) - t * T.d_fake.d2(t)
        J[..., 1, 1] = -theta**2 * T.d_fake.d2(t)
        if self.regularizer in ("r1", "r2"):
            J[..., 1, 1] -= self.weight
        elif self.regularizer == "gp":
            J[..., 1, 1] -= 2.0 * self.weight  # d/dψ of 2λ(|ψ| − 1) sign ψ for ψ ≠ 0
        return J

    def jacobian(self, theta: float = 0.0, psi: float = 0.0, noise_moments: tuple[float, float] = (1.0, 1.0)) -> Array:
        """The 2×2 Jacobian of :meth:`field` at (θ, ψ), in closed form.

        At (0, 0) it is the table of the module docstring. WGAN-GP at ψ = 0 raises ValueError (not differentiable
        there; :meth:`one_sided`). Instance noise at (0, 0) is exact for any noise law of mean 0 whose second
        moments on real and fake inputs are ``noise_moments`` (1, 1 for N(0, 1); an empirical sample's own
        moments reproduce the Jacobian of a loss evaluated on that sample); elsewhere it is Gauss-Hermite.
        Consensus: ∂(v − γJᵀv) = J − γJᵀJ − γ Σ_k v_k ∇²v_k; the last term is 0 at a zero of v, and only (0, 0)
        is supported (ValueError elsewhere). n_dis: diag(1, k) J.
        """
        th, ps = np.asarray(float(theta)), np.asarray(float(psi))
        if self.regularizer == "gp" and ps == 0:
            raise ValueError("WGAN-GP: the field is not differentiable at psi = 0 (v_psi jumps from +2λ to −2λ); "
                             "use one_sided() for the limits psi -> 0±")
        J = self._base_jacobian(th, ps, noise_moments)
        if self.regularizer == "n_dis":
            J = np.diag([1.0, float(self.n_dis)]) @ J
        elif self.regularizer == "consensus":
            if th != 0 or ps != 0:
                raise ValueError("the consensus Jacobian is implemented at the equilibrium (0, 0) only")
            J = J - float(self.weight) * J.T @ J
        return J

    def one_sided(self) -> dict[str, object]:
        """WGAN-GP at the equilibrium: v_ψ(0, 0±) = ±2λ (jump 4λ) and the one-sided Jacobians (equal on both sides).

        Returns ``{"v_psi_minus", "v_psi_plus", "jump", "jacobian"}``; ValueError for other regularizers.
        """
        if self.regularizer != "gp":
            raise ValueError(f"one_sided() describes the WGAN-GP discontinuity; regularizer is {self.regularizer!r}")
        lam = float(self.weight)
        J0 = self._base_jacobian(np.asarray(0.0), np.asarray(0.0))  # ψ² and t factors vanish in the limit
        # v_ψ = −θ d'(ψθ) − 2λ(|ψ| − 1) sign ψ at θ = 0 → −2λ(0 − 1)(±1): −2λ from below, +2λ from above
        return {"v_psi_minus": -2.0 * lam, "v_psi_plus": 2.0 * lam, "jump": 4.0 * lam, "jacobian": J0}

    def equilibrium_jacobian(self) -> Array:
        """J at (0, 0) (for WGAN-GP the one-sided Jacobian, equal on both sides)."""
        return self.one_sided()["jacobian"] if self.regularizer == "gp" else self.jacobian()

    def eigenvalues(self) -> Array:
        """Eigenvalues of :meth:`equilibrium_jacobian` (closed form for 2×2: tr/2 ± √(tr²/4 − det))."""
        return eig2(self.equilibrium_jacobian())

    # ------------------------------------------------------------------ discrete dynamics
    def update_matrix(self, method: str, h: float, momentum: float = 0.0) -> Array:
        """Linearisation at (0, 0) of one iteration (k = ``n_dis`` D steps and one G step) with step h.

        State (θ, ψ) for plain GD (momentum 0), (θ, ψ, b_θ, b_ψ) with heavy-ball buffers as ``torch.optim.SGD``
        (b ← βb + g, p ← p − h b, dampening 0). A player's gradient is g = −(J x) restricted to its coordinate,
        J the Jacobian of the undelayed field (without the n_dis time scaling). ``alternating``: the D player
        updates k times, then G at the new ψ (``toy.train``'s order): T = S_G S_D^k. ``simultaneous``: G's step
        uses the state before D's k steps. Weight clipping acts only at |ψ| = c: the map is the interior one.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {method!r}")
        if isinstance(h, bool) or not (isinstance(h, (int, float)) and h > 0 and math.isfinite(h)):
            raise ValueError(f"step h must be a finite number > 0; got {h!r}")
        if isinstance(momentum, bool) or not (isinstance(momentum, (int, float)) and 0 <= momentum < 1):
            raise ValueError(f"momentum must lie in [0, 1); got {momentum!r}")
        J = self._base_jacobian(np.asarray(0.0), np.asarray(0.0)) if self.regularizer == "n_dis" \
            else self.equilibrium_jacobian()
        n = 2 if momentum == 0 else 4
        steps = [_player_step(J, p, h, momentum, n) for p in (0, 1)]  # G (θ), D (ψ)
        S_G, S_D = steps
        S_Dk = np.linalg.matrix_power(S_D, self.n_dis)
        if method == "alternating":
            return S_G @ S_Dk
        T = S_Dk.copy()
        rows = [0] if n == 2 else [0, 2]
        T[rows] = S_G[rows]
        return T

    def update_eigenvalues(self, method: str, h: float, momentum: float = 0.0) -> Array:
        """Eigenvalues of :meth:`update_matrix`, in closed form for plain GD with one D step.

        Simultaneous: 1 + hλ for the eigenvalues λ of J (no rounding at a double root of J). Alternating, with
        a = 1 + hJ₁₁, d = 1 + hJ₂₂, p = h²J₁₂J₂₁: T = [[a + p, hJ₁₂d], [hJ₂₁, d]], tr T = a + d + p, det T = ad,
        and the discriminant tr²/4 − det written without cancellation as (a − d + p)²/4 + pd. Otherwise (momentum,
        n_dis > 1) the eigenvalues of the matrix (numpy).
        """
        T = self.update_matrix(method, h, momentum)
        if momentum != 0 or self.n_dis != 1:
            return eig2(T) if T.shape == (2, 2) else np.linalg.eigvals(T)
        J = self.equilibrium_jacobian()
        if method == "simultaneous":
            return 1.0 + h * eig2(J)
        a, d, p = 1.0 + h * J[0, 0], 1.0 + h * J[1, 1], h * h * J[0, 1] * J[1, 0]
        root = np.sqrt(complex((a - d + p) ** 2 / 4.0 + p * d))
        return np.array([(a + d + p) / 2.0 + root, (a + d + p) / 2.0 - root])

    def contraction(self, method: str, h: float, momentum: float = 0.0) -> dict[str, float]:
        """Spectral radius ρ of :meth:`update_matrix` and the geometric mean of its eigenvalue moduli |det T|^{1/n}.

        ρ < 1: converges locally at rate ρ per iteration; ρ = 1: neither (cycles for modulus-1 complex pairs);
        ρ > 1: diverges. For a 2×2 map with a complex pair (or a double root) the two numbers are equal; |det T|
        is a well-conditioned function of T, ρ is not at a double root (an O(ε) change of T moves it by O(√ε)).
        """
        T = self.update_matrix(method, h, momentum)
        lam = self.update_eigenvalues(method, h, momentum)
        return {"spectral_radius": float(np.max(np.abs(lam))),
                "geometric_modulus": float(abs(np.linalg.det(T)) ** (1.0 / T.shape[0]))}


def _player_step(J: Array, player: int, h: float, beta: float, n: int) -> Array:
    """Linear map of one (momentum) GD step of ``player`` (0: θ, 1: ψ) on the state of size n (2 or 4)."""
    S = np.eye(n)
    grad = -J[player]  # g = −(J x)_player as a row over (θ, ψ)
    if n == 2:
        S[player, :2] -= h * grad
        return S
    b = 2 + player
    S[b, :] = 0.0
    S[b, :2] = grad
    S[b, b] = beta  # b' = β b + g
    S[player, :] = -h * S[b, :]
    S[player, player] += 1.0  # p' = p − h b'
    return S


def eig2(M: ArrayLike) -> Array:
    """Eigenvalues of a real 2×2 matrix in closed form, tr/2 ± √(tr²/4 − det) (complex when negative)."""
    M = np.asarray(M, float)
    if M.shape != (2, 2):
        raise ValueError(f"eig2 needs a 2x2 matrix; got shape {M.shape}")
    tr, det = M[0, 0] + M[1, 1], M[0, 0] * M[1, 1] - M[0, 1] * M[1, 0]
    disc = complex(tr * tr / 4.0 - det)
    root = np.sqrt(disc)
    return np.array([tr / 2.0 + root, tr / 2.0 - root])


__all__ = ["DIRAC_LOSSES", "DiracGAN", "LossTerms", "METHODS", "REGULARIZERS", "Term", "alpha_activation",
           "dirac_loss_terms", "eig2", "fgan_terms"]
