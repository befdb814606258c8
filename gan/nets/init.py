"""Weight initialisation and spectral normalisation drawn from an explicit ``torch.Generator``.

Library code never touches torch's global random state: modules are *constructed* inside
:func:`torch.random.fork_rng` (torch's default layer initialisers and its spectral-norm set-up
draw from the global generator; the fork restores it afterwards, see :func:`quiet_global_rng`)
and every value that matters is then redrawn here from the generator passed in, in the order of
``module.named_modules()``.

| scheme | weights | reference |
|---|---|---|
| :func:`dcgan_init_` | Conv/ConvTranspose/Linear/Embedding W ~ N(0, 0.02²), biases 0; BatchNorm γ ~ N(1, 0.02²), β = 0 | Radford et al. 2016, §3 |
| :func:`xavier_init_` | W ~ U(±gain·√(6/(fan_in + fan_out))), biases 0, gain √2 on residual-branch convs (``layer.xavier_gain``) | Glorot & Bengio 2010; the SN-GAN reference code (Miyato et al. 2018) |
| :func:`orthogonal_init_` | W (out, in·k…) with orthonormal rows (or columns, whichever are fewer), biases 0; BatchNorm γ = 1, β = 0 | Saxe et al. 2014; BigGAN (Brock et al. 2019, App. B) |
| :func:`spectral_norm_` | W ← W/σ_max(W) on every Linear/Conv (and Embedding) layer; power-iteration vectors u, v redrawn | Miyato et al. 2018 |
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ..regularizers import spectral_normalize
from .layers import ClassBatchNorm2d

_WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def check_generator(generator: torch.Generator) -> torch.Generator:
    """``generator`` if it is a ``torch.Generator``, else TypeError."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (explicit randomness); got {type(generator).__name__}")
    return generator


@contextlib.contextmanager
def quiet_global_rng() -> Iterator[None]:
    """Run a block (module construction) with torch's global CPU generator restored afterwards."""
    with torch.random.fork_rng(devices=[]):
        yield


def _weight(layer: nn.Module) -> torch.Tensor:
    """The trainable weight tensor (the original one under a parametrization such as spectral norm)."""
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original
    return layer.weight


@torch.no_grad()
def _normal_(t: torch.Tensor, mean: float, std: float, generator: torch.Generator) -> None:
    t.copy_(torch.randn(t.shape, generator=generator, dtype=t.dtype) * std + mean)


def _init_targets(module: nn.Module):
    """What an initialiser visits, in ``module.modules()`` order: ``("norm", layer, γ, β)`` for affine batch norms
    (the per-class γ/β tables of a conditional :class:`ClassBatchNorm2d`, whose two embeddings are then not
    visited again as weighted layers) and ``("weighted", layer, None, None)`` for Conv/Linear/Embedding layers."""
    skip: set[int] = set()
    for layer in module.modules():
        if id(layer) in skip:
            continue
        if isinstance(layer, ClassBatchNorm2d) and layer.num_classes > 0:
            skip.update({id(layer.gamma), id(layer.beta)})
            yield "norm", layer, layer.gamma.weight, layer.beta.weight
        elif isinstance(layer, _BATCHNORMS) and layer.affine:
            yield "norm", layer, layer.weight, layer.bias
        elif isinstance(layer, _WEIGHTED):
            yield "weighted", layer, None, None


@torch.no_grad()
def dcgan_init_(module: nn.Module, generator: torch.Generator, std: float = 0.02) -> nn.Module:
    """DCGAN initialisation in place (Radford, Metz & Chintala 2016, §3 "Details of adversarial training"):
    "all weights were initialized from a zero-centered Normal distribution with standard deviation 0.02".

    Conv, transposed conv, Linear and Embedding weights ~ N(0, std²), their biases 0; batch-norm
    scales γ ~ N(1, std²) and shifts β = 0 (the PyTorch reference implementation's reading of the
    paper for BatchNorm), also the per-class γ/β tables of :class:`ClassBatchNorm2d`. Returns ``module``.
    """
    check_generator(generator)
    for kind, layer, scale, shift in _init_targets(module):
        if kind == "norm":
            _normal_(scale, 1.0, std, generator)
            shift.zero_()
        else:
            _normal_(_weight(layer), 0.0, std, generator)
            if getattr(layer, "bias", None) is not None:
                layer.bias.zero_()
    return module


def set_xavier_gain(layer: nn.Module, gain: float) -> nn.Module:
    """Mark ``layer`` for :func:`xavier_init_` with ``gain`` (default 1); returns the layer."""
    layer.xavier_gain = float(gain)
    return layer


