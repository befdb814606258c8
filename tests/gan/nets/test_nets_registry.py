"""ARCHS / build_models: registry contents, explicit randomness, validation of every argument."""

from __future__ import annotations

import pytest
import torch

from gan.losses import LOSSES
from gan.nets import ARCHS, LATENTS, build_models


def test_registry_records():
    assert set(ARCHS) == {"dcgan", "resnet"}
    dc, rn = ARCHS["dcgan"], ARCHS["resnet"]
    assert (dc.latent_dim, dc.latent, dc.loss, dc.batch_size) == (100, "uniform", "ns", 128)
    assert (dc.options.lr_d, dc.options.lr_g, dc.options.beta1, dc.options.beta2) == (2e-4, 2e-4, 0.5, 0.999)
    assert (rn.latent_dim, rn.latent, rn.loss, rn.options.n_dis, rn.options.beta1, rn.options.beta2) == \
        (128, "normal", "hinge", 5, 0.0, 0.9)
    assert all(spec.loss in LOSSES and spec.latent in LATENTS for spec in ARCHS.values())


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
