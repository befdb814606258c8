"""DiffAugment (Zhao et al. 2020): determinism for a fixed generator, differentiability, what each op does."""

from __future__ import annotations

import pytest
import torch

from gan.nets import AUGMENTS, DiffAugment, diff_augment
from gan.nets.diffaugment import brightness, contrast, cutout, saturation, translation


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_deterministic_for_a_fixed_generator():
    x = torch.rand(6, 3, 16, 16, generator=_g(9)) * 2 - 1
    a, b = diff_augment(x, _g(1)), diff_augment(x, _g(1))
    assert torch.equal(a, b)
    assert not torch.equal(a, diff_augment(x, _g(2)))
    before = torch.get_rng_state()
    DiffAugment("color,translation,cutout")(x, _g(3))
    assert torch.equal(before, torch.get_rng_state())  # the global generator is not used


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_differentiable(policy):
    x = (torch.rand(2, 3, 6, 6, generator=_g(4), dtype=torch.float64) * 2 - 1).requires_grad_(True)
    # the same random draws on every call (fresh generator), so the op is a fixed differentiable map of x
    assert torch.autograd.gradcheck(lambda t: diff_augment(t, _g(5), policy), (x,), eps=1e-6, atol=1e-6)


def test_translation_is_a_zero_filled_shift():
    """Every output is x shifted by some (dh, dw) ∈ [−s, s]² (s = ⌊H/8 + ½⌋ = 2 for 16 px) with zeros shifted in."""
    x = torch.rand(64, 1, 16, 16, generator=_g(6)) + 1.0  # strictly positive: zeros can only come from the fill
    out = translation(x, _g(7))
    s = 2
    pad = torch.nn.functional.pad(x, [s, s, s, s])
    found = set()
    for i in range(x.shape[0]):
        hits = [(dh, dw) for dh in range(-s, s + 1) for dw in range(-s, s + 1)
                if torch.equal(out[i, 0], pad[i, 0, s + dh:s + dh + 16, s + dw:s + dw + 16])]
        assert len(hits) == 1
        found.add(hits[0])
    assert len(found) >= 15  # 64 draws of 25 equally likely shifts cover most of them (P(< 15 distinct) ≈ 1e-9)


def test_cutout_zeros_one_clipped_square():
    x = torch.ones(200, 1, 16, 16)
    out = cutout(x, _g(8))
    side = 8  # ⌊16·½ + ½⌋
    full = 0
    for img in out[:, 0]:
        rows = torch.nonzero((img == 0).any(1)).flatten()
        cols = torch.nonzero((img == 0).any(0)).flatten()
        assert rows.numel() >= 1 and rows.numel() <= side and cols.numel() >= 1 and cols.numel() <= side
        block = img[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        assert int((img == 0).sum()) == block.numel() and bool((block == 0).all())  # one contiguous rectangle
        full += rows.numel() == side and cols.numel() == side
    # centres are uniform on 16 + 1 positions per axis; 9 of them keep all 8 rows inside: P(full) = (9/17)² ≈ 0.28
    assert 0.15 <= full / 200 <= 0.42  # ±~4.5 sd of a binomial(200, 0.28) fraction


def test_colour_ops():
    x = torch.rand(32, 3, 8, 8, generator=_g(10)) * 2 - 1
    d = brightness(x, _g(11)) - x
    per_image = d.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image), atol=1e-6)  # one shift per image
    assert float(per_image.min()) >= -0.5 and float(per_image.max()) < 0.5
    c = contrast(x, _g(12))
    assert torch.allclose(c.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-5)  # the mean is the fixed point
    s = saturation(x, _g(13))
    assert torch.allclose(s.mean(dim=1), x.mean(dim=1), atol=1e-5)  # per-pixel grey level kept
    gray = x[:, :1]
    assert torch.allclose(saturation(gray, _g(13)), gray, atol=1e-6)  # no colour to scale in one channel


def test_policy_validation():
    assert set(AUGMENTS) == {"color", "translation", "cutout"}
    with pytest.raises(ValueError, match="unknown DiffAugment policy word 'zoom'"):
        DiffAugment("color,zoom")
    with pytest.raises(ValueError, match="at least one"):
        DiffAugment("")
    with pytest.raises(TypeError, match="torch.Generator"):
        diff_augment(torch.zeros(1, 1, 4, 4), 0)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        diff_augment(torch.zeros(1, 4, 4), _g())
