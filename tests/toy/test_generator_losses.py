"""Generator objectives of the toy trainer: feature matching and unrolled D against hand computations on plain
modules, their effect on the G update, D left alone by the look-ahead, registry and config validation."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from divergences import seed_toy
from toy.generator_losses import GENERATOR_LOSSES, check_generator_loss, register_generator_loss
from toy.hooks import TrainHooks
from toy.reference import PlainTrainer
from toy.train import ToyConfig, ToyTrainer

from .configs import FEATURE_MATCHING, toy_config, unrolled
from .test_train import _small_config

SEEDS = [2, 9]

# float64 throughout: the stacked (bmm) and the plain (addmm) paths round differently, ~1e-16 relative on O(1)
# values; through one (or a second-order, for the look-ahead) backward pass that stays < 1e-13. 1e-10 leaves
# three orders of margin and still fails on any wrong batch, layer, learning rate or sign (≥ 1e-4 here).
HAND_TOL = 1e-10


def _trainer(**options) -> ToyTrainer:
    cfg = toy_config(_small_config(n_train=640, dtype="float64", batch_size=32), **options)
    return ToyTrainer(cfg, SEEDS, torch.device("cpu"), TrainHooks())


def _batch(tr: ToyTrainer) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    B, S = tr.cfg.batch_size, tr.S
    z = torch.randn(S, B, tr.cfg.latent_dim, generator=g, dtype=torch.float64)
    real = tr.data.real_epoch(tr.data_gens, B)[0]  # (S, B, d), ring samples
    return z, real


def _g_loss_and_grads(tr: ToyTrainer, z: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    loss = tr.g_loss(z, real)
    grads = torch.autograd.grad(loss.sum(), list(tr.G.parameters()))
    assert all(p.grad is None for p in tr.D.parameters())  # D gets no gradient from the G objective
    return loss.detach(), [g.detach() for g in grads]


def _check_against(loss: torch.Tensor, grads: list[torch.Tensor], i: int, want: torch.Tensor,
                   G: torch.nn.Module) -> None:
    """Seed i's loss and G gradient (stacked: W_0..W_L (S, in, out), then b_0..b_L (S, 1, out)) against the plain
    module's (Linear weight (out, in), bias (out,), layer by layer)."""
    assert abs(loss[i].item() - want.item()) <= HAND_TOL
    plain = torch.autograd.grad(want, list(G.parameters()))
    plain = [w.T for w in plain[0::2]] + list(plain[1::2])
    assert len(plain) == len(grads)
    for a, b in zip(grads, plain):
        assert (a[i].reshape(b.shape) - b).abs().max() <= HAND_TOL


