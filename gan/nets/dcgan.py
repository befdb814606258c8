"""DCGAN generator and discriminator (Radford, Metz & Chintala 2016), for 64×64, 32×32 and 28×28 images.

Generator (paper, Fig. 1, 64×64×3): z ∈ R^100 → "project and reshape" (one matrix multiplication)
to 4×4×1024 → transposed convs (kernel 4, stride 2, padding 1) to 8×8×512, 16×16×256, 32×32×128,
64×64×3; BatchNorm + ReLU after every layer but the output, which is tanh.
Discriminator (mirror image): strided convs (kernel 4, stride 2, padding 1) 64, 128, 256, 512
channels with LeakyReLU(0.2), BatchNorm on all but the first conv; the last 4×4×512 map is
flattened and fed to one output unit (a logit here; the paper's sigmoid lives in the loss).

Resolutions: the stack starts at s₀×s₀ with s₀ = 4 (64, 32) or 7 (28 = MNIST) and doubles n
times (n = 4, 3, 2). A smaller resolution drops the *widest* layers, keeping the narrowest
widths of the paper (G's last hidden layer ``g_channels`` = 128, D's first conv ``d_channels``
= 64); layer i of G has g_channels·2^(n−1−i) channels, layer i of D d_channels·2^i:

| resolution | G (after project) | D |
|---|---|---|
| 64 | 4²·1024 → 512 → 256 → 128 → C | C → 64 → 128 → 256 → 512 (4²) → 1 |
| 32 | 4²·512 → 256 → 128 → C | C → 64 → 128 → 256 (4²) → 1 |
| 28 | 7²·256 → 128 → C | C → 64 → 128 (7²) → 1 |

Biases only where no BatchNorm follows (BN's shift makes them redundant): G's output layer and
D's first conv and output unit. Conditional models (``num_classes`` K > 0) replace G's batch
norms by :class:`~gan.nets.layers.ClassBatchNorm2d`; D's head is chosen by the caller
(:class:`~gan.nets.layers.Discriminator`). Initialisation: :func:`gan.nets.init.dcgan_init_`.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import ClassBatchNorm2d, Discriminator, check_int

RESOLUTIONS = {64: (4, 4), 32: (4, 3), 28: (7, 2)}
"""resolution → (s₀, number of stride-2 layers)."""


def _check_resolution(resolution: int) -> tuple[int, int]:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"DCGAN resolution must be one of {sorted(RESOLUTIONS)}; got {resolution!r}")
    return RESOLUTIONS[resolution]


class DCGANGenerator(nn.Module):
    """DCGAN generator z (B, latent_dim) [, y (B,)] → images (B, channels, r, r) in (−1, 1) (see module docstring)."""

    def __init__(self, resolution: int = 64, channels: int = 3, latent_dim: int = 100, g_channels: int = 128,
                 num_classes: int = 0):
        super().__init__()
        s0, n = _check_resolution(resolution)
        self.resolution, self.channels = resolution, check_int("channels", channels, 1)
        self.latent_dim = check_int("latent_dim", latent_dim, 1)
        self.num_classes = check_int("num_classes", num_classes, 0)
        g = check_int("g_channels", g_channels, 1)
        widths = [g * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 1024, 512, 256, 128
        self.s0, self.widths = s0, widths
        self.project = nn.Linear(latent_dim, s0 * s0 * widths[0], bias=False)
        self.norms = nn.ModuleList([ClassBatchNorm2d(w, num_classes) for w in widths])
        self.ups = nn.ModuleList([nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False) for a, b in zip(widths, widths[1:])])
        self.out = nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=True)
        self.act = nn.ReLU()

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.project(z).view(z.shape[0], self.widths[0], self.s0, self.s0)
        h = self.act(self.norms[0](h, y))
        for up, norm in zip(self.ups, self.norms[1:]):
            h = self.act(norm(up(h), y))
        return torch.tanh(self.out(h))


class DCGANBody(nn.Module):
    """DCGAN discriminator body: images (B, C, r, r) → flattened last feature map (B, s₀²·widest)."""

    def __init__(self, resolution: int = 64, channels: int = 3, d_channels: int = 64):
        super().__init__()
        s0, n = _check_resolution(resolution)
        check_int("channels", channels, 1)
        d = check_int("d_channels", d_channels, 1)
        widths = [d * 2 ** i for i in range(n)]  # e.g. 64, 128, 256, 512
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=True), nn.LeakyReLU(0.2)]
        for a, b in zip(widths, widths[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2)]
        self.convs = nn.Sequential(*layers)
        self.widths, self.feature_dim = widths, s0 * s0 * widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x).flatten(1)


def build_dcgan(resolution: int, channels: int, num_classes: int = 0, head: str = "unconditional", *,
                latent_dim: int = 100, g_channels: int = 128, d_channels: int = 64) -> tuple[nn.Module, nn.Module]:
    """(G, D) of the DCGAN family, not yet initialised (see :func:`gan.nets.build_models`)."""
    G = DCGANGenerator(resolution, channels, latent_dim, g_channels, num_classes)
    body = DCGANBody(resolution, channels, d_channels)
    D = Discriminator(body, body.feature_dim, head, num_classes if head != "unconditional" else 0)
    return G, D


__all__ = ["RESOLUTIONS", "DCGANGenerator", "DCGANBody", "build_dcgan"]
