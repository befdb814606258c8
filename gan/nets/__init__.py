"""Image GAN networks (torch): DCGAN, SN-ResNet, SAGAN, BigGAN, StyleGAN2; conditional heads, EMA, augmentations.

| module | contents |
|---|---|
| :mod:`gan.nets.registry` | ``ARCHS``, :func:`build_models` (arch, resolution, channels, classes) → (G, D), :func:`truncated_latents` |
| :mod:`gan.nets.dcgan` | DCGAN G/D for 64, 32, 28 pixels (Radford et al. 2016) |
| :mod:`gan.nets.resnet` | SN-ResNet-32 G/D (Miyato et al. 2018) |
| :mod:`gan.nets.biggan` | SAGAN (Zhang et al. 2019) and BigGAN (Brock et al. 2019) G/D for 32 and 64 pixels |
| :mod:`gan.nets.attention` | the SAGAN self-attention block |
| :mod:`gan.nets.stylegan2` | StyleGAN2 (Karras et al. 2020a): mapping network, modulated convolutions, skip G, residual D |
| :mod:`gan.nets.equalized` | equalized-learning-rate layers, FIR resampling |
| :mod:`gan.nets.layers` | class-/vector-conditional batch norm; discriminator heads (unconditional, projection, ACGAN) |
| :mod:`gan.nets.init` | DCGAN N(0, 0.02²), Glorot and orthogonal initialisation, spectral norm from an explicit generator |
| :mod:`gan.nets.ema` | exponential moving average of G's weights |
| :mod:`gan.nets.diffaugment` | differentiable augmentations: DiffAugment (Zhao et al. 2020), the CR transforms, ADA's primitives |
| :mod:`gan.nets.ada` | adaptive discriminator augmentation (Karras et al. 2020b) |

Discriminators output logits; the objectives are :func:`gan.losses.get_loss`'s.
"""

from .ada import AdaptiveAugment, ada_augment
from .attention import SelfAttention
from .diffaugment import AUGMENTS, TRANSFORMS, DiffAugment, consistency_transform, diff_augment
from .ema import EMA
from .init import dcgan_init_, orthogonal_init_, spectral_norm_, xavier_init_
from .layers import HEADS, ClassBatchNorm2d, Discriminator, VectorBatchNorm2d
from .registry import ARCHS, LATENTS, ArchSpec, build_models, get_arch, truncated_latents

__all__ = ["ARCHS", "AUGMENTS", "AdaptiveAugment", "ArchSpec", "ClassBatchNorm2d", "DiffAugment", "Discriminator",
           "EMA", "HEADS", "LATENTS", "SelfAttention", "TRANSFORMS", "VectorBatchNorm2d", "ada_augment", "build_models",
           "consistency_transform", "dcgan_init_", "diff_augment", "get_arch", "orthogonal_init_", "spectral_norm_",
           "truncated_latents", "xavier_init_"]
