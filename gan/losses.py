"""One registry of adversarial objectives, on discriminator logits (torch).

Every loss is three element-wise terms of the discriminator's raw output v (a logit for the
classification losses, a critic value for WGAN/LSGAN/hinge, the pre-activation of g_f for f-GAN):

    D loss = mean(d_real(v_real)) + mean(d_fake(v_fake))        (D minimises; −(D loss) is the value V(D))
    G loss = mean(g_fake(v_fake))                                 (G minimises)

Means are taken over ``dim`` (default: the last, the batch), so logits of shape (S, B) from S
seed-parallel models give per-seed losses of shape (S,). Real and fake logits may differ in size
along ``dim`` only (never broadcast); see :meth:`AdversarialLoss.d_loss`. Everything is written with softplus /
logsigmoid on logits, never log(sigmoid(v)). Each loss names the analytic objective of
:mod:`divergences.objectives` whose value function is −(D loss) (``analytic``), which the tests
use to cross-check this layer against the closed forms.

| name | d_real(v) | d_fake(v) | g_fake(v) | reference |
|---|---|---|---|---|
| minimax | softplus(−v) | softplus(v) | −softplus(v) = log(1 − D) | Goodfellow et al. 2014 (saturating) |
| ns | softplus(−v) | softplus(v) | softplus(−v) = −log D | Goodfellow et al. 2014 (non-saturating) |
| wgan | −v | v | −v | Arjovsky et al. 2017 |
| lsgan (a, b, c) | ½(v − b)² | ½(v − a)² | ½(v − c)² | Mao et al. 2017 |
| hinge | relu(1 − v) | relu(1 + v) | −v | Lim & Ye 2017; Miyato et al. 2018 |
| alpha (α) | ℓ_α(1, σ(v)) | ℓ_α(0, σ(v)) | −ℓ_α(0, σ(v)) (saturating, one value function) | Kurri et al. 2021 |
| alpha_d_alpha_g (α_D, α_G) | ℓ_{α_D}(1, σ(v)) | ℓ_{α_D}(0, σ(v)) | ℓ_{α_G}(1, σ(v)) (non-saturating) | Welfert et al. 2023, 2024 |
| fgan_<f> | −g_f(v) | f*(g_f(v)) | −g_f(v) (Nowozin's alternative) or −f*(g_f(v)) | Nowozin et al. 2016 |

ℓ_α is the α-loss (Sypherd et al. 2019); α → 1 is the log-loss, so ``alpha`` at α = 1 is
``minimax`` and ``alpha_d_alpha_g`` at (1, 1) is ``ns``. The f-GAN activation g_f and the
composite f*(g_f(v)) are the analytic records' own expressions (``FDivergence.activation`` and
``conj_activation``) evaluated with torch ops, not rewritten here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from divergences import F_DIVERGENCES, get_f
from divergences._numerics import check_alpha
from divergences.fdiv import alpha_reward_log

Term = Callable[[torch.Tensor], torch.Tensor]


def _softplus(v: torch.Tensor) -> torch.Tensor:
    """log(1 + e^v) = −log σ(−v), exact for every v (``F.softplus`` switches to the identity above 20)."""
    return -F.logsigmoid(-v)


class TorchOps:
    """The ops namespace the analytic records' f-GAN expressions are evaluated with (see ``divergences.NumpyOps``)."""

    exp = staticmethod(torch.exp)
    log = staticmethod(torch.log)
    log1p = staticmethod(torch.log1p)
    expm1 = staticmethod(torch.expm1)
    sqrt = staticmethod(torch.sqrt)
    tanh = staticmethod(torch.tanh)
    abs = staticmethod(torch.abs)
    where = staticmethod(torch.where)
    ones_like = staticmethod(torch.ones_like)
    softplus = staticmethod(_softplus)
    sigmoid = staticmethod(torch.sigmoid)


TORCH_OPS = TorchOps()


@dataclass(frozen=True)
class AdversarialLoss:
    """Element-wise terms of one adversarial objective (see the module table)."""

    name: str
    d_real: Term
    d_fake: Term
    g_fake: Term
    analytic: tuple[str, dict] = ("vanilla", {})
    params: dict = field(default_factory=dict)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, dim: int = -1) -> torch.Tensor:
        """mean over ``dim`` of d_real(real) + mean over ``dim`` of d_fake(fake).

        Shapes: ``real`` and ``fake`` are floating-point tensors with the same number of axes and
        the same size on every axis except the batch axis ``dim``, where each needs at least one
        sample and the sizes may differ (e.g. B real and B' fake logits, or PacGAN packs); the
        result has the shape of the other axes ((S,) for seed-parallel (S, B) and (S, B') logits,
        () for (B,) and (B',)). Anything that would broadcast ((4,) against (3, 2), (S, B)
        against (1, B), (B, 1) against (B,)) raises ``ValueError``; integer, bool or complex logits
        and non-tensors raise ``TypeError``.
        """
        axis = _check_logits("real", real, dim)
        _check_logits("fake", fake, dim)
        if real.ndim != fake.ndim or any(a != b for i, (a, b) in enumerate(zip(real.shape, fake.shape)) if i != axis):
            raise ValueError(f"real logits {tuple(real.shape)} and fake logits {tuple(fake.shape)} must have the same "
                             f"shape on every axis except the batch axis dim={dim} (no broadcasting)")
        return self.d_real(real).mean(dim) + self.d_fake(fake).mean(dim)

    def g_loss(self, fake: torch.Tensor, dim: int = -1) -> torch.Tensor:
        """mean over ``dim`` of g_fake(fake); ``fake`` as in :meth:`d_loss` (at least one sample along ``dim``)."""
        _check_logits("fake", fake, dim)
        return self.g_fake(fake).mean(dim)