# ----------------------------------------------------------------------------- feature matching
@pytest.mark.parametrize("pack", [1, 2])
def test_feature_matching_is_the_squared_distance_of_mean_last_hidden_features(pack):
    # By hand on seed i's plain modules: f = D without its output layer (Sequential[:-1], ends with the activation),
    # L = ‖mean f(x) − mean f(G(z))‖² over the B/m packed rows of real and fake.
    tr = _trainer(**FEATURE_MATCHING, pack=pack)
    z, real = _batch(tr)
    loss, grads = _g_loss_and_grads(tr, z, real)
    for i in range(tr.S):
        G, f = tr.G.to_plain(i), tr.D.to_plain(i)[:-1]
        rows = lambda x: x.reshape(x.shape[0] // pack, -1)  # (B, d) → (B/m, m·d), consecutive samples per pack
        want = (f(rows(real[i])).mean(0) - f(rows(G(z[i]))).mean(0)).pow(2).sum()
        _check_against(loss, grads, i, want, G)


# ----------------------------------------------------------------------------- unrolled D
@pytest.mark.parametrize("unroll_lr", [None, 0.05])
def test_one_unrolled_step_by_hand(unroll_lr):
    # k = 1 by hand on seed i's plain modules, differentiable in G: θ¹ = θ − η ∇_θ L_D(θ; x, G(z)) with η = lr_d
    # when unroll_lr is None, then L_G = mean g_fake(D_θ¹(G(z))). No code shared with gan.remedies.unrolled_d_params.
    tr = _trainer(**unrolled(1, unroll_lr))
    eta = tr.cfg.options.lr_d if unroll_lr is None else unroll_lr
    z, real = _batch(tr)
    loss, grads = _g_loss_and_grads(tr, z, real)
    for i in range(tr.S):
        G, D = tr.G.to_plain(i), tr.D.to_plain(i)
        fake = G(z[i])
        names, theta = zip(*D.named_parameters())
        d_loss = tr.loss.d_loss(D(real[i]).squeeze(-1), D(fake).squeeze(-1))
        step = torch.autograd.grad(d_loss, theta, create_graph=True)
        theta1 = {n: p.detach() - eta * g for n, p, g in zip(names, theta, step)}
        want = tr.loss.g_loss(functional_call(D, theta1, (fake,)).squeeze(-1))
        _check_against(loss, grads, i, want, G)


def test_unrolling_leaves_the_discriminator_alone():
    # The look-ahead is functional: after a G step D's parameters, spectral-norm vectors, Adam state and
    # training mode are exactly as before.
    tr = _trainer(**unrolled(3), spectral_norm=True, pack=2, minibatch_std=True)
    z, real = _batch(tr)
    tr.d_step(real, tr.G(z).detach(), 0)  # gives D an Adam state
    adam = lambda: [v.clone() for p in tr.D.parameters() for v in tr.opt_d.state[p].values()]
    before, adam_before = {k: v.clone() for k, v in tr.D.state_dict().items()}, adam()
    assert len(adam_before) == 3 * len(list(tr.D.parameters()))  # step, exp_avg, exp_avg_sq
    tr.g_step(z, real, 0)
    assert tr.D.training
    for k, v in tr.D.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(torch.equal(a, b) for a, b in zip(adam(), adam_before))


# ----------------------------------------------------------------------------- both
@pytest.mark.parametrize("options", [FEATURE_MATCHING, unrolled(2)], ids=["feature_matching", "unrolled"])
def test_option_changes_the_generator_update(options):
    # Same networks, same z and x: the option's G gradient (per parameter tensor, relative 2-norm) must differ from
    # the adversarial one by far more than float64 rounding (~1e-15). Measured: 17-20 for feature matching (another
    # objective), 0.018-0.07 for 2 SGD steps at lr_d = 1e-3 (mostly the differentiated look-ahead).
    z, real = _batch(_trainer())
    _, off = _g_loss_and_grads(_trainer(), z, real)
    _, on = _g_loss_and_grads(_trainer(**options), z, real)
    rel = max(((a - b).norm() / b.norm()).item() for a, b in zip(on, off))
    assert rel >= 1e-2


def test_registry_checks_names_and_parameters():
    assert list(GENERATOR_LOSSES) == ["adversarial", "feature_matching", "unrolled"]
    check_generator_loss("adversarial", {})
    check_generator_loss("unrolled", {"steps": 2, "lr": 0.5})
    with pytest.raises(ValueError, match="already registered"):
        register_generator_loss("unrolled")
    with pytest.raises(ValueError, match="unknown generator objective 'feature'"):
        check_generator_loss("feature", {})
    with pytest.raises(ValueError, match="takes no parameters"):
        check_generator_loss("feature_matching", {"steps": 1})
    with pytest.raises(TypeError, match="must be a mapping"):
        check_generator_loss("unrolled", [("steps", 1)])


def test_config_rejects_bad_generator_objectives():
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError, match="steps must be an integer >= 1"):
            _small_config(g_objective="unrolled", g_objective_params={"steps": bad})
    for bad in (0.0, -1e-3, float("nan"), True):
        with pytest.raises(ValueError, match="unrolled: lr"):
            _small_config(g_objective="unrolled", g_objective_params={"steps": 1, "lr": bad})
    with pytest.raises(ValueError, match="parameters steps, lr, optimizer and objective"):
        _small_config(g_objective="unrolled", g_objective_params={"steps": 1, "eta": 0.1})
    with pytest.raises(ValueError, match="optimizer must be"):
        _small_config(g_objective="unrolled", g_objective_params={"steps": 1, "optimizer": "rmsprop"})
    with pytest.raises(ValueError, match="d_depth >= 1"):
        _small_config(**FEATURE_MATCHING, d_depth=0)
    toy = seed_toy()
    for options in (FEATURE_MATCHING, unrolled(1)):
        with pytest.raises(ValueError, match="no generator network"):
            ToyConfig(mixture=toy.real, fixed_generator=toy.gen_right, n_train=256, batch_size=64, **options)
    with pytest.raises(ValueError, match="g_objective feature_matching"):
        PlainTrainer(_small_config(**FEATURE_MATCHING), 0)
