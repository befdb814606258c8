"""gan.remedies: minibatch layers, feature matching, unrolled D, PacGAN packing."""

from __future__ import annotations


import math

import pytest
import torch
from torch import nn
from torch.func import functional_call

from gan.losses import get_loss
from gan.remedies import (MinibatchDiscrimination, MinibatchStdDev, Packed, feature_matching_loss, minibatch_features,
                          minibatch_stddev, pack, unrolled_d_params, unrolled_g_loss)
from tests.gan.tiny_nets import SeedParallelMLP, mlp

DT = torch.float64
EXACT = 1e-12  # float64 results of a few O(1) operations


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def batch(shape, seed=1):
    return torch.randn(shape, generator=gen(seed), dtype=DT)


def val(t) -> float:
    return float(t.detach())


# ----------------------------------------------------------------------------- minibatch stddev
def test_minibatch_stddev_known_batch():
    x = torch.tensor([[0.0, 0.0], [2.0, 4.0]], dtype=DT)
    out = minibatch_stddev(x)  # population stds per feature (1, 2), their mean 1.5
    assert out.shape == (2, 3)
    assert torch.equal(out[:, :2], x)
    # eps = 1e-8 inside the sqrt shifts each std by < eps/(2·std) = 5e-9
    assert torch.max(torch.abs(out[:, 2] - 1.5)) <= 1e-8
    assert torch.equal(minibatch_stddev(x, eps=0.0)[:, 2], torch.tensor([1.5, 1.5], dtype=DT))
    assert torch.equal(MinibatchStdDev(eps=0.0)(x), minibatch_stddev(x, eps=0.0))


@pytest.mark.parametrize("eps", [-1.0, math.nan, math.inf])
def test_minibatch_stddev_rejects_bad_eps(eps):
    """Regression: a negative or NaN eps gave a NaN feature without an error."""
    with pytest.raises(ValueError, match="eps must be finite and in"):
        minibatch_stddev(torch.randn(8, 2), eps=eps)
    with pytest.raises(ValueError, match="eps must be finite and in"):
        MinibatchStdDev(eps=eps)


def test_minibatch_stddev_groups_and_images():
    x = torch.tensor([[0.0], [2.0], [10.0], [10.0]], dtype=DT)
    out = minibatch_stddev(x, group_size=2, eps=0.0)  # groups {0, 1} (std 1) and {2, 3} (std 0)
    assert out[:, 1].tolist() == [1.0, 1.0, 0.0, 0.0]
    img = batch((6, 3, 4, 5))
    y = minibatch_stddev(img, eps=0.0)
    assert y.shape == (6, 4, 4, 5)
    want = img.std(dim=0, correction=0).mean()
    assert torch.max(torch.abs(y[:, 3] - want)) <= EXACT
    with pytest.raises(ValueError, match="not divisible by group_size"):
        minibatch_stddev(x, group_size=3)


def test_minibatch_stddev_seed_parallel():
    x = batch((3, 8, 2))
    out = minibatch_stddev(x, sample_ndim=2)
    assert out.shape == (3, 8, 3)
    for s in range(3):
        assert torch.max(torch.abs(out[s] - minibatch_stddev(x[s]))) <= EXACT
    assert not torch.allclose(out[0, 0, 2], out[1, 0, 2])  # seeds do not share statistics


# ----------------------------------------------------------------------------- minibatch discrimination
def _brute_force(x, T):
    n, (a, b, c) = x.shape[0], T.shape
    M = (x @ T.reshape(a, b * c)).reshape(n, b, c)
    o = torch.zeros(n, b, dtype=x.dtype)
    for i in range(n):
        for j in range(n):
            o[i] += torch.exp(-(M[i] - M[j]).abs().sum(-1))
    return o


def test_minibatch_discrimination_formula_and_shape():
    layer = MinibatchDiscrimination(3, 4, 2, generator=gen(2), dtype=DT, init_std=0.5)
    x = batch((5, 3))
    out = layer(x)
    assert out.shape == (5, 3 + 4)
    assert torch.equal(out[:, :3], x)
    assert torch.max(torch.abs(out[:, 3:] - _brute_force(x, layer.T.detach()))) <= EXACT


def test_minibatch_discrimination_identical_samples_are_maximally_similar():
    layer = MinibatchDiscrimination(3, 4, 2, generator=gen(2), dtype=DT, init_std=0.5)
    same = batch((1, 3)).expand(6, 3).clone().requires_grad_(True)
    o = minibatch_features(same, layer.T)
    assert torch.equal(o, torch.full((6, 4), 6.0, dtype=DT))  # every term exp(0) = 1: the maximum N
    o.sum().backward()
    assert torch.isfinite(same.grad).all() and torch.isfinite(layer.T.grad).all()
    varied = minibatch_features(batch((6, 3), 7), layer.T)
    assert val(varied.max()) < 6.0 and val(varied.min()) >= 1.0  # self term 1, others < 1


