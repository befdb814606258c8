"""SAGAN and BigGAN networks: shapes, attention placement, spectral norm in G and D, hierarchical latents with a
shared embedding, orthogonal initialisation, explicit randomness."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from gan.nets import SelfAttention, VectorBatchNorm2d, build_models, orthogonal_init_
from gan.nets.biggan import ResidualGenerator
from gan.nets.init import orthogonal_

TINY = dict(g_channels=4, d_channels=4)


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("arch", ["sagan", "biggan"])
@pytest.mark.parametrize("res", [32, 64])
@pytest.mark.parametrize("cond", [False, True])
def test_shapes_and_attention_placement(arch, res, cond):
    G, D = build_models(arch, res, 3, 10, cond, latent_dim=40, **TINY)
    z = torch.randn(3, 40, generator=_g(0))
    y = torch.tensor([0, 4, 9]) if cond else None
    x = G(z, y).detach()
    assert x.shape == (3, 3, res, res) and float(x.abs().max()) < 1.0
    assert D(x, y).shape == (3,)
    # one attention block in G, after the block that outputs r/2 × r/2; one in D, after the first block (r/2)
    g_att = [i for i, a in enumerate(G.attn) if isinstance(a, SelfAttention)]
    assert g_att == [len(G.blocks) - 2]
    d_mods = list(D.body.blocks)
    assert [type(m).__name__ for m in d_mods].count("SelfAttention") == 1 and isinstance(d_mods[1], SelfAttention)


@pytest.mark.parametrize("arch", ["sagan", "biggan"])
def test_spectral_norm_in_g_and_d_but_not_on_gs_embeddings(arch):
    G, D = build_models(arch, 32, 1, 10, True, latent_dim=40, **TINY)
    for net in (G, D):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                assert parametrize.is_parametrized(m, "weight"), type(m).__name__
    g_embeddings = [m for m in G.modules() if isinstance(m, nn.Embedding)]
    assert g_embeddings and not any(parametrize.is_parametrized(m, "weight") for m in g_embeddings)
    assert parametrize.is_parametrized(D.embed, "weight")  # the projection embedding of D is normalised


def test_biggan_hierarchical_latents_and_shared_embedding():
    """z is cut into len(blocks) + 1 chunks; block i's batch norms see [shared(y), chunk i + 1] (Brock et al. §3)."""
    G, _ = build_models("biggan", 32, 1, 10, True, latent_dim=40, **TINY)
    assert G.chunk == 10 and len(G.blocks) == 3
    seen = {}

    def record(i):
        def hook(mod, inp, out):  # returns None: the output is left alone
            seen.setdefault(i, inp[1].detach())
        return hook

    for i, block in enumerate(G.blocks):
        block.bn1.register_forward_hook(record(i))
    z, y = torch.randn(2, 40, generator=_g(1)), torch.tensor([3, 7])
    G.eval().requires_grad_(False)
    G(z, y)
    e = G.shared(y)
    for i in range(3):
        assert torch.equal(seen[i], torch.cat([e, z[:, 10 * (i + 1):10 * (i + 2)]], dim=1))
    base = G(z, y)
    for chunk in range(4):  # every chunk changes the image
        z2 = z.clone()
        z2[:, 10 * chunk:10 * (chunk + 1)] += 1.0
        assert float((G(z2, y) - base).abs().max()) > 1e-4
    with pytest.raises(ValueError, match="multiple of 4"):
        ResidualGenerator(32, 1, latent_dim=42, g_channels=4, hierarchical=True)
    with pytest.raises(ValueError, match="needs labels"):
        G(z)


def test_vector_batch_norm_formula():
    bn = VectorBatchNorm2d(3, 5).double().requires_grad_(False)
    for lin in (bn.gain, bn.bias):
        nn.init.normal_(lin.weight, generator=_g(2))
    x = torch.randn(4, 3, 2, 2, generator=_g(3), dtype=torch.float64)
    c = torch.randn(4, 5, generator=_g(4), dtype=torch.float64)
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), correction=0, keepdim=True)
    want = (1 + c @ bn.gain.weight.T)[:, :, None, None] * (x - mean) / torch.sqrt(var + 1e-5) + \
        (c @ bn.bias.weight.T)[:, :, None, None]
    assert float((bn(x, c) - want).abs().max()) <= 1e-12
    with pytest.raises(ValueError, match=r"shape \(B, 5\)"):
        bn(x, c[:, :4])


@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (4, 2, 3, 3)])
def test_orthogonal_fill(shape):
    w = torch.empty(shape)
    orthogonal_(w, _g(5))
    m = w.reshape(shape[0], -1).double()
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    assert float((gram - torch.eye(gram.shape[0], dtype=torch.float64)).abs().max()) <= 1e-5  # float32 storage


def test_biggan_is_orthogonally_initialised_and_sagan_is_not():
    G, _ = build_models("biggan", 32, 1, **TINY, latent_dim=40)
    w = G.blocks[1].conv1.parametrizations.weight.original.detach().reshape(16, -1).double()  # 16 × 144: orthonormal rows
    assert float((w @ w.T - torch.eye(16, dtype=torch.float64)).abs().max()) <= 1e-5
    Gs, _ = build_models("sagan", 32, 1, **TINY)
    ws = Gs.blocks[1].conv1.parametrizations.weight.original.detach().reshape(16, -1).double()
    assert float((ws @ ws.T - torch.eye(16, dtype=torch.float64)).abs().max()) > 0.1  # Glorot: not orthogonal
    net = orthogonal_init_(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)), _g(6))
    assert torch.equal(net[0].bias, torch.zeros(3)) and torch.equal(net[1].weight, torch.ones(3))


@pytest.mark.parametrize("arch", ["sagan", "biggan", "stylegan2"])
def test_same_generator_same_models_and_global_rng_untouched(arch):
    before = torch.get_rng_state()
    kw = dict(preset="small", g_channels=4, d_channels=4) if arch != "stylegan2" else dict(preset="small")
    a = build_models(arch, 32, 1, 10, True, generator=_g(5), **kw)
    b = build_models(arch, 32, 1, 10, True, generator=_g(5), **kw)
    c = build_models(arch, 32, 1, 10, True, generator=_g(6), **kw)
    assert torch.equal(before, torch.get_rng_state())
    for net_a, net_b, net_c in zip(a, b, c):
        sa, sb, sc = net_a.state_dict(), net_b.state_dict(), net_c.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
        assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].is_floating_point())
