"""The disjoint-supports example of Arjovsky, Chintala & Bottou (2017, Example 1), torch side.

P = δ_0 × U[0, 1] (the segment {0} × [0, 1]) and Q_θ = δ_θ × U[0, 1] (the same segment moved to x = θ): two
distributions whose supports are disjoint for θ ≠ 0. This module draws their samples for many generator
positions θ_s at once (slice s of a seed-parallel batch), optionally convolved with N(0, σ²I) (instance noise),
and measures the gradient that a trained discriminator hands the generator parameter:

    ∂_θ L_G(θ) = ∂_θ E_{u ~ U[0, 1], ξ ~ N(0, I)} g_fake(D((θ, u) + σξ)),

g_fake the generator term of the loss (``gan.losses``), by autograd through D with θ_s a leaf per slice. With
σ > 0 the fakes carry the same noise D was trained with, so that at the optimal D the envelope argument gives
the derivative of the smoothed divergence (minimax: 2 dJSD/dθ; non-saturating: d/dθ[KL(Q||P) − 2JSD],
Arjovsky & Bottou 2017, Thm 2.5; WGAN: dW1/dθ; hinge: 2 dTV/dθ).
"""

from __future__ import annotations

from typing import Sequence

import torch

from gan.losses import AdversarialLoss
from gan.regularizers import add_instance_noise

from .models import StackedMLP


def segment_samples(theta: torch.Tensor, n: int, generators: Sequence[torch.Generator]) -> torch.Tensor:
    """Points (θ_s, u), u ~ U[0, 1], shape (S, n, 2), for θ of shape (S,); slice s drawn from generator s.

    >>> import torch
    >>> x = segment_samples(torch.tensor([0.0, 2.0]), 3, [torch.Generator().manual_seed(s) for s in (0, 1)])
    >>> x.shape, x[1, :, 0].tolist()
    (torch.Size([2, 3, 2]), [2.0, 2.0, 2.0])
    """
    if theta.ndim != 1 or len(generators) != theta.shape[0]:
        raise ValueError(f"theta must be (S,) with one generator per slice; got {tuple(theta.shape)} and "
                         f"{len(generators)} generators")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    u = torch.stack([torch.rand(n, generator=g, dtype=theta.dtype, device=theta.device) for g in generators])
    return torch.stack([theta[:, None].expand(-1, n), u], dim=-1)


def generator_gradient(D: StackedMLP, loss: AdversarialLoss, theta: torch.Tensor, n: int,
                       generators: Sequence[torch.Generator], sigma: float = 0.0) -> torch.Tensor:
    """∂_θ L_G at every θ_s (module docstring), shape (S,), from n fakes per slice (and their noise σξ) drawn from
    ``generators[s]``. D's parameters get no gradient."""
    th = theta.detach().clone().requires_grad_(True)
    x = segment_samples(th, n, generators)
    if sigma > 0:
        x = add_instance_noise(x, sigma, list(generators))
    for p in D.parameters():
        p.requires_grad_(False)
    try:
        v = D(x.to(D.weights[0].dtype)).squeeze(-1)
        (grad,) = torch.autograd.grad(loss.g_loss(v).sum(), th)
    finally:
        for p in D.parameters():
            p.requires_grad_(True)
    return grad.detach()


__all__ = ["generator_gradient", "segment_samples"]
