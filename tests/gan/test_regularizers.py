"""gan.regularizers: closed forms of the penalties, seed-parallel shapes, constraints, options."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from divergences import alpha_loss, optimal_discriminator, seed_toy
from gan.losses import get_loss
from gan.regularizers import (InstanceNoise, TrainOptions, add_instance_noise, clip_weights_, critic_outputs,
                              dragan_penalty, dragan_perturb, gradient_norm_penalty, gradient_penalty,
                              one_sided_label_smoothing, r1_penalty, random_interpolates, spectral_normalize)
from tests.gan.tiny_nets import SeedParallelMLP, init_, mlp

DT = torch.float64
EXACT = 1e-12  # float64 closed forms: a handful of roundings of O(1)-O(100) numbers


def val(t) -> float:
    """A Python float of a (possibly graph-attached) scalar tensor."""
    return float(t.detach()) if isinstance(t, torch.Tensor) else float(t)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def linear_critic(w, b: float = 0.3) -> nn.Linear:
    lin = nn.Linear(len(w), 1).to(DT)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([w], dtype=DT))
        lin.bias.fill_(b)
    return lin


class Quadratic(nn.Module):
    """D(x) = ½‖x‖² + c, ∇D(x) = x."""

    def forward(self, x):
        return 0.5 * x.pow(2).sum(-1) + 1.0


def batch(shape, seed=1, shift=0.0):
    return torch.randn(shape, generator=gen(seed), dtype=DT) + shift


# ----------------------------------------------------------------------------- gradient penalty
def test_gp_zero_for_unit_norm_linear_critic():
    D = linear_critic([0.6, -0.8])  # ‖w‖ = 1: unit-norm gradient everywhere
    gp = gradient_penalty(D, batch((32, 2), 1), batch((32, 2), 2, 3.0), gen(5))
    assert gp.shape == ()
    assert abs(val(gp)) <= EXACT


def test_gp_linear_closed_form_and_its_gradient():
    w = torch.tensor([1.5, -2.0, 0.5], dtype=DT)
    D = linear_critic(w.tolist())
    gp = gradient_penalty(D, batch((16, 3), 1), batch((16, 3), 2), gen(5), weight=7.0)
    norm = val(w.norm())
    assert abs(val(gp) - 7.0 * (norm - 1.0) ** 2) <= EXACT
    gp.backward()  # create_graph=True: the penalty reaches the critic's weights
    want = 2 * 7.0 * (norm - 1.0) * w / norm
    assert torch.max(torch.abs(D.weight.grad[0] - want)) <= EXACT
    assert D.bias.grad is None  # the bias does not enter ∇_x D


def test_gp_on_the_interpolates():
    real, fake = batch((64, 2), 1, 2.0), batch((64, 2), 2, -1.0)
    x_hat = random_interpolates(real, fake, gen(9))
    eps = (x_hat - fake) / (real - fake)  # one ε per sample, the same for both coordinates
    assert torch.max(torch.abs(eps[:, 0] - eps[:, 1])) <= 1e-9
    assert val(eps.min()) >= 0.0 and val(eps.max()) < 1.0 and val(eps.std()) > 0.1
    gp = gradient_penalty(Quadratic(), real, fake, gen(9), weight=3.0)
    want = 3.0 * ((x_hat.norm(dim=1) - 1.0) ** 2).mean()  # ∇D(x̂) = x̂
    assert abs(val(gp - want)) <= EXACT * (1 + val(want))
    other = gradient_penalty(Quadratic(), real, fake, gen(10), weight=3.0)
    assert abs(val(other - gp)) > 1e-6  # the generator decides ε


def test_gp_detaches_inputs_from_the_generator():
    fake = batch((8, 2), 2).requires_grad_(True)  # as if attached to G's graph
    D = linear_critic([2.0, 1.0])
    gp = gradient_penalty(D, batch((8, 2), 1), fake, gen(0))
    gp.backward()
    assert fake.grad is None and D.weight.grad is not None


# ----------------------------------------------------------------------------- R1 and DRAGAN
def test_r1_linear_and_quadratic():
    D = linear_critic([3.0, -4.0])
    r1 = r1_penalty(D, batch((16, 2), 1), gamma=0.2)
    assert abs(val(r1) - 0.1 * 25.0) <= EXACT
    x = batch((16, 2), 3)
    r1q = r1_penalty(Quadratic(), x, gamma=4.0)
    assert abs(val(r1q) - 2.0 * val(x.pow(2).sum(1).mean())) <= EXACT * 100


def test_dragan_perturbation_and_penalty():
    x = batch((128, 3), 1) * 2.0
    xp = dragan_perturb(x, gen(4))
    # the reference code: X_p = X + 0.5 X.std() U, gradients at X + α (X_p − X), α ~ U[0, 1) per sample; u then α
    g = gen(4)
    u = torch.rand(x.shape, generator=g, dtype=x.dtype)
    alpha = torch.rand((x.shape[0], 1), generator=g, dtype=x.dtype)
    x_p = x + 0.5 * x.std(correction=0) * u
    assert val((xp - (x + alpha * (x_p - x))).abs().max()) <= EXACT
    delta = (xp - x) / (0.5 * x.std(correction=0))  # α·u: in [0, 1), mean 1/4, variance 1/9 − 1/16 = 7/144
    assert val(delta.min()) >= -1e-12 and val(delta.max()) < 1.0
    assert abs(val(delta.mean()) - 0.25) <= 4 * math.sqrt(7 / 144 / x.shape[0])  # α shared across a row: n = B
    D = linear_critic([2.0, 0.0, 0.0])
    assert abs(val(dragan_penalty(D, x, gen(4), weight=5.0)) - 5.0) <= EXACT  # 5·(2 − 1)²
    dq = dragan_penalty(Quadratic(), x, gen(4), weight=5.0)
    want = 5.0 * ((xp.norm(dim=1) - 1.0) ** 2).mean()
    assert abs(val(dq - want)) <= EXACT * (1 + val(want))


# ----------------------------------------------------------------------------- seed-parallel shapes
@pytest.fixture(scope="module")
def seed_parallel():
    S, B, d = 3, 16, 2
    D = SeedParallelMLP(S, d, 8, gen(11))
    return D, batch((S, B, d), 1, 1.0), batch((S, B, d), 2, -1.0)


def _per_seed(fn_sp, fn_one, D, S):
    got = fn_sp(D)
    assert got.shape == (S,)
    for s in range(S):
        want = fn_one(D.replica(s), s)
        assert want.shape == ()
        assert abs(val(got[s] - want)) <= EXACT * (1 + abs(val(want)))


def test_seed_parallel_gradient_norm_penalty(seed_parallel):
    D, real, fake = seed_parallel
    x_hat = random_interpolates(real, fake, gen(3), sample_ndim=2)
    _per_seed(lambda D: gradient_norm_penalty(D, x_hat, sample_ndim=2),
              lambda Ds, s: gradient_norm_penalty(Ds, x_hat[s]), D, real.shape[0])
    # the full GP draws ε of shape (S, B) from the generator: same draws as random_interpolates
    full = gradient_penalty(D, real, fake, gen(3), weight=10.0, sample_ndim=2)
    assert torch.max(torch.abs(full - 10.0 * gradient_norm_penalty(D, x_hat, sample_ndim=2))) <= EXACT


def test_seed_parallel_gp_gradients_are_per_seed(seed_parallel):
    D, real, fake = seed_parallel
    x_hat = random_interpolates(real, fake, gen(3), sample_ndim=2)
    D.zero_grad()
    gradient_norm_penalty(D, x_hat, sample_ndim=2).sum().backward()
    for s in range(real.shape[0]):
        Ds = D.replica(s)
        gradient_norm_penalty(Ds, x_hat[s]).backward()
        assert torch.max(torch.abs(D.w1.grad[s] - Ds[0].weight.grad.T)) <= EXACT
        assert torch.max(torch.abs(D.w2.grad[s] - Ds[2].weight.grad.T)) <= EXACT


def test_seed_parallel_r1(seed_parallel):
    D, real, _ = seed_parallel
    _per_seed(lambda D: r1_penalty(D, real, 10.0, sample_ndim=2), lambda Ds, s: r1_penalty(Ds, real[s], 10.0), D, real.shape[0])


def test_seed_parallel_dragan(seed_parallel):
    D, real, _ = seed_parallel
    xp = dragan_perturb(real, gen(8), sample_ndim=2)
    for s in range(real.shape[0]):  # each seed perturbed with its own batch std
        delta = (xp[s] - real[s]) / (0.5 * real[s].std(correction=0))
        assert val(delta.min()) >= -1e-12 and val(delta.max()) < 1.0
    full = dragan_penalty(D, real, gen(8), sample_ndim=2)
    _per_seed(lambda D: full, lambda Ds, s: 10.0 * gradient_norm_penalty(Ds, xp[s]), D, real.shape[0])


def test_seed_parallel_critic_needs_sample_ndim(seed_parallel):
    D, real, fake = seed_parallel
    with pytest.raises(ValueError, match="sample_ndim=2"):
        gradient_penalty(D, real, fake, gen(0))
    with pytest.raises(ValueError, match="no feature axis"):
        r1_penalty(D, real[..., 0], sample_ndim=2)


def test_critic_outputs_accepts_column_head():
    D = mlp(2, 4, 1, gen(0))
    x = batch((5, 2))
    assert critic_outputs(D, x).shape == (5,)
    with pytest.raises(ValueError, match="critic output has shape"):
        critic_outputs(mlp(2, 4, 3, gen(0)), x)


def test_penalty_requires_a_torch_generator():
    with pytest.raises(TypeError, match="torch.Generator"):
        gradient_penalty(Quadratic(), batch((4, 2)), batch((4, 2)), 123)
    with pytest.raises(ValueError, match="weight"):
        gradient_penalty(Quadratic(), batch((4, 2)), batch((4, 2)), gen(0), weight=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(Quadratic(), batch((4, 2)), batch((5, 2)), gen(0))


# ----------------------------------------------------------------------------- weight constraints
def test_clip_weights_bounds_every_parameter():
    D = mlp(3, 16, 1, gen(2))
    with torch.no_grad():
        for p in D.parameters():
            p.mul_(10.0)
    inside = {n: p.detach().abs() <= 0.05 for n, p in D.named_parameters()}
    before = {n: p.detach().clone() for n, p in D.named_parameters()}
    assert max(val(p.abs().max()) for p in D.parameters()) > 0.05
    clip_weights_(D, 0.05)
    for n, p in D.named_parameters():
        assert val(p.abs().max()) <= 0.05
        assert torch.equal(p[inside[n]], before[n][inside[n]])  # entries inside the box are untouched
    with pytest.raises(ValueError, match="c must be"):
        clip_weights_(D, 0.0)


class SmallNet(nn.Module):
    """Linear → Conv1d → Linear, to cover both layer kinds."""

    def __init__(self):
        super().__init__()
        self.fc, self.conv, self.out = nn.Linear(6, 9), nn.Conv1d(1, 4, 3), nn.Linear(28, 1)

    def forward(self, x):
        h = F.leaky_relu(self.fc(x), 0.2).unsqueeze(1)  # (B, 1, 9)
        return self.out(F.leaky_relu(self.conv(h), 0.2).flatten(1))


def test_spectral_normalize_gives_unit_top_singular_value():
    net = init_(SmallNet().to(DT), gen(5), scale=1.0)
    layers = (net.fc, net.conv, net.out)
    mat = lambda layer: layer.weight.reshape(layer.weight.shape[0], -1)
    sv = [torch.linalg.svdvals(mat(layer).detach()) for layer in layers]
    assert all(abs(val(s[0]) - 1.0) > 0.5 for s in sv)  # the test can fail: raw layers are far from σ = 1
    assert spectral_normalize(net, n_power_iterations=1) is net
    spectral_normalize(net)  # idempotent: no second parametrization
    assert all(len(layer.parametrizations["weight"]) == 1 for layer in layers)
    net.train()
    x, n_forward = batch((4, 6)), 60
    for _ in range(n_forward):  # each training-mode forward runs one power iteration per layer
        net(x)
    for layer, s in zip(layers, sv):
        # the power-iteration estimate of σ1 converges like (σ2/σ1)^{2k}, k = 15 (at registration) +
        # n_forward; a factor 10 covers the start vector's angle, 1e-9 the rounding
        ratio = val(s[1] / s[0]) if len(s) > 1 else 0.0
        tol = 10.0 * ratio ** (2 * (15 + n_forward)) + 1e-9
        assert abs(val(torch.linalg.matrix_norm(mat(layer), 2)) - 1.0) <= tol
    with pytest.raises(ValueError, match="n_power_iterations"):
        spectral_normalize(net, n_power_iterations=0)


# ----------------------------------------------------------------------------- label smoothing
def test_label_smoothing_is_cross_entropy_with_target():
    v = torch.linspace(-30, 30, 121, dtype=DT)
    for name in ("minimax", "ns"):
        sm = one_sided_label_smoothing(get_loss(name), 0.9)
        want = F.binary_cross_entropy_with_logits(v, torch.full_like(v, 0.9), reduction="none")
        assert torch.max(torch.abs(sm.d_real(v) - want)) <= math.exp(-20) + 1e-12  # F.softplus threshold error
        assert torch.equal(sm.d_fake(v), get_loss(name).d_fake(v))
        assert torch.equal(sm.g_fake(v), get_loss(name).g_fake(v))
        assert sm.params["real_target"] == 0.9


def test_label_smoothing_alpha_matches_soft_label_alpha_loss():
    p = np.linspace(0.01, 0.99, 99)
    v = torch.from_numpy(np.log(p) - np.log1p(-p))
    for loss, a in ((get_loss("alpha", alpha=2.0), 2.0), (get_loss("alpha_d_alpha_g", alpha_d=0.5, alpha_g=1.2), 0.5)):
        sm = one_sided_label_smoothing(loss, 0.9)
        assert np.max(np.abs(sm.d_real(v).numpy() - alpha_loss(0.9, p, a))) <= 1e-12


def test_label_smoothing_optimum_is_scaled():
    # pointwise D loss p·d_real(v) + q·d_fake(v) is minimised at σ(v) = s·p/(p + q)
    sm = one_sided_label_smoothing(get_loss("minimax"), 0.9)
    p, q = 0.7, 0.2
    v = torch.tensor(math.log(0.9 * p / (p + q)) - math.log1p(-0.9 * p / (p + q)), dtype=DT, requires_grad=True)
    (g,) = torch.autograd.grad(p * sm.d_real(v) + q * sm.d_fake(v), v)
    assert abs(val(g)) <= 1e-12
    with pytest.raises(ValueError, match="unknown loss"):  # no registered closed form: no silent mis-comparison
        optimal_discriminator(seed_toy().real, seed_toy().gen_left, sm.analytic[0])


@pytest.mark.parametrize("name", ["wgan", "hinge", "lsgan", "fgan_gan", "fgan_kl"])
def test_label_smoothing_rejects_other_losses(name):
    with pytest.raises(ValueError, match="cross-entropy-type"):
        one_sided_label_smoothing(get_loss(name), 0.9)


def test_label_smoothing_validation():
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        one_sided_label_smoothing(get_loss("ns"), 0.0)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        one_sided_label_smoothing(get_loss("ns"), 1.5)
    with pytest.raises(ValueError, match="cross-entropy-type"):  # no double smoothing
        one_sided_label_smoothing(one_sided_label_smoothing(get_loss("ns")), 0.9)
    with pytest.raises(TypeError):
        one_sided_label_smoothing("ns")


# ----------------------------------------------------------------------------- instance noise
def test_instance_noise_statistics_and_reproducibility():
    x = torch.zeros(100_000, 2, dtype=DT)
    y = add_instance_noise(x, 0.5, gen(3))
    n = y.numel()
    # mean 0 ± 4 SE (SE = σ/√n); sample std within 4 SE of σ (SE ≈ σ/√(2n))
    assert abs(val(y.mean())) <= 4 * 0.5 / math.sqrt(n)
    assert abs(val(y.std()) - 0.5) <= 4 * 0.5 / math.sqrt(2 * n)
    assert torch.equal(y, add_instance_noise(x, 0.5, gen(3)))
    assert add_instance_noise(x, 0.0, gen(3)) is x
    with pytest.raises(ValueError, match="sigma"):
        add_instance_noise(x, -0.1, gen(3))


def test_instance_noise_annealing():
    noise = InstanceNoise(0.4, anneal_steps=100)
    assert [noise.sigma_at(t) for t in (0, 50, 100, 200)] == [0.4, 0.2, 0.0, 0.0]
    assert InstanceNoise(0.4).sigma_at(10_000) == 0.4
    x = torch.ones(3, 2, dtype=DT)
    assert torch.equal(noise(x, gen(1), step=100), x)
    assert not torch.equal(noise(x, gen(1), step=0), x)
    with pytest.raises(ValueError, match="anneal_steps"):
        InstanceNoise(0.4, anneal_steps=0)
    with pytest.raises(ValueError, match="step"):
        noise.sigma_at(-1)


# ----------------------------------------------------------------------------- options
def test_train_options_defaults_and_frozen():
    opt = TrainOptions()
    assert (opt.n_dis, opt.lr_d, opt.lr_g, opt.beta1, opt.beta2, opt.penalty) == (1, 2e-4, 2e-4, 0.5, 0.999, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opt.n_dis = 5
    ttur = TrainOptions(n_dis=5, lr_d=4e-4, lr_g=1e-4, beta1=0.0, beta2=0.9, penalty="gp", penalty_weight=10.0)
    assert ttur.lr_d != ttur.lr_g and ttur.noise() is None


@pytest.mark.parametrize("kw,match", [
    ({"n_dis": 0}, "n_dis"), ({"n_dis": 1.5}, "n_dis"), ({"n_dis": True}, "n_dis"),
    ({"lr_d": 0.0}, "lr_d"), ({"lr_g": -1e-4}, "lr_g"), ({"lr_g": val("nan")}, "lr_g"),
    ({"beta1": 1.0}, "beta1"), ({"beta2": -0.1}, "beta2"),
    ({"penalty": "wgan-gp"}, "penalty must be"), ({"penalty": "gp", "penalty_weight": 0.0}, "penalty_weight"),
    ({"clip": 0.0}, "clip"), ({"clip": val("inf")}, "clip"), ({"spectral_norm": 1}, "spectral_norm"),
    ({"real_target": 0.0}, "real_target"), ({"real_target": 1.2}, "real_target"),
    ({"instance_noise": -0.1}, "sigma"), ({"instance_noise": 0.1, "instance_noise_anneal": 0}, "anneal_steps"),
    ({"instance_noise_anneal": 100}, "instance_noise is 0"),
])
def test_train_options_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainOptions(**kw)


def test_train_options_helpers():
    D, real, fake = Quadratic(), batch((16, 2), 1), batch((16, 2), 2)
    cases = {"gp": lambda: gradient_penalty(D, real, fake, gen(6), 3.0),
             "r1": lambda: r1_penalty(D, real, 3.0),
             "dragan": lambda: dragan_penalty(D, real, gen(6), 3.0)}
    for name, direct in cases.items():
        got = TrainOptions(penalty=name, penalty_weight=3.0).d_penalty(D, real, fake, gen(6))
        assert abs(val(got - direct())) <= EXACT and val(got) > 0
    none = TrainOptions().d_penalty(D, real.expand(3, 16, 2), fake.expand(3, 16, 2), gen(6), sample_ndim=2)
    assert none.shape == (3,) and torch.equal(none, torch.zeros(3, dtype=DT))
    assert TrainOptions(real_target=0.9).wrap_loss(get_loss("ns")).params["real_target"] == 0.9
    assert TrainOptions().wrap_loss(get_loss("wgan")).name == "wgan"
    with pytest.raises(ValueError, match="cross-entropy-type"):
        TrainOptions(real_target=0.9).wrap_loss(get_loss("wgan"))
    assert TrainOptions(instance_noise=0.2, instance_noise_anneal=10).noise().sigma_at(5) == pytest.approx(0.1, abs=1e-15)
