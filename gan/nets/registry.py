"""The architecture registry ``ARCHS`` and :func:`build_models`, the one way to get an image (G, D) pair.

| name | resolutions | G / D | default loss, options, batch | reference |
|---|---|---|---|---|
| dcgan | 64, 32, 28 | z ~ U[−1, 1]^100, transposed-conv G, strided-conv D, BatchNorm, N(0, 0.02²) init | ns; Adam 2e-4, β = (0.5, 0.999), n_dis 1; batch 128 | Radford et al. 2016 |
| resnet | 32 | z ~ N(0, I₁₂₈), ResNet G (256 ch), SN-ResNet D (128 ch, spectral norm everywhere), Glorot init | hinge; Adam 2e-4, β = (0, 0.9), n_dis 5; batch 64 | Miyato et al. 2018 |
| sagan | 32, 64 | z ~ N(0, I₁₂₈), residual G/D (ch 64) with self-attention at r/2, spectral norm in G and D, Glorot init | hinge; TTUR Adam lr_D 4e-4, lr_G 1e-4, β = (0, 0.9), n_dis 1; batch 256 | Zhang et al. 2019 |
| biggan | 32, 64 | z ~ N(0, I₁₂₀) split hierarchically, shared class embedding (128), attention, SN in G and D, orthogonal init | hinge; Adam lr_D 2e-4, lr_G 5e-5, β = (0, 0.999), n_dis 2, orthogonal reg. β 1e-4; batch 2048 | Brock et al. 2019 |
| stylegan2 | 32, 64 | z ~ N(0, I₅₁₂) → 8-layer mapping (lr × 0.01) → skip G of modulated convs, residual D with minibatch std, equalized lr | ns; Adam 2.5e-3, β = (0, 0.99); lazy R1 γ 0.01 every 16 D steps; path length 2 every 4 G steps; style mixing 0.9; batch 64 | Karras et al. 2020a |

All take ``channels`` 1 or 3 (any C ≥ 1 works; ADA's colour ops need 1 or 3). Conditional models
(``conditional=True``, K = ``num_classes`` ≥ 2): class-conditional batch norm (or, for BigGAN, batch norm
conditioned on the shared embedding; for StyleGAN2 an embedding in the mapping network) in G and, in D, a
projection head (default, Miyato & Koyama 2018) or an auxiliary classifier (``head="acgan"``, Odena et
al. 2017). TTUR (Heusel et al. 2017) is the ``TrainOptions`` choice lr_d ≠ lr_g with n_dis = 1.

Width presets (``preset``): every new architecture has a ``"small"`` preset of narrow widths that trains
on a CPU (``ArchSpec.presets``); explicit ``latent_dim``/``g_channels``/``d_channels`` override it.

Truncation (:func:`truncated_latents`, ``ArchSpec.style``): z-space architectures truncate by resampling
every |z_i| > threshold (BigGAN, §3.1); StyleGAN2 truncates in W (w ← w̄ + ψ(w − w̄)), its generator's
``truncation_psi``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch
from torch import nn

from ..regularizers import TrainOptions
from .biggan import RESOLUTIONS as BIGGAN_RESOLUTIONS, build_biggan, build_sagan
from .dcgan import RESOLUTIONS as DCGAN_RESOLUTIONS, build_dcgan
from .equalized import equalized_init_
from .init import check_generator, dcgan_init_, orthogonal_init_, quiet_global_rng, spectral_norm_, xavier_init_
from .layers import HEADS, check_int
from .resnet import RESOLUTIONS as RESNET_RESOLUTIONS, build_resnet
from .stylegan2 import RESOLUTIONS as STYLEGAN2_RESOLUTIONS, build_stylegan2

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


def truncated_latents(latent: str, shape: tuple[int, ...], threshold: float, generator: torch.Generator,
                      device: torch.device | str | None = None, max_rounds: int = 10_000) -> torch.Tensor:
    """z from ``LATENTS[latent]`` with every entry |z_i| > ``threshold`` redrawn until none is left.

    The truncation trick of BigGAN (Brock et al. 2019, §3.1: "sampling z from a truncated normal, where
    values which fall outside a range are resampled to fall inside that range"): the result is the
    latent law conditioned on |z_i| ≤ threshold, entry by entry. Each round draws a full tensor from
    ``generator`` and keeps it where a redraw is needed (deterministic for a given generator state).
    ``threshold`` > 0; ValueError if entries are still out of range after ``max_rounds`` rounds (a
    threshold far too small for the latent law).

    >>> z = truncated_latents("normal", (1000, 8), 0.5, torch.Generator().manual_seed(0))
    >>> bool(z.abs().max() <= 0.5)
    True
    """
    if latent not in LATENTS:
        raise ValueError(f"unknown latent distribution {latent!r}; known: {', '.join(LATENTS)}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (threshold > 0) or \
            threshold != threshold:
        raise ValueError(f"truncation threshold must be a number > 0; got {threshold!r}")
    device = generator.device if device is None else torch.device(device)
    z = LATENTS[latent](shape, generator, device)
    for _ in range(max_rounds):
        bad = z.abs() > threshold
        if not bool(bad.any()):
            return z
        z = torch.where(bad, LATENTS[latent](shape, generator, device), z)
    raise ValueError(f"truncation threshold {threshold} leaves entries out of range after {max_rounds} redraws")


@dataclass(frozen=True)
class ArchSpec:
    """One registered architecture family.

    build : (resolution, channels, num_classes, head, latent_dim=, g_channels=, d_channels=) → (G, D), uninitialised.
    init : in-place initialiser (module, generator) applied to G and to D.
    spectral_norm_d : whether D is spectrally normalised (after initialisation).
    resolutions : accepted image sizes. latent_dim, g_channels, d_channels : paper defaults.
    latent : distribution of z, a key of ``LATENTS`` (DCGAN: uniform on [−1, 1]^100, as the paper says).
    loss, options, batch_size : the paper's training defaults (the trainer uses them unless told otherwise).
    spectral_norm_g : whether G is spectrally normalised too (its embeddings excepted; SAGAN, BigGAN).
    style : a style-based G (StyleGAN2): mapping/synthesis, noise and style mixing from a generator, path-length
        regularization, truncation in W.
    presets : width presets, name → {latent_dim, g_channels, d_channels} (partial dicts allowed).
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
    spectral_norm_g: bool = False
    style: bool = False
    presets: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def widths(self, preset: str | None = None) -> dict[str, int]:
        """{latent_dim, g_channels, d_channels}: the paper's values, or those of width preset ``preset``."""
        base = {"latent_dim": self.latent_dim, "g_channels": self.g_channels, "d_channels": self.d_channels}
        if preset is None:
            return base
        if preset not in self.presets:
            known = ", ".join(self.presets) or "none"
            raise ValueError(f"architecture {self.name!r} has no width preset {preset!r}; known: {known}")
        return base | dict(self.presets[preset])


ARCHS: dict[str, ArchSpec] = {
    "dcgan": ArchSpec(
        "dcgan", build_dcgan, dcgan_init_, False, tuple(sorted(DCGAN_RESOLUTIONS)), 100, 128, 64, "uniform", "ns",
        TrainOptions(n_dis=1, lr_d=2e-4, lr_g=2e-4, beta1=0.5, beta2=0.999), 128,
        "Radford, Metz & Chintala (2016), Unsupervised representation learning with deep convolutional GANs",
        presets={"small": {"g_channels": 64, "d_channels": 32}},
    ),
    "resnet": ArchSpec(
        "resnet", build_resnet, xavier_init_, True, RESNET_RESOLUTIONS, 128, 256, 128, "normal", "hinge",
        TrainOptions(n_dis=5, lr_d=2e-4, lr_g=2e-4, beta1=0.0, beta2=0.9), 64,
        "Miyato, Kataoka, Koyama & Yoshida (2018), Spectral normalization for GANs (CIFAR ResNet)",
        presets={"small": {"g_channels": 64, "d_channels": 32}},
    ),
    "sagan": ArchSpec(
        "sagan", build_sagan, xavier_init_, True, BIGGAN_RESOLUTIONS, 128, 64, 64, "normal", "hinge",
        TrainOptions(n_dis=1, lr_d=4e-4, lr_g=1e-4, beta1=0.0, beta2=0.9), 256,
        "Zhang, Goodfellow, Metaxas & Odena (2019), Self-attention generative adversarial networks",
        spectral_norm_g=True, presets={"small": {"latent_dim": 32, "g_channels": 8, "d_channels": 8}},
    ),
    "biggan": ArchSpec(
        "biggan", build_biggan, orthogonal_init_, True, BIGGAN_RESOLUTIONS, 120, 64, 64, "normal", "hinge",
        TrainOptions(n_dis=2, lr_d=2e-4, lr_g=5e-5, beta1=0.0, beta2=0.999, ortho_weight=1e-4), 2048,
        "Brock, Donahue & Simonyan (2019), Large scale GAN training for high fidelity natural image synthesis",
        spectral_norm_g=True, presets={"small": {"latent_dim": 40, "g_channels": 8, "d_channels": 8}},
    ),
    "stylegan2": ArchSpec(
        "stylegan2", build_stylegan2, equalized_init_, False, STYLEGAN2_RESOLUTIONS, 512, 512, 512, "normal", "ns",
        TrainOptions(n_dis=1, lr_d=2.5e-3, lr_g=2.5e-3, beta1=0.0, beta2=0.99, penalty="r1", penalty_weight=0.01,
                     penalty_interval=16, pl_weight=2.0, pl_interval=4, style_mixing=0.9), 64,
        "Karras, Laine, Aittala, Hellsten, Lehtinen & Aila (2020), Analyzing and improving the image quality of StyleGAN",
        style=True, presets={"small": {"latent_dim": 64, "g_channels": 32, "d_channels": 32}},
    ),
}


def get_arch(name: str) -> ArchSpec:
    """The :class:`ArchSpec` registered as ``name`` (ValueError listing the known names otherwise)."""
    if not isinstance(name, str) or name not in ARCHS:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(ARCHS)}")
    return ARCHS[name]


