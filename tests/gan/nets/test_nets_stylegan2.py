"""StyleGAN2 (Karras et al. 2020a) against its paper: weight demodulation, equalized learning rate, the mapping
network, truncation in W, style mixing, noise inputs, the skip generator and the residual D with minibatch std."""

from __future__ import annotations

import math
from itertools import chain

import pytest
import torch

from gan.nets import build_models, spectral_norm_
from gan.nets.equalized import EqualConv2d, EqualLinear, equalized_init_, upsample2d
from gan.nets.stylegan2 import ModulatedConv2d, _group_size


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _small(res: int = 32, classes: int = 0, **kw):
    G, D = build_models("stylegan2", res, 1, classes, classes > 0, preset="small", generator=_g(0), **kw)
    return G, D


# ----------------------------------------------------------------------------- weight demodulation
def _modconv_with_style(s: torch.Tensor, demodulate: bool = True) -> ModulatedConv2d:
    """A 16 → 8 modulated 3×3 conv whose style A(w) is exactly ``s`` (affine weight 0, bias s)."""
    conv = equalized_init_(ModulatedConv2d(16, 8, 3, w_dim=4, demodulate=demodulate), _g(1)).double()
    with torch.no_grad():
        conv.affine.weight.zero_()
        conv.affine.bias.copy_(s)
    return conv


STYLES = {
    "ones": torch.ones(16, dtype=torch.float64),
    "spread 1e-3..1e3": torch.logspace(-3, 3, 16, dtype=torch.float64),
    "half zero, signs": torch.tensor([0.0, -2.0] * 8, dtype=torch.float64),
}


@pytest.mark.parametrize("style", list(STYLES))
def test_demodulation_gives_unit_output_variance_for_any_style(style):
    """y_o = Σ_{i,k} w''_{oik} x_i: with x i.i.d. N(0, 1), E y_o² = Σ w''² = 1 for every output map o (eq. 3)."""
    s = STYLES[style]
    conv = _modconv_with_style(s)
    x = torch.randn(1024, 16, 10, 10, generator=_g(2), dtype=torch.float64)
    with torch.no_grad():
        y = conv(x, torch.zeros(1024, 4, dtype=torch.float64))[:, :, 1:-1, 1:-1]  # interior: no zero padding
    second_moment = y.square().mean(dim=(0, 2, 3))
    # 65,536 values per map, neighbours correlated through the 3×3 windows: ≥ 65,536/9 effective samples, so the
    # sd of the estimate is ≤ √(2·9/65,536) ≈ 0.017; 0.08 is ≈ 5 sd
    assert float((second_moment - 1.0).abs().max()) <= 0.08, second_moment
    if style != "ones":  # without demodulation the variance follows the style (the check above can fail)
        plain = _modconv_with_style(s, demodulate=False)
        with torch.no_grad():
            y0 = plain(x[:64], torch.zeros(64, 4, dtype=torch.float64))[:, :, 1:-1, 1:-1]
        assert float((y0.square().mean(dim=(0, 2, 3)) - 1.0).abs().max()) > 0.3


# ----------------------------------------------------------------------------- equalized learning rate
def test_every_layer_uses_weight_scale_lr_mul_over_sqrt_fan_in():
    G, D = _small(classes=10)
    layers = [m for m in chain(G.modules(), D.modules()) if isinstance(m, (EqualLinear, EqualConv2d))]
    assert len(layers) > 20
    checked = 0
    for layer in layers:
        w = layer.weight.detach()
        fan_in = w[0].numel()  # in_features, or in_channels·k²
        eff = layer.effective_weight().detach()
        assert float((eff - w * (layer.lr_mul / math.sqrt(fan_in))).abs().max()) <= 1e-7
        if w.numel() >= 1000:  # the effective weights start with sd 1/√fan_in at every layer
            # relative sd of a sample sd over n ≥ 1000 normal values ≤ 1/√2000 ≈ 0.022; 0.12 is > 5 sd
            assert abs(float(eff.std()) * math.sqrt(fan_in) - 1.0) <= 0.12, (type(layer).__name__, w.shape)
            checked += 1
    assert checked >= 10
    mapping = list(G.mapping.layers)
    assert len(mapping) == 8 and all(m.lr_mul == 0.01 and m.activation == "lrelu" for m in mapping)
    stored_sd = float(torch.cat([m.weight.detach().flatten() for m in mapping]).std())
    assert abs(stored_sd - 100.0) <= 2.0  # stored N(0, 1/λ²), λ = 0.01; 32,768 values: relative sd 0.4 %


