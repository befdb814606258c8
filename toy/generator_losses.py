"""Generator objectives of the toy trainer, by name: the adversarial G loss and two mode-collapse remedies.

The G step of :class:`toy.train.ToyTrainer` minimises Σ_s L_G[s] over the stacked generator, with
L_G[s] one of (per seed s; x_b the real minibatch of the iteration's last D step, z_b ~ N(0, I_k) the
G step's latents, b = 1..B; D_s acts on PacGAN packs / with the minibatch-std feature as configured):

| name | ``ToyConfig`` field | L_G[s] | reference |
|---|---|---|---|
| ``adversarial`` | (default) | mean_b g_fake(D_s(G_s(z_b))) | the loss's own G term (``gan.losses``) |
| ``feature_matching`` | ``feature_matching=True`` | ‖mean_b f_s(x_b) − mean_b f_s(G_s(z_b))‖₂² | Salimans et al. 2016, §3.1 |
| ``unrolled`` | ``unroll_steps=k ≥ 1`` | mean_b g_fake(D_{θ_s^k}(G_s(z_b))) | Metz et al. 2017, §2 (surrogate f_K) |

* **Feature matching** replaces the adversarial G loss (the paper's objective, not an added term):
  f_s is the last hidden layer of D_s (:meth:`toy.models.StackedMLP.features`, after its
  activation; width ``d_width``), the real features are a constant target, so only G is moved.
  D is trained as usual with the configured loss.
* **Unrolled D**: θ_s^0 = θ_D[s], θ_s^{i+1} = θ_s^i − η ∇_θ L_D(θ_s^i; x, G_s(z)), i < k, plain
  gradient steps as in Metz et al.'s definition of the unrolled D, with η = ``unroll_lr`` (default:
  ``lr_d``), on the same real and fake batch at every step (as the authors' code), through
  :func:`gan.remedies.unrolled_g_loss`. The steps are differentiated through (``create_graph=True``):
  ∂L_G/∂θ_G includes (∂L_G/∂θ^k)(dθ^k/dθ_G), the look-ahead's dependence on G, which Metz et al.
  single out as the gradient term a plain G step misses. L_D is the configured (possibly
  label-smoothed) D loss without the penalty, clipping or instance noise of D's real step (those
  regularize D's training, they are not part of the value function Metz et al. unroll). The
  look-ahead is functional: D's parameters, Adam state and spectral-norm vectors are not changed
  (the look-ahead passes use D's current power-iteration vectors u, v without advancing them).

Both use the real minibatch of the iteration's last D step and the G step's latents, so they draw
no random numbers of their own and need no state of their own (nothing to add to checkpoints);
batched seeds stay equal to seeds run alone. Entries register with :func:`register_generator_loss`,
naming the config switch that turns them on; :func:`generator_loss_name` resolves a config (at most
one switch on, and a G network needed) and :func:`build_generator_loss` builds the objective.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import torch

from gan.losses import AdversarialLoss
from gan.remedies import feature_matching_loss, unrolled_g_loss

from .models import StackedMLP

if TYPE_CHECKING:
    from .train import ToyConfig


@dataclass(frozen=True)
class GeneratorStep:
    """What a G objective sees in one G step of S seeds (seed axis first).

    D : the stacked discriminator (its parameters do not require gradients during the G step).
    d_input(x) : samples (S, n, d) → D's input rows (S, n/m, m·d [+1]) (PacGAN packing, minibatch-std feature).
    d_logits(x) : samples (S, n, d) → D's logits (S, n/m), i.e. ``D(d_input(x))`` without the output axis.
    loss : the adversarial loss (after the hooks' ``wrap_loss``).
    real : (S, B, d) real minibatch. fake : (S, B, d) = G(z), attached to G's graph.
    """

    D: StackedMLP
    d_input: Callable[[torch.Tensor], torch.Tensor]
    d_logits: Callable[[torch.Tensor], torch.Tensor]
    loss: AdversarialLoss
    real: torch.Tensor
    fake: torch.Tensor


GeneratorObjective = Callable[[GeneratorStep], torch.Tensor]
"""A built G objective: :class:`GeneratorStep` → per-seed loss (S,)."""

Builder = Callable[["ToyConfig"], GeneratorObjective]
"""Makes a G objective for a config (reads the fields it needs once)."""


@dataclass(frozen=True)
class GeneratorLossEntry:
    """A registered G objective: ``enabled(config)`` says whether the config asks for it (its switch is
    named ``switch`` in error messages; None for the default), ``build(config)`` makes the objective."""

    build: Builder
    enabled: Callable[["ToyConfig"], bool] | None
    switch: str | None


GENERATOR_LOSSES: dict[str, GeneratorLossEntry] = {}
"""Name → entry, in registration order (see the module table)."""

DEFAULT_GENERATOR_LOSS = "adversarial"


def register_generator_loss(name: str, switch: str | None = None,
                            enabled: Callable[["ToyConfig"], bool] | None = None) -> Callable[[Builder], Builder]:
    """Decorator registering ``build(config) -> objective`` under ``name``, on when ``enabled(config)``."""
    if name in GENERATOR_LOSSES:
        raise ValueError(f"generator loss {name!r} is already registered")
    if (switch is None) != (enabled is None):
        raise ValueError("give both the config switch and its predicate, or neither (the default objective)")

    def deco(build: Builder) -> Builder:
        GENERATOR_LOSSES[name] = GeneratorLossEntry(build, enabled, switch)
        return build

    return deco


def generator_loss_name(config: "ToyConfig") -> str:
    """The registered objective ``config`` asks for; ValueError if it switches on more than one, or one
    of them without a G network (``fixed_generator``).

    >>> from toy.train import ToyConfig
    >>> generator_loss_name(ToyConfig()), generator_loss_name(ToyConfig(unroll_steps=5))
    ('adversarial', 'unrolled')
    """
    on = [n for n, e in GENERATOR_LOSSES.items() if e.enabled is not None and e.enabled(config)]
    if len(on) > 1:
        switches = " and ".join(GENERATOR_LOSSES[n].switch for n in on)
        raise ValueError(f"{switches} are alternative generator objectives; choose one")
    if not on:
        return DEFAULT_GENERATOR_LOSS
    if config.fixed_generator is not None:
        raise ValueError(f"{GENERATOR_LOSSES[on[0]].switch} changes the generator's loss, but with fixed_generator "
                         "there is no generator network to train")
    return on[0]


def build_generator_loss(config: "ToyConfig") -> GeneratorObjective:
    """The objective ``generator_loss_name(config)`` built for ``config``."""
    return GENERATOR_LOSSES[generator_loss_name(config)].build(config)


# ----------------------------------------------------------------------------- the objectives
@register_generator_loss(DEFAULT_GENERATOR_LOSS)
def adversarial(config: "ToyConfig") -> GeneratorObjective:
    """L_G[s] = mean_b g_fake(D_s(G_s(z_b))), the configured loss's generator term."""
    return lambda step: step.loss.g_loss(step.d_logits(step.fake))


@register_generator_loss("feature_matching", "feature_matching", lambda c: c.feature_matching)
def feature_matching(config: "ToyConfig") -> GeneratorObjective:
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


@register_generator_loss("unrolled", "unroll_steps", lambda c: c.unroll_steps > 0)
def unrolled(config: "ToyConfig") -> GeneratorObjective:
    """L_G[s] = mean_b g_fake(D_{θ_s^k}(G_s(z_b))), θ^k after k differentiable SGD steps on L_D (Metz et al. 2017).

    k = ``unroll_steps``, η = ``config.unroll_lr_value()`` (``unroll_lr``, default ``lr_d``); the
    look-ahead sees the same packed / minibatch-std inputs as D's real step (module docstring).
    """
    k, lr = config.unroll_steps, config.unroll_lr_value()

    def objective(step: GeneratorStep) -> torch.Tensor:
        with _frozen_power_iterations(step.D):
            return unrolled_g_loss(step.D, step.loss, step.d_input(step.real), step.d_input(step.fake), k, lr,
                                   sample_ndim=2)

    return objective
