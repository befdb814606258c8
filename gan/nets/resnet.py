"""SN-ResNet generator and discriminator for 32×32 images (Miyato, Kataoka, Koyama & Yoshida 2018).

The CIFAR-10 ResNet of "Spectral normalization for GANs" (Appendix B.4, Table 4; the
"ResNet" of Miyato & Koyama 2018 for the conditional case):

    G: z ∈ R^128 ~ N(0, I) → Linear → 4×4×256 → ResBlock up 256 → ResBlock up 256 → ResBlock up 256
       → BN → ReLU → conv3×3 → C → tanh
    D: OptimizedResBlock down 128 → ResBlock down 128 → ResBlock 128 → ResBlock 128 → ReLU
       → global sum pooling → Linear → 1        (spectral norm on every layer)

G block: x → BN → ReLU → upsample (nearest ×2) → conv3×3 → BN → ReLU → conv3×3, plus the
shortcut upsample → conv1×1. D block: x → ReLU → conv3×3 → ReLU → conv3×3 → [avgpool 2], plus
the shortcut conv1×1 → [avgpool 2] when the channels or the size change (identity otherwise).
D's first block ("optimized") skips the leading ReLU and pools before its shortcut conv:
x → conv3×3 → ReLU → conv3×3 → avgpool, shortcut avgpool → conv1×1. Conditional G: the block
batch norms become :class:`~gan.nets.layers.ClassBatchNorm2d` (the final BN stays plain, as in
the reference code). Widths: ``g_channels`` (256) and ``d_channels`` (128).
Initialisation: :func:`gan.nets.init.xavier_init_` (gain √2 in residual branches, 1 elsewhere).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .init import set_xavier_gain
from .layers import ClassBatchNorm2d, Discriminator, check_int

RESOLUTIONS = (32,)
_RES_GAIN = math.sqrt(2.0)


def _conv(a: int, b: int, k: int, gain: float) -> nn.Conv2d:
    return set_xavier_gain(nn.Conv2d(a, b, k, 1, k // 2), gain)


class GBlock(nn.Module):
    """Up-sampling residual block of the SN-ResNet generator (see the module docstring).

    ``norm(channels)`` builds its two conditional batch norms (default :class:`ClassBatchNorm2d` with
    ``num_classes``; BigGAN passes :class:`~gan.nets.layers.VectorBatchNorm2d`); ``forward(x, y)`` hands
    ``y`` (labels or a conditioning vector) to both.
    """

    def __init__(self, c_in: int, c_out: int, num_classes: int = 0,
                 norm: Callable[[int], nn.Module] | None = None):
        super().__init__()
        norm = norm or (lambda c: ClassBatchNorm2d(c, num_classes))
        self.bn1, self.bn2 = norm(c_in), norm(c_out)
        self.conv1, self.conv2 = _conv(c_in, c_out, 3, _RES_GAIN), _conv(c_out, c_out, 3, _RES_GAIN)
        self.shortcut = _conv(c_in, c_out, 1, 1.0)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """Residual block of the SN-ResNet discriminator, optionally down-sampling; ``optimized`` for the first block."""

    def __init__(self, c_in: int, c_out: int, down: bool, optimized: bool = False):
        super().__init__()
        self.down, self.optimized = down, optimized
        self.conv1, self.conv2 = _conv(c_in, c_out, 3, _RES_GAIN), _conv(c_out, c_out, 3, _RES_GAIN)
        self.shortcut = _conv(c_in, c_out, 1, 1.0) if (optimized or down or c_in != c_out) else None

    def _pool(self, h: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(h, 2) if self.down else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.optimized else F.relu(x)
        h = self._pool(self.conv2(F.relu(self.conv1(h))))
        if self.shortcut is None:
            return h + x
        sc = self.shortcut(self._pool(x)) if self.optimized else self._pool(self.shortcut(x))
        return h + sc


class ResNetGenerator(nn.Module):
    """SN-ResNet-32 generator z (B, latent_dim) [, y (B,)] → images (B, channels, 32, 32) in (−1, 1)."""

    def __init__(self, resolution: int = 32, channels: int = 3, latent_dim: int = 128, g_channels: int = 256,
                 num_classes: int = 0):
        super().__init__()
        if resolution not in RESOLUTIONS:
            raise ValueError(f"SN-ResNet resolution must be one of {RESOLUTIONS}; got {resolution!r}")
        self.resolution, self.channels = resolution, check_int("channels", channels, 1)
        self.latent_dim = check_int("latent_dim", latent_dim, 1)
        self.num_classes = check_int("num_classes", num_classes, 0)
        g = self.g_channels = check_int("g_channels", g_channels, 1)
        self.linear = nn.Linear(latent_dim, 4 * 4 * g)
        self.blocks = nn.ModuleList([GBlock(g, g, num_classes) for _ in range(3)])
        self.bn = nn.BatchNorm2d(g)
        self.out = _conv(g, channels, 3, 1.0)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.linear(z).view(z.shape[0], self.g_channels, 4, 4)
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.out(F.relu(self.bn(h))))


class ResNetBody(nn.Module):
    """SN-ResNet-32 discriminator body: images (B, C, 32, 32) → ReLU → global sum pool → (B, d_channels)."""

    def __init__(self, resolution: int = 32, channels: int = 3, d_channels: int = 128):
        super().__init__()
        if resolution not in RESOLUTIONS:
            raise ValueError(f"SN-ResNet resolution must be one of {RESOLUTIONS}; got {resolution!r}")
        check_int("channels", channels, 1)
        d = self.feature_dim = check_int("d_channels", d_channels, 1)
        self.blocks = nn.Sequential(DBlock(channels, d, down=True, optimized=True), DBlock(d, d, down=True),
                                    DBlock(d, d, down=False), DBlock(d, d, down=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(x)).sum(dim=(2, 3))


def build_resnet(resolution: int, channels: int, num_classes: int = 0, head: str = "unconditional", *,
                 latent_dim: int = 128, g_channels: int = 256, d_channels: int = 128) -> tuple[nn.Module, nn.Module]:
    """(G, D) of the SN-ResNet family, not yet initialised nor spectrally normalised (see :func:`gan.nets.build_models`)."""
    G = ResNetGenerator(resolution, channels, latent_dim, g_channels, num_classes)
    body = ResNetBody(resolution, channels, d_channels)
    D = Discriminator(body, body.feature_dim, head, num_classes if head != "unconditional" else 0)
    return G, D


__all__ = ["RESOLUTIONS", "GBlock", "DBlock", "ResNetGenerator", "ResNetBody", "build_resnet"]