def test_minibatch_discrimination_seed_parallel():
    layer = MinibatchDiscrimination(3, 4, 2, n_seeds=2, generator=gen(2), dtype=DT)
    x = batch((2, 5, 3))
    out = layer(x)
    assert out.shape == (2, 5, 7)
    for s in range(2):
        assert torch.max(torch.abs(out[s, :, 3:] - _brute_force(x[s], layer.T[s].detach()))) <= EXACT
    with pytest.raises(ValueError, match="x must have shape"):
        layer(batch((5, 3)))


# ----------------------------------------------------------------------------- feature matching
def test_feature_matching():
    f = batch((16, 4))
    assert val(feature_matching_loss(f, f.clone())) == 0.0
    assert val(feature_matching_loss(f, f.flip(0))) <= EXACT  # same batch mean, other order
    real = torch.tensor([[1.0, 2.0], [1.0, 2.0]], dtype=DT)
    fake = torch.zeros(3, 2, dtype=DT, requires_grad=True)
    real.requires_grad_(True)
    loss = feature_matching_loss(real, fake)
    assert val(loss) == 5.0  # ‖(1, 2) − (0, 0)‖²
    loss.backward()
    assert real.grad is None  # real features are the target
    assert torch.allclose(fake.grad, torch.tensor([[-2 / 3, -4 / 3]] * 3, dtype=DT), rtol=0, atol=EXACT)
    sp = feature_matching_loss(batch((3, 8, 4), 1), batch((3, 8, 4), 2), sample_ndim=2)
    assert sp.shape == (3,)
    assert abs(val(sp[1]) - val(feature_matching_loss(batch((3, 8, 4), 1)[1], batch((3, 8, 4), 2)[1])) ) <= EXACT


# ----------------------------------------------------------------------------- unrolled D
class LinearG(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor([0.7, -0.4], dtype=DT))
        self.b = nn.Parameter(torch.tensor([0.2, 0.5], dtype=DT))

    def forward(self, z):
        return z * self.a + self.b  # z (B, 1) → (B, 2)


@pytest.fixture()
def unroll_setup():
    D = mlp(2, 5, 1, gen(4))
    G = LinearG()
    return D, G, batch((32, 2), 1) + 1.0, batch((32, 1), 2)


def _g_grad(D, G, real, z, k, optimizer="sgd", lr=0.5):
    loss = get_loss("ns")
    g_loss = unrolled_g_loss(D, loss, real, G(z), k, lr, optimizer=optimizer)
    return torch.autograd.grad(g_loss, list(G.parameters()))


def test_unrolled_k0_is_the_plain_discriminator(unroll_setup):
    D, G, real, z = unroll_setup
    theta = unrolled_d_params(D, None, get_loss("ns"), real, G(z), 0, 0.1)
    assert set(theta) == {n for n, _ in D.named_parameters()}
    assert all(torch.equal(theta[n], p) for n, p in D.named_parameters())
    plain = torch.autograd.grad(get_loss("ns").g_loss(D(G(z)).squeeze(-1)), list(G.parameters()))
    k0 = _g_grad(D, G, real, z, 0)
    assert all(torch.max(torch.abs(a - b)) <= EXACT for a, b in zip(plain, k0))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_unrolled_g_gradient_differs_and_is_finite(unroll_setup, optimizer):
    D, G, real, z = unroll_setup
    k0, k3 = _g_grad(D, G, real, z, 0, optimizer), _g_grad(D, G, real, z, 3, optimizer)
    assert all(torch.isfinite(g).all() for g in k3)
    assert max(val(torch.max(torch.abs(a - b))) for a, b in zip(k0, k3)) > 1e-3
    assert all(p.grad is None for p in D.parameters())  # D's own .grad is untouched


