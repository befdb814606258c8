"""toy.disjoint: the segment samples and the generator gradient through a critic whose gradient is known."""

from __future__ import annotations

import pytest
import torch

from gan.losses import get_loss
from toy.disjoint import generator_gradient, segment_samples
from toy.models import MLPSpec, StackedMLP


def _affine(w: list[list[float]], b: list[float]) -> StackedMLP:
    """S affine critics D_s(x) = b_s + x·w_s (depth 0)."""
    W = torch.tensor(w, dtype=torch.float64)[:, :, None]
    B = torch.tensor(b, dtype=torch.float64)[:, None, None]
    return StackedMLP(MLPSpec(2, 1, 1, 0), [W], [B])


def _gens(S, seed=0):
    return [torch.Generator().manual_seed(seed + s) for s in range(S)]


def test_segment_samples():
    x = segment_samples(torch.tensor([0.0, -1.5], dtype=torch.float64), 1000, _gens(2))
    assert x.shape == (2, 1000, 2)
    assert torch.equal(x[1, :, 0], torch.full((1000,), -1.5, dtype=torch.float64))
    assert float(x[..., 1].min()) >= 0.0 and float(x[..., 1].max()) < 1.0
    with pytest.raises(ValueError, match="one generator per slice"):
        segment_samples(torch.zeros(3), 5, _gens(2))


@pytest.mark.parametrize("sigma", [0.0, 0.5])
def test_wgan_gradient_of_an_affine_critic_is_minus_the_slope(sigma):
    """L_G = −E D(θ + σξ, u + σξ') = −(b + w₁θ + w₂ E u): ∂L_G/∂θ = −w₁ exactly, with or without noise."""
    D = _affine([[0.7, -0.2], [-1.3, 0.4]], [0.1, 0.0])
    g = generator_gradient(D, get_loss("wgan"), torch.tensor([0.5, -2.0], dtype=torch.float64), 64, _gens(2), sigma)
    assert torch.max(torch.abs(g - torch.tensor([-0.7, 1.3], dtype=torch.float64))) <= 1e-14


def test_minimax_gradient_of_an_affine_critic():
    """L_G = E log(1 − σ(v)) = −E softplus(v), v = b + w₁θ + w₂u: ∂/∂θ = −w₁ E σ(v), against a quadrature in u."""
    D = _affine([[1.5, 2.0]], [-0.3])
    theta = 0.4
    g = generator_gradient(D, get_loss("minimax"), torch.tensor([theta], dtype=torch.float64), 200_000, _gens(1))
    u = (torch.arange(100_000, dtype=torch.float64) + 0.5) / 100_000
    want = -1.5 * torch.sigmoid(-0.3 + 1.5 * theta + 2.0 * u).mean()
    # Monte Carlo over 2e5 uniforms: sd of σ(v) ≤ 0.15 → standard error ≈ 1.5·0.15/450 = 5e-4; 5 se
    assert abs(float(g[0]) - float(want)) <= 2.5e-3
    assert all(p.requires_grad for p in D.parameters())  # restored after the measurement
