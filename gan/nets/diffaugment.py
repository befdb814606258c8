"""DiffAugment: differentiable augmentations applied to real *and* fake images before D.

Zhao, Liu, Lin, Zhu & Han (2020), "Differentiable augmentation for data-efficient GAN training",
policy "color,translation,cutout", written after the authors' reference code with every random
number drawn from an explicit ``torch.Generator`` (on the images' device). Each transformation
draws its parameters independently per image; all are differentiable in x (affine maps, index
gathers and masks), so G's gradient flows through them.

| op | transformation (per image, x in [−1, 1], shape (B, C, H, W)) |
|---|---|
| brightness | x + (u − ½), u ~ U[0, 1) |
| saturation | m + 2u (x − m), m = mean over channels (no effect on 1-channel images) |
| contrast | m + (u + ½)(x − m), m = mean over C, H, W |
| translation | shift by (t_h, t_w), t ~ U{−⌊r/8 + ½⌋ … ⌊r/8 + ½⌋} per axis, zero fill |
| cutout | zero a ⌊r/2 + ½⌋-square whose centre is uniform over the image (clipped at the border) |

"color" is brightness, saturation, contrast in that order.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .init import check_generator

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _uniform(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.rand((x.shape[0], 1, 1, 1), generator=generator, device=x.device, dtype=x.dtype)


def brightness(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """x + (u − ½) with one u ~ U[0, 1) per image."""
    return x + (_uniform(x, generator) - 0.5)


def saturation(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """m + 2u(x − m), m the per-pixel channel mean, one u ~ U[0, 1) per image."""
    m = x.mean(dim=1, keepdim=True)
    return (x - m) * (_uniform(x, generator) * 2.0) + m


def contrast(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """m + (u + ½)(x − m), m the per-image mean, one u ~ U[0, 1) per image."""
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - m) * (_uniform(x, generator) + 0.5) + m


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by an integer offset in [−s, s]² (s = ⌊ratio·size + ½⌋), filling with zeros."""
    B, C, H, W = x.shape
    sh, sw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    th = torch.randint(-sh, sh + 1, (B, 1), generator=generator, device=x.device)
    tw = torch.randint(-sw, sw + 1, (B, 1), generator=generator, device=x.device)
    rows = (torch.arange(H, device=x.device) + th + 1).clamp_(0, H + 1)  # index into the zero-padded image
    cols = (torch.arange(W, device=x.device) + tw + 1).clamp_(0, W + 1)
    pad = F.pad(x, [1, 1, 1, 1])
    out = pad.gather(2, rows[:, None, :, None].expand(B, C, H, W + 2))
    return out.gather(3, cols[:, None, None, :].expand(B, C, H, W))


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero one (⌊ratio·H + ½⌋ × ⌊ratio·W + ½⌋) rectangle per image, centred uniformly (clipped at the border)."""
    B, _, H, W = x.shape
    ch, cw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    oh = torch.randint(0, H + (1 - ch % 2), (B, 1), generator=generator, device=x.device)
    ow = torch.randint(0, W + (1 - cw % 2), (B, 1), generator=generator, device=x.device)
    r = torch.arange(H, device=x.device) - (oh - ch // 2)  # row offset inside the square
    c = torch.arange(W, device=x.device) - (ow - cw // 2)
    in_r = (r >= 0) & (r < ch)
    in_c = (c >= 0) & (c < cw)
    mask = ~(in_r[:, :, None] & in_c[:, None, :])
    return x * mask[:, None].to(x.dtype)


AUGMENTS: dict[str, tuple[Augment, ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}
"""Policy word → the transformations it applies, in order (Zhao et al. 2020)."""


def parse_policy(policy: str | tuple[str, ...]) -> tuple[str, ...]:
    """``"color,translation"`` or ``("color", "translation")`` → validated tuple of policy words ('' → ())."""
    words = tuple(w.strip() for w in policy.split(",") if w.strip()) if isinstance(policy, str) else tuple(policy)
    for w in words:
        if w not in AUGMENTS:
            raise ValueError(f"unknown DiffAugment policy word {w!r}; known: {', '.join(AUGMENTS)}")
    return words


def diff_augment(x: torch.Tensor, generator: torch.Generator, policy: str | tuple[str, ...] = "color,translation,cutout"
                 ) -> torch.Tensor:
    """Apply the policy's transformations to a batch x (B, C, H, W), randomness from ``generator``.

    Deterministic for a fixed generator state; differentiable in x.

    >>> g = torch.Generator().manual_seed(0)
    >>> diff_augment(torch.zeros(2, 3, 8, 8), g).shape
    torch.Size([2, 3, 8, 8])
    """
    check_generator(generator)
    if x.ndim != 4:
        raise ValueError(f"DiffAugment needs images of shape (B, C, H, W); got {tuple(x.shape)}")
    for word in parse_policy(policy):
        for op in AUGMENTS[word]:
            x = op(x, generator)
    return x


class DiffAugment:
    """A fixed policy as a callable ``aug(x, generator)`` (see :func:`diff_augment`)."""

    def __init__(self, policy: str | tuple[str, ...] = "color,translation,cutout"):
        self.policy = parse_policy(policy)
        if not self.policy:
            raise ValueError("DiffAugment needs at least one policy word; use no augmentation instead of ''")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return diff_augment(x, generator, self.policy)

    def __repr__(self) -> str:
        return f"DiffAugment({','.join(self.policy)!r})"
