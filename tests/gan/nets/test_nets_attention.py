"""SAGAN self-attention (Zhang et al. 2019, eqs. 1–3): identity at γ = 0, attention rows are distributions,
and the output is x + γ·W_v Σ_j β_ij h(x_j) computed by hand."""

from __future__ import annotations

import pytest
import torch

from gan.nets import SelfAttention, xavier_init_


def _block(channels: int, pool: bool = True, seed: int = 0) -> SelfAttention:
    return xavier_init_(SelfAttention(channels, pool=pool), torch.Generator().manual_seed(seed))


def _x(shape, seed: int = 1) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("pool", [True, False])
def test_gamma_zero_is_the_identity(pool):
    blk = _block(16, pool).double()
    assert float(blk.gamma.detach()) == 0.0  # initialised at 0, left there by the initialiser
    x = _x((3, 16, 8, 8))
    assert torch.equal(blk(x), x)


@pytest.mark.parametrize("pool, keys", [(True, 16), (False, 64)])
def test_attention_weights_are_distributions_over_positions(pool, keys):
    blk = _block(16, pool).double()
    beta = blk.attention(_x((2, 16, 8, 8))).detach()
    assert beta.shape == (2, 64, keys)  # N = 8·8 query positions; M = N/4 keys after the 2×2 max-pool
    assert float(beta.min()) >= 0.0
    assert float((beta.sum(-1) - 1.0).abs().max()) <= 1e-12  # float64 softmax rows: sum 1 to rounding


def test_output_matches_the_formula_by_hand():
    """Without pooling, o_i = W_v Σ_j softmax_j(f(x_i)·g(x_j)) h(x_j) — written out with explicit loops."""
    blk = _block(8, pool=False).double()
    with torch.no_grad():
        blk.gamma.fill_(0.7)
    x = _x((1, 8, 3, 3))
    blk.requires_grad_(False)
    Wf, Wg = blk.query.weight[:, :, 0, 0], blk.key.weight[:, :, 0, 0]
    Wh, Wv = blk.value.weight[:, :, 0, 0], blk.out.weight[:, :, 0, 0]
    pos = x[0].reshape(8, 9).T  # (N, C)
    want = torch.zeros(9, 8, dtype=torch.float64)
    for i in range(9):
        s = torch.stack([(Wf @ pos[i]) @ (Wg @ pos[j]) for j in range(9)])
        b = torch.exp(s - s.max())
        b = b / b.sum()
        want[i] = pos[i] + 0.7 * (Wv @ sum(b[j] * (Wh @ pos[j]) for j in range(9)))
    got = blk(x).detach()[0].reshape(8, 9).T
    assert float((got - want).abs().max()) <= 1e-12  # the same float64 arithmetic in another order


def test_narrow_blocks_keep_one_channel_and_gamma_gets_gradients():
    blk = _block(4)
    assert blk.query.out_channels == 1 and blk.value.out_channels == 2
    x = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(3))
    blk(x).square().sum().backward()
    assert blk.gamma.grad is not None and float(blk.gamma.grad.abs()) > 0