@pytest.mark.parametrize("act, want", [("linear", 1.0), ("lrelu", 1.04)])
def test_initial_output_variance_does_not_depend_on_width(act, want):
    """Unit-variance inputs give outputs of second moment 1 (linear) or 2·(½ + ½·0.2²) = 1.04 (lrelu·√2) whatever
    the width, for fully connected and convolutional layers alike."""
    for width in (8, 64, 512):
        lin = equalized_init_(EqualLinear(width, 256, activation=act), _g(width)).double()
        x = torch.randn(2048, width, generator=_g(width + 1), dtype=torch.float64)
        m2 = float(lin(x).detach().square().mean())
        # the mean over 256 units of Σ_i ŵ_ji² has sd √(2/(256·width)) ≤ 0.031 (width 8); input noise is smaller
        assert abs(m2 - want) <= 0.15, (width, m2)
    for width in (4, 32, 128):
        conv = equalized_init_(EqualConv2d(width, 64, 3, activation=act), _g(width)).double()
        x = torch.randn(64, width, 8, 8, generator=_g(width + 2), dtype=torch.float64)
        m2 = float(conv(x).detach()[:, :, 1:-1, 1:-1].square().mean())
        assert abs(m2 - want) <= 0.15, (width, m2)  # fan-in ≥ 36: sd of the unit average ≤ √(2/(64·36)) ≈ 0.03


def test_lr_multiplier_scales_the_effective_step():
    """Adam's first step moves every stored weight by lr (g/(|g| + ε) = ±1), so every effective weight moves by
    lr·λ/√fan_in: the mapping network (λ = 0.01) learns 100 times slower than a λ = 1 layer."""
    for lr_mul in (1.0, 0.01):
        lin = equalized_init_(EqualLinear(16, 8, lr_mul=lr_mul), _g(3)).double()
        opt = torch.optim.Adam([lin.weight], lr=1e-3)
        before = lin.effective_weight().detach().clone()
        lin(torch.randn(32, 16, generator=_g(4), dtype=torch.float64)).square().sum().backward()
        opt.step()
        step = (lin.effective_weight().detach() - before).abs()
        want = 1e-3 * lr_mul / 4.0
        assert float((step / want - 1.0).abs().max()) <= 1e-4  # ε/|g| ≤ 1e-8/1e-5 for these gradients


# ----------------------------------------------------------------------------- mapping network, truncation, mixing
def test_mapping_normalises_z_and_tracks_w_avg():
    G, _ = _small()
    z = torch.randn(6, G.latent_dim, generator=_g(5))
    G.eval()
    w = G.mapping(z).detach()
    assert torch.allclose(G.mapping(5.0 * z).detach(), w, atol=1e-5)  # z / √mean(z²): scale-free
    assert torch.equal(G.mapping.w_avg, torch.zeros(G.latent_dim))  # no update in eval mode
    G.train()
    w = G.mapping(z).detach()
    assert torch.allclose(G.mapping.w_avg, 0.005 * w.mean(0), atol=1e-7)  # w̄ ← lerp(w̄, mean w, 1 − 0.995)


@pytest.mark.parametrize("psi", [0.0, 0.5, 1.0])
def test_truncation_in_w(psi):
    """w' = w̄ + ψ(w − w̄) in every layer, so ‖w' − w̄‖ = ψ ‖w − w̄‖ (ψ = 0: every sample at w̄)."""
    G, _ = _small(classes=10)
    G.eval()
    with torch.no_grad():
        G.mapping.w_avg.copy_(torch.randn(G.latent_dim, generator=_g(6)))
    z, y = torch.randn(5, G.latent_dim, generator=_g(7)), torch.arange(5)
    with torch.no_grad():
        full, cut = G.styles(z, y), G.styles(z, y, truncation_psi=psi)
    w_avg = G.mapping.w_avg
    assert cut.shape == (5, G.num_ws, G.latent_dim)
    assert float(((cut - w_avg) - psi * (full - w_avg)).abs().max()) <= 1e-5
    ratio = (cut - w_avg).norm(dim=-1) / (full - w_avg).norm(dim=-1)
    assert float((ratio - psi).abs().max()) <= 1e-5


