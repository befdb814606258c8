"""ADA (Karras et al. 2020b): the p controller's direction and speed, identity at p = 0, differentiability, what each
op does, reproducibility, state round trip, validation."""

from __future__ import annotations

import pytest
import torch

from gan.nets import AdaptiveAugment, ada_augment
from gan.nets.ada import COLOR, GEOMETRIC, OPS, parse_ada_policy


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _images(n: int = 8, c: int = 3, r: int = 8, seed: int = 1, dtype=torch.float32) -> torch.Tensor:
    return torch.rand(n, c, r, r, generator=_g(seed), dtype=dtype) * 2 - 1


# ----------------------------------------------------------------------------- the controller
def test_p_rises_when_d_overfits_and_falls_otherwise_at_the_papers_speed():
    """Δp = sign(r_t − 0.6)·B·N/(500·1000) per adjustment: B = 64, N = 4 → 5.12e-4 (0 → 1 in 500k images)."""
    ada = AdaptiveAugment(target=0.6, interval=4, kimg=500)
    step = 64 * 4 / 500_000
    assert ada.step_size(64) == step
    overfit = torch.full((64,), 3.0)  # a rigged D: every real logit positive, r_t = 1 > 0.6
    for k in range(1, 11):
        for _ in range(4):
            ada.accumulate(overfit)
        ada.adjust(64)
        assert abs(float(ada.p) - k * step) <= 1e-6  # float32 accumulation of ≤ 10 steps
    mixed = torch.tensor([1.0] * 40 + [-1.0] * 24)  # r_t = 16/64 = 0.25 < 0.6
    for k in range(1, 4):
        for _ in range(4):
            ada.accumulate(mixed)
        ada.adjust(64)
        assert abs(float(ada.p) - (10 - k) * step) <= 1e-6
    at_target = torch.tensor([1.0] * 8 + [-1.0] * 2)  # r_t = 0.6 exactly: sign 0, no change
    before = float(ada.p)
    ada.accumulate(at_target)
    ada.adjust(64)
    assert float(ada.p) == before


def test_p_stays_in_zero_one_and_without_logits_nothing_moves():
    ada = AdaptiveAugment(kimg=0.001)  # one adjustment moves p by 64·4/1 ≫ 1
    ada.accumulate(-torch.ones(5))
    ada.adjust(64)
    assert float(ada.p) == 0.0
    ada.accumulate(torch.ones(5))
    ada.adjust(64)
    assert float(ada.p) == 1.0
    ada.adjust(64)  # no logits since the last adjustment
    assert float(ada.p) == 1.0 and torch.equal(ada.signs, torch.zeros(2))


def test_state_round_trip_and_settings_check():
    a = AdaptiveAugment(interval=2)
    a.accumulate(torch.ones(3))
    a.adjust(8)
    a.accumulate(torch.tensor([1.0, -1.0]))
    b = AdaptiveAugment(interval=2)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.p, b.p) and torch.equal(a.signs, b.signs) and float(b.p) > 0
    with pytest.raises(ValueError, match="ADA settings differ"):
        AdaptiveAugment(interval=4).load_state_dict(a.state_dict())


@pytest.mark.parametrize("kw, match", [
    ({"target": 1.5}, "ada_target"), ({"target": True}, "ada_target"), ({"interval": 0}, "ada_interval"),
    ({"kimg": 0.0}, "ada_kimg"), ({"policy": "bgcx"}, "ADA policy"), ({"policy": "xflip,zoom"}, "ADA policy"),
    ({"p": -0.1}, "p must"),
])
def test_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        AdaptiveAugment(**kw)


def test_policies():
    assert parse_ada_policy("bgc") == OPS and len(OPS) == 12
    assert parse_ada_policy("rotate90, xflip") == ("xflip", "rotate90")  # pipeline order
    assert parse_ada_policy("c") == COLOR


# ----------------------------------------------------------------------------- the augmentations
@pytest.mark.parametrize("channels", [1, 3])
def test_identity_at_p_zero_values_and_gradient(channels):
    x = _images(c=channels).requires_grad_(True)
    out = ada_augment(x, 0.0, _g(2))
    assert torch.equal(out, x)  # bit for bit: nothing leaks at p = 0
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


@pytest.mark.parametrize("policy", ["b", "bg", "c", "bgc"])
def test_differentiable(policy):
    x = _images(n=3, c=3, r=6, dtype=torch.float64).requires_grad_(True)
    # a fresh generator every call: the same draws, so the augmentation is one fixed differentiable map of x
    assert torch.autograd.gradcheck(lambda t: ada_augment(t, 1.0, _g(3), parse_ada_policy(policy)), (x,),
                                    eps=1e-6, atol=1e-5)


def test_reproducible_and_global_rng_untouched():
    x = _images()
    before = torch.get_rng_state()
    a, b = ada_augment(x, 0.7, _g(4)), ada_augment(x, 0.7, _g(4))
    assert torch.equal(a, b) and not torch.equal(a, ada_augment(x, 0.7, _g(5)))
    assert torch.equal(before, torch.get_rng_state())


def test_blits_are_exact_flips_rotations_and_reflected_shifts():
    x = _images(n=64, c=1, r=8, seed=6)
    flipped = ada_augment(x, 1.0, _g(7), ("xflip",))
    same = [torch.equal(o, i) for o, i in zip(flipped, x)]
    mirrored = [torch.equal(o, i.flip(-1)) for o, i in zip(flipped, x)]
    assert all(a or b for a, b in zip(same, mirrored)) and 16 <= sum(mirrored) <= 48  # ½ each: binomial(64, ½)
    rotated = ada_augment(x, 1.0, _g(8), ("rotate90",))
    ks = [[k for k in range(4) if torch.equal(o, i.rot90(k, dims=(1, 2)))] for o, i in zip(rotated, x)]
    assert all(len(k) == 1 for k in ks) and len({k[0] for k in ks}) == 4
    shifted = ada_augment(x, 1.0, _g(9), ("xint",))
    pad = torch.nn.functional.pad(x, [1, 1, 1, 1], mode="reflect")  # |t| ≤ round(⅛·8) = 1 pixel
    for o, p in zip(shifted, pad):
        hits = [(dh, dw) for dh in (-1, 0, 1) for dw in (-1, 0, 1)
                if torch.equal(o[0], p[0, 1 + dh:9 + dh, 1 + dw:9 + dw])]
        assert len(hits) >= 1


def test_geometric_ops_keep_unaugmented_images_exactly():
    x = _images(n=32, seed=10)
    out = ada_augment(x, 0.3, _g(11), GEOMETRIC)
    kept = [torch.equal(o, i) for o, i in zip(out, x)]
    # P(no geometric op) = (1 − 0.3)³ for scale, aniso, xfrac times (1 − p_rot)² = 0.7 for the rotations: 0.24
    assert 2 <= sum(kept) <= 16 and not all(kept)


def test_colour_ops_act_per_image():
    x = _images(n=16, c=3, seed=12)
    b = ada_augment(x, 1.0, _g(13), ("brightness",)) - x
    flat = b.flatten(1)
    assert torch.allclose(flat, flat[:, :1].expand_as(flat), atol=1e-6)  # one additive shift per image
    c = ada_augment(x, 1.0, _g(14), ("contrast",)) / x
    flat = c.flatten(1)
    assert torch.allclose(flat, flat[:, :1].expand_as(flat), rtol=1e-4)  # one multiplicative factor per image
    gray = x[:, :1]
    s = ada_augment(gray, 1.0, _g(15), ("saturation",))
    assert torch.allclose(s, gray, atol=1e-6)  # one channel lies on the luma axis: saturation leaves it alone
