"""The architecture registry ``ARCHS`` and :func:`build_models`, the one way to get an image (G, D) pair.

| name | resolutions | G / D | default loss, options, batch | reference |
|---|---|---|---|---|
| dcgan | 64, 32, 28 | z ~ U[−1, 1]^100, transposed-conv G, strided-conv D, BatchNorm, N(0, 0.02²) init | ns; Adam 2e-4, β = (0.5, 0.999), n_dis 1; batch 128 | Radford et al. 2016 |
| resnet | 32 | z ~ N(0, I₁₂₈), ResNet G (256 ch), SN-ResNet D (128 ch, spectral norm everywhere), Glorot init | hinge; Adam 2e-4, β = (0, 0.9), n_dis 5; batch 64 | Miyato et al. 2018 |

Both take ``channels`` 1 or 3 (any C ≥ 1 works). Conditional models (``conditional=True``, K =
``num_classes`` ≥ 2): class-conditional batch norm in G and, in D, a projection head (default,
Miyato & Koyama 2018) or an auxiliary classifier (``head="acgan"``, Odena et al. 2017). TTUR
(Heusel et al. 2017) is the ``TrainOptions`` choice lr_d ≠ lr_g with n_dis = 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..regularizers import TrainOptions
from .dcgan import RESOLUTIONS as DCGAN_RESOLUTIONS, build_dcgan
from .init import check_generator, dcgan_init_, quiet_global_rng, spectral_norm_, xavier_init_
from .layers import HEADS, check_int
from .resnet import RESOLUTIONS as RESNET_RESOLUTIONS, build_resnet

CONDITIONAL_HEADS = tuple(h for h in HEADS if h != "unconditional")


def _normal(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.randn(shape, generator=generator, device=device)


def _uniform(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(shape, generator=generator, device=device) * 2.0 - 1.0


LATENTS: dict[str, Callable[[tuple[int, ...], torch.Generator, torch.device], torch.Tensor]] = {
    "normal": _normal,    # z ~ N(0, I)  (Miyato et al. 2018)
    "uniform": _uniform,  # z ~ U[−1, 1]^k (Radford et al. 2016, §3 and Fig. 1)
}
"""Name → sampler (shape, generator, device) → z of the latent distribution."""


@dataclass(frozen=True)
class ArchSpec:
    """One registered architecture family.

    build : (resolution, channels, num_classes, head, latent_dim=, g_channels=, d_channels=) → (G, D), uninitialised.
    init : in-place initialiser (module, generator) applied to G and to D.
    spectral_norm_d : whether D is spectrally normalised (after initialisation).
    resolutions : accepted image sizes. latent_dim, g_channels, d_channels : paper defaults.
    latent : distribution of z, a key of ``LATENTS`` (DCGAN: uniform on [−1, 1]^100, as the paper says).
    loss, options, batch_size : the paper's training defaults (the trainer uses them unless told otherwise).
    """

    name: str
    build: Callable[..., tuple[nn.Module, nn.Module]]
    init: Callable[[nn.Module, torch.Generator], nn.Module]
    spectral_norm_d: bool
    resolutions: tuple[int, ...]
    latent_dim: int
    g_channels: int
    d_channels: int
    latent: str
    loss: str
    options: TrainOptions
    batch_size: int
    reference: str


ARCHS: dict[str, ArchSpec] = {
    "dcgan": ArchSpec(
        "dcgan", build_dcgan, dcgan_init_, False, tuple(sorted(DCGAN_RESOLUTIONS)), 100, 128, 64, "uniform", "ns",
        TrainOptions(n_dis=1, lr_d=2e-4, lr_g=2e-4, beta1=0.5, beta2=0.999), 128,
        "Radford, Metz & Chintala (2016), Unsupervised representation learning with deep convolutional GANs",
    ),
    "resnet": ArchSpec(
        "resnet", build_resnet, xavier_init_, True, RESNET_RESOLUTIONS, 128, 256, 128, "normal", "hinge",
        TrainOptions(n_dis=5, lr_d=2e-4, lr_g=2e-4, beta1=0.0, beta2=0.9), 64,
        "Miyato, Kataoka, Koyama & Yoshida (2018), Spectral normalization for GANs (CIFAR ResNet)",
    ),
}


def get_arch(name: str) -> ArchSpec:
    """The :class:`ArchSpec` registered as ``name`` (ValueError listing the known names otherwise)."""
    if not isinstance(name, str) or name not in ARCHS:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(ARCHS)}")
    return ARCHS[name]


def build_models(arch: str, resolution: int, channels: int, num_classes: int = 0, conditional: bool = False, *,
                 head: str = "projection", latent_dim: int | None = None, g_channels: int | None = None,
                 d_channels: int | None = None, generator: torch.Generator | None = None
                 ) -> tuple[nn.Module, nn.Module]:
    """Build and initialise ``(G, D)`` of architecture ``arch`` (see the module table).

    G maps latents z (B, latent_dim) [and labels y (B,)] to images (B, channels, r, r) in (−1, 1);
    D maps images [and labels] to logits (B,), or (logits, class logits (B, K)) with ``head="acgan"``.
    ``conditional=False`` ignores ``num_classes`` and ``head``. ``latent_dim``/``g_channels``/
    ``d_channels`` default to the paper's values (tests use narrow widths). Every random draw
    (initial weights, spectral-norm vectors) comes from ``generator`` (None: a generator seeded
    with 0); torch's global random state is left as it was.

    >>> G, D = build_models("dcgan", 28, 1, g_channels=8, d_channels=8)
    >>> x = G(torch.zeros(2, 100)); x.shape, D(x).shape
    (torch.Size([2, 1, 28, 28]), torch.Size([2]))
    """
    spec = get_arch(arch)
    if resolution not in spec.resolutions:
        raise ValueError(f"architecture {arch!r} supports resolutions {spec.resolutions}; got {resolution!r}")
    check_int("channels", channels, 1)
    check_int("num_classes", num_classes, 0)
    if not isinstance(conditional, bool):
        raise ValueError(f"conditional must be True or False; got {conditional!r}")
    if conditional:
        if num_classes < 2:
            raise ValueError(f"a conditional model needs num_classes ≥ 2; got {num_classes}")
        if head not in CONDITIONAL_HEADS:
            raise ValueError(f"conditional head must be one of {CONDITIONAL_HEADS}; got {head!r}")
    generator = torch.Generator().manual_seed(0) if generator is None else check_generator(generator)
    k = num_classes if conditional else 0
    with quiet_global_rng():
        G, D = spec.build(resolution, channels, k, head if conditional else "unconditional",
                          latent_dim=spec.latent_dim if latent_dim is None else latent_dim,
                          g_channels=spec.g_channels if g_channels is None else g_channels,
                          d_channels=spec.d_channels if d_channels is None else d_channels)
    spec.init(G, generator)
    spec.init(D, generator)
    if spec.spectral_norm_d:
        spectral_norm_(D, generator)
    return G, D