def build_models(arch: str, resolution: int, channels: int, num_classes: int = 0, conditional: bool = False, *,
                 head: str = "projection", latent_dim: int | None = None, g_channels: int | None = None,
                 d_channels: int | None = None, generator: torch.Generator | None = None,
                 preset: str | None = None) -> tuple[nn.Module, nn.Module]:
    """Build and initialise ``(G, D)`` of architecture ``arch`` (see the module table).

    G maps latents z (B, latent_dim) [and labels y (B,)] to images (B, channels, r, r) in (−1, 1);
    D maps images [and labels] to logits (B,), or (logits, class logits (B, K)) with ``head="acgan"``.
    ``conditional=False`` ignores ``num_classes`` and ``head``. ``latent_dim``/``g_channels``/
    ``d_channels`` default to the paper's values, or to those of the width ``preset`` (tests use narrow
    widths). Every random draw (initial weights, constant inputs and noise maps, spectral-norm vectors)
    comes from ``generator`` (None: a generator seeded with 0); torch's global random state is left as it was.

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
    given = {"latent_dim": latent_dim, "g_channels": g_channels, "d_channels": d_channels}
    widths = spec.widths(preset) | {name: v for name, v in given.items() if v is not None}
    with quiet_global_rng():
        G, D = spec.build(resolution, channels, k, head if conditional else "unconditional", **widths)
    spec.init(G, generator)
    spec.init(D, generator)
    if spec.spectral_norm_g:
        spectral_norm_(G, generator, embeddings=False)
    if spec.spectral_norm_d:
        spectral_norm_(D, generator)
    return G, D
