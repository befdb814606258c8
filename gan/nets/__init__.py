"""Image GAN networks (torch): DCGAN and SN-ResNet families, conditional heads, EMA, DiffAugment.

| module | contents |
|---|---|
| :mod:`gan.nets.registry` | ``ARCHS``, :func:`build_models` (arch, resolution, channels, classes) → (G, D) |
| :mod:`gan.nets.dcgan` | DCGAN G/D for 64, 32, 28 pixels (Radford et al. 2016) |
| :mod:`gan.nets.resnet` | SN-ResNet-32 G/D (Miyato et al. 2018) |
| :mod:`gan.nets.layers` | class-conditional batch norm; discriminator heads (unconditional, projection, ACGAN) |
| :mod:`gan.nets.init` | DCGAN N(0, 0.02²) and Glorot initialisation, spectral norm from an explicit generator |
| :mod:`gan.nets.ema` | exponential moving average of G's weights |
| :mod:`gan.nets.diffaugment` | DiffAugment (Zhao et al. 2020) with an explicit generator |

Discriminators output logits; the objectives are :func:`gan.losses.get_loss`'s.
"""

from .diffaugment import AUGMENTS, DiffAugment, diff_augment
from .ema import EMA
from .init import dcgan_init_, spectral_norm_, xavier_init_
from .layers import HEADS, ClassBatchNorm2d, Discriminator
from .registry import ARCHS, LATENTS, ArchSpec, build_models, get_arch

__all__ = ["ARCHS", "AUGMENTS", "ArchSpec", "ClassBatchNorm2d", "DiffAugment", "Discriminator", "EMA", "HEADS", "LATENTS",
           "build_models", "dcgan_init_", "diff_augment", "get_arch", "spectral_norm_", "xavier_init_"]
