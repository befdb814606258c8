"""SAGAN and BigGAN generators and discriminators for 32×32 and 64×64 images.

Both are residual networks with a self-attention block (:class:`~gan.nets.attention.SelfAttention`)
and spectral normalisation in G *and* D; the widths are the BigGAN reference code's tables
(``BigGAN.py``'s ``G_arch``/``D_arch``, channel multiplier ``ch`` = ``g_channels``/``d_channels``, 64 by default):

| resolution | G blocks (4×4 → r), widths/ch | D blocks, widths/ch (↓ = average-pool 2) |
|---|---|---|
| 32 | 4 → 4 → 4 → 4 (8, 16, 32) | C → 4↓ → 4↓ → 4 → 4 (16, 8, 8, 8) |
| 64 | 16 → 16 → 8 → 4 → 2 (8, 16, 32, 64) | C → 1↓ → 2↓ → 4↓ → 8↓ → 16 (32, 16, 8, 4, 4) |

G: z → Linear → 4×4×w₀ → residual up-blocks (:class:`gan.nets.resnet.GBlock`: BN → ReLU → up ×2 →
conv3×3 → BN → ReLU → conv3×3, shortcut up → conv1×1) → BN → ReLU → conv3×3 → tanh.
D: residual blocks (:class:`gan.nets.resnet.DBlock`, the first without pre-activation) → ReLU →
global sum pooling → the heads of :class:`gan.nets.layers.Discriminator` (projection for class-conditional
models). The attention block follows the first G block and the first D block whose output has side
``attention_resolution`` (default r/2: 16 at 32 px, 32 at 64 px; SAGAN put it on the 32² and 64²
feature maps of its 128-px networks and found those best, Zhang et al. 2019, Table 1; BigGAN uses 64²
at 128 px).

* **SAGAN** (Zhang, Goodfellow, Metaxas & Odena 2019): class-conditional batch norm in G with one
  (γ, β) row per class (:class:`~gan.nets.layers.ClassBatchNorm2d`), z ∈ R¹²⁸ ~ N(0, I), Glorot
  initialisation (the BigGAN code's SAGAN reproduction, ``--G_init xavier``).
* **BigGAN** (Brock, Donahue & Simonyan 2019, §3 and App. B): a *shared* class embedding (``shared_dim``
  = 128) and *hierarchical latents*: z ∈ R^{latent_dim} (120 by default) is split into len(blocks) + 1
  equal chunks; chunk 0 feeds the Linear, chunk i + 1 is concatenated to the shared embedding and
  fed, through bias-free linear maps, to the gains 1 + W_γ c and biases W_β c of block i's batch
  norms (:class:`~gan.nets.layers.VectorBatchNorm2d`). The shared embedding is not spectrally
  normalised (as in the reference code). Orthogonal initialisation (:func:`gan.nets.init.orthogonal_init_`).
  An unconditional BigGAN conditions its batch norms on the z chunks alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import SelfAttention
from .layers import Discriminator, VectorBatchNorm2d, check_int
from .resnet import DBlock, GBlock, _conv

RESOLUTIONS = (32, 64)
G_WIDTHS = {32: ((4, 4, 4), (4, 4, 4)), 64: ((16, 16, 8, 4), (16, 8, 4, 2))}
"""resolution → (input, output) width multipliers of the G blocks (× ``g_channels``)."""
D_WIDTHS = {32: ((4, 4, 4), (4, 4, 4, 4), (True, True, False, False)),
            64: ((1, 2, 4, 8), (1, 2, 4, 8, 16), (True, True, True, True, False))}
"""resolution → (input multipliers after the image, output multipliers, down-sampling) of the D blocks."""


def _check_resolution(resolution: int) -> int:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"SAGAN/BigGAN resolution must be one of {RESOLUTIONS}; got {resolution!r}")
    return resolution


def _attention_resolution(resolution: int, attention_resolution: int | None, sides: list[int]) -> int | None:
    if attention_resolution is None:
        return resolution // 2
    if attention_resolution == 0:
        return None
    if attention_resolution not in sides:
        raise ValueError(f"attention_resolution must be 0 (none) or one of the feature-map sides {sorted(set(sides))}; "
                         f"got {attention_resolution!r}")
    return attention_resolution


class ResidualGenerator(nn.Module):
    """SAGAN (``hierarchical=False``) or BigGAN (``hierarchical=True``) generator: z (B, latent_dim) [, y (B,)]
    → images (B, channels, r, r) in (−1, 1) (see the module docstring)."""

    def __init__(self, resolution: int = 32, channels: int = 3, latent_dim: int = 128, g_channels: int = 64,
                 num_classes: int = 0, hierarchical: bool = False, shared_dim: int = 128,
                 attention_resolution: int | None = None):
        super().__init__()
        self.resolution = _check_resolution(resolution)
        self.channels = check_int("channels", channels, 1)
        self.latent_dim = check_int("latent_dim", latent_dim, 1)
        self.num_classes = check_int("num_classes", num_classes, 0)
        g = check_int("g_channels", g_channels, 1)
        self.hierarchical = bool(hierarchical)
        w_in, w_out = ([g * m for m in ms] for ms in G_WIDTHS[resolution])
        self.w0 = w_in[0]
        sides = [4 * 2 ** (i + 1) for i in range(len(w_out))]
        att = _attention_resolution(resolution, attention_resolution, sides)
        norm = None
        if self.hierarchical:
            slots = len(w_out) + 1
            if latent_dim % slots:
                raise ValueError(f"BigGAN at {resolution} px splits z into {slots} equal chunks (hierarchical "
                                 f"latents); latent_dim must be a multiple of {slots}; got {latent_dim}")
            self.chunk = latent_dim // slots
            self.shared = nn.Embedding(num_classes, check_int("shared_dim", shared_dim, 1)) if num_classes else None
            cond_dim = (shared_dim if num_classes else 0) + self.chunk
            norm = lambda c: VectorBatchNorm2d(c, cond_dim)  # noqa: E731
            lin_in = self.chunk
        else:
            lin_in = latent_dim
        self.linear = nn.Linear(lin_in, 4 * 4 * self.w0)
        self.blocks = nn.ModuleList([GBlock(a, b, num_classes, norm) for a, b in zip(w_in, w_out)])
        self.attn = nn.ModuleList([SelfAttention(b) if s == att else nn.Identity() for b, s in zip(w_out, sides)])
        self.bn = nn.BatchNorm2d(w_out[-1])
        self.out = _conv(w_out[-1], channels, 3, 1.0)

    def _conditions(self, z: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, list]:
        """(input of the first Linear, the conditioning of each block)."""
        if not self.hierarchical:
            return z, [y] * len(self.blocks)
        zs = z.split(self.chunk, dim=1)
        if self.shared is None:
            return zs[0], list(zs[1:])
        if y is None:
            raise ValueError("a class-conditional BigGAN generator needs labels y of shape (B,)")
        e = self.shared(y)
        return zs[0], [torch.cat([e, zi], dim=1) for zi in zs[1:]]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        z0, conds = self._conditions(z, y)
        h = self.linear(z0).view(z.shape[0], self.w0, 4, 4)
        for block, attn, c in zip(self.blocks, self.attn, conds):
            h = attn(block(h, c))
        return torch.tanh(self.out(F.relu(self.bn(h))))


class ResidualBody(nn.Module):
    """SAGAN/BigGAN discriminator body: images (B, C, r, r) → ReLU → global sum pool → (B, widest)."""

    def __init__(self, resolution: int = 32, channels: int = 3, d_channels: int = 64,
                 attention_resolution: int | None = None):
        super().__init__()
        _check_resolution(resolution)
        check_int("channels", channels, 1)
        d = check_int("d_channels", d_channels, 1)
        in_m, out_m, down = D_WIDTHS[resolution]
        w_in, w_out = [channels] + [d * m for m in in_m], [d * m for m in out_m]
        sides, side = [], resolution
        for dn in down:
            side = side // 2 if dn else side
            sides.append(side)
        att = _attention_resolution(resolution, attention_resolution, sides)
        layers: list[nn.Module] = []
        for i, (a, b, dn, s) in enumerate(zip(w_in, w_out, down, sides)):
            layers.append(DBlock(a, b, down=dn, optimized=i == 0))
            if s == att:
                layers.append(SelfAttention(b))
                att = None  # once, after the first block of that side
        self.blocks = nn.Sequential(*layers)
        self.feature_dim = w_out[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(x)).sum(dim=(2, 3))


def _discriminator(resolution: int, channels: int, num_classes: int, head: str, d_channels: int) -> Discriminator:
    body = ResidualBody(resolution, channels, d_channels)
    return Discriminator(body, body.feature_dim, head, num_classes if head != "unconditional" else 0)


def build_sagan(resolution: int, channels: int, num_classes: int = 0, head: str = "unconditional", *,
                latent_dim: int = 128, g_channels: int = 64, d_channels: int = 64) -> tuple[nn.Module, nn.Module]:
    """(G, D) of SAGAN, not yet initialised nor spectrally normalised (see :func:`gan.nets.build_models`)."""
    G = ResidualGenerator(resolution, channels, latent_dim, g_channels, num_classes, hierarchical=False)
    return G, _discriminator(resolution, channels, num_classes, head, d_channels)


def build_biggan(resolution: int, channels: int, num_classes: int = 0, head: str = "unconditional", *,
                 latent_dim: int = 120, g_channels: int = 64, d_channels: int = 64) -> tuple[nn.Module, nn.Module]:
    """(G, D) of BigGAN (hierarchical z, shared embedding), not yet initialised nor spectrally normalised."""
    G = ResidualGenerator(resolution, channels, latent_dim, g_channels, num_classes, hierarchical=True)
    return G, _discriminator(resolution, channels, num_classes, head, d_channels)


__all__ = ["D_WIDTHS", "G_WIDTHS", "RESOLUTIONS", "ResidualBody", "ResidualGenerator", "build_biggan", "build_sagan"]
