"""StyleGAN2 generator and discriminator for 32×32 and 64×64 images (Karras et al. 2020a, "Analyzing and
improving the image quality of StyleGAN"; written after the official PyTorch code of StyleGAN2-ADA,
``training/networks.py``, with every random draw from an explicit ``torch.Generator``).

**Mapping network** (§2 of StyleGAN, Karras et al. 2019): z ~ N(0, I) is normalised to unit second
moment, z ← z/√(mean z² + 1e-8) (a class-conditional model concatenates the equally normalised
embedding of y), then 8 :class:`~gan.nets.equalized.EqualLinear` layers with leaky ReLU and
learning-rate multiplier 0.01 give w ∈ W (dimension w_dim = latent_dim). In training mode the
running mean w̄ ← w̄ + (1 − 0.995)(mean_batch w − w̄) is tracked for the truncation trick.

**Synthesis network** ("skip" generator, §4.1 and Fig. 7): a learned 4×4 constant, then one block per
resolution 4, 8, …, r; a block up-samples (FIR [1,3,3,1]) and applies two 3×3 modulated convolutions
(the 4×4 block one), each followed by per-pixel noise n·s (s a learned scalar initialised at 0), a bias
and leaky ReLU·√2, and adds its 1×1 ``ToRGB`` output (modulated, not demodulated) to the up-sampled
image of the previous blocks. Every layer ℓ takes its own w_ℓ (``num_ws`` = 2·log₂r − 2 of them: 8 at
32 px, 10 at 64 px); they are all the same w unless styles are mixed.

**Modulated convolution with weight demodulation** (§2.2, eqs. 1–3): the style s = A(w) (an affine
EqualLinear, bias initialised to 1) scales the input channels, w'_{ijk} = s_i w_{ijk}, and the output
is demodulated: w''_{ijk} = w'_{ijk} / √(Σ_{i,k} w'_{ijk}² + 1e-8). For inputs with unit variance,
independent across channels and positions, every output feature map then has unit variance whatever
the style. Computed as conv(x ⊙ s, w) ⊙ d (the official "non-fused" form; the same numbers).

**Discriminator** ("resnet", Fig. 7): ``FromRGB`` (1×1), then blocks r → r/2 … 8 → 4, each
conv3×3 → conv3×3 ↓2 (blur + stride 2) on the main branch and a bias-free 1×1 ↓2 shortcut, both
scaled by √½; then the epilogue at 4×4: minibatch standard deviation (:func:`gan.remedies.minibatch_stddev`,
groups of 4 samples, one statistic), conv3×3, a fully connected layer → features (B, C₄), and the head
of :class:`~gan.nets.layers.Discriminator` with equalized layers (a projection head divides the class
embedding by √C₄ as StyleGAN2-ADA's ``cmap`` does).

Widths: C(res) = min(32·c / res, c) with c = ``g_channels`` (G) or ``d_channels`` (D), 512 by default:
StyleGAN2-ADA's ``channel_base`` = 16384, ``channel_max`` = 512 for r < 512 (its "auto" configuration),
i.e. 512 at every resolution ≤ 32 and 256 at 64. All layers use the equalized learning rate.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..remedies import minibatch_stddev
from .equalized import EqualConv2d, EqualEmbedding, EqualLinear, activate, upsample2d
from .layers import Discriminator, check_int

RESOLUTIONS = (32, 64)
MAPPING_LAYERS = 8
MAPPING_LR_MUL = 0.01
W_AVG_BETA = 0.995
MBSTD_GROUP = 4


def _check_resolution(resolution: int) -> int:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"StyleGAN2 resolution must be one of {RESOLUTIONS}; got {resolution!r}")
    return resolution


def widths(resolution: int, c: int) -> dict[int, int]:
    """Channels per block resolution 4 … ``resolution``: min(32·c // res, c) (module docstring)."""
    sides = [2 ** i for i in range(2, int(math.log2(resolution)) + 1)]
    return {s: max(1, min(32 * c // s, c)) for s in sides}


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """x / √(mean over the last axis of x² + eps) (StyleGAN's pixel norm of z)."""
    return x * (x.square().mean(dim=-1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z (B, z_dim) [, y (B,)] → w (B, w_dim): normalise, 8 EqualLinear + lrelu layers with lr multiplier 0.01.

    ``w_avg`` (buffer) tracks the batch mean of w with decay 0.995 in training mode (not when
    ``update_w_avg=False``, the second latent of style mixing, as the official ``skip_w_avg_update``).
    """

    def __init__(self, z_dim: int, w_dim: int, num_classes: int = 0, num_layers: int = MAPPING_LAYERS,
                 lr_mul: float = MAPPING_LR_MUL, w_avg_beta: float = W_AVG_BETA):
        super().__init__()
        self.z_dim = check_int("z_dim", z_dim, 1)
        self.w_dim = check_int("w_dim", w_dim, 1)
        self.num_classes = check_int("num_classes", num_classes, 0)
        self.num_layers = check_int("num_layers", num_layers, 1)
        self.w_avg_beta = float(w_avg_beta)
        self.embed = EqualEmbedding(num_classes, w_dim) if num_classes else None
        dims = [z_dim + (w_dim if num_classes else 0)] + [w_dim] * num_layers
        self.layers = nn.Sequential(*[EqualLinear(a, b, lr_mul=lr_mul, activation="lrelu")
                                      for a, b in zip(dims, dims[1:])])
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, update_w_avg: bool = True) -> torch.Tensor:
        x = normalize_2nd_moment(z.float())
        if self.embed is not None:
            if y is None:
                raise ValueError("a class-conditional StyleGAN2 mapping network needs labels y of shape (B,)")
            x = torch.cat([x, normalize_2nd_moment(self.embed(y))], dim=1)
        w = self.layers(x)
        if self.training and update_w_avg:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().mean(dim=0).to(self.w_avg.dtype), 1.0 - self.w_avg_beta)
        return w


class ModulatedConv2d(nn.Module):
    """Modulated (and optionally demodulated) k×k convolution, optionally preceded by ×2 FIR up-sampling.

    ``forward(x, w)``: styles s = A(w) (B, in) with A an EqualLinear whose bias starts at 1;
    y = conv(x ⊙ s, W) ⊙ d with d_{b,o} = 1/√(Σ_{i,k} (W_{oik} s_{bi})² + 1e-8) when ``demodulate``
    (module docstring, eqs. 1–3); ToRGB layers (``demodulate=False``) scale s by 1/√(in·k²) instead.
    The stored W ~ N(0, 1).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int, demodulate: bool = True,
                 up: bool = False):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        self.kernel_size = check_int("kernel_size", kernel_size, 1)
        self.demodulate, self.up = bool(demodulate), bool(up)
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.style_gain = 1.0 if demodulate else 1.0 / math.sqrt(in_channels * kernel_size ** 2)

    @torch.no_grad()
    def reset_parameters_(self, generator: torch.Generator) -> None:
        """W ~ N(0, 1) from ``generator`` (the affine layer initialises itself)."""
        self.weight.copy_(torch.randn(self.weight.shape, generator=generator))

    def styles(self, w: torch.Tensor) -> torch.Tensor:
        """s = A(w) (· 1/√(in·k²) without demodulation), shape (B, in_channels)."""
        return self.affine(w) * self.style_gain

    def demodulation(self, s: torch.Tensor) -> torch.Tensor:
        """d (B, out) = 1/√(Σ_{i,k} (W_{oik} s_{bi})² + 1e-8)."""
        wsq = self.weight.square().sum(dim=(2, 3))  # (out, in)
        return (s.square() @ wsq.T + 1e-8).rsqrt()

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.styles(w)
        if self.up:
            x = upsample2d(x)
        x = F.conv2d(x * s.to(x.dtype)[:, :, None, None], self.weight.to(x.dtype), padding=self.kernel_size // 2)
        if self.demodulate:
            x = x * self.demodulation(s).to(x.dtype)[:, :, None, None]
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3×3 conv (after ×2 up-sampling if ``up``) + noise·strength + bias, then lrelu·√2.

    Noise: per-pixel N(0, 1) maps (B, 1, H, W) drawn from ``generator`` when one is given ("random"
    noise), else the fixed map ``noise_const`` drawn at initialisation ("const"); the strength is a
    learned scalar initialised at 0.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False):
        super().__init__()
        self.resolution = resolution
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, demodulate=True, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("noise_const", torch.zeros(resolution, resolution))

    @torch.no_grad()
    def reset_parameters_(self, generator: torch.Generator) -> None:
        """noise_const ~ N(0, 1), strength 0, bias 0."""
        self.noise_const.copy_(torch.randn(self.noise_const.shape, generator=generator))
        self.noise_strength.zero_()
        self.bias.zero_()

    def forward(self, x: torch.Tensor, w: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = self.conv(x, w)
        if generator is None:
            noise = self.noise_const.to(x.dtype)[None, None]
        else:
            noise = torch.randn((x.shape[0], 1, self.resolution, self.resolution), generator=generator,
                                device=generator.device, dtype=torch.float32).to(x.device, x.dtype)
        x = x + noise * self.noise_strength.to(x.dtype) + self.bias.to(x.dtype)[None, :, None, None]
        return activate(x, "lrelu")


class ToRGB(nn.Module):
    """1×1 modulated conv without demodulation, plus a bias (linear): features → image channels."""

    def __init__(self, in_channels: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    @torch.no_grad()
    def reset_parameters_(self, generator: torch.Generator) -> None:
        """bias 0 (no draw)."""
        self.bias.zero_()

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias.to(x.dtype)[None, :, None, None]


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator: [const | up-conv] → conv → ToRGB added to the up-sampled image."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, channels: int):
        super().__init__()
        self.first = in_channels == 0
        self.resolution = resolution
        if self.first:
            self.const = nn.Parameter(torch.zeros(out_channels, resolution, resolution))
            self.conv0 = None
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=True)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution)
        self.torgb = ToRGB(out_channels, channels, w_dim)
        self.num_conv = 1 if self.first else 2

    @torch.no_grad()
    def reset_parameters_(self, generator: torch.Generator) -> None:
        """The 4×4 constant ~ N(0, 1)."""
        if self.first:
            self.const.copy_(torch.randn(self.const.shape, generator=generator))

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """ws: (B, num_conv + 1, w_dim), the last one for ToRGB (shared with the next block's first conv)."""
        if self.first:
            x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        else:
            x = self.conv0(x, ws[:, 0], generator)
        x = self.conv1(x, ws[:, self.num_conv - 1], generator)
        y = self.torgb(x, ws[:, self.num_conv]).float()
        img = y if img is None else upsample2d(img) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws (B, num_ws, w_dim) → image (B, channels, r, r) (linear output; the generator does not squash it)."""

    def __init__(self, w_dim: int, resolution: int, channels: int, g_channels: int):
        super().__init__()
        ch = widths(resolution, g_channels)
        sides = sorted(ch)
        self.blocks = nn.ModuleList([
            SynthesisBlock(ch[s // 2] if s > 4 else 0, ch[s], w_dim, s, channels) for s in sides])
        self.num_ws = sum(b.num_conv for b in self.blocks) + 1

    def forward(self, ws: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = img = None
        i = 0
        for block in self.blocks:
            x, img = block(x, img, ws[:, i:i + block.num_conv + 1], generator)
            i += block.num_conv
        return img


class StyleGAN2Generator(nn.Module):
    """z (B, latent_dim) [, y (B,)] → images (B, channels, r, r) (see the module docstring).

    ``forward(z, y=None, *, generator=None, style_mixing=0.0, truncation_psi=1.0, return_ws=False)``:

    * ``generator``: random per-pixel noise (and the style-mixing draws) from this ``torch.Generator``;
      None: the constant noise maps (deterministic).
    * ``style_mixing`` p: with probability p (one draw per batch) a second latent z₂ ~ N(0, I), drawn from
      ``generator``, replaces w in the layers from a cutoff uniform on {1, …, num_ws − 1} on (Karras et al.
      2019, §3.1; StyleGAN2-ADA's ``style_mixing_prob``, 0.9).
    * ``truncation_psi`` ψ: w ← w̄ + ψ (w − w̄) in every layer (the truncation trick in W, Karras et al.
      2019, §3.1 and eq. 3 of StyleGAN2's appendix; ψ = 1: none).
    * ``return_ws``: also return the per-layer latents ws (B, num_ws, w_dim) the image was made from (for
      the path-length penalty).

    The output is the skip network's image as is (linear, as in the official code; the trainers and
    metrics treat [−1, 1] as the image range). Conditional models take labels y.
    """

    style_based = True

    def __init__(self, resolution: int = 32, channels: int = 3, latent_dim: int = 512, g_channels: int = 512,
                 num_classes: int = 0, mapping_layers: int = MAPPING_LAYERS):
        super().__init__()
        self.resolution = _check_resolution(resolution)
        self.channels = check_int("channels", channels, 1)
        self.latent_dim = check_int("latent_dim", latent_dim, 1)
        self.num_classes = check_int("num_classes", num_classes, 0)
        check_int("g_channels", g_channels, 1)
        self.synthesis = SynthesisNetwork(latent_dim, resolution, channels, g_channels)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(latent_dim, latent_dim, num_classes, mapping_layers)

    def styles(self, z: torch.Tensor, y: torch.Tensor | None = None, generator: torch.Generator | None = None,
               style_mixing: float = 0.0, truncation_psi: float = 1.0) -> torch.Tensor:
        """Per-layer latents ws (B, num_ws, w_dim): mapping, style mixing, truncation (see :meth:`forward`)."""
        w = self.mapping(z, y)
        ws = w[:, None, :].expand(-1, self.num_ws, -1)
        if style_mixing > 0:
            if generator is None:
                raise ValueError("style mixing draws a second latent: pass a torch.Generator")
            dev = generator.device
            cutoff = torch.randint(1, self.num_ws, (), generator=generator, device=dev)
            mix = torch.rand((), generator=generator, device=dev) < style_mixing
            cutoff = torch.where(mix, cutoff, torch.full_like(cutoff, self.num_ws))
            z2 = torch.randn(z.shape, generator=generator, device=dev).to(z.device, z.dtype)
            w2 = self.mapping(z2, y, update_w_avg=False)
            later = (torch.arange(self.num_ws, device=dev) >= cutoff).to(z.device)[None, :, None]
            ws = torch.where(later, w2[:, None, :], ws)
        if truncation_psi != 1.0:  # in float32 (ws is bf16 under autocast)
            ws = self.mapping.w_avg.lerp(ws.float(), float(truncation_psi))
        return ws

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, *, generator: torch.Generator | None = None,
                style_mixing: float = 0.0, truncation_psi: float = 1.0, return_ws: bool = False):
        ws = self.styles(z, y, generator, style_mixing, truncation_psi)
        img = self.synthesis(ws, generator)
        return (img, ws) if return_ws else img


class DBlock(nn.Module):
    """Residual D block: (conv3×3 → conv3×3↓2)·√½ + (conv1×1↓2, no bias)·√½; lrelu·√2 on the main branch."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv0 = EqualConv2d(c_in, c_in, 3, activation="lrelu")
        self.conv1 = EqualConv2d(c_in, c_out, 3, activation="lrelu", down=True)
        self.skip = EqualConv2d(c_in, c_out, 1, bias=False, down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = math.sqrt(0.5)
        return self.skip(x, gain=g) + self.conv1(self.conv0(x), gain=g)


def _group_size(n: int, group: int) -> int:
    """The largest divisor of the batch size n that is ≤ ``group`` (StyleGAN2 needs n divisible by its group)."""
    return max(d for d in range(1, min(group, n) + 1) if n % d == 0)


class StyleGAN2Body(nn.Module):
    """StyleGAN2 residual discriminator body: images (B, C, r, r) → features (B, C₄) (module docstring)."""

    def __init__(self, resolution: int = 32, channels: int = 3, d_channels: int = 512, mbstd_group: int = MBSTD_GROUP):
        super().__init__()
        _check_resolution(resolution)
        check_int("channels", channels, 1)
        ch = widths(resolution, check_int("d_channels", d_channels, 1))
        self.mbstd_group = check_int("mbstd_group", mbstd_group, 1)
        sides = sorted(ch, reverse=True)  # r, r/2, …, 4
        self.fromrgb = EqualConv2d(channels, ch[resolution], 1, activation="lrelu")
        self.blocks = nn.Sequential(*[DBlock(ch[s], ch[s // 2]) for s in sides[:-1]])
        c4 = self.feature_dim = ch[4]
        self.conv = EqualConv2d(c4 + 1, c4, 3, activation="lrelu")
        self.fc = EqualLinear(c4 * 16, c4, activation="lrelu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.fromrgb(x))
        h = minibatch_stddev(h.float(), group_size=_group_size(h.shape[0], self.mbstd_group)).to(h.dtype)
        return self.fc(self.conv(h).flatten(1))


def build_stylegan2(resolution: int, channels: int, num_classes: int = 0, head: str = "unconditional", *,
                    latent_dim: int = 512, g_channels: int = 512, d_channels: int = 512) -> tuple[nn.Module, nn.Module]:
    """(G, D) of StyleGAN2, not yet initialised (see :func:`gan.nets.build_models`; init: ``equalized_init_``)."""
    G = StyleGAN2Generator(resolution, channels, latent_dim, g_channels, num_classes)
    body = StyleGAN2Body(resolution, channels, d_channels)
    k = num_classes if head != "unconditional" else 0
    D = Discriminator(body, body.feature_dim, head, k, linear=EqualLinear, embedding=EqualEmbedding)
    return G, D


__all__ = ["MAPPING_LAYERS", "MAPPING_LR_MUL", "RESOLUTIONS", "DBlock", "MappingNetwork", "ModulatedConv2d",
           "StyleGAN2Body", "StyleGAN2Generator", "SynthesisBlock", "SynthesisLayer", "SynthesisNetwork", "ToRGB",
           "build_stylegan2", "normalize_2nd_moment", "widths"]
