"""Differentiable image augmentations: DiffAugment, the consistency-regularization transforms, ADA's pieces.

One library of differentiable augmentations of images x (B, C, H, W) in [−1, 1], with every random
number drawn from an explicit ``torch.Generator`` (on the images' device) and parameters drawn
independently per image; all are differentiable in x (affine maps, index gathers, masks, bilinear
resampling), so G's gradient flows through them.

**DiffAugment** (Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable augmentation for data-efficient GAN
training"), policy "color,translation,cutout", written after the authors' reference code:

| op | transformation (per image) |
|---|---|
| brightness | x + (u − ½), u ~ U[0, 1) |
| saturation | m + 2u (x − m), m = mean over channels (no effect on 1-channel images) |
| contrast | m + (u + ½)(x − m), m = mean over C, H, W |
| translation | shift by (t_h, t_w), t ~ U{−⌊r/8 + ½⌋ … ⌊r/8 + ½⌋} per axis, zero fill |
| cutout | zero a ⌊r/2 + ½⌋-square whose centre is uniform over the image (clipped at the border) |

"color" is brightness, saturation, contrast in that order (:data:`AUGMENTS`, :func:`diff_augment`).

**Consistency-regularization transforms** T (:data:`TRANSFORMS`, :func:`parse_transforms`), the small
registry of :func:`gan.regularizers.consistency_penalty`: "flip" (horizontal, probability ½), "translation"
(as above but with reflection padding, the CR papers' "shifting by a few pixels"), "cutout" and "color"
(DiffAugment's). CR (Zhang et al. 2020) and bCR (Zhao et al. 2021) use flip + translation.

**Primitives** shared by the above and by ADA (:mod:`gan.nets.ada`): :func:`shift` (integer translation,
zero or reflection fill), :func:`xflip`, :func:`rotate90`, :func:`affine` (bilinear resampling under a
per-image 2×3 matrix, reflection padding), :func:`color_matrix` (a per-image 4×4 homogeneous colour map).
Each takes its per-image parameters explicitly; an image whose parameters are the identity comes back
bit for bit unchanged.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .init import check_generator

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
FILLS = ("zeros", "reflect")


def _uniform(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.rand((x.shape[0], 1, 1, 1), generator=generator, device=x.device, dtype=x.dtype)


# ----------------------------------------------------------------------------- primitives (explicit parameters)
def _reflect(idx: torch.Tensor, n: int) -> torch.Tensor:
    """Indices reflected into [0, n − 1] (numpy's "reflect": −1 → 1, n → n − 2), for |overshoot| < n."""
    idx = torch.where(idx < 0, -idx, idx)
    return torch.where(idx > n - 1, 2 * (n - 1) - idx, idx)


def shift(x: torch.Tensor, th: torch.Tensor, tw: torch.Tensor, fill: str = "zeros") -> torch.Tensor:
    """Integer translation per image: out[b, :, i, j] = x[b, :, i + th_b, j + tw_b], positions outside the image
    read as 0 (``fill="zeros"``) or reflected back inside (``"reflect"``, for |t| < size). th, tw: (B, 1) int64."""
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}; got {fill!r}")
    B, C, H, W = x.shape
    rows = torch.arange(H, device=x.device) + th
    cols = torch.arange(W, device=x.device) + tw
    if fill == "zeros":
        rows, cols = (rows + 1).clamp_(0, H + 1), (cols + 1).clamp_(0, W + 1)  # index into the zero-padded image
        x = F.pad(x, [1, 1, 1, 1])
        out = x.gather(2, rows[:, None, :, None].expand(B, C, H, W + 2))
    else:
        rows, cols = _reflect(rows, H), _reflect(cols, W)
        out = x.gather(2, rows[:, None, :, None].expand(B, C, H, W))
    return out.gather(3, cols[:, None, None, :].expand(B, C, H, W))


