"""Equalized-learning-rate layers and the [1, 3, 3, 1] resampling filters of StyleGAN2.

Equalized learning rate (Karras et al. 2018, "Progressive growing of GANs", §4.1; StyleGAN2,
Karras et al. 2020a): a weight is *stored* as w ~ N(0, 1/λ²) and *used* as

    ŵ = w · λ / √fan_in,        fan_in = in_features (Linear) or in_channels · k² (Conv),

so every layer's effective weight starts with standard deviation 1/√fan_in (He-like, whatever the
width) while Adam, which is invariant to the parameter's scale, moves ŵ at a rate λ·lr/√fan_in:
every layer learns at the same speed, and λ (``lr_mul``, 0.01 in StyleGAN2's mapping network)
slows a layer down. Biases are stored as b/λ and used as b·λ (initial value ``bias_init``).
Leaky ReLU (slope 0.2) is followed by the gain √2 of the official code (``bias_act``'s ``def_gain``),
so with unit-variance inputs the second moment of every activation stays ≈ 1.

| name | what | reference |
|---|---|---|
| :class:`EqualLinear` | y = act(x ŵᵀ + b λ) · gain | Karras et al. 2018; 2020a (``FullyConnectedLayer``) |
| :class:`EqualConv2d` | y = act(conv(x, ŵ) + b) · gain, optionally blur + stride-2 ("down") | Karras et al. 2020a (``Conv2dLayer``) |
| :class:`EqualEmbedding` | e_y = E[y]/√dim, E ~ N(0, 1) (class embedding of a projection head) | StyleGAN2-ADA's ``cmap`` normalisation 1/√cmap_dim |
| :func:`upsample2d` / :func:`downsample2d` / :func:`blur2d` | FIR filter f = [1, 3, 3, 1]⊗[1, 3, 3, 1]/64 (gain 4 when upsampling) | Zhang 2019 (anti-aliasing); Karras et al. 2020a (``upfirdn2d``) |
| :func:`equalized_init_` | calls ``reset_parameters_(generator)`` of every layer that has one | explicit randomness |

Resampling follows the official ``conv2d_resample``: a stride-2 3×3 conv is blur (padding 2) then
conv (stride 2, no padding); a 1×1 down-sampling shortcut is blur + decimate, then conv. Up-sampling
convs (``gan.nets.stylegan2``) up-sample first and convolve second, the same linear map as the official
transposed conv followed by the filter (convolutions commute) except within one pixel of the border.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .init import check_generator
from .layers import check_int

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)
ACTIVATIONS = ("linear", "lrelu")

_FIR_1D = torch.tensor([1.0, 3.0, 3.0, 1.0])


def _fir(x: torch.Tensor) -> torch.Tensor:
    """The 4×4 filter f = [1,3,3,1]⊗[1,3,3,1]/64 (sum 1) as a depthwise kernel (C, 1, 4, 4) for ``x``."""
    f = torch.outer(_FIR_1D, _FIR_1D)
    f = (f / f.sum()).to(device=x.device, dtype=x.dtype)
    return f.expand(x.shape[1], 1, 4, 4)


def upsample2d(x: torch.Tensor) -> torch.Tensor:
    """×2 up-sampling: zero insertion, then the FIR filter with gain 4 (bilinear weights ¾, ¼ inside the image).

    (B, C, H, W) → (B, C, 2H, 2W). ``upfirdn2d.upsample2d(x, [1,3,3,1])`` of StyleGAN2.
    """
    return F.conv_transpose2d(x, _fir(x) * 4.0, stride=2, padding=1, groups=x.shape[1])


def downsample2d(x: torch.Tensor) -> torch.Tensor:
    """×½ down-sampling: the FIR filter (zero padding 1), then every other pixel: (B, C, H, W) → (B, C, H/2, W/2)."""
    return F.conv2d(F.pad(x, [1, 1, 1, 1]), _fir(x), stride=2, groups=x.shape[1])


def blur2d(x: torch.Tensor, pad: int) -> torch.Tensor:
    """The FIR filter at stride 1 with zero padding ``pad`` on every side: (H, W) → (H + 2·pad − 3, W + 2·pad − 3)."""
    return F.conv2d(F.pad(x, [pad] * 4), _fir(x), groups=x.shape[1])


def activate(x: torch.Tensor, activation: str, gain: float = 1.0) -> torch.Tensor:
    """``linear``: x·gain; ``lrelu``: leaky_relu(x, 0.2)·√2·gain (StyleGAN2's ``bias_act``)."""
    if activation == "lrelu":
        return F.leaky_relu(x, LRELU_SLOPE) * (LRELU_GAIN * gain)
    return x * gain if gain != 1.0 else x


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}")
    return activation


def _check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


