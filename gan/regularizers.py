"""Discriminator regularizers and the training options object (torch).

Every penalty works for two kinds of discriminators (critics):

* an ordinary ``nn.Module`` on samples ``x`` of shape ``(B, *features)`` returning ``(B,)`` or
  ``(B, 1)`` logits: ``sample_ndim=1`` (the default); the penalty is a scalar (shape ``()``);
* a seed-parallel discriminator (S models evaluated at once, stacked parameters) on ``x`` of
  shape ``(S, B, *features)`` returning ``(S, B)`` (or ``(S, B, 1)``): ``sample_ndim=2``; the
  penalty has shape ``(S,)``, entry s being exactly the penalty of seed s alone.

In general the first ``sample_ndim`` axes of ``x`` index samples, the rest are features;
gradient norms are taken over the feature axes, expectations over the **last** sample axis (the
batch), and every leading axis is kept. The critic's output must have shape
``x.shape[:sample_ndim]`` (a trailing singleton axis, the usual ``nn.Linear(h, 1)`` head, is
dropped); anything else raises ``ValueError`` (typically: a seed-parallel critic called without
``sample_ndim=2``). Per-sample input gradients are formed as ∂(Σ outputs)/∂x, which is exact when
samples do not interact inside the critic (no batch norm, no minibatch layers).

Penalties are discriminator-side regularizers: their input points are detached from any
generator graph and built with ``create_graph=True``, so ``penalty.backward()`` reaches the
critic's parameters. Randomness (interpolation weights, DRAGAN perturbations, instance noise) is
drawn from an explicit ``torch.Generator`` on the device of the data, or, for a seed-parallel
batch, from a sequence of S generators, one per seed (:func:`draw`); nothing here touches
global random state, except :func:`spectral_normalize`, whose torch implementation draws its
initial singular vectors from torch's global generator (it consumes, never seeds, it).

| function | formula | reference |
|---|---|---|
| :func:`clip_weights_` | θ ← clip(θ, −c, c) after each critic step | Arjovsky et al. 2017 |
| :func:`gradient_penalty` | λ E_x̂ (‖∇D(x̂)‖₂ − 1)², x̂ = εx + (1−ε)x̃, ε ~ U[0, 1) | Gulrajani et al. 2017 |
| :func:`r1_penalty` | γ/2 E_P ‖∇D(x)‖₂² | Mescheder et al. 2018 |
| :func:`dragan_penalty` | λ E (‖∇D(x + δ)‖₂ − 1)², δ = 0.5 std(x) U[0, 1) | Kodali et al. 2017 |
| :func:`spectral_normalize` | W ← W / σ_max(W) for every Linear / Conv layer | Miyato et al. 2018 |
| :func:`one_sided_label_smoothing` | real target 0.9 in the cross-entropy D loss | Salimans et al. 2016 |
| :class:`InstanceNoise` | D sees x + σ_t ξ, ξ ~ N(0, I), σ_t annealed | Sønderby et al. 2017; Arjovsky & Bottou 2017 |
| :func:`consensus_penalty` | γ/2 ‖v‖², v = (∇_{θ_i} L_i)_i, added to every player's loss | Mescheder, Nowozin & Geiger 2017 |
| :func:`lazy_weight` | a penalty every k-th step with its weight × k (same expected penalty per step) | Karras et al. 2020a, §3.1 |
| :func:`consistency_penalty` | λ E ‖D(x) − D(T(x))‖² (CR on reals; bCR also on fakes) | Zhang et al. 2020; Zhao et al. 2021 |
| :func:`orthogonal_penalty` | β Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F over G's layer weights | Brock et al. 2019, eq. 3 |
| :func:`path_length_penalty` | E (‖J_wᵀ y‖₂ − a)², y ~ N(0, I)/√(HW), a the running mean of ‖J_wᵀ y‖ | Karras et al. 2020a, §3.2 |

The last four are image-GAN regularizers (``TrainOptions.image_only`` lists the ones a configuration
sets); the consistency transforms T come from :data:`gan.nets.diffaugment.TRANSFORMS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence, Union

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from .losses import AdversarialLoss
from .schedules import LR_SCHEDULES

Critic = Callable[[torch.Tensor], torch.Tensor]
Generators = Union[torch.Generator, Sequence[torch.Generator]]
"""Explicit randomness: one ``torch.Generator``, or one per seed (leading axis) for seed-parallel batches."""

PENALTIES = ("gp", "r1", "dragan")
SMOOTHABLE_LOSSES = ("minimax", "ns", "alpha", "alpha_d_alpha_g")


# ----------------------------------------------------------------------------- validation helpers
def _check_generator(generator: Generators) -> None:
    if isinstance(generator, torch.Generator):
        return
    if isinstance(generator, Sequence) and len(generator) > 0 and all(isinstance(g, torch.Generator) for g in generator):
        return
    raise TypeError("generator must be a torch.Generator or a non-empty sequence of them, one per seed "
                    f"(explicit randomness); got {type(generator).__name__}")


def draw(kind: str, shape: Sequence[int], generator: Generators, dtype: torch.dtype,
         device: torch.device) -> torch.Tensor:
    """``torch.rand``/``torch.randn`` (``kind`` = "rand"/"randn") of ``shape`` from explicit generators.

    One generator draws the whole tensor. A sequence of S generators (seed-parallel use) draws
    slice s of the leading axis (``shape[0]`` must equal S) from generator s alone, so a seed's
    numbers do not depend on which other seeds share its batch (S calls, one per seed).
    """
    fn = {"rand": torch.rand, "randn": torch.randn}[kind]
    if isinstance(generator, torch.Generator):
        return fn(tuple(shape), generator=generator, dtype=dtype, device=device)
    if len(shape) == 0 or shape[0] != len(generator):
        raise ValueError(f"{len(generator)} per-seed generators need a leading axis of that length; got shape {tuple(shape)}")
    return torch.stack([fn(tuple(shape[1:]), generator=g, dtype=dtype, device=device) for g in generator])


def _check_sample_ndim(x: torch.Tensor, sample_ndim: int, name: str = "x") -> None:
    if isinstance(sample_ndim, bool) or not isinstance(sample_ndim, int) or sample_ndim < 1:
        raise ValueError(f"sample_ndim must be an integer ≥ 1 (1: (B, ...), 2: seed-parallel (S, B, ...)); got {sample_ndim!r}")
    if x.ndim <= sample_ndim:
        raise ValueError(
            f"{name} of shape {tuple(x.shape)} has no feature axis after its {sample_ndim} sample axes; "
            f"reshape 1D samples to (..., B, 1)"
        )


def _check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    if isinstance(value, (bool, str, bytes)):  # float(True) and float("2") would pass
        raise TypeError(f"{name} must be a real number; got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number; got {value!r}") from None
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        rng = "[0, inf)" if allow_zero else "(0, inf)"
        raise ValueError(f"{name} must be finite and in {rng}; got {value!r}")
    return v


def critic_outputs(critic: Critic, x: torch.Tensor, sample_ndim: int = 1) -> torch.Tensor:
    """``critic(x)`` as one value per sample, shape ``x.shape[:sample_ndim]``.

    A trailing singleton output axis (``(B, 1)``, ``(S, B, 1)``) is dropped; any other shape
    mismatch raises ``ValueError``.
    """
    out = critic(x)
    want = tuple(x.shape[:sample_ndim])
    if tuple(out.shape) == want:
        return out
    if tuple(out.shape) == want + (1,):
        return out.squeeze(-1)
    hint = " (a seed-parallel critic on (S, B, d) inputs needs sample_ndim=2)" if out.ndim == sample_ndim + 1 else ""
    raise ValueError(
        f"critic output has shape {tuple(out.shape)}; expected {want} or {want + (1,)} "
        f"for input {tuple(x.shape)} with sample_ndim={sample_ndim}{hint}"
    )


def input_gradients(critic: Critic, x: torch.Tensor, sample_ndim: int = 1) -> torch.Tensor:
    """∇_x D(x) per sample, same shape as ``x``, built with ``create_graph=True``.

    ``x`` is detached first (penalties regularise the critic only). The gradient of the sum of
    the outputs equals the per-sample gradients when samples do not interact in the critic.
    """
    _check_sample_ndim(x, sample_ndim)
    x = x.detach().requires_grad_(True)
    out = critic_outputs(critic, x, sample_ndim)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad


def _feature_dims(x: torch.Tensor, sample_ndim: int) -> tuple[int, ...]:
    return tuple(range(sample_ndim, x.ndim))


def gradient_norm_penalty(critic: Critic, x: torch.Tensor, target: float = 1.0, sample_ndim: int = 1) -> torch.Tensor:
    """E_x (‖∇_x D(x)‖₂ − target)² at the given points (the core of WGAN-GP and DRAGAN).

    Shapes: ``x`` (*lead, B, *features) with ``len(lead) = sample_ndim − 1``; returns (*lead,):
    the norm is over the feature axes, the mean over B. Unweighted (multiply by λ yourself or use
    :func:`gradient_penalty` / :func:`dragan_penalty`).
    """
    grad = input_gradients(critic, x, sample_ndim)
    norms = torch.linalg.vector_norm(grad, ord=2, dim=_feature_dims(x, sample_ndim))
    return ((norms - target) ** 2).mean(-1)


def random_interpolates(real: torch.Tensor, fake: torch.Tensor, generator: Generators,
                        sample_ndim: int = 1) -> torch.Tensor:
    """x̂ = ε x_real + (1 − ε) x_fake with one ε ~ U[0, 1) per sample (Gulrajani et al. 2017, Alg. 1).

    Shapes: ``real`` and ``fake`` (*lead, B, *features); ε has shape (*lead, B) and is broadcast
    over the features; the result is detached. ε is drawn from ``generator`` (on the data's device).
    """
    _check_generator(generator)
    _check_sample_ndim(real, sample_ndim, "real")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape; got {tuple(real.shape)} and {tuple(fake.shape)}")
    eps_shape = tuple(real.shape[:sample_ndim]) + (1,) * (real.ndim - sample_ndim)
    eps = draw("rand", eps_shape, generator, real.dtype, real.device)
    return (eps * real.detach() + (1.0 - eps) * fake.detach()).detach()


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, generator: Generators,
                     weight: float = 10.0, sample_ndim: int = 1) -> torch.Tensor:
    """WGAN-GP penalty λ E_x̂ (‖∇D(x̂)‖₂ − 1)² on random interpolates x̂ of real and fake samples.

    Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville (2017), "Improved training of Wasserstein
    GANs", eq. (3), λ = 10. x̂ = εx + (1−ε)x̃, ε ~ U[0, 1) per sample, drawn from ``generator``
    (see :func:`random_interpolates`). Shapes: (*lead, B, *features) → (*lead,): a scalar for
    ``sample_ndim=1``, (S,) for a seed-parallel critic with ``sample_ndim=2``. Add it to the
    critic's loss; it is differentiable in the critic's parameters.

    >>> import torch
    >>> w = torch.tensor([[0.6, 0.8]])  # D(x) = w·x, ‖w‖ = 1: no penalty
    >>> g = torch.Generator().manual_seed(0)
    >>> gp = gradient_penalty(lambda x: x @ w.T, torch.randn(4, 2, generator=g), torch.randn(4, 2, generator=g), g)
    >>> round(float(gp.detach()), 12)
    0.0
    """
    w = _check_positive("weight", weight, allow_zero=True)
    x_hat = random_interpolates(real, fake, generator, sample_ndim)
    return w * gradient_norm_penalty(critic, x_hat, 1.0, sample_ndim)


def r1_penalty(critic: Critic, real: torch.Tensor, gamma: float = 10.0, sample_ndim: int = 1) -> torch.Tensor:
    """R1 penalty γ/2 E_P ‖∇_x D(x)‖₂² on real samples, D the raw output (logit).

    Mescheder, Geiger & Nowozin (2018), "Which training methods for GANs do actually converge?",
    eq. (9). Shapes: (*lead, B, *features) → (*lead,) (scalar, or (S,) seed-parallel).

    >>> import torch
    >>> w = torch.tensor([[3.0, 4.0]])  # ‖w‖² = 25
    >>> x = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    >>> float(r1_penalty(lambda x: x @ w.T, x, gamma=2.0).detach())
    25.0
    """
    g = _check_positive("gamma", gamma, allow_zero=True)
    grad = input_gradients(critic, real, sample_ndim)
    sq = grad.pow(2).sum(dim=_feature_dims(real, sample_ndim))
    return 0.5 * g * sq.mean(-1)


def dragan_perturb(real: torch.Tensor, generator: Generators, scale: float = 0.5,
                   sample_ndim: int = 1) -> torch.Tensor:
    """x̂ = x + α (x_p − x) with x_p = x + scale · std(x) · u: u ~ U[0, 1) element-wise, α ~ U[0, 1) per sample.

    The perturbation of the authors' reference code (Kodali et al. 2017, github.com/kodalinaveen3/DRAGAN:
    ``X_p = X + 0.5 * X.std() * U``, gradients at ``X + alpha * (X_p - X)``), which the paper writes as
    x + δ with δ ~ N(0, cI); so δ = α · scale · std(x) · u. u is drawn first, then α (one per sample,
    broadcast over the features). std(x) is the (population, ddof = 0) standard deviation of all entries of
    one batch (sample and feature axes), one value per leading index: for a seed-parallel batch
    (S, B, *features) each seed uses its own std. Shapes preserved; the result is detached.
    """
    _check_generator(generator)
    _check_sample_ndim(real, sample_ndim, "real")
    s = _check_positive("scale", scale, allow_zero=True)
    x = real.detach()
    lead = sample_ndim - 1
    std = x.flatten(lead).std(dim=-1, correction=0)  # numpy's x.std() of the reference code (ddof = 0)
    std = std.reshape(tuple(x.shape[:lead]) + (1,) * (x.ndim - lead))
    u = draw("rand", x.shape, generator, x.dtype, x.device)
    alpha = draw("rand", tuple(x.shape[:sample_ndim]) + (1,) * (x.ndim - sample_ndim), generator, x.dtype, x.device)
    return (x + alpha * (s * std * u)).detach()


def dragan_penalty(critic: Critic, real: torch.Tensor, generator: Generators, weight: float = 10.0,
                   scale: float = 0.5, sample_ndim: int = 1) -> torch.Tensor:
    """DRAGAN penalty λ E (‖∇D(x̂)‖₂ − 1)² around the data, x̂ = x + α · 0.5 std(x) U[0, 1), α ~ U[0, 1).

    Kodali, Abernethy, Hays & Kira (2017), "On convergence and stability of GANs", eq. (4) with
    the perturbation of the authors' code (λ = 10). Shapes: (*lead, B, *features) → (*lead,).
    The perturbation is drawn from ``generator`` (see :func:`dragan_perturb`).
    """
    w = _check_positive("weight", weight, allow_zero=True)
    x = dragan_perturb(real, generator, scale, sample_ndim)
    return w * gradient_norm_penalty(critic, x, 1.0, sample_ndim)


# ----------------------------------------------------------------------------- constraints on the weights
@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """WGAN weight clipping, in place: every parameter θ ← clamp(θ, −c, c).

    Arjovsky, Chintala & Bottou (2017), "Wasserstein GAN", Algorithm 1 (c = 0.01), applied after
    each critic step. Works for stacked seed-parallel parameters too (clipping is element-wise).
    """
    cc = _check_positive("c", c)
    for p in module.parameters():
        p.clamp_(-cc, cc)


_SN_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _has_spectral_norm(layer: nn.Module) -> bool:
    if not parametrize.is_parametrized(layer, "weight"):
        return False
    return any(type(p).__name__ == "_SpectralNorm" for p in layer.parametrizations["weight"])


def spectral_normalize(module: nn.Module, n_power_iterations: int = 1, eps: float = 1e-12) -> nn.Module:
    """Spectral normalization W ← W / σ_max(W) of every Linear and (transposed) Conv layer, in place.

    Miyato, Kataoka, Koyama & Yoshida (2018), "Spectral normalization for GANs": σ_max is
    estimated by ``n_power_iterations`` steps of the power method per forward pass in training
    mode (``torch.nn.utils.parametrizations.spectral_norm``; conv kernels are reshaped to
    (out, in·k...) matrices, transposed convs along dim 1). Layers that already carry spectral
    normalization are left alone (idempotent). Equalized-learning-rate layers (StyleGAN2's, flagged
    ``spectral_norm_replaces_gain``) are normalised too, and their run-time scale λ/√fan_in is dropped:
    the layer then uses W/σ_max(W) itself. Returns ``module``.

    Not for seed-parallel critics whose weights are stacked (S, ...) tensors rather than Linear
    layers: torch's implementation would normalise the stacked tensor as one matrix.
    """
    if isinstance(n_power_iterations, bool) or not isinstance(n_power_iterations, int) or n_power_iterations < 1:
        raise ValueError(f"n_power_iterations must be an integer ≥ 1; got {n_power_iterations!r}")
    e = _check_positive("eps", eps)
    for layer in list(module.modules()):
        equalized = getattr(layer, "spectral_norm_replaces_gain", False)
        if (isinstance(layer, _SN_LAYERS) or equalized) and not _has_spectral_norm(layer):
            nn.utils.parametrizations.spectral_norm(layer, "weight", n_power_iterations=n_power_iterations, eps=e)
            if equalized:  # an equalized-lr layer (gan.nets.equalized): its weight is now W/σ(W), used as is
                layer.weight_gain = 1.0
    return module


# ----------------------------------------------------------------------------- loss wrappers
def one_sided_label_smoothing(loss: AdversarialLoss, real_target: float = 0.9) -> AdversarialLoss:
    """The D loss with real targets ``real_target`` (0.9) instead of 1; fake targets stay 0.

    Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen (2016), "Improved techniques for
    training GANs", §3.4. For the cross-entropy-type losses (``minimax``, ``ns``, ``alpha``,
    ``alpha_d_alpha_g``) the per-sample loss is linear in the label, ℓ(y, D) = y ℓ(1, D) +
    (1 − y) ℓ(0, D), so on logits

        d_real'(v) = s · d_real(v) + (1 − s) · d_fake(v),   s = real_target

    (for ``minimax``/``ns``: s·softplus(−v) + (1−s)·softplus(v), the cross-entropy with target s);
    d_fake and the generator term are unchanged. The smoothed D* is no longer a registered
    closed form (vanilla: s·p/(p+q)), so ``analytic`` names an objective the analytic layer
    rejects. Other losses (WGAN, hinge, LSGAN, which has its own targets, f-GANs) raise ValueError.
    """
    if not isinstance(loss, AdversarialLoss):
        raise TypeError(f"loss must be an AdversarialLoss; got {type(loss).__name__}")
    if loss.name not in SMOOTHABLE_LOSSES:
        raise ValueError(
            f"one-sided label smoothing applies to the cross-entropy-type losses {SMOOTHABLE_LOSSES}; "
            f"got {loss.name!r}"
        )
    try:
        s = float(real_target)
    except (TypeError, ValueError):
        raise TypeError(f"real_target must be a real number; got {real_target!r}") from None
    if not (0.0 < s <= 1.0):
        raise ValueError(f"real_target must lie in (0, 1]; got {real_target!r}")
    d_real, d_fake = loss.d_real, loss.d_fake
    smoothed = lambda v: s * d_real(v) + (1.0 - s) * d_fake(v)
    return replace(
        loss, name=f"{loss.name}+smooth({s:g})", d_real=smoothed,
        analytic=("one_sided_smoothing", {"base": loss.analytic, "real_target": s}),
        params={**loss.params, "real_target": s},
    )


# ----------------------------------------------------------------------------- instance noise
def add_instance_noise(x: torch.Tensor, sigma: float, generator: Generators) -> torch.Tensor:
    """x + σ ξ with ξ ~ N(0, I) drawn from ``generator`` (same shape as x; σ = 0 returns x itself).

    Instance noise (Sønderby et al. 2017, "Amortised MAP inference for image super-resolution",
    §3.2; Arjovsky & Bottou 2017, §3.1): the discriminator sees real and fake samples convolved
    with N(0, σ²I), so their laws overlap and D's gradients do not vanish. Apply it to both.
    """
    _check_generator(generator)
    s = _check_positive("sigma", sigma, allow_zero=True)
    if s == 0.0:
        return x
    return x + s * draw("randn", x.shape, generator, x.dtype, x.device)


@dataclass(frozen=True)
class InstanceNoise:
    """Instance noise with σ annealed linearly to 0: σ_t = σ · max(0, 1 − t/T) (T = ``anneal_steps``).

    ``anneal_steps=None`` keeps σ constant. Call ``noise(x, generator, step)`` on real and fake
    inputs of D alike (see :func:`add_instance_noise`).
    """

    sigma: float
    anneal_steps: int | None = None

    def __post_init__(self) -> None:
        _check_positive("sigma", self.sigma, allow_zero=True)
        a = self.anneal_steps
        if a is not None and (isinstance(a, bool) or not isinstance(a, int) or a < 1):
            raise ValueError(f"anneal_steps must be None or an integer ≥ 1; got {a!r}")

    def sigma_at(self, step: int) -> float:
        """σ_t at generator step ``step`` ≥ 0."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step must be a non-negative integer; got {step!r}")
        if self.anneal_steps is None:
            return float(self.sigma)
        return float(self.sigma) * max(0.0, 1.0 - step / self.anneal_steps)

    def __call__(self, x: torch.Tensor, generator: Generators, step: int = 0) -> torch.Tensor:
        return add_instance_noise(x, self.sigma_at(step), generator)


