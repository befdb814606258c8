"""SN-ResNet-32 (Miyato et al. 2018): block structure, widths, spectral norm on every D layer, Glorot init."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from gan.nets import build_models
from gan.nets.resnet import DBlock, GBlock


def test_paper_widths_and_blocks():
    G, D = build_models("resnet", 32, 3)
    assert G.linear.in_features == 128 and G.linear.out_features == 4 * 4 * 256
    gblocks = [m for m in G.modules() if isinstance(m, GBlock)]
    assert len(gblocks) == 3 and all(b.conv1.out_channels == 256 for b in gblocks)
    dblocks = [m for m in D.modules() if isinstance(m, DBlock)]
    assert [b.down for b in dblocks] == [True, True, False, False]
    assert [b.optimized for b in dblocks] == [True, False, False, False]
    assert all(b.conv2.out_channels == 128 for b in dblocks)
    assert D.linear.in_features == 128
    seen = []
    for b in gblocks + dblocks:
        b.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[1:])))
    x = G(torch.randn(2, 128, generator=torch.Generator().manual_seed(0)))
    assert x.shape == (2, 3, 32, 32) and float(x.detach().abs().max()) < 1.0
    assert D(x).shape == (2,)
    assert seen == [(256, 8, 8), (256, 16, 16), (256, 32, 32), (128, 16, 16), (128, 8, 8), (128, 8, 8), (128, 8, 8)]


def test_spectral_norm_on_every_discriminator_layer():
    _, D = build_models("resnet", 32, 3, num_classes=5, conditional=True, d_channels=16, g_channels=16)
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
    assert len(layers) == 4 * 2 + 2 + 1 + 1  # 8 block convs, 2 shortcut convs, the logit unit, the class embedding
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([2])

    def sigmas():
        with torch.no_grad():
            return [float(torch.linalg.matrix_norm(m.weight.flatten(1) if m.weight.ndim > 2 else m.weight, ord=2))
                    for m in layers]

    # the power-method estimate σ̂ = uᵀWv never exceeds σ_max, so σ_max(W/σ̂) ≥ 1 (up to float rounding, 1e-6)
    assert all(s >= 1 - 1e-6 for s in sigmas())
    with torch.no_grad():
        for _ in range(100):  # one power iteration per training-mode forward
            D(x, y)
    # 15 + 100 power iterations: every layer within 1e-3 of 1 (measured ≤ 1e-5; after 30 iterations still 1e-2,
    # the top singular values of these random matrices are close, so the power method is slow)
    assert all(abs(s - 1.0) <= 1e-3 for s in sigmas())


def test_global_sum_pooling():
    """D's features are Σ_{h,w} ReLU(last block): a constant shift of the last block output by c adds 64·c (8×8 map)."""
    _, D = build_models("resnet", 32, 1, d_channels=8, g_channels=8)
    D.eval()  # keep the spectral-norm estimates fixed between the three forwards
    x = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    last = D.body.blocks[-1]
    base = D.body(x)
    handle = last.register_forward_hook(lambda m, i, o: o.abs() + 1.0)  # make every entry positive (ReLU = identity)
    pos = D.body(x)
    handle.remove()
    handle = last.register_forward_hook(lambda m, i, o: o.abs() + 3.0)
    pos3 = D.body(x)
    handle.remove()
    assert base.shape == (3, 8)
    assert torch.allclose(pos3 - pos, torch.full_like(pos, 2.0 * 64), rtol=0, atol=1e-4)


def test_glorot_init():
    G, _ = build_models("resnet", 32, 3, generator=torch.Generator().manual_seed(3))
    conv = G.blocks[1].conv1  # 256 → 256, 3×3, residual branch: gain √2
    w = conv.weight.detach()
    fan = 256 * 9
    want = math.sqrt(2.0) * math.sqrt(2.0 / (fan + fan))  # std of U(±gain·√(6/(fan_in+fan_out)))
    # 590k draws: the sample std is within 0.2% (≈ 7 sd of the estimate) of the population std
    assert abs(float(w.std()) / want - 1.0) <= 2e-3
    bound = math.sqrt(2.0) * math.sqrt(6.0 / (2 * fan))
    assert float(w.abs().max()) <= bound and float(w.abs().max()) >= 0.99 * bound
    sc = G.blocks[1].shortcut.weight.detach()  # 1×1 shortcut: gain 1
    want_sc = math.sqrt(2.0 / (256 + 256))
    assert abs(float(sc.std()) / want_sc - 1.0) <= 1e-2  # 65k draws: sd of the estimate 0.3%
    assert float(G.linear.bias.detach().abs().max()) == 0.0


def test_block_formulas_on_tiny_block():
    """One G block and one D block against the formulas of the paper's appendix, written out with functional ops."""
    gen = torch.Generator().manual_seed(4)
    blk = GBlock(2, 3)
    x = torch.randn(2, 2, 4, 4, generator=gen)
    up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")
    h = F.conv2d(up(F.relu(blk.bn1(x))), blk.conv1.weight, blk.conv1.bias, padding=1)
    h = F.conv2d(F.relu(blk.bn2(h)), blk.conv2.weight, blk.conv2.bias, padding=1)
    want = h + F.conv2d(up(x), blk.shortcut.weight, blk.shortcut.bias)
    blk.bn1.train(), blk.bn2.train()
    assert torch.allclose(blk(x), want, atol=1e-6)
    d = DBlock(2, 3, down=True)
    h = F.conv2d(F.relu(F.conv2d(F.relu(x), d.conv1.weight, d.conv1.bias, padding=1)), d.conv2.weight, d.conv2.bias,
                 padding=1)
    want = F.avg_pool2d(h, 2) + F.avg_pool2d(F.conv2d(x, d.shortcut.weight, d.shortcut.bias), 2)
    assert torch.allclose(d(x), want, atol=1e-6)
    o = DBlock(2, 3, down=True, optimized=True)
    h = F.conv2d(F.relu(F.conv2d(x, o.conv1.weight, o.conv1.bias, padding=1)), o.conv2.weight, o.conv2.bias, padding=1)
    want = F.avg_pool2d(h, 2) + F.conv2d(F.avg_pool2d(x, 2), o.shortcut.weight, o.shortcut.bias)
    assert torch.allclose(o(x), want, atol=1e-6)
    same = DBlock(3, 3, down=False)
    assert same.shortcut is None


def test_only_32_pixels():
    with pytest.raises(ValueError, match=r"\(32,\)"):
        build_models("resnet", 64, 3)
