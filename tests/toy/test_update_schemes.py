"""The toy trainer's update schemes: simultaneous vs alternating updates, G reusing the D step's latents, fixed
latents paired with the training samples, orthogonal initialisation, and the unrolled look-ahead with D's Adam state."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from gan.remedies import unrolled_d_params
from toy.models import MLPSpec, StackedMLP
from toy.train import ToyTrainer, TrainHooks, train_toy

from .configs import toy_config
from .test_train import _small_config

SEEDS = [1, 4]


def _trainer(**kw) -> ToyTrainer:
    cfg = toy_config(_small_config(n_train=64 * 4, dtype="float64"), **kw)
    return ToyTrainer(cfg, SEEDS, torch.device("cpu"), TrainHooks())


def _g_after_one_iteration(**kw) -> list[torch.Tensor]:
    tr = _trainer(**kw)
    tr.iters_per_epoch = 1  # one iteration of epoch 0
    tr.epoch(0)
    return [p.detach().clone() for p in tr.G.parameters()]


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_simultaneous_g_update_does_not_see_the_d_update(update):
    """Simultaneous: G's gradient is taken at the D of the start of the iteration, so D's learning rate cannot change
    G's first update (exactly equal); alternating: G steps against the updated D, so it does (and the test would
    fail for a simultaneous scheme that used the updated D)."""
    kw = {"update": update, "g_latents": "reuse"}
    slow, fast = _g_after_one_iteration(**kw, lr_d=1e-3), _g_after_one_iteration(**kw, lr_d=0.5)
    same = all(torch.equal(a, b) for a, b in zip(slow, fast))
    assert same == (update == "simultaneous")


def _recording(tr: ToyTrainer) -> dict:
    seen = {"d_fake": [], "g_fake": [], "g_real": [], "g_z": []}
    d_step, g_step = tr.d_step, tr.g_step

    def rec_d(real, fake, it):
        seen["d_fake"].append(fake.clone())
        return d_step(real, fake, it)

    def rec_g(z, real, it, apply=True):
        seen["g_z"].append(z.clone())
        seen["g_real"].append(real.clone())
        fake = g_step(z, real, it, apply)
        seen["g_fake"].append(fake.clone())
        return fake

    tr.d_step, tr.g_step = rec_d, rec_g
    return seen


@pytest.mark.parametrize("g_latents", ["fresh", "reuse"])
def test_g_step_reuses_the_latents_of_the_last_d_step(g_latents):
    tr = _trainer(g_latents=g_latents, n_dis=2)
    seen = _recording(tr)
    tr.epoch(0)
    # G is not updated during the D steps, so G(z) of the G step equals the last D step's fakes iff z is reused
    pairs = list(zip(seen["d_fake"][1::2], seen["g_fake"]))
    assert len(pairs) == tr.iters_per_epoch
    assert all(torch.equal(a, b) for a, b in pairs) == (g_latents == "reuse")


def test_fixed_latents_stay_paired_with_their_samples_and_are_reshuffled():
    tr = _trainer(latents="fixed", g_latents="reuse", epochs=2)
    seen = _recording(tr)
    tr.epoch(0)
    tr.epoch(1)
    train, z_train = tr.data.train, tr.z_train  # (N, d), (S, N, k)
    for z, x in zip(seen["g_z"], seen["g_real"]):
        for s in range(len(SEEDS)):
            # each latent is one of the seed's fixed latents, and the sample it comes with is that latent's partner
            j = torch.cdist(z[s], z_train[s]).argmin(dim=1)
            assert torch.equal(z_train[s][j], z[s]) and torch.equal(train[j], x[s])
    first, second = seen["g_z"][0], seen["g_z"][tr.iters_per_epoch]
    assert not torch.equal(first, second)  # reshuffled every epoch


def test_update_scheme_options_are_validated():
    for kw, words in (({"update": "simultaneous", "g_latents": "fresh"}, "n_dis = 1 and g_latents='reuse'"),
                      ({"update": "simultaneous", "g_latents": "reuse", "n_dis": 2}, "n_dis = 1"),
                      ({"latents": "fixed"}, "g_latents='reuse'"),
                      ({"latents": "fixed", "g_latents": "reuse", "fresh": True}, "fresh=False"),
                      ({"update": "sequential"}, "update must be one of"),
                      ({"init": "xavier"}, "init must be one of"), ({"init_gain": 0.0}, "init_gain")):
        with pytest.raises(ValueError, match=words):
            _small_config(**kw)


def test_latents_drawn_in_blocks_keep_batched_equal_to_alone(monkeypatch):
    """With a large latent dimension the epoch's latents are drawn in blocks of iterations; the blocks depend on the
    config only, so S seeds trained together still equal each seed trained alone (float64: ≤ 1e-12)."""
    import toy.train

    monkeypatch.setattr(toy.train, "LATENT_BLOCK_ELEMENTS", 64 * 2 * 3 * 3)  # blocks of 3 iterations
    cfg = _small_config(n_train=64 * 7, latent_dim=3, dtype="float64", epochs=2)
    both = train_toy(cfg, SEEDS)
    for i, s in enumerate(SEEDS):
        alone = train_toy(cfg, [s])
        for a, b in zip(both.G.parameters(), alone.G.parameters()):
            assert (a[i] - b[0]).abs().max() <= 1e-12


def test_default_scheme_is_unchanged_by_the_new_options():
    """alternating + fresh latents (the defaults) draw the same numbers as before the options existed: the G step's
    latents are a separate draw (so G(z) differs from the D step's fakes, see above) and a run is reproducible."""
    cfg = _small_config(n_train=64 * 4)
    a, b = train_toy(cfg, SEEDS), train_toy(toy_config(cfg, update="alternating", latents="fresh",
                                                       g_latents="fresh"), SEEDS)
    assert all(torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters()))