# ----------------------------------------------------------------------------- consensus optimization
def consensus_penalty(losses: Sequence[torch.Tensor], params: Sequence[Sequence[torch.Tensor]],
                      gamma: float = 1.0) -> torch.Tensor:
    """Consensus optimization's regularizer γ/2 ‖v‖², v = (∇_{θ_1} L_1, …, ∇_{θ_k} L_k).

    Mescheder, Nowozin & Geiger (2017), "The numerics of GANs", §4 and Algorithm 1: with L(x) = ½‖v(x)‖² the
    players follow w = v − γ∇L instead of the game's gradient field v; in the minimisation convention every
    player i minimises L_i + γ L, i.e. adds this penalty to its own loss. ``losses[i]`` is player i's scalar
    loss and ``params[i]`` its parameters; v is formed with ``create_graph=True`` so that the penalty can be
    differentiated (a second-order term: ∇(½‖v‖²) = (∂v)ᵀ v). For seed-parallel players pass the sum of the
    per-seed losses: seeds share no parameter, so v stacks the per-seed fields and the penalty is the sum of the
    per-seed penalties, whose gradient in seed s's parameters is seed s's alone.

    >>> import torch
    >>> x, y = torch.tensor(3.0, requires_grad=True), torch.tensor(4.0, requires_grad=True)
    >>> float(consensus_penalty([x * y, -x * y], [[x], [y]], gamma=2.0).detach())  # v = (y, −x): γ/2 (16 + 9)
    25.0
    """
    g = _check_positive("gamma", gamma, allow_zero=True)
    if len(losses) != len(params) or not losses:
        raise ValueError(f"need one parameter list per loss; got {len(losses)} losses and {len(params)} parameter lists")
    total = None
    for loss, ps in zip(losses, params):
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            raise ValueError(f"each loss must be a scalar tensor (sum per-seed losses first); got "
                             f"{tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__}")
        ps = list(ps)
        grads = torch.autograd.grad(loss, ps, create_graph=True, allow_unused=True)
        for p, gr in zip(ps, grads):
            sq = (gr.pow(2).sum() if gr is not None else p.new_zeros(()))
            total = sq if total is None else total + sq
    return 0.5 * g * total