@torch.no_grad()
def xavier_init_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Glorot-uniform initialisation in place: W ~ U(−a, a), a = gain·√(6/(fan_in + fan_out)), biases 0.

    Glorot & Bengio (2010); gains as in the SN-GAN/cGAN reference code of Miyato et al. (2018):
    √2 for the convolutions of residual branches, 1 elsewhere (shortcuts, first Linear, output
    conv, heads, embeddings), read from ``layer.xavier_gain`` (:func:`set_xavier_gain`). Batch
    norms get γ = 1 (per-class tables too), β = 0. Returns ``module``.
    """
    check_generator(generator)
    for kind, layer, scale, shift in _init_targets(module):
        if kind == "norm":
            scale.fill_(1.0)
            shift.zero_()
        else:
            w = _weight(layer)
            fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
            a = getattr(layer, "xavier_gain", 1.0) * math.sqrt(6.0 / (fan_in + fan_out))
            w.copy_((torch.rand(w.shape, generator=generator, dtype=w.dtype) * 2.0 - 1.0) * a)
            if getattr(layer, "bias", None) is not None:
                layer.bias.zero_()
    return module


def orthogonal_(w: torch.Tensor, generator: torch.Generator) -> None:
    """Fill ``w`` (out, …) in place with a random orthogonal matrix of shape (out, prod(rest)) from ``generator``.

    Saxe, McClelland & Ganguli (2014): A ~ N(0, 1)^{rows × cols} (transposed when rows < cols), A = QR,
    Q ← Q·sign(diag R) (the Haar-distributed orthogonal factor); rows of the result are orthonormal
    when out ≤ prod(rest), columns otherwise. The same algorithm as ``torch.nn.init.orthogonal_``,
    with the draw from an explicit generator.
    """
    rows = w.shape[0]
    cols = w.numel() // rows
    a = torch.randn((rows, cols), generator=generator, dtype=torch.float64)
    if rows < cols:
        a = a.T
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    if rows < cols:
        q = q.T
    with torch.no_grad():
        w.copy_(q.reshape(w.shape).to(w.dtype))


@torch.no_grad()
def orthogonal_init_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Orthogonal initialisation in place (BigGAN's ``G_init='ortho'``/``D_init='ortho'``, Brock et al. 2019,
    App. B, after Saxe et al. 2014): every Conv/Linear/Embedding weight, reshaped to (out, in·k…), gets
    orthonormal rows or columns (:func:`orthogonal_`), biases 0; batch norms γ = 1 (per-class tables too),
    β = 0. Returns ``module``.
    """
    check_generator(generator)
    for kind, layer, scale, shift in _init_targets(module):
        if kind == "norm":
            scale.fill_(1.0)
            shift.zero_()
        else:
            orthogonal_(_weight(layer), generator)
            if getattr(layer, "bias", None) is not None:
                layer.bias.zero_()
    return module


def _spectral_norms(module: nn.Module):
    for layer in module.modules():
        if parametrize.is_parametrized(layer, "weight"):
            for p in layer.parametrizations["weight"]:
                if type(p).__name__ == "_SpectralNorm":
                    yield layer, p


@torch.no_grad()
def spectral_norm_(module: nn.Module, generator: torch.Generator, n_power_iterations: int = 1,
                   embeddings: bool = True, warmup_iterations: int = 15) -> nn.Module:
    """Spectral normalisation W ← W/σ_max(W) of every Linear and (transposed) Conv layer, in place,
    with the power-iteration state drawn from ``generator``.

    Miyato, Kataoka, Koyama & Yoshida (2018), "Spectral normalization for generative adversarial
    networks". Uses :func:`gan.regularizers.spectral_normalize` (torch's parametrization; idempotent)
    and, with ``embeddings``, also normalises ``nn.Embedding`` tables (the class embedding of a
    projection discriminator, Miyato & Koyama 2018). torch draws the initial u, v from the global
    generator; here that draw is discarded (:func:`quiet_global_rng`) and u ~ N(0, I), v ~ N(0, I)
    are redrawn from ``generator``, normalised and refined by ``warmup_iterations`` power steps
    u ← Wv/‖Wv‖, v ← Wᵀu/‖Wᵀu‖ (what torch does at registration). Returns ``module``.
    """
    check_generator(generator)
    with quiet_global_rng():
        spectral_normalize(module, n_power_iterations)
        if embeddings:
            for layer in list(module.modules()):
                if isinstance(layer, nn.Embedding) and not parametrize.is_parametrized(layer, "weight"):
                    nn.utils.parametrizations.spectral_norm(layer, "weight", n_power_iterations=n_power_iterations)
    for layer, sn in _spectral_norms(module):
        w = layer.parametrizations.weight.original
        mat = w.movedim(sn.dim, 0).flatten(1)
        u = F.normalize(torch.randn(mat.shape[0], generator=generator, dtype=w.dtype).to(w.device), dim=0, eps=sn.eps)
        v = F.normalize(torch.randn(mat.shape[1], generator=generator, dtype=w.dtype).to(w.device), dim=0, eps=sn.eps)
        for _ in range(warmup_iterations):
            u = F.normalize(mat @ v, dim=0, eps=sn.eps)
            v = F.normalize(mat.T @ u, dim=0, eps=sn.eps)
        sn._u.copy_(u)
        sn._v.copy_(v)
    return module