def test_orthogonal_initialisation_with_gain():
    spec = MLPSpec(16, 2, 8, 2, "tanh", "orthogonal", 1.4)
    net = StackedMLP.from_generators(spec, [torch.Generator().manual_seed(s) for s in (0, 1)], dtype=torch.float64)
    for w in net.weights:  # (S, fan_in, fan_out): orthonormal columns or rows, times the gain
        for ws in w:
            small = ws.T @ ws if ws.shape[0] >= ws.shape[1] else ws @ ws.T
            assert (small - 1.4 ** 2 * torch.eye(small.shape[0], dtype=torch.float64)).abs().max() <= 1e-12
    assert all(float(b.detach().abs().max()) == 0.0 for b in net.biases)
    assert not torch.equal(net.weights[0][0], net.weights[0][1])  # each seed its own draw


def test_adam_look_ahead_starts_from_the_given_moments():
    """One Adam look-ahead step from moments (m, v) at step t equals the bias-corrected Adam rule by hand
    (denominator sqrt(v̂ + eps²), see unrolled_d_params); zero moments at t = 0 give a different step."""
    torch.manual_seed(0)
    D = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
    real, fake = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    from gan.losses import get_loss

    loss = get_loss("ns")
    names = [n for n, _ in D.named_parameters()]
    state = {n: (0.1 * torch.ones_like(p), 0.01 * torch.ones_like(p), 7.0) for n, p in D.named_parameters()}
    lr, b1, b2, eps = 0.05, 0.5, 0.999, 1e-8
    got = unrolled_d_params(D, None, loss, real, fake, 1, lr, optimizer="adam", betas=(b1, b2), eps=eps,
                            adam_state=state)
    out = lambda x: functional_call(D, dict(D.named_parameters()), (x,)).squeeze(-1)
    grads = torch.autograd.grad(loss.d_loss(out(real), out(fake)), list(D.parameters()))
    for n, p, g in zip(names, D.parameters(), grads):
        m = b1 * state[n][0] + (1 - b1) * g
        v = b2 * state[n][1] + (1 - b2) * g * g
        want = p - lr * (m / (1 - b1 ** 8)) / (v / (1 - b2 ** 8) + eps * eps).sqrt()
        assert (got[n] - want).abs().max() <= 1e-12  # float64 rounding of a few operations
    fresh = unrolled_d_params(D, None, loss, real, fake, 1, lr, optimizer="adam", betas=(b1, b2), eps=eps)
    assert max((fresh[n] - got[n]).abs().max() for n in names) > 1e-3


def test_unrolled_adam_trains_with_the_ds_optimizer_state():
    cfg = _small_config(n_train=64 * 2, g_objective="unrolled",
                        g_objective_params={"steps": 2, "optimizer": "adam"})
    res = train_toy(cfg, SEEDS)
    assert torch.isfinite(res.loss_g).all() and torch.isfinite(res.loss_d).all()


def test_unrolled_value_objective_is_minus_the_d_loss_at_the_look_ahead():
    """objective='value': the G objective is −L_D(θ^k) on the step's real and fake batch (Metz et al. eq. 6); with
    k steps of SGD at a rate of 0 it would be −L_D(θ_D), so check k = 1 against the look-ahead by hand."""
    from toy.generator_losses import GeneratorStep, build_generator_loss

    tr = _trainer(loss="minimax")
    g = torch.Generator().manual_seed(3)
    z = torch.randn(len(SEEDS), 64, tr.cfg.latent_dim, generator=g, dtype=torch.float64)
    real = tr.data.real_epoch(tr.data_gens, 64)[0]
    fake = tr.G(z)
    obj = build_generator_loss("unrolled", {"steps": 1, "lr": 0.1, "objective": "value"}, tr.cfg.options)
    got = obj(GeneratorStep(tr.D, tr._d_input, tr._d_logits, tr.loss, real, fake, tr.opt_d))
    theta = unrolled_d_params(tr.D, None, tr.loss, real, fake, 1, 0.1, sample_ndim=2)
    out = lambda x: functional_call(tr.D, theta, (x,)).squeeze(-1)
    want = -tr.loss.d_loss(out(real), out(fake))
    assert (got - want).abs().max() <= 1e-12
    plain = build_generator_loss("unrolled", {"steps": 1, "lr": 0.1}, tr.cfg.options)
    assert (plain(GeneratorStep(tr.D, tr._d_input, tr._d_logits, tr.loss, real, fake, tr.opt_d)) - got).abs().max() > 1e-3