def xflip(x: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """Mirror (left–right) the images where ``flags`` (B,) bool is set."""
    return torch.where(flags[:, None, None, None], x.flip(3), x)


def rotate90(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Rotate image b by k_b · 90° counter-clockwise, k (B,) int64 in {0, 1, 2, 3} (square images only)."""
    if x.shape[2] != x.shape[3]:
        raise ValueError(f"rotate90 needs square images; got {x.shape[2]}×{x.shape[3]}")
    out = x
    for r in (1, 2, 3):
        out = torch.where((k == r)[:, None, None, None], x.rot90(r, dims=(2, 3)), out)
    return out


def affine(x: torch.Tensor, theta: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
    """Bilinear resampling out(p) = x(θ p) with reflection padding, θ (B, 2, 3) in normalised coordinates
    ([−1, 1] across the image, ``F.affine_grid`` with align_corners=False). Images where ``keep`` (B,) bool is
    set are returned unchanged (exactly, not resampled)."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return out if keep is None else torch.where(keep[:, None, None, None], x, out)


def color_matrix(x: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """Apply a per-image homogeneous colour map C (B, 4, 4): rgb ← C[:3, :3] rgb + C[:3, 3].

    For one-channel images the three rows are averaged (StyleGAN2-ADA): x ← x·Σ_j C̄_j + C̄_3 with
    C̄ = mean of rows 0–2. Other channel counts than 1 and 3 are rejected.
    """
    B, ch = x.shape[:2]
    C = C.to(x.dtype)
    if ch == 3:
        return torch.einsum("bij,bjhw->bihw", C[:, :3, :3], x) + C[:, :3, 3, None, None]
    if ch == 1:
        m = C[:, :3, :].mean(dim=1)  # (B, 4)
        return x * m[:, :3].sum(dim=1)[:, None, None, None] + m[:, 3, None, None, None]
    raise ValueError(f"colour transforms need 1 or 3 channels; got {ch}")


# ----------------------------------------------------------------------------- DiffAugment's ops
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


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125, fill: str = "zeros") -> torch.Tensor:
    """Shift each image by an integer offset in [−s, s]² (s = ⌊ratio·size + ½⌋), filling with zeros (or reflecting)."""
    B, _, H, W = x.shape
    sh, sw = int(H * ratio + 0.5), int(W * ratio + 0.5)
    th = torch.randint(-sh, sh + 1, (B, 1), generator=generator, device=x.device)
    tw = torch.randint(-sw, sw + 1, (B, 1), generator=generator, device=x.device)
    return shift(x, th, tw, fill)


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


# ----------------------------------------------------------------------------- consistency-regularization transforms
def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left–right with probability ½."""
    return xflip(x, torch.rand(x.shape[0], generator=generator, device=x.device) < 0.5)


def reflect_translation(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """:func:`translation` (up to ⌊size/8 + ½⌋ pixels per axis) with reflection padding."""
    return translation(x, generator, fill="reflect")


def _color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    for op in AUGMENTS["color"]:
        x = op(x, generator)
    return x


TRANSFORMS: dict[str, Augment] = {
    "flip": random_flip,
    "translation": reflect_translation,
    "cutout": cutout,
    "color": _color,
}
"""Consistency-regularization transform name → op (x, generator) → x (see the module docstring)."""


def parse_transforms(spec: str) -> tuple[str, ...]:
    """``"flip,translation"`` → the validated, non-empty tuple of :data:`TRANSFORMS` names."""
    if not isinstance(spec, str):
        raise ValueError(f"a consistency transform must be a string such as 'flip,translation'; got {spec!r}")
    names = tuple(w.strip() for w in spec.split(",") if w.strip())
    if not names:
        raise ValueError(f"a consistency transform needs at least one of {', '.join(TRANSFORMS)}; got {spec!r}")
    for n in names:
        if n not in TRANSFORMS:
            raise ValueError(f"unknown consistency transform {n!r}; known: {', '.join(TRANSFORMS)}")
    return names


def consistency_transform(spec: str) -> Augment:
    """The composition T(x, generator) of the transforms named in ``spec`` (applied left to right).

    >>> T = consistency_transform("flip,translation")
    >>> T(torch.zeros(2, 1, 8, 8), torch.Generator().manual_seed(0)).shape
    torch.Size([2, 1, 8, 8])
    """
    ops = tuple(TRANSFORMS[n] for n in parse_transforms(spec))

    def transform(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for op in ops:
            x = op(x, generator)
        return x

    return transform


__all__ = ["AUGMENTS", "FILLS", "TRANSFORMS", "DiffAugment", "affine", "brightness", "color_matrix",
           "consistency_transform", "contrast", "cutout", "diff_augment", "parse_policy", "parse_transforms",
           "random_flip", "reflect_translation", "rotate90", "saturation", "shift", "translation", "xflip"]
