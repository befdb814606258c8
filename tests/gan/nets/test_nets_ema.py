"""EMA of generator weights: the recursion, warm-up and ramp schedules, buffers, state round trip."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan.nets import EMA


def _toy():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    return net


def _set(net, value: float):
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(value)


@pytest.mark.parametrize("decay, warmup, ramp", [(0.9, 0, False), (0.5, 2, False), (0.99, 0, True), (0.8, 3, True)])
def test_recursion(decay, warmup, ramp):
    """θ_EMA after updates with θ_t = t + 1 equals the scalar recursion m ← β_t m + (1 − β_t) θ_t (float64 here)."""
    net = _toy()
    ema = EMA(net, decay=decay, warmup_steps=warmup, ramp=ramp)
    m = 0.0
    for t in range(8):
        theta = float(t + 1)
        _set(net, theta)
        ema.update()
        if t < warmup:
            beta = 0.0
        elif ramp:
            s = t - warmup
            beta = min(decay, (1 + s) / (10 + s))
        else:
            beta = decay
        m = beta * m + (1 - beta) * theta
        for p in ema.module.parameters():
            # float32 lerp of values ≤ 8: rounding ≤ a few ulp (≈ 1e-6), well inside 1e-5
            assert torch.allclose(p, torch.full_like(p, m), rtol=0, atol=1e-5)
    assert ema.num_updates == 8


def test_buffers_are_copied_and_module_is_frozen():
    net = _toy()
    ema = EMA(net, decay=0.9)
    net.train()
    net(torch.randn(8, 2, generator=torch.Generator().manual_seed(0)) + 5.0)  # moves the running mean
    ema.update()
    bn, bn_ema = net[1], ema.module[1]
    assert torch.equal(bn.running_mean, bn_ema.running_mean) and torch.equal(bn.running_var, bn_ema.running_var)
    assert int(bn_ema.num_batches_tracked) == 1
    assert not ema.module.training and not any(p.requires_grad for p in ema.module.parameters())


def test_state_round_trip():
    net = _toy()
    ema = EMA(net, decay=0.7, warmup_steps=1)
    for v in (1.0, 2.0, 3.0):
        _set(net, v)
        ema.update()
    other = EMA(_toy(), decay=0.7, warmup_steps=1)
    other.load_state_dict(ema.state_dict())
    assert other.num_updates == 3
    assert all(torch.equal(a, b) for a, b in zip(other.module.state_dict().values(), ema.module.state_dict().values()))
    with pytest.raises(ValueError, match="EMA settings differ"):
        EMA(_toy(), decay=0.8, warmup_steps=1).load_state_dict(ema.state_dict())


@pytest.mark.parametrize("kw", [{"decay": 1.0}, {"decay": -0.1}, {"decay": True}, {"warmup_steps": -1},
                                {"ramp": 1}])
def test_bad_settings(kw):
    with pytest.raises(ValueError):
        EMA(_toy(), **kw)
