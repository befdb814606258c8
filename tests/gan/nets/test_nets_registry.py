"""ARCHS / build_models: registry contents, explicit randomness, validation of every argument."""

from __future__ import annotations

import pytest
import torch

from gan.losses import LOSSES
from gan.nets import ARCHS, LATENTS, build_models


def test_registry_records():
    assert set(ARCHS) == {"dcgan", "resnet", "sagan", "biggan", "stylegan2"}
    dc, rn = ARCHS["dcgan"], ARCHS["resnet"]
    assert (dc.latent_dim, dc.latent, dc.loss, dc.batch_size) == (100, "uniform", "ns", 128)
    assert (dc.options.lr_d, dc.options.lr_g, dc.options.beta1, dc.options.beta2) == (2e-4, 2e-4, 0.5, 0.999)
    assert (rn.latent_dim, rn.latent, rn.loss, rn.options.n_dis, rn.options.beta1, rn.options.beta2) == \
        (128, "normal", "hinge", 5, 0.0, 0.9)
    assert all(spec.loss in LOSSES and spec.latent in LATENTS for spec in ARCHS.values())


def test_new_architectures_carry_their_papers_settings():
    """The values the papers (and their reference code) state, written here from the papers, not from the registry."""
    sa, bg, sg = ARCHS["sagan"], ARCHS["biggan"], ARCHS["stylegan2"]
    # SAGAN (Zhang et al. 2019, §5): hinge loss, SN in G and D, TTUR lr_D 4e-4 / lr_G 1e-4, Adam (0, 0.9), batch 256
    o = sa.options
    assert (sa.loss, sa.spectral_norm_g, sa.spectral_norm_d, sa.batch_size) == ("hinge", True, True, 256)
    assert (o.lr_d, o.lr_g, o.beta1, o.beta2, o.n_dis) == (4e-4, 1e-4, 0.0, 0.9, 1)
    # BigGAN (Brock et al. 2019, §3 and App. C): SAGAN's rates halved, 2 D steps, β2 0.999, ortho β 1e-4, z 120
    o = bg.options
    assert (bg.loss, bg.spectral_norm_g, bg.latent_dim, bg.batch_size) == ("hinge", True, 120, 2048)
    assert (o.lr_d, o.lr_g, o.beta1, o.beta2, o.n_dis, o.ortho_weight) == (2e-4, 5e-5, 0.0, 0.999, 2, 1e-4)
    # StyleGAN2(-ADA): non-saturating logistic loss, Adam 0.0025 (0, 0.99), R1 every 16 D steps, path length 2
    # every 4 G steps, style mixing 0.9, z = w = 512
    o = sg.options
    assert (sg.loss, sg.style, sg.latent_dim, sg.batch_size) == ("ns", True, 512, 64)
    assert (o.lr_d, o.lr_g, o.beta1, o.beta2, o.penalty, o.penalty_interval) == (2.5e-3, 2.5e-3, 0.0, 0.99, "r1", 16)
    assert (o.pl_weight, o.pl_interval, o.pl_decay, o.pl_batch_shrink, o.style_mixing) == (2.0, 4, 0.01, 2, 0.9)
    for spec in (sa, bg, sg):
        assert spec.resolutions == (32, 64) and "small" in spec.presets
    assert ARCHS["dcgan"].widths() == {"latent_dim": 100, "g_channels": 128, "d_channels": 64}
    assert ARCHS["dcgan"].widths("small") == {"latent_dim": 100, "g_channels": 64, "d_channels": 32}  # half width


def test_presets_and_explicit_widths():
    G, D = build_models("biggan", 32, 1, preset="small", g_channels=4)
    assert G.latent_dim == ARCHS["biggan"].presets["small"]["latent_dim"] and G.blocks[0].conv1.out_channels == 16
    with pytest.raises(ValueError, match="no width preset 'tiny'; known: small"):
        build_models("sagan", 32, 1, preset="tiny")
    with pytest.raises(ValueError, match="no width preset 'tiny'; known: small"):
        build_models("dcgan", 32, 1, preset="tiny")


def test_latent_samplers():
    u = LATENTS["uniform"]((20000,), torch.Generator().manual_seed(0), torch.device("cpu"))
    assert float(u.min()) >= -1 and float(u.max()) <= 1
    assert abs(float(u.var()) - 1 / 3) <= 0.02  # Var U[−1, 1] = 1/3; sd of the estimate ≈ 0.0027


def test_same_generator_same_models_and_global_rng_untouched():
    before = torch.get_rng_state()
    a = build_models("resnet", 32, 3, g_channels=4, d_channels=4, generator=torch.Generator().manual_seed(5))
    b = build_models("resnet", 32, 3, g_channels=4, d_channels=4, generator=torch.Generator().manual_seed(5))
    c = build_models("resnet", 32, 3, g_channels=4, d_channels=4, generator=torch.Generator().manual_seed(6))
    assert torch.equal(before, torch.get_rng_state())
    for net_a, net_b, net_c in zip(a, b, c):
        sa, sb, sc = net_a.state_dict(), net_b.state_dict(), net_c.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)  # incl. the spectral-norm vectors u, v
        assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].is_floating_point())


@pytest.mark.parametrize("args, kw, match", [
    (("stylegan", 32, 3), {}, "unknown architecture 'stylegan'"),
    (("stylegan2", 28, 1), {}, "resolutions"),
    (("biggan", 64, 1), {"latent_dim": 12}, "multiple of 5"),
    (("dcgan", 16, 3), {}, "resolutions"),
    (("resnet", 28, 1), {}, "resolutions"),
    (("dcgan", 32, 3, 10, True), {"head": "unconditional"}, "conditional head"),
    (("dcgan", 32, 3, 1, True), {}, "num_classes ≥ 2"),
    (("dcgan", 32, 3, 0, "yes"), {}, "conditional must be"),
    (("dcgan", 32, 3, -1), {}, "num_classes"),
    (("dcgan", 32, 3), {"latent_dim": 0}, "latent_dim"),
])
def test_bad_arguments(args, kw, match):
    with pytest.raises(ValueError, match=match):
        build_models(*args, **kw)


def test_generator_type_is_checked():
    with pytest.raises(TypeError, match="torch.Generator"):
        build_models("dcgan", 28, 1, generator=3)
