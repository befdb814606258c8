"""Class-conditional batch norm and the discriminator heads, against their formulas written out here."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan.nets import ClassBatchNorm2d, Discriminator, build_models


def test_class_batch_norm_formula(gen):
    bn = ClassBatchNorm2d(3, num_classes=4)
    with torch.no_grad():
        bn.gamma.weight.copy_(torch.randn(4, 3, generator=gen))
        bn.beta.weight.copy_(torch.randn(4, 3, generator=gen))
    x = torch.randn(5, 3, 2, 2, generator=gen) * 3 + 1
    y = torch.tensor([0, 3, 3, 1, 2])
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    norm = (x - mean) / torch.sqrt(var + 1e-5)
    want = bn.gamma.weight[y][:, :, None, None] * norm + bn.beta.weight[y][:, :, None, None]
    assert torch.allclose(bn(x, y), want, atol=1e-5)
    with pytest.raises(ValueError, match="labels"):
        bn(x)


def test_unconditional_class_batch_norm_is_batch_norm(gen):
    bn = ClassBatchNorm2d(3, num_classes=0)
    ref = nn.BatchNorm2d(3)
    x = torch.randn(4, 3, 2, 2, generator=gen)
    assert torch.allclose(bn(x, torch.zeros(4, dtype=torch.long)), ref(x), atol=1e-6)
    assert not hasattr(bn, "gamma")


class _Body(nn.Module):
    """φ(x) = flatten(x) (a fixed feature map for checking the heads)."""

    def forward(self, x):
        return x.flatten(1)


def test_projection_head(gen):
    D = Discriminator(_Body(), 4, head="projection", num_classes=3)
    x = torch.randn(6, 1, 2, 2, generator=gen)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    phi = x.flatten(1)
    want = phi @ D.linear.weight[0] + D.linear.bias[0] + (D.embed.weight[y] * phi).sum(1)  # ψ(φ) + ⟨e_y, φ⟩
    out = D(x, y)
    assert out.shape == (6,) and torch.allclose(out, want, atol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        D(x)


def test_acgan_head(gen):
    D = Discriminator(_Body(), 4, head="acgan", num_classes=3)
    x = torch.randn(6, 1, 2, 2, generator=gen)
    logit, cls = D(x, None)
    assert logit.shape == (6,) and cls.shape == (6, 3)
    assert torch.allclose(cls, F.linear(x.flatten(1), D.classifier.weight, D.classifier.bias), atol=1e-6)


@pytest.mark.parametrize("arch, res, ch", [("dcgan", 28, 1), ("dcgan", 64, 3), ("resnet", 32, 3)])
@pytest.mark.parametrize("head", ["projection", "acgan"])
def test_conditional_models(arch, res, ch, head, gen):
    G, D = build_models(arch, res, ch, num_classes=10, conditional=True, head=head, g_channels=4, d_channels=4,
                        generator=gen)
    assert sum(isinstance(m, ClassBatchNorm2d) and m.num_classes == 10 for m in G.modules()) >= 2
    z = torch.randn(4, G.latent_dim, generator=gen)
    y = torch.tensor([0, 9, 3, 3])
    x = G(z, y)
    assert x.shape == (4, ch, res, res)
    with torch.no_grad():  # make the class tables differ (the ResNet init sets every γ_c = 1, β_c = 0)
        for m in G.modules():
            if isinstance(m, ClassBatchNorm2d) and m.num_classes:
                m.beta.weight.copy_(torch.randn(m.beta.weight.shape, generator=gen))
    x = G(z, y)
    x_perm = G(z[[1, 0, 2, 3]], y[[1, 0, 2, 3]])
    assert torch.allclose(x_perm, x[[1, 0, 2, 3]], atol=1e-5)  # labels travel with their latents
    assert not torch.allclose(x, G(z, torch.tensor([1, 8, 4, 2])), atol=1e-3)  # and they matter
    out = D(x, y)
    if head == "acgan":
        assert out[0].shape == (4,) and out[1].shape == (4, 10)
    else:
        assert out.shape == (4,)


def test_head_validation():
    with pytest.raises(ValueError, match="unknown discriminator head"):
        Discriminator(_Body(), 4, head="auxiliary", num_classes=3)
    with pytest.raises(ValueError, match="num_classes ≥ 2"):
        Discriminator(_Body(), 4, head="projection", num_classes=1)