def test_unrolled_g_gradient_matches_finite_differences(unroll_setup):
    """The G gradient differentiates through the k look-ahead steps (create_graph): compare with
    central differences of the whole map θ_G ↦ L_G(G(z); θ_D^k(θ_G))."""
    D, G, real, z = unroll_setup
    k, lr = 2, 0.5
    auto = torch.cat([g.reshape(-1) for g in _g_grad(D, G, real, z, k, lr=lr)])
    flat = torch.cat([p.detach().reshape(-1) for p in G.parameters()])

    def phi(vec):
        params = {"a": vec[:2], "b": vec[2:]}
        fake = functional_call(G, params, (z,))
        with torch.enable_grad():
            return val(unrolled_g_loss(D, get_loss("ns"), real, fake, k, lr))

    h = 1e-5
    fd = torch.tensor([(phi(flat + h * e) - phi(flat - h * e)) / (2 * h) for e in torch.eye(4, dtype=DT)])
    # central differences: truncation O(h² f''') ~ 1e-10, rounding ~ eps·|φ|/h ~ 1e-11
    assert torch.max(torch.abs(auto - fd)) <= 1e-8
    # a first-order "unrolling" (θ_D^k detached from G) gives a different gradient
    theta = {n: t.detach() for n, t in unrolled_d_params(D, None, get_loss("ns"), real, G(z), k, lr).items()}
    detached = torch.autograd.grad(get_loss("ns").g_loss(functional_call(D, theta, (G(z),)).squeeze(-1)), list(G.parameters()))
    assert val(torch.max(torch.abs(torch.cat([g.reshape(-1) for g in detached]) - fd))) > 1e-6


def test_unrolled_sgd_step_by_hand(unroll_setup):
    D, G, real, z = unroll_setup
    loss, lr = get_loss("minimax"), 0.3
    fake = G(z).detach()
    theta = unrolled_d_params(D, None, loss, real, fake, 1, lr)
    d_loss = loss.d_loss(D(real).squeeze(-1), D(fake).squeeze(-1))
    grads = torch.autograd.grad(d_loss, list(D.parameters()))
    for (n, p), g in zip(D.named_parameters(), grads):
        assert torch.max(torch.abs(theta[n] - (p - lr * g))) <= EXACT


def test_unrolled_fresh_batches_per_step(unroll_setup):
    D, G, real, z = unroll_setup
    seen = []
    fake_fn = lambda i: seen.append(i) or G(z * (1 + i))
    unrolled_d_params(D, None, get_loss("ns"), lambda i: real, fake_fn, 3, 0.1)
    assert seen == [0, 1, 2]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_unrolled_seed_parallel_is_per_seed(optimizer):
    S = 3
    D = SeedParallelMLP(S, 2, 6, gen(5))
    real, fake = batch((S, 16, 2), 1) + 1.0, batch((S, 16, 2), 2)
    theta = unrolled_d_params(D, None, get_loss("hinge"), real, fake, 2, 0.2, optimizer=optimizer, sample_ndim=2)
    for s in range(S):
        Ds = D.replica(s)
        ts = unrolled_d_params(Ds, None, get_loss("hinge"), real[s], fake[s], 2, 0.2, optimizer=optimizer)
        assert torch.max(torch.abs(theta["w1"][s] - ts["0.weight"].T)) <= EXACT
        assert torch.max(torch.abs(theta["w2"][s] - ts["2.weight"].T)) <= EXACT


@pytest.mark.parametrize("kw,match", [({"k": -1}, "k must be"), ({"lr": 0.0}, "lr must be"),
                                      ({"optimizer": "rmsprop"}, "optimizer must be")])
def test_unrolled_validation(unroll_setup, kw, match):
    D, G, real, z = unroll_setup
    args = {"k": 1, "lr": 0.1} | kw
    opt = {"optimizer": args.pop("optimizer")} if "optimizer" in args else {}
    with pytest.raises(ValueError, match=match):
        unrolled_d_params(D, None, get_loss("ns"), real, G(z), args["k"], args["lr"], **opt)


# ----------------------------------------------------------------------------- PacGAN
def test_pack_shape_and_order():
    x = torch.arange(12.0).reshape(6, 2)
    p = pack(x, 3)
    assert p.shape == (2, 6)
    assert p.tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]  # consecutive samples side by side
    assert torch.equal(pack(x, 1), x)
    img = torch.arange(4 * 2 * 3 * 3.0).reshape(4, 2, 3, 3)
    pi = pack(img, 2)
    assert pi.shape == (2, 4, 3, 3) and torch.equal(pi[1, 2:], img[3])  # channels concatenated
    sp = pack(torch.arange(24.0).reshape(2, 6, 2), 2, sample_ndim=2)
    assert sp.shape == (2, 3, 4) and torch.equal(sp[1], pack(torch.arange(24.0).reshape(2, 6, 2)[1], 2))


def test_pack_errors():
    with pytest.raises(ValueError, match="not divisible by the packing degree m=4"):
        pack(torch.zeros(6, 2), 4)
    with pytest.raises(ValueError, match="m must be"):
        pack(torch.zeros(6, 2), 0)


def test_packed_discriminator():
    D = mlp(2 * 4, 8, 1, gen(0))  # takes m·d = 8 inputs
    x = batch((12, 2))
    out = Packed(D, 4)(x)
    assert out.shape == (3, 1)
    assert torch.equal(out, D(pack(x, 4)))
