"""DCGAN (Radford et al. 2016): the paper's layer list, feature-map sizes, activations and N(0, 0.02²) init.

Expected shapes and counts are written out here from the paper's description, not read from the code.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan.nets import build_models


def _shapes(module: nn.Module) -> list[tuple[int, ...]]:
    return sorted(tuple(p.shape) for p in module.parameters())


def test_dcgan64_parameter_shapes_follow_the_paper():
    G, D = build_models("dcgan", 64, 3)
    # G: project z ∈ R^100 to 4·4·1024 (no bias: BN follows), BN(1024); transposed convs 1024→512→256→128 (BN each,
    # no bias) and 128→3 (bias, tanh); every BN has γ and β.
    g_expected = [(16384, 100), (1024,), (1024,), (1024, 512, 4, 4), (512,), (512,), (512, 256, 4, 4), (256,),
                  (256,), (256, 128, 4, 4), (128,), (128,), (128, 3, 4, 4), (3,)]
    # D: convs 3→64 (bias, no BN), 64→128, 128→256, 256→512 (BN each, no bias), flatten 4·4·512 → 1 logit (bias).
    d_expected = [(64, 3, 4, 4), (64,), (128, 64, 4, 4), (128,), (128,), (256, 128, 4, 4), (256,), (256,),
                  (512, 256, 4, 4), (512,), (512,), (1, 8192), (1,)]
    assert _shapes(G) == sorted(g_expected)
    assert _shapes(D) == sorted(d_expected)
    n_g = 100 * 16384 + 16 * (1024 * 512 + 512 * 256 + 256 * 128 + 128 * 3) + 3 + 2 * (1024 + 512 + 256 + 128)
    n_d = 16 * (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512) + 64 + 2 * (128 + 256 + 512) + 8192 + 1
    assert sum(p.numel() for p in G.parameters()) == n_g == 12_658_435
    assert sum(p.numel() for p in D.parameters()) == n_d == 2_765_633


def test_dcgan64_feature_maps_and_activations():
    G, D = build_models("dcgan", 64, 3)
    g_maps, d_maps = [], []
    for m in G.modules():
        if isinstance(m, nn.ConvTranspose2d):
            assert (m.kernel_size, m.stride, m.padding) == ((4, 4), (2, 2), (1, 1))
            m.register_forward_hook(lambda mod, inp, out: g_maps.append((tuple(inp[0].shape[1:]), tuple(out.shape[1:]))))
    for m in D.modules():
        if isinstance(m, nn.Conv2d):
            assert (m.kernel_size, m.stride, m.padding) == ((4, 4), (2, 2), (1, 1))
            m.register_forward_hook(lambda mod, inp, out: d_maps.append(tuple(out.shape[1:])))
    z = torch.rand(2, 100, generator=torch.Generator().manual_seed(0)) * 2 - 1
    x = G(z)
    assert g_maps == [((1024, 4, 4), (512, 8, 8)), ((512, 8, 8), (256, 16, 16)), ((256, 16, 16), (128, 32, 32)),
                      ((128, 32, 32), (3, 64, 64))]
    assert x.shape == (2, 3, 64, 64) and float(x.detach().abs().max()) < 1.0  # tanh output
    assert D(x).shape == (2,)
    assert d_maps == [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)]
    # activations: ReLU in G (4 hidden layers), LeakyReLU(0.2) in D (4 convs), BN in D on all but the first conv
    assert sum(isinstance(m, nn.ReLU) for m in G.modules()) >= 1
    leaky = [m for m in D.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(leaky) == 4 and all(m.negative_slope == 0.2 for m in leaky)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.modules()) == 3
    first = next(m for m in D.modules() if isinstance(m, nn.Conv2d))
    assert first.in_channels == 3 and first.bias is not None  # no BN after the first conv


@pytest.mark.parametrize("resolution, channels, g_maps, d_maps", [
    (32, 3, [(512, 4), (256, 8), (128, 16), (3, 32)], [(64, 16), (128, 8), (256, 4)]),
    (28, 1, [(256, 7), (128, 14), (1, 28)], [(64, 14), (128, 7)]),
    (32, 1, [(512, 4), (256, 8), (128, 16), (1, 32)], [(64, 16), (128, 8), (256, 4)]),
    (64, 1, [(1024, 4), (512, 8), (256, 16), (128, 32), (1, 64)], [(64, 32), (128, 16), (256, 8), (512, 4)]),
])
def test_variants_keep_the_narrow_layers(resolution, channels, g_maps, d_maps):
    """32/28-pixel variants drop the widest layers; G starts at 4×4 (7×7 for MNIST), D ends there."""
    G, D = build_models("dcgan", resolution, channels)
    seen_g, seen_d = [], []
    G.norms[0].register_forward_hook(lambda m, i, o: seen_g.append((o.shape[1], o.shape[2])))
    for m in G.modules():
        if isinstance(m, nn.ConvTranspose2d):
            m.register_forward_hook(lambda m, i, o: seen_g.append((o.shape[1], o.shape[2])))
    for m in D.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(lambda m, i, o: seen_d.append((o.shape[1], o.shape[2])))
    x = G(torch.zeros(2, 100))
    assert x.shape == (2, channels, resolution, resolution)
    assert D(x).shape == (2,)
    assert seen_g == g_maps and seen_d == d_maps


@pytest.mark.parametrize("width", [4, 8])
def test_width_arguments_scale_every_layer(width):
    G, D = build_models("dcgan", 64, 3, g_channels=width, d_channels=width)
    convs_g = [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    convs_d = [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert convs_g == [4 * width, 2 * width, width, 3]
    assert convs_d == [width, 2 * width, 4 * width, 8 * width]
    assert G.project.out_features == 16 * 8 * width


def test_init_statistics():
    """N(0, 0.02²) weights, zero biases, BN γ ~ N(1, 0.02²), β = 0 (Radford et al. 2016, §3)."""
    G, D = build_models("dcgan", 64, 3, generator=torch.Generator().manual_seed(7))
    weights = torch.cat([m.weight.detach().flatten() for net in (G, D) for m in net.modules()
                         if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))])
    # ≈ 15.4M draws: the sample std of n normals has sd σ/√(2n) ≈ 3.6e-6 and the mean σ/√n ≈ 5e-6: 1e-4 is > 20 sd, still sharp
    assert abs(float(weights.std()) - 0.02) <= 1e-4
    assert abs(float(weights.mean())) <= 1e-4
    gammas = torch.cat([m.weight.detach() for net in (G, D) for m in net.modules() if isinstance(m, nn.BatchNorm2d)])
    # 2816 γ's: sd of the mean 0.02/√2816 ≈ 3.8e-4, of the std ≈ 2.7e-4; 5 sd tolerances
    assert abs(float(gammas.mean()) - 1.0) <= 2e-3
    assert abs(float(gammas.std()) - 0.02) <= 1.5e-3
    biases = [m.bias for net in (G, D) for m in net.modules() if getattr(m, "bias", None) is not None]
    assert len(biases) == (4 + 1) + (3 + 2)  # G: 4 BN β + output conv; D: 3 BN β + first conv + logit unit
    assert all(float(b.detach().abs().max()) == 0.0 for b in biases)


def test_bad_resolution():
    with pytest.raises(ValueError, match="resolutions"):
        build_models("dcgan", 48, 3)
    with pytest.raises(ValueError, match="channels"):
        build_models("dcgan", 32, 0)
    with pytest.raises(ValueError, match="g_channels"):
        build_models("dcgan", 32, 3, g_channels=0)
