"""Generator objectives of the toy trainer, by name: the adversarial G loss and two mode-collapse remedies.

The G step of :class:`toy.train.ToyTrainer` minimises Σ_s L_G[s] over the stacked generator, with
L_G[s] one of (per seed s; x_b the real minibatch of the iteration's last D step, z_b ~ N(0, I_k) the
G step's latents, b = 1..B; D_s acts on PacGAN packs / with the minibatch-std feature as configured):

| ``g_objective`` | ``g_objective_params`` | L_G[s] | reference |
|---|---|---|---|
| ``adversarial`` (default) | none | mean_b g_fake(D_s(G_s(z_b))) | the loss's own G term (``gan.losses``) |
| ``feature_matching`` | none | ‖mean_b f_s(x_b) − mean_b f_s(G_s(z_b))‖₂² | Salimans et al. 2016, §3.1 |
| ``unrolled`` | ``steps`` = k ≥ 1, ``lr`` = η, ``optimizer`` sgd / adam | mean_b g_fake(D_{θ_s^k}(G_s(z_b))) | Metz et al. 2017, §2 (surrogate f_K) |

* **Feature matching** replaces the adversarial G loss (the paper's objective, not an added term):
  f_s is the last hidden layer of D_s (:meth:`toy.models.StackedMLP.features`, after its
  activation; width ``d_width``), the real features are a constant target, so only G is moved.
  D is trained as usual with the configured loss.
* **Unrolled D**: θ_s^0 = θ_D[s], θ_s^{i+1} = θ_s^i − η ∇_θ L_D(θ_s^i; x, G_s(z)), i < k, plain
  gradient steps as in Metz et al.'s definition of the unrolled D, with η = ``lr`` (default: the D learning
  rate ``options.lr_d``), on the same real and fake batch at every step (as the authors' code), through
  :func:`gan.remedies.unrolled_g_loss`. The steps are differentiated through (``create_graph=True``):
  ∂L_G/∂θ_G includes (∂L_G/∂θ^k)(dθ^k/dθ_G), the look-ahead's dependence on G, which Metz et al.
  single out as the gradient term a plain G step misses. L_D is the configured (possibly
  label-smoothed) D loss without the penalty, clipping or instance noise of D's real step (those
  regularize D's training, they are not part of the value function Metz et al. unroll). The
  look-ahead is functional: D's parameters, Adam state and spectral-norm vectors are not changed
  (the look-ahead passes use D's current power-iteration vectors u, v without advancing them).

Both use the real minibatch of the iteration's last D step and the G step's latents, so they draw
no random numbers of their own and need no state of their own (nothing to add to checkpoints);
batched seeds stay equal to seeds run alone. Entries register by name with :func:`register_generator_loss`
(with a check of their parameters); :func:`check_generator_loss` validates a name and its parameters and
:func:`build_generator_loss` builds the objective. A toy config names its objective as data
(``ToyConfig.g_objective``, ``g_objective_params``), as it names its adversarial loss.

Note on SGD at an Adam learning rate: it moves D far less than D's own Adam steps (≈ lr_d per coordinate): at
the default ring D's initialisation the median |∂L_D/∂θ| is ≈ 1e-4, so η = lr_d moves it ≈ 1e4× less; set ``lr``
for a look-ahead of the size of D's steps.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

import torch
from torch.func import functional_call

from gan.losses import AdversarialLoss
from gan.regularizers import TrainOptions, critic_outputs
from gan.remedies import feature_matching_loss, unrolled_d_params

from .models import StackedMLP


@dataclass(frozen=True)
class GeneratorStep:
    """What a G objective sees in one G step of S seeds (seed axis first).

    D : the stacked discriminator (its parameters do not require gradients during the G step).
    d_input(x) : samples (S, n, d) → D's input rows (S, n/m, m·d [+1]) (PacGAN packing, minibatch-std feature).
    d_logits(x) : samples (S, n, d) → D's logits (S, n/m), i.e. ``D(d_input(x))`` without the output axis.
    loss : the adversarial loss (after the hooks' ``wrap_loss``).
    real : (S, B, d) real minibatch. fake : (S, B, d) = G(z), attached to G's graph.
    d_optimizer : D's optimizer (its state is read, never changed: the Adam look-ahead of ``unrolled``).
    """

    D: StackedMLP
    d_input: Callable[[torch.Tensor], torch.Tensor]
    d_logits: Callable[[torch.Tensor], torch.Tensor]
    loss: AdversarialLoss
    real: torch.Tensor
    fake: torch.Tensor
    d_optimizer: torch.optim.Optimizer | None = None


GeneratorObjective = Callable[[GeneratorStep], torch.Tensor]
"""A built G objective: :class:`GeneratorStep` → per-seed loss (S,)."""

Builder = Callable[[Mapping[str, Any], TrainOptions], GeneratorObjective]
"""Makes a G objective from its parameters and the training options (read once)."""
Checker = Callable[[Mapping[str, Any]], None]
"""Raises ValueError/TypeError for parameters the objective does not take."""


@dataclass(frozen=True)
class GeneratorLossEntry:
    """A registered G objective: ``build(params, options)`` makes it, ``check(params)`` validates its parameters."""

    build: Builder
    check: Checker


GENERATOR_LOSSES: dict[str, GeneratorLossEntry] = {}
"""Name → entry, in registration order (see the module table)."""

DEFAULT_GENERATOR_LOSS = "adversarial"


def _no_params(params: Mapping[str, Any]) -> None:
    if params:
        raise ValueError(f"this generator objective takes no parameters; got {dict(params)}")


def register_generator_loss(name: str, check: Checker = _no_params) -> Callable[[Builder], Builder]:
    """Decorator registering ``build(params, options) -> objective`` under ``name``."""
    if name in GENERATOR_LOSSES:
        raise ValueError(f"generator loss {name!r} is already registered")

    def deco(build: Builder) -> Builder:
        GENERATOR_LOSSES[name] = GeneratorLossEntry(build, check)
        return build

    return deco


def check_generator_loss(name: str, params: Mapping[str, Any], options: TrainOptions | None = None) -> None:
    """ValueError unless ``name`` is registered and takes ``params``.

    >>> check_generator_loss("unrolled", {"steps": 5})
    >>> check_generator_loss("unrolled", {"steps": 0})
    Traceback (most recent call last):
    ValueError: unrolled: steps must be an integer >= 1; got 0
    """
    if name not in GENERATOR_LOSSES:
        raise ValueError(f"unknown generator objective {name!r}; known: {', '.join(GENERATOR_LOSSES)}")
    if not isinstance(params, Mapping):
        raise TypeError(f"g_objective_params must be a mapping; got {type(params).__name__}")
    GENERATOR_LOSSES[name].check(params)


def build_generator_loss(name: str, params: Mapping[str, Any], options: TrainOptions) -> GeneratorObjective:
    """The objective ``name`` with ``params`` (checked), for a run with ``options``."""
    check_generator_loss(name, params, options)
    return GENERATOR_LOSSES[name].build(params, options)


# ----------------------------------------------------------------------------- the objectives
@register_generator_loss(DEFAULT_GENERATOR_LOSS)
def adversarial(params: Mapping[str, Any], options: TrainOptions) -> GeneratorObjective:
    """L_G[s] = mean_b g_fake(D_s(G_s(z_b))), the configured loss's generator term."""
    return lambda step: step.loss.g_loss(step.d_logits(step.fake))


@register_generator_loss("feature_matching")
def feature_matching(params: Mapping[str, Any], options: TrainOptions) -> GeneratorObjective:
    """L_G[s] = ‖mean_b f_s(x_b) − mean_b f_s(G_s(z_b))‖₂², f = D's last hidden layer (Salimans et al. 2016).

    Means over D's input rows (packs with PacGAN); real and fake rows go through D in one pass, so
    a spectrally normalized D advances its power iteration once per G step, as with the adversarial
    loss. :func:`gan.remedies.feature_matching_loss` detaches the real features.
    """

    def objective(step: GeneratorStep) -> torch.Tensor:
        real, fake = step.d_input(step.real), step.d_input(step.fake)
        h = step.D.features(torch.cat([real, fake], dim=1))
        n = real.shape[1]
        return feature_matching_loss(h[:, :n], h[:, n:], sample_ndim=2)

    return objective


@contextmanager
def _frozen_power_iterations(D: StackedMLP) -> Iterator[None]:
    """D in eval mode: a spectrally normalized D uses its stored u, v without updating them (no-op otherwise)."""
    was = D.training
    D.eval()
    try:
        yield
    finally:
        D.train(was)


def _check_unrolled(params: Mapping[str, Any]) -> None:
    extra = set(params) - {"steps", "lr", "optimizer", "objective"}
    if extra:
        raise ValueError(f"unrolled takes the parameters steps, lr, optimizer and objective; got {sorted(extra)}")
    if params.get("objective", "g_loss") not in ("g_loss", "value"):
        raise ValueError(f"unrolled: objective must be 'g_loss' or 'value'; got {params.get('objective')!r}")
    if params.get("optimizer", "sgd") not in ("sgd", "adam"):
        raise ValueError(f"unrolled: optimizer must be 'sgd' or 'adam'; got {params.get('optimizer')!r}")
    steps = params.get("steps")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"unrolled: steps must be an integer >= 1; got {steps!r}")
    lr = params.get("lr")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and
                                                                                           lr > 0)):
        raise ValueError(f"unrolled: lr must be None (the D learning rate) or a finite number > 0; got {lr!r}")