def _check_logits(name: str, v: torch.Tensor, dim: int) -> int:
    """Validate one logit tensor of :meth:`AdversarialLoss.d_loss` / ``g_loss``; return ``dim`` as a non-negative axis.

    Shape and dtype checks only: no host sync (non-finite logits are the trainers' divergence checks' business).
    """
    if not isinstance(v, torch.Tensor):
        raise TypeError(f"{name} logits must be a floating-point torch.Tensor; got {type(v).__name__}")
    if not v.is_floating_point():
        raise TypeError(f"{name} logits must be a floating-point tensor (float16/bfloat16/float32/float64); "
                        f"got dtype {v.dtype}")
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an integer axis; got {dim!r}")
    if v.ndim == 0 or not -v.ndim <= dim < v.ndim:
        raise ValueError(f"{name} logits of shape {tuple(v.shape)} have no axis dim={dim} (a batch axis is needed)")
    axis = dim % v.ndim
    if v.shape[axis] == 0:
        raise ValueError(f"{name} logits of shape {tuple(v.shape)} hold no sample along the batch axis dim={dim}: "
                         f"a mean over an empty batch is undefined")
    return axis


def _real_number(name: str, value: object, what: str) -> float:
    """``value`` as a float if it is a real number (int, float, numpy scalar, 0-d array); bools and strings raise
    ``ValueError`` (``float(True)`` and ``float("2")`` would pass)."""
    arr = None if isinstance(value, (str, bytes)) else np.asarray(value)
    if arr is None or arr.ndim != 0 or arr.dtype.kind not in "iuf":
        raise ValueError(f"{what} {name} must be a real number (not a bool or a string); got {name}={value!r}")
    return float(arr)


def _alpha_loss_term(alpha: float, label: int) -> Term:
    """v ↦ ℓ_α(label, σ(v)) = −α-reward of log σ(±v) (stable for every α ∈ (0, ∞], α = 1 log-loss)."""
    sign = 1.0 if label == 1 else -1.0
    return lambda v: -alpha_reward_log(alpha, F.logsigmoid(sign * v), TORCH_OPS)


def minimax() -> AdversarialLoss:
    """Saturating GAN: G minimises E_Q log(1 − D(G(z))) (Goodfellow et al. 2014, eq. 1)."""
    return AdversarialLoss("minimax", lambda v: _softplus(-v), _softplus, lambda v: -_softplus(v))


def ns() -> AdversarialLoss:
    """Non-saturating GAN: same D as minimax; G minimises −E_Q log D(G(z)) (Goodfellow et al. 2014, §3)."""
    return AdversarialLoss("ns", lambda v: _softplus(-v), _softplus, lambda v: _softplus(-v))


def wgan() -> AdversarialLoss:
    """WGAN: critic maximises E_P v − E_Q v (Lipschitz constraint by a regulariser); G minimises −E_Q v."""
    return AdversarialLoss("wgan", lambda v: -v, lambda v: v, lambda v: -v, analytic=("wgan", {}))


