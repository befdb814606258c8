"""Plug-in points of the toy trainer (:class:`TrainHooks`) and the hooks of ``gan.regularizers`` options.

The trainer knows nothing about specific regularizers; everything that changes a D or G step
comes in through a :class:`TrainHooks`, acting on whole seed batches (seed axis first).
:func:`regularization_hooks` turns a :class:`gan.regularizers.TrainOptions` into hooks for a
seed-parallel discriminator:

| option | hook | formula (``gan.regularizers``) |
|---|---|---|
| ``penalty`` gp / r1 / dragan | ``d_penalty`` | λ E(‖∇D(x̂)‖ − 1)², γ/2 E_P‖∇D‖², λ E(‖∇D(x+δ)‖ − 1)² |
| ``clip`` c | ``after_d_step`` | θ ← clip(θ, −c, c) |
| ``real_target`` s | ``wrap_loss`` | one-sided label smoothing |
| ``instance_noise`` σ | ``d_inputs`` | x + σ_t ξ on real and fake, t = iteration |

Spectral normalization is a property of the network, not a hook
(:meth:`toy.models.StackedMLP.enable_spectral_norm`). Random draws of the hooks (interpolation
weights, DRAGAN perturbations, instance noise) come from per-seed generators, seed s's from its
own stream, so batched training still equals one-at-a-time training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from gan.losses import AdversarialLoss
from gan.regularizers import TrainOptions, clip_weights_

from .models import StackedMLP

Penalty = Callable[[Callable[[torch.Tensor], torch.Tensor], torch.Tensor, torch.Tensor], torch.Tensor]
Inputs = Callable[[torch.Tensor, torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class TrainHooks:
    """Plug-in points for regularizers. All tensors carry the seed axis first.

    d_penalty(D_forward, real, fake) -> (S,): added to the D loss; D_forward maps (S, B, d) to logits (S, B)
        and is differentiable in its input and in D's parameters (real, fake: (S, B, d), fake detached).
    d_inputs(real, fake, it) -> (real, fake): transforms D's inputs in the D step (e.g. instance noise).
    after_d_step(D): called under ``torch.no_grad`` after every D update (e.g. weight clipping).
    wrap_loss(loss) -> loss: replaces the loss once, before training (e.g. one-sided label smoothing).
    after_iteration(it, G, D): called under ``torch.no_grad`` after every iteration (G is None with a fixed Q).
    """

    d_penalty: Penalty | None = None
    d_inputs: Inputs | None = None
    after_d_step: Callable[[StackedMLP], None] | None = None
    wrap_loss: Callable[[AdversarialLoss], AdversarialLoss] | None = None
    after_iteration: Callable[[int, StackedMLP | None, StackedMLP], None] | None = None

    def combine(self, other: "TrainHooks") -> "TrainHooks":
        """Both sets of hooks: penalties add up; input transforms, loss wrappers and callbacks run self's first."""
        def both(a, b, join):
            return b if a is None else a if b is None else join(a, b)

        return TrainHooks(
            d_penalty=both(self.d_penalty, other.d_penalty,
                           lambda a, b: lambda f, r, x: a(f, r, x) + b(f, r, x)),
            d_inputs=both(self.d_inputs, other.d_inputs, lambda a, b: lambda r, x, it: b(*a(r, x, it), it)),
            after_d_step=both(self.after_d_step, other.after_d_step, lambda a, b: lambda D: (a(D), b(D))[-1]),
            wrap_loss=both(self.wrap_loss, other.wrap_loss, lambda a, b: lambda loss: b(a(loss))),
            after_iteration=both(self.after_iteration, other.after_iteration,
                                 lambda a, b: lambda it, G, D: (a(it, G, D), b(it, G, D))[-1]),
        )


def regularization_hooks(options: TrainOptions, generators: Sequence[torch.Generator]) -> TrainHooks:
    """Hooks applying ``options``' penalty, clipping, label smoothing and instance noise to S seeds.

    ``generators``: one per seed, on the data's device (e.g. ``toy.data.seed_generators(seeds, "hook", device)``).
    ``options``' learning rates, betas and n_dis are not read here (the trainer's config holds them);
    ``spectral_norm`` is applied to the network by the trainer.
    """
    gens = list(generators)
    penalty = None
    if options.penalty is not None:
        penalty = lambda D, real, fake: options.d_penalty(D, real, fake, gens, sample_ndim=2)
    clip = None
    if options.clip is not None:
        clip = lambda D: clip_weights_(D, options.clip)
    noise = options.noise()
    inputs = None
    if noise is not None:
        inputs = lambda real, fake, it: (noise(real, gens, it), noise(fake, gens, it))
    wrap = options.wrap_loss if options.real_target is not None else None
    return TrainHooks(d_penalty=penalty, d_inputs=inputs, after_d_step=clip, wrap_loss=wrap)
