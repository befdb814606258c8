"""toy.critic_fit: slices are independent trainings (batched = one at a time), per-slice sizes, frozen slices."""

from __future__ import annotations

import math

import pytest
import torch

from toy.critic_fit import CriticSpec, fit_critics, outputs

SPEC = dict(width=8, depth=1, steps=40, batch_size=16, dtype="float64")


def _data(S: int, n: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(S, n, 2, generator=g, dtype=torch.float64)
    fake = torch.randn(S, n, 2, generator=g, dtype=torch.float64) + 1.5
    return real, fake


@pytest.mark.parametrize("kw", [{"loss": "ns"}, {"loss": "wgan", "penalty": "gp", "penalty_weight": 5.0},
                                 {"loss": "wgan", "clip": 0.05}, {"loss": "fgan_kl", "instance_noise": 0.3}])
def test_batched_equals_one_at_a_time(kw):
    """Slice s's result depends only on its data and seed (its own streams), not on the other slices."""
    spec = CriticSpec(**SPEC, **kw)
    real, fake = _data(3)
    seeds = [11, 22, 33]
    together = fit_critics(spec, real, fake, seeds)
    x = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    out = outputs(together.D, x)
    for s in range(3):
        alone = fit_critics(spec, real[s:s + 1], fake[s:s + 1], [seeds[s]])
        # float64; the same arithmetic per slice except the batched matmul's blocking: rounding only
        assert torch.max(torch.abs(outputs(alone.D, x)[0] - out[s])) <= 1e-10


def test_per_slice_sizes_only_read_their_rows():
    """With sizes, rows beyond a slice's n are never used: NaN padding there changes nothing."""
    spec = CriticSpec(loss="ns", **SPEC)
    real, fake = _data(2)
    padded_r, padded_f = real.clone(), fake.clone()
    padded_r[0, 20:], padded_f[0, 20:] = math.nan, math.nan
    a = fit_critics(spec, padded_r, padded_f, [1, 2], sizes=[20, 64])
    b = fit_critics(spec, real, fake, [1, 2], sizes=[20, 64])
    assert not bool(a.diverged.any())
    x = torch.zeros(3, 2, dtype=torch.float64)
    assert torch.equal(outputs(a.D, x), outputs(b.D, x))


def test_a_non_finite_slice_is_frozen_and_the_others_are_unaffected():
    spec = CriticSpec(loss="ns", **SPEC)
    real, fake = _data(2)
    bad = real.clone()
    bad[1, :] = math.nan
    fit = fit_critics(spec, bad, fake, [5, 6])
    assert fit.diverged.tolist() == [False, True] and int(fit.diverged_at[1]) == 0
    ok = fit_critics(spec, real[:1], fake[:1], [5])
    x = torch.randn(4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert torch.max(torch.abs(outputs(fit.D, x)[0] - outputs(ok.D, x)[0])) <= 1e-10
    assert all(torch.isfinite(p).all() for p in fit.D.parameters())  # the frozen slice's parameters stay finite


def test_a_discriminator_learns_to_separate():
    real, fake = _data(2, n=256)
    fit = fit_critics(CriticSpec(loss="ns", width=16, depth=1, steps=300, batch_size=64, lr=1e-2), real, fake, [0, 1])
    v_real, v_fake = outputs(fit.D, real), outputs(fit.D, fake)
    assert bool(((v_real.mean(1) - v_fake.mean(1)) > 1.0).all())


@pytest.mark.parametrize("kw,match", [({"steps": 0}, "steps"), ({"dtype": "float16"}, "dtype"), ({"loss": "nope"}, "unknown loss"),
                                       ({"penalty": "l2"}, "penalty"), ({"clip": -1.0}, "clip"), ({"adam": "sgd"}, "adam")])
def test_bad_spec(kw, match):
    with pytest.raises(ValueError, match=match):
        CriticSpec(**kw)


def test_bad_data():
    spec = CriticSpec(loss="ns", **SPEC)
    real, fake = _data(2)
    with pytest.raises(ValueError, match="slices"):
        fit_critics(spec, real, fake, [1, 2, 3])
    with pytest.raises(ValueError, match="dimension"):
        fit_critics(spec, real, fake[..., :1], [1, 2])
    with pytest.raises(ValueError, match="sizes"):
        fit_critics(spec, real, fake, [1, 2], sizes=[10, 100])
    with pytest.raises(ValueError, match="distinct"):
        fit_critics(spec, real, fake, [1, 1])
