"""Tiny networks for the gan tests: an ordinary MLP and a seed-parallel MLP with per-seed replicas."""

from __future__ import annotations

import torch
from torch import nn


def init_(module: nn.Module, generator: torch.Generator, scale: float = 0.5) -> nn.Module:
    """Re-draw every parameter N(0, scale²) from an explicit generator (no global seeding)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * scale)
    return module


def mlp(d_in: int, hidden: int, d_out: int, generator: torch.Generator, dtype=torch.float64) -> nn.Sequential:
    """Linear → tanh → Linear, parameters drawn from ``generator``."""
    net = nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, d_out)).to(dtype)
    return init_(net, generator)


class SeedParallelMLP(nn.Module):
    """S independent tanh MLPs d → h → 1 with stacked parameters: x (S, B, d) → logits (S, B)."""

    def __init__(self, n_seeds: int, d_in: int, hidden: int, generator: torch.Generator, dtype=torch.float64):
        super().__init__()
        s = n_seeds
        self.w1 = nn.Parameter(torch.randn(s, d_in, hidden, generator=generator, dtype=dtype) * 0.7)
        self.b1 = nn.Parameter(torch.randn(s, 1, hidden, generator=generator, dtype=dtype) * 0.3)
        self.w2 = nn.Parameter(torch.randn(s, hidden, 1, generator=generator, dtype=dtype) * 0.7)
        self.b2 = nn.Parameter(torch.randn(s, 1, 1, generator=generator, dtype=dtype) * 0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(x @ self.w1 + self.b1) @ self.w2 + self.b2).squeeze(-1)

    def replica(self, s: int) -> nn.Sequential:
        """Seed s as an ordinary nn.Sequential on (B, d) inputs returning (B, 1)."""
        d_in, hidden = self.w1.shape[1:]
        net = nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, 1)).to(self.w1.dtype)
        with torch.no_grad():
            net[0].weight.copy_(self.w1[s].T)
            net[0].bias.copy_(self.b1[s, 0])
            net[2].weight.copy_(self.w2[s].T)
            net[2].bias.copy_(self.b2[s, 0])
        return net