def _adam_state(D: StackedMLP, opt: torch.optim.Optimizer | None) -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """D's Adam moments and step count per named parameter (empty before D's first step)."""
    out = {}
    for name, p in D.named_parameters():
        st = opt.state.get(p) if opt is not None else None
        if st:
            out[name] = (st["exp_avg"], st["exp_avg_sq"], float(st["step"]))
    return out


@register_generator_loss("unrolled", _check_unrolled)
def unrolled(params: Mapping[str, Any], options: TrainOptions) -> GeneratorObjective:
    """L_G[s] = mean_b g_fake(D_{θ_s^k}(G_s(z_b))), θ^k after k differentiable SGD steps on L_D (Metz et al. 2017).

    k = ``params["steps"]``, η = ``params["lr"]`` (default ``options.lr_d``), ``params["optimizer"]``: ``sgd``
    (default; Metz et al.'s definition, eq. 5) or ``adam``: the look-ahead applies D's own Adam update rule from D's
    current moments and step count (betas of ``options``), as the authors' demo unrolls D's Adam optimizer.
    ``params["objective"]``: ``g_loss`` (default; the loss's G term at θ^k) or ``value``: −L_D(θ^k) on the real and
    fake batch, the surrogate value function f_K of Metz et al. eq. (6) (with the minimax loss: E log D^k(x) +
    E log(1 − D^k(G(z))), whose real term depends on G through θ^k; the authors' demo minimises −unrolled_loss).
    The look-ahead sees the same packed / minibatch-std inputs as D's real step (module docstring).
    """
    k = params["steps"]
    lr = params.get("lr") or options.lr_d
    optimizer = params.get("optimizer", "sgd")
    value = params.get("objective", "g_loss") == "value"

    def objective(step: GeneratorStep) -> torch.Tensor:
        kw: dict[str, Any] = {}
        if optimizer == "adam":
            kw = {"optimizer": "adam", "betas": (options.beta1, options.beta2),
                  "adam_state": _adam_state(step.D, step.d_optimizer)}
        real, fake = step.d_input(step.real), step.d_input(step.fake)
        with _frozen_power_iterations(step.D):
            theta = unrolled_d_params(step.D, None, step.loss, real, fake, k, lr, sample_ndim=2, **kw)
            logits = lambda x: critic_outputs(lambda v: functional_call(step.D, theta, (v,)), x, 2)
            if value:
                return -step.loss.d_loss(logits(real), logits(fake))
            return step.loss.g_loss(logits(fake))

    return objective