def lsgan(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> AdversarialLoss:
    """Least squares GAN (Mao et al. 2017): D: ½E_P(v − b)² + ½E_Q(v − a)²; G: ½E_Q(v − c)². Default 0-1-1 coding."""
    a, b, c = (_real_number(n, t, "LSGAN target") for n, t in (("a", a), ("b", b), ("c", c)))
    if not all(map(math.isfinite, (a, b, c))):
        raise ValueError(f"LSGAN targets must be finite; got a={a}, b={b}, c={c}")
    if a == b:
        raise ValueError(f"LSGAN needs distinct targets a (fake) and b (real); got a = b = {a}")
    return AdversarialLoss(
        "lsgan", lambda v: 0.5 * (v - b) ** 2, lambda v: 0.5 * (v - a) ** 2, lambda v: 0.5 * (v - c) ** 2,
        analytic=("lsgan", {"a": a, "b": b, "c": c}), params={"a": a, "b": b, "c": c},
    )


def hinge() -> AdversarialLoss:
    """Hinge loss (Lim & Ye 2017): D: E_P relu(1 − v) + E_Q relu(1 + v); G: −E_Q v."""
    return AdversarialLoss("hinge", lambda v: F.relu(1.0 - v), lambda v: F.relu(1.0 + v), lambda v: -v,
                           analytic=("hinge", {}))


def alpha(alpha: float = 2.0) -> AdversarialLoss:
    """α-GAN (Kurri et al. 2021): one value function V_α; D: ℓ_α(1, D) on real, ℓ_α(0, D) on fake; G: −ℓ_α(0, D)."""
    a = check_alpha(alpha)
    d_fake = _alpha_loss_term(a, 0)
    return AdversarialLoss("alpha", _alpha_loss_term(a, 1), d_fake, lambda v: -d_fake(v),
                           analytic=("alpha", {"alpha": a}), params={"alpha": a})


def alpha_d_alpha_g(alpha_d: float = 1.0, alpha_g: float = 1.0) -> AdversarialLoss:
    """(α_D, α_G)-GAN (Welfert et al. 2023/2024): D as α-GAN with α_D; G minimises the non-saturating E_Q ℓ_{α_G}(1, D)."""
    ad, ag = check_alpha(alpha_d), check_alpha(alpha_g)
    return AdversarialLoss("alpha_d_alpha_g", _alpha_loss_term(ad, 1), _alpha_loss_term(ad, 0), _alpha_loss_term(ag, 1),
                           analytic=("alpha", {"alpha": ad}), params={"alpha_d": ad, "alpha_g": ag})


def fgan(f: str = "kl", g_form: str = "alternative", alpha: float | None = None) -> AdversarialLoss:
    """f-GAN (Nowozin et al. 2016): T = g_f(v); D maximises E_P T − E_Q f*(T); G minimises −E_Q g_f(v)
    (``g_form="alternative"``, the paper's recommended heuristic) or −E_Q f*(g_f(v)) (``"saturating"``).
    """
    if alpha is not None and f != "arimoto":
        raise ValueError(f"alpha is a parameter of the 'arimoto' f-GAN only; got alpha={alpha!r} with f={f!r}")
    rec = get_f(f, alpha)
    act = lambda v: rec.activation(v, TORCH_OPS)
    conj = lambda v: rec.conj_activation(v, TORCH_OPS)
    forms = {"alternative": lambda v: -act(v), "saturating": lambda v: -conj(v)}
    if not isinstance(g_form, str) or g_form not in forms:
        raise ValueError(f"g_form must be one of {sorted(forms)}; got {g_form!r}")
    params = {"f": rec.name, "g_form": g_form} | ({"alpha": alpha} if alpha is not None else {})
    analytic = ("arimoto", {"alpha": alpha}) if alpha is not None else (rec.name, {})
    return AdversarialLoss(f"fgan_{rec.name}", lambda v: -act(v), conj, forms[g_form], analytic=analytic, params=params)


LOSSES: dict[str, Callable[..., AdversarialLoss]] = {
    "minimax": minimax, "ns": ns, "wgan": wgan, "lsgan": lsgan, "hinge": hinge, "alpha": alpha,
    "alpha_d_alpha_g": alpha_d_alpha_g,
    **{f"fgan_{name}": (lambda name: lambda **kw: fgan(name, **kw))(name) for name in F_DIVERGENCES},
    "fgan_arimoto": lambda alpha, **kw: fgan("arimoto", alpha=alpha, **kw),
}


def get_loss(name: str, **params) -> AdversarialLoss:
    """Build the loss registered as ``name`` with its parameters (e.g. ``get_loss("alpha", alpha=2)``).

    Unknown names and bad parameters raise ``ValueError`` naming what is allowed.
    """
    if not isinstance(name, str):
        raise TypeError(f"loss name must be a string; got {type(name).__name__}")
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    try:
        return LOSSES[name](**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters {params} for loss {name!r}: {exc}") from None


# ----------------------------------------------------------------------------- the one spelling of a loss
def format_loss_spec(name: str, params: Mapping[str, Any] | None = None) -> str:
    """The canonical spelling of a loss with its parameters, ``NAME[:key=value,...]`` (keys sorted, numbers in their
    shortest form): the one vocabulary of every command line, table and figure.

    >>> format_loss_spec("alpha_d_alpha_g", {"alpha_g": 1.2, "alpha_d": 0.5})
    'alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2'
    >>> format_loss_spec("ns")
    'ns'
    """
    if not params:
        return name
    shown = {k: (f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v))
             for k, v in params.items()}
    return name + ":" + ",".join(f"{k}={shown[k]}" for k in sorted(shown))


def parse_loss_spec(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME[:key=value,...]`` → (name, params), numbers as floats, other values as strings; the loss is built
    once to check it (ValueError naming the problem and what is allowed).

    >>> parse_loss_spec("alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2")
    ('alpha_d_alpha_g', {'alpha_d': 0.5, 'alpha_g': 1.2})
    >>> parse_loss_spec("fgan_kl:g_form=saturating")
    ('fgan_kl', {'g_form': 'saturating'})
    """
    if not isinstance(text, str):
        raise TypeError(f"a loss is written NAME[:key=value,...] (a string); got {type(text).__name__}")
    name, _, rest = text.strip().partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"loss {text!r}: parameters are written key=value, comma-separated (e.g. "
                             f"alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2); got {item!r}")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            params[key.strip()] = value.strip()
    if rest and not params:
        raise ValueError(f"loss {text!r}: nothing after ':' (write NAME or NAME:key=value,...)")
    get_loss(name, **params)
    return name, params