def test_style_mixing_switches_latents_at_one_cutoff():
    G, _ = _small()
    G.eval()
    z = torch.randn(3, G.latent_dim, generator=_g(8))
    with torch.no_grad():
        w1 = G.mapping(z)
        cutoffs = []
        for seed in range(40):
            ws = G.styles(z, generator=_g(seed), style_mixing=1.0)
            first = (ws - w1[:, None]).abs().amax(dim=(0, 2)) == 0  # layers still using w1
            c = int(first.sum())
            assert bool(first[:c].all()) and not bool(first[c:].any())  # w1 up to the cutoff, w2 after it
            cutoffs.append(c)
        assert min(cutoffs) >= 1 and max(cutoffs) <= G.num_ws - 1 and len(set(cutoffs)) >= 4
        mixed = sum(bool((G.styles(z, generator=_g(100 + s), style_mixing=0.5) - w1[:, None]).abs().max() > 0)
                    for s in range(400))
        assert abs(mixed / 400 - 0.5) <= 0.1  # binomial(400, ½): sd 0.025
        assert torch.equal(G.styles(z), w1[:, None].expand(-1, G.num_ws, -1))
    with pytest.raises(ValueError, match="torch.Generator"):
        G.styles(z, style_mixing=0.9)


def test_noise_inputs():
    G, _ = _small()
    G.eval()
    z = torch.randn(2, G.latent_dim, generator=_g(9))
    with torch.no_grad():
        const = G(z)
        assert torch.equal(G(z, generator=_g(1)), const)  # strengths start at 0: the noise is switched off
        for m in G.modules():
            if hasattr(m, "noise_strength"):
                m.noise_strength.fill_(0.5)
        a, b = G(z, generator=_g(1)), G(z, generator=_g(1))
        assert torch.equal(a, b) and not torch.equal(a, G(z, generator=_g(2)))  # random noise, from the generator
        assert torch.equal(G(z), G(z)) and not torch.equal(G(z), const)  # the constant maps


@pytest.mark.parametrize("res, num_ws", [(32, 8), (64, 10)])
def test_skip_generator_shapes_and_residual_discriminator(res, num_ws):
    G, D = _small(res, classes=10)
    assert G.num_ws == num_ws  # 2·log2(r) − 2 per-layer latents
    z, y = torch.randn(6, G.latent_dim, generator=_g(10)), torch.arange(6) % 10
    x = G(z, y)
    assert x.shape == (6, 1, res, res)
    assert D(x, y).shape == (6,) and D(x[:5], y[:5]).shape == (5,)  # batch 6: mbstd groups of 3; 5: of 1
    assert (_group_size(8, 4), _group_size(6, 4), _group_size(5, 4), _group_size(2, 4)) == (4, 3, 1, 2)


def test_skip_connections_add_up_rgb_outputs():
    """The image is the up-sampled image of the lower blocks plus the last block's ToRGB: with that ToRGB zeroed the
    output is exactly upsample2d(image of the lower blocks)."""
    G, _ = _small()
    G.eval()
    last = G.synthesis.blocks[-1]
    with torch.no_grad():
        last.torgb.conv.weight.zero_()
        last.torgb.bias.zero_()
        ws = G.styles(torch.randn(2, G.latent_dim, generator=_g(11)))
        x = img = None
        i = 0
        for block in G.synthesis.blocks[:-1]:
            x, img = block(x, img, ws[:, i:i + block.num_conv + 1], None)
            i += block.num_conv
        assert torch.allclose(G.synthesis(ws), upsample2d(img), atol=1e-6)


def test_conditional_mapping_uses_the_label():
    G, _ = _small(classes=10)
    G.eval()
    z = torch.randn(2, G.latent_dim, generator=_g(12))
    with torch.no_grad():
        assert float((G.mapping(z, torch.tensor([1, 1])) - G.mapping(z, torch.tensor([2, 2]))).abs().max()) > 1e-4
    with pytest.raises(ValueError, match="needs labels"):
        G.mapping(z)


def test_spectral_norm_option_normalises_equalized_layers():
    """``TrainOptions(spectral_norm=True)`` on StyleGAN2's D: every equalized layer then uses W/σ_max(W) itself."""
    _, D = _small(classes=10)
    spectral_norm_(D, _g(13))
    layers = [m for m in D.modules() if isinstance(m, (EqualLinear, EqualConv2d))]
    for layer in layers:
        assert layer.weight_gain == 1.0
        w = layer.effective_weight().detach().reshape(layer.weight.shape[0], -1)
        assert abs(float(torch.linalg.matrix_norm(w, ord=2)) - 1.0) <= 0.05  # 15 warm-up power iterations
