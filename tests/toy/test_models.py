"""Stacked MLPs: initialisation identical to nn.Linear's, forward identical to plain modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from toy.data import seed_generators, stream_seed
from toy.models import ACTIVATIONS, MLPSpec, StackedMLP, discriminator_spec, generator_spec, plain_mlp

SPEC = MLPSpec(3, 2, 16, 3, "leaky_relu")


def test_default_specs_are_the_ring_networks():
    g, d = generator_spec(), discriminator_spec()
    assert g.layer_dims() == [(2, 400), (400, 400), (400, 400), (400, 400), (400, 2)]
    assert d.layer_dims() == [(2, 200), (200, 200), (200, 200), (200, 200), (200, 1)]
    assert (g.activation, d.activation) == ("relu", "leaky_relu")
    assert g.macs() == 2 * 400 + 3 * 400 * 400 + 400 * 2
    assert g.n_params() == sum(p.numel() for p in plain_mlp(g).parameters())


def test_plain_mlp_with_generator_draws_what_nn_linear_draws_from_the_global_rng():
    # nn.Linear's own init under torch.manual_seed(k) == plain_mlp with a generator seeded k:
    # same distribution, same draws, same order (weight then bias, layer by layer).
    k = stream_seed(4, "g_init")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(k)
        ref = plain_mlp(SPEC)  # no generator: nn.Linear's default initialisation
    ours = plain_mlp(SPEC, seed_generators([4], "g_init")[0])
    for a, b in zip(ref.parameters(), ours.parameters()):
        assert torch.equal(a, b)


def test_plain_mlp_with_generator_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    plain_mlp(SPEC, torch.Generator().manual_seed(0))
    assert torch.equal(state, torch.get_rng_state())


def test_stacked_slice_equals_single_seed_model():
    seeds = [0, 7, 3]
    stacked = StackedMLP.from_generators(SPEC, seed_generators(seeds, "d_init"))
    assert stacked.n_seeds == 3
    for i, s in enumerate(seeds):
        alone = plain_mlp(SPEC, seed_generators([s], "d_init")[0])
        for a, b in zip(stacked.to_plain(i).parameters(), alone.parameters()):
            assert torch.equal(a, b)
    # and a seed's slice does not depend on its batch mates
    other = StackedMLP.from_generators(SPEC, seed_generators([3, 11], "d_init"))
    for a, b in zip(stacked.parameters(), other.parameters()):
        assert torch.equal(a[2], b[0])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_matches_plain_modules(activation):
    spec = MLPSpec(2, 3, 8, 2, activation)
    mods = [plain_mlp(spec, torch.Generator().manual_seed(s)) for s in range(4)]
    stacked = StackedMLP.from_modules(spec, mods)
    x = torch.randn(4, 5, 2, generator=torch.Generator().manual_seed(9))
    out = stacked(x)
    assert out.shape == (4, 5, 3)
    for s, m in enumerate(mods):
        # float32 matmul in a different kernel (bmm vs addmm): agreement to a few ulps of O(1) values
        assert torch.allclose(out[s], m(x[s]), rtol=0, atol=1e-6)


def test_depth_zero_is_affine_and_gradients_are_per_seed():
    spec = MLPSpec(2, 1, 5, 0)
    assert spec.layer_dims() == [(2, 1)]
    net = StackedMLP.from_generators(spec, seed_generators([0, 1], "d_init"))
    x = torch.randn(2, 4, 2)
    loss = net(x).squeeze(-1).mean(-1)  # (S,)
    loss[1].backward()
    assert torch.count_nonzero(net.weights[0].grad[0]) == 0  # seed 0 untouched by seed 1's loss
    assert torch.count_nonzero(net.weights[0].grad[1]) > 0


def test_finite_mask_and_validation():
    net = StackedMLP.from_generators(SPEC, seed_generators([0, 1, 2], "d_init"))
    with torch.no_grad():
        net.biases[1][2, 0, 0] = float("inf")
    assert net.finite_mask().tolist() == [True, True, False]
    with pytest.raises(ValueError, match="activation"):
        MLPSpec(2, 2, 4, 1, "gelu")
    with pytest.raises(ValueError, match="width"):
        MLPSpec(2, 2, 0, 1)
    with pytest.raises(ValueError, match="needs weight"):
        StackedMLP(MLPSpec(2, 1, 4, 1), [torch.zeros(1, 2, 4), torch.zeros(1, 4, 2)], [torch.zeros(1, 1, 4)] * 2)
    assert isinstance(net.to_plain(0), nn.Sequential)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_features_are_the_last_hidden_layer(activation):
    # Reference: the plain module without its output Linear (nn.Sequential[:-1] ends with the last activation).
    # float64: bmm vs addmm rounding ~1e-16 on O(1) values; 1e-12 is far below any wiring error.
    spec = MLPSpec(2, 1, 8, 2, activation)
    mods = [plain_mlp(spec, torch.Generator().manual_seed(s), torch.float64) for s in range(3)]
    stacked = StackedMLP.from_modules(spec, mods)
    x = torch.randn(3, 5, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    h = stacked.features(x)
    assert h.shape == (3, 5, 8)
    for s, m in enumerate(mods):
        assert (h[s] - m[:-1](x[s])).abs().max() <= 1e-12
    # forward is the output layer on top of the features: the same code path, bit for bit
    assert torch.equal(stacked(x), torch.baddbmm(stacked.biases[-1], h, stacked.weights[-1]))
    with pytest.raises(ValueError, match="depth 0"):
        StackedMLP.from_generators(MLPSpec(2, 1, 4, 0), seed_generators([0], "d_init")).features(x[:, :, :2])