# ----------------------------------------------------------------------------- image-GAN regularizers
def lazy_weight(weight: float, interval: int, step: int) -> float:
    """Lazy regularization (Karras et al. 2020a, §3.1): the weight of a penalty at step ``step`` ≥ 0 when it is
    evaluated only every ``interval`` steps, k·λ at steps 0, k, 2k, … and 0 elsewhere — so the penalty per step,
    averaged over any k consecutive steps, equals λ times the penalty evaluated every step.

    >>> [lazy_weight(10.0, 4, t) for t in range(6)]
    [40.0, 0.0, 0.0, 0.0, 40.0, 0.0]
    """
    w = _check_positive("weight", weight, allow_zero=True)
    for name, v, lo in (("interval", interval, 1), ("step", step, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{name} must be an integer ≥ {lo}; got {v!r}")
    return w * interval if step % interval == 0 else 0.0


Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def consistency_penalty(critic: Critic, x: torch.Tensor, transform: Transform, generator: torch.Generator,
                        weight: float = 10.0, logits: torch.Tensor | None = None) -> torch.Tensor:
    """Consistency regularization λ E_x ‖D(x) − D(T(x))‖² on a batch of images x (B, C, H, W); scalar.

    CR (Zhang, Zhang, Odena & Lee 2020, "Consistency regularization for GANs", eq. 1, λ = 10) applies it to
    the real images; balanced CR (bCR; Zhao, Singh, Lee, Zhang, Odena & Zhang 2021, "Improved consistency
    regularization for GANs", Alg. 1) adds the same term on generated images with its own weight
    (λ_real = λ_fake = 10). D(·) is the discriminator's output before the loss (the logit), ‖·‖² the
    squared difference per image, averaged over the batch. T is a random semantics-preserving transform
    drawn from ``generator`` (:func:`gan.nets.diffaugment.consistency_transform`, e.g. flip + translation).

    Only D is regularized: x is detached first, so no gradient reaches the generator. ``logits`` may pass
    D(x) already computed on the same (detached, generator-free) x to save a forward pass.
    """
    w = _check_positive("weight", weight, allow_zero=True)
    _check_generator(generator)
    if x.ndim != 4:
        raise ValueError(f"consistency regularization needs images of shape (B, C, H, W); got {tuple(x.shape)}")
    x = x.detach()
    here = critic_outputs(critic, x) if logits is None else logits.reshape(x.shape[0])
    there = critic_outputs(critic, transform(x, generator))
    dt = torch.promote_types(there.dtype, torch.float32)  # at least float32 (bf16 logits under autocast)
    return w * (here.to(dt) - there.to(dt)).square().mean()


def _layer_weights(module: nn.Module):
    """Every sub-module's own ``weight`` parameter with ≥ 2 axes (the original under a parametrization),
    embeddings (modules named ``*Embedding``) excepted."""
    for layer in module.modules():
        if "Embedding" in type(layer).__name__:
            continue
        if parametrize.is_parametrized(layer, "weight"):
            w = layer.parametrizations.weight.original
        else:
            w = layer._parameters.get("weight")
        if w is not None and w.ndim >= 2:
            yield w


def orthogonal_penalty(module: nn.Module, weight: float = 1e-4) -> torch.Tensor:
    """BigGAN's orthogonal regularization β Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F (Brock, Donahue & Simonyan 2019, eq. 3).

    W runs over the weight of every layer of ``module`` (Linear, Conv, equalized and modulated layers;
    under spectral norm the stored, un-normalised weight), reshaped to (out, in·k…) so that W Wᵀ is the Gram
    matrix of the filters; embeddings are left out (the reference code exempts G's shared embedding).
    Only the off-diagonal entries are penalised: the filters are pushed towards mutual orthogonality, their
    norms are free. The paper writes WᵀW with filters as columns, the same matrix; β = 10⁻⁴. (The
    reference code adds the gradient 2β (W Wᵀ ⊙ (1 − I)) W directly, i.e. the gradient of half this value.)
    Add it to G's loss. Returns a scalar (0 for a module without weights).
    """
    b = _check_positive("weight", weight, allow_zero=True)
    total = None
    for w in _layer_weights(module):
        m = w.reshape(w.shape[0], -1)
        gram = m @ m.T
        off = gram - torch.diag_embed(torch.diagonal(gram))
        term = off.square().sum()
        total = term if total is None else total + term
    if total is None:
        return torch.zeros(())
    return b * total


def path_length_penalty(images: torch.Tensor, ws: torch.Tensor, pl_mean: torch.Tensor, generator: torch.Generator,
                        decay: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """StyleGAN2's path-length regularizer E_w,y (‖J_wᵀ y‖₂ − a)² (Karras et al. 2020a, §3.2, eq. 4) and the new a.

    ``images`` (B, C, H, W) = g(ws) must have been computed from the per-layer latents ``ws`` (B, L, w_dim) with
    the graph kept. y ~ N(0, I)/√(H·W) is drawn from ``generator`` (the official normalisation, which makes the
    lengths independent of the resolution); J_wᵀ y = ∇_ws ⟨g(ws), y⟩ (one backward pass, ``create_graph=True``);
    the length of sample b is √(mean over the L layers of Σ_dims (J_wᵀ y)²) (the official code; with L = 1
    it is the Euclidean norm). a is the running mean of the lengths, a ← a + decay·(mean_b length_b − a),
    updated before use and kept in the graph for this step as in the official code; the returned new
    running mean is detached. Returns (penalty = mean_b (length_b − a)², scalar; new a, 0-dim).
    """
    _check_generator(generator)
    d = _check_positive("decay", decay)
    if d > 1:
        raise ValueError(f"decay must lie in (0, 1]; got {decay!r}")
    if images.ndim != 4 or ws.ndim != 3 or ws.shape[0] != images.shape[0]:
        raise ValueError(f"path length needs images (B, C, H, W) and ws (B, L, w_dim); got {tuple(images.shape)} "
                         f"and {tuple(ws.shape)}")
    H, W = images.shape[2], images.shape[3]
    y = torch.randn(images.shape, generator=generator, device=generator.device, dtype=torch.float32)
    y = y.to(images.device, images.dtype) / math.sqrt(H * W)
    (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
    dt = torch.promote_types(grad.dtype, torch.float32)  # at least float32 (bf16 under autocast)
    lengths = grad.to(dt).square().sum(dim=2).mean(dim=1).sqrt()
    a = pl_mean.to(dt).lerp(lengths.mean(), d)
    return (lengths - a).square().mean(), a.detach()


# ----------------------------------------------------------------------------- options
IMAGE_ONLY = ("cr_real", "cr_fake", "ortho_weight", "pl_weight", "style_mixing")
"""``TrainOptions`` fields only the image trainer implements (a trainer without them must reject them)."""


@dataclass(frozen=True)
class TrainOptions:
    """What the trainers take besides the loss: update schedule, Adam settings, regularizers.

    Attributes
    ----------
    n_dis : discriminator steps per generator step (≥ 1; WGAN uses 5).
    lr_d, lr_g : Adam learning rates of D and G (different values: TTUR, Heusel et al. 2017).
    beta1, beta2 : Adam moment decays, each in [0, 1) (WGAN-GP: 0, 0.9; DCGAN: 0.5, 0.999).
    lr_schedule : the rates' schedule over the run, a key of :data:`gan.schedules.LR_SCHEDULES` ("constant",
        "linear", "cosine"); the toy trainer only (it knows the run's length).
    penalty : None or one of ``PENALTIES`` ("gp", "r1", "dragan") added to the D loss.
    penalty_weight : its weight, λ for gp / dragan, γ for r1 (> 0).
    clip : None or the weight-clipping bound c > 0 applied after each D step.
    spectral_norm : normalise D's Linear / Conv layers (:func:`spectral_normalize`).
    real_target : None or the one-sided label-smoothing target in (0, 1] (0.9).
    instance_noise : σ ≥ 0 of Gaussian instance noise on D's inputs (0: off).
    instance_noise_anneal : None (constant σ) or the number of G steps over which σ decays to 0.
    penalty_interval : lazy regularization: the penalty every k-th D step with its weight × k (1: every step;
        StyleGAN2: R1 every 16; :func:`lazy_weight`).
    cr_real, cr_fake : consistency-regularization weights on real (CR, 10) and generated (bCR, 10) images; 0 off.
    cr_transform : the transform T, a comma list of :data:`gan.nets.diffaugment.TRANSFORMS` names (checked by the image
        trainer's config, :class:`gan.train.ImageTrainConfig`).
    ortho_weight : β of BigGAN's orthogonal regularization of G (1e-4); 0 off.
    pl_weight, pl_interval, pl_decay, pl_batch_shrink : StyleGAN2 path-length regularization (2, every 4 G steps
        with the weight × 4, running-mean decay 0.01, on batch/2 samples); pl_weight 0 off. Style-based G only.
    style_mixing : probability of style mixing in G (StyleGAN2: 0.9); style-based G only.
    """

    n_dis: int = 1
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_schedule: str = "constant"
    penalty: str | None = None
    penalty_weight: float = 10.0
    clip: float | None = None
    spectral_norm: bool = False
    real_target: float | None = None
    instance_noise: float = 0.0
    instance_noise_anneal: int | None = None
    penalty_interval: int = 1
    cr_real: float = 0.0
    cr_fake: float = 0.0
    cr_transform: str = "flip,translation"
    ortho_weight: float = 0.0
    pl_weight: float = 0.0
    pl_interval: int = 4
    pl_decay: float = 0.01
    pl_batch_shrink: int = 2
    style_mixing: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.n_dis, (bool, np.bool_)) or not isinstance(self.n_dis, (int, np.integer)) or self.n_dis < 1:
            raise ValueError(f"n_dis must be an integer ≥ 1; got {self.n_dis!r}")
        for name in ("lr_d", "lr_g", "penalty_weight"):
            _check_positive(name, getattr(self, name))
        for name in ("beta1", "beta2"):
            b = getattr(self, name)
            if isinstance(b, (bool, np.bool_)) or not isinstance(b, (int, float, np.integer, np.floating)) \
                    or not (0.0 <= b < 1.0):
                raise ValueError(f"{name} must lie in [0, 1); got {b!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {sorted(LR_SCHEDULES)}; got {self.lr_schedule!r}")
        if self.penalty is not None and self.penalty not in PENALTIES:
            raise ValueError(f"penalty must be None or one of {PENALTIES}; got {self.penalty!r}")
        if self.clip is not None:
            _check_positive("clip", self.clip)
        if not isinstance(self.spectral_norm, bool):
            raise ValueError(f"spectral_norm must be True or False; got {self.spectral_norm!r}")
        if self.real_target is not None:
            rt = self.real_target
            if isinstance(rt, bool) or not isinstance(rt, (int, float)) or not (0.0 < rt <= 1.0):
                raise ValueError(f"real_target must be None or lie in (0, 1]; got {rt!r}")
        InstanceNoise(self.instance_noise, self.instance_noise_anneal)  # validates both
        if self.instance_noise_anneal is not None and self.instance_noise == 0:
            raise ValueError("instance_noise_anneal is set but instance_noise is 0; set a σ > 0 or drop the schedule")
        for name in ("penalty_interval", "pl_interval", "pl_batch_shrink"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer ≥ 1; got {v!r}")
        for name in ("cr_real", "cr_fake", "ortho_weight", "pl_weight"):
            _check_positive(name, getattr(self, name), allow_zero=True)
        if _check_positive("pl_decay", self.pl_decay) > 1:
            raise ValueError(f"pl_decay must lie in (0, 1]; got {self.pl_decay!r}")
        sm = self.style_mixing
        if isinstance(sm, bool) or not isinstance(sm, (int, float)) or not (0.0 <= sm <= 1.0):
            raise ValueError(f"style_mixing must be a probability in [0, 1]; got {sm!r}")
        if not isinstance(self.cr_transform, str) or not self.cr_transform.strip():
            raise ValueError(f"cr_transform must be a comma list of transform names such as 'flip,translation'; "
                             f"got {self.cr_transform!r}")
        # the names themselves are checked where the transform is built (gan.nets.diffaugment.parse_transforms, from
        # gan.train.ImageTrainConfig): gan.nets imports this module, so this one must not import gan.nets

    def wrap_loss(self, loss: AdversarialLoss) -> AdversarialLoss:
        """``loss`` with one-sided label smoothing if ``real_target`` is set (ValueError if it does not apply)."""
        return loss if self.real_target is None else one_sided_label_smoothing(loss, self.real_target)

    def noise(self) -> InstanceNoise | None:
        """The instance-noise schedule, or None when σ = 0."""
        return None if self.instance_noise == 0 else InstanceNoise(self.instance_noise, self.instance_noise_anneal)

    def image_only(self) -> tuple[str, ...]:
        """The image-only fields (``IMAGE_ONLY``) this object sets to something other than their default."""
        return tuple(n for n in IMAGE_ONLY if getattr(self, n) != 0)

    def d_penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor, generator: Generators,
                  sample_ndim: int = 1, step: int | None = None) -> torch.Tensor:
        """The weighted penalty term to add to the D loss, shape (*lead,); zeros when ``penalty`` is None.

        With ``penalty_interval`` k > 1 (lazy regularization) ``step`` is the D-step index ≥ 0 and the
        weight is :func:`lazy_weight` (k × weight at steps divisible by k; zeros, computed for free, elsewhere).
        """
        weight = self.penalty_weight
        if self.penalty_interval > 1:
            if step is None:
                raise ValueError(f"penalty_interval={self.penalty_interval} (lazy regularization) needs the D-step "
                                 f"index: d_penalty(..., step=i)")
            weight = lazy_weight(self.penalty_weight, self.penalty_interval, step)
        if self.penalty is None or weight == 0.0:
            _check_sample_ndim(real, sample_ndim, "real")
            return real.new_zeros(real.shape[: sample_ndim - 1])
        if self.penalty == "gp":
            return gradient_penalty(critic, real, fake, generator, weight, sample_ndim)
        if self.penalty == "r1":
            return r1_penalty(critic, real, weight, sample_ndim)
        return dragan_penalty(critic, real, generator, weight, sample_ndim=sample_ndim)