class EqualLinear(nn.Module):
    """Fully connected layer with equalized learning rate (see the module docstring).

    Stored weight (out, in) ~ N(0, 1/λ²) and bias ``bias_init``/λ; used as ŵ = w·λ/√in and b·λ;
    ``activation`` "linear" or "lrelu" (with gain √2). Shapes (B, in) → (B, out).
    """

    spectral_norm_replaces_gain = True  # gan.regularizers.spectral_normalize: use W/σ(W) as is

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0,
                 lr_mul: float = 1.0, activation: str = "linear"):
        super().__init__()
        self.in_features = check_int("in_features", in_features, 1)
        self.out_features = check_int("out_features", out_features, 1)
        self.lr_mul = _check_positive("lr_mul", lr_mul)
        self.bias_init = float(bias_init)
        self.activation = _check_activation(activation)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.weight_gain = self.lr_mul / math.sqrt(in_features)

    @torch.no_grad()
    def reset_parameters_(self, generator: torch.Generator) -> None:
        """w ~ N(0, 1/λ²) from ``generator``; b = bias_init/λ (so the used bias starts at bias_init)."""
        self.weight.copy_(torch.randn(self.weight.shape, generator=generator) / self.lr_mul)
        if self.bias is not None:
            self.bias.fill_(self.bias_init / self.lr_mul)

    def effective_weight(self) -> torch.Tensor:
        """ŵ = w·λ/√fan_in, the weight the forward pass uses."""
        return self.weight * self.weight_gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = None if self.bias is None else self.bias * self.lr_mul
        return activate(F.linear(x, self.effective_weight(), b), self.activation)


class EqualConv2d(nn.Module):
    """Convolution (kernel k, "same" padding) with equalized learning rate; ``down`` for blur + stride 2.

    Stored weight (out, in, k, k) ~ N(0, 1), used as ŵ = w/√(in·k²); bias starts at 0. ``forward(x, gain)``
    multiplies the activated output by ``gain`` (√½ on the two branches of a residual block).
    """

    spectral_norm_replaces_gain = True  # gan.regularizers.spectral_normalize: use W/σ(W) as is

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "linear", down: bool = False):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        self.kernel_size = check_int("kernel_size", kernel_size, 1)
        self.activation = _check_activation(activation)
        self.down = bool(down)
        self.lr_mul = 1.0
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size ** 2)

    @torch.no_grad()
    def reset_parameters_(self, generator: torch.Generator) -> None:
        """w ~ N(0, 1) from ``generator``; b = 0."""
        self.weight.copy_(torch.randn(self.weight.shape, generator=generator))
        if self.bias is not None:
            self.bias.zero_()

    def effective_weight(self) -> torch.Tensor:
        """ŵ = w/√(in·k²)."""
        return self.weight * self.weight_gain

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w, k = self.effective_weight().to(x.dtype), self.kernel_size
        if not self.down:
            x = F.conv2d(x, w, self.bias, padding=k // 2)
        elif k == 1:
            x = F.conv2d(downsample2d(x), w, self.bias)
        else:  # blur with padding k//2 + 1, then a valid stride-2 conv: (H + 2(k//2 + 1) − 3 − k)/2 + 1 = H/2
            x = F.conv2d(blur2d(x, k // 2 + 1), w, self.bias, stride=2)
        return activate(x, self.activation, gain)


class EqualEmbedding(nn.Module):
    """Class embedding table E (K, dim) ~ N(0, 1), used as E[y]/√dim (so ⟨e_y, φ⟩ has the scale of a
    normalised projection, StyleGAN2-ADA's ``(x · cmap).sum() / √cmap_dim``). ``forward(y)``: (B,) → (B, dim)."""

    spectral_norm_replaces_gain = True  # gan.regularizers.spectral_normalize: use W/σ(W) as is

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        self.num_embeddings = check_int("num_embeddings", num_embeddings, 1)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, 1)
        self.weight = nn.Parameter(torch.empty(num_embeddings, embedding_dim))
        self.lr_mul = 1.0
        self.weight_gain = 1.0 / math.sqrt(embedding_dim)

    @torch.no_grad()
    def reset_parameters_(self, generator: torch.Generator) -> None:
        """E ~ N(0, 1) from ``generator``."""
        self.weight.copy_(torch.randn(self.weight.shape, generator=generator))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return F.embedding(y, self.weight) * self.weight_gain


@torch.no_grad()
def equalized_init_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Initialise every sub-module that defines ``reset_parameters_(generator)`` (in ``module.modules()``
    order, all draws from ``generator``): the equalized layers above, StyleGAN2's modulated convolutions,
    constant inputs and noise strengths. Returns ``module``."""
    check_generator(generator)
    for layer in module.modules():
        reset = getattr(layer, "reset_parameters_", None)
        if reset is not None:
            reset(generator)
    return module


__all__ = ["ACTIVATIONS", "LRELU_GAIN", "LRELU_SLOPE", "EqualConv2d", "EqualEmbedding", "EqualLinear", "activate",
           "blur2d", "downsample2d", "equalized_init_", "upsample2d"]
