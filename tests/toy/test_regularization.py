"""Regularizers in the seed-parallel trainer, stacked spectral normalization, checkpoints and resume."""

from __future__ import annotations


import pandas as pd
import pytest
import torch
from torch import nn

from gan.regularizers import draw
from toy.hooks import TrainHooks
from toy.models import MLPSpec, StackedMLP
from toy.train import ToyConfig, train_toy

from .configs import FEATURE_MATCHING, toy_config, unrolled
from .test_train import _small_config

REGULARIZED = [
    {"penalty": "gp", "penalty_weight": 1.0},
    {"penalty": "dragan", "instance_noise": 0.05, "instance_noise_anneal": 10},
    {"spectral_norm": True, "loss": "hinge"},
    {"clip": 0.05, "loss": "wgan", "n_dis": 2},
    {"penalty": "r1", "real_target": 0.9},
]


def _params(res, i):
    return [p[i] for p in list(res.G.parameters()) + list(res.D.parameters())] + \
        [b[i] for b in res.D.buffers()]


def _regularized(options: dict, dtype: str = "float32") -> ToyConfig:
    base = _small_config(n_train=64 * 10 * options.get("n_dis", 1), dtype=dtype)
    return toy_config(base, **options)


# float64 here: the hinge and WGAN losses have kinks, and in float32 a rounding-level difference can put
# one sample on the other side of the margin (measured: 2e-4 after 10 steps with spectral norm + hinge
# in float32, 5e-12 in float64). In float64 bmm-of-S vs bmm-of-one rounding stays ~1e-15 per step;
# 1e-9 leaves room for 10 steps of Adam amplification and still fails on any misrouted draw (≥ 1e-4).
EQUIV_TOL_64 = 1e-9


def _assert_batched_equals_alone(cfg: ToyConfig, seeds: list[int]) -> None:
    """Train ``seeds`` batched and each alone: parameters and loss histories agree to EQUIV_TOL_64."""
    batched = train_toy(cfg, seeds)
    assert all(v is None for v in batched.diverged.values())
    for i, s in enumerate(seeds):
        alone = train_toy(cfg, [s])
        for a, b in zip(_params(batched, i), _params(alone, 0)):
            assert (a - b).abs().max() <= EQUIV_TOL_64
        for name in ("loss_d", "loss_g"):
            assert (getattr(batched, name)[:, i] - getattr(alone, name)[:, 0]).abs().max() <= EQUIV_TOL_64


@pytest.mark.parametrize("options", REGULARIZED, ids=lambda o: "+".join(f"{k}={v}" for k, v in o.items()))
def test_regularized_batched_equals_one_at_a_time(options):
    # Every regularizer draws its randomness per seed, so seed s's run is the same batched or alone.
    _assert_batched_equals_alone(_regularized(options, "float64"), [2, 9])


def test_regularizers_change_training():
    # Each regularizer must reach the run (a hook that is never called would leave D unchanged).
    seeds = [1]
    plain = train_toy(_small_config(n_train=640), seeds).D
    for options in ({"penalty": "gp"}, {"spectral_norm": True}, {"clip": 0.01}, {"instance_noise": 0.5}):
        D = train_toy(toy_config(_small_config(n_train=640), **options), seeds).D
        assert max((a - b).abs().max() for a, b in zip(plain.parameters(), D.parameters())) > 1e-4, options


def test_clip_bounds_every_discriminator_parameter():
    res = train_toy(_regularized({"clip": 0.01, "loss": "wgan"}), [0, 1])
    assert max(p.abs().max() for p in res.D.parameters()) <= 0.01


def test_config_rejects_bad_regularizers():
    with pytest.raises(ValueError, match="penalty"):
        _regularized({"penalty": "l2"})
    with pytest.raises(ValueError, match="label smoothing"):
        _regularized({"real_target": 0.9, "loss": "wgan"})
    with pytest.raises(ValueError, match="clip"):
        _regularized({"clip": -1.0})


def test_hooks_combine_adds_penalties_and_chains_inputs():
    a = TrainHooks(d_penalty=lambda f, r, x: torch.ones(2), d_inputs=lambda r, x, it: (r + 1, x))
    b = TrainHooks(d_penalty=lambda f, r, x: 2 * torch.ones(2), d_inputs=lambda r, x, it: (2 * r, x))
    c = a.combine(b)
    assert torch.equal(c.d_penalty(None, None, None), torch.full((2,), 3.0))
    assert torch.equal(c.d_inputs(torch.zeros(1), None, 0)[0], torch.full((1,), 2.0))  # (0 + 1) · 2
    assert a.combine(TrainHooks()).d_penalty is a.d_penalty


def test_per_seed_draws_match_single_seed_draws():
    gens = lambda: [torch.Generator().manual_seed(s) for s in (5, 6)]
    x = draw("randn", (2, 3, 4), gens(), torch.float64, torch.device("cpu"))
    for i, g in enumerate(gens()):
        assert torch.equal(x[i], torch.randn(3, 4, generator=g, dtype=torch.float64))
    with pytest.raises(ValueError, match="leading axis"):
        draw("rand", (3, 4), gens(), torch.float64, torch.device("cpu"))


# ----------------------------------------------------------------------------- spectral normalization
def test_stacked_spectral_norm_equals_torch_spectral_norm():
    # Reference: torch.nn.utils.parametrizations.spectral_norm on the plain layers of seed s, with
    # its u, v set to the stacked buffers; three training-mode forward passes (each one power
    # iteration) and the gradients must agree to float64 rounding.
    spec = MLPSpec(3, 1, 8, 2, "leaky_relu")
    D = StackedMLP.from_generators(spec, [torch.Generator().manual_seed(s) for s in (0, 1)], dtype=torch.float64)
    plains = [D.to_plain(i) for i in range(2)]  # raw weights (SN not yet on)
    D.enable_spectral_norm([torch.Generator().manual_seed(s) for s in (10, 11)])
    x = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    for i, plain in enumerate(plains):
        lins = [m for m in plain if isinstance(m, nn.Linear)]
        for k, lin in enumerate(lins):
            nn.utils.parametrizations.spectral_norm(lin)
            sn = lin.parametrizations.weight[0]
            sn._u.copy_(getattr(D, f"sn_u{k}")[i])
            sn._v.copy_(getattr(D, f"sn_v{k}")[i])
    for _ in range(3):
        out = D(x)
        wants = [plain(x[i]) for i, plain in enumerate(plains)]
        for i, want in enumerate(wants):
            assert (out[i] - want).abs().max() <= 1e-12
    out.sum().backward()
    for i, plain in enumerate(plains):
        wants[i].sum().backward()
        lins = [m for m in plain if isinstance(m, nn.Linear)]
        for k, lin in enumerate(lins):
            g_ref = lin.parametrizations.weight.original.grad.T
            assert (D.weights[k].grad[i] - g_ref).abs().max() <= 1e-10


def test_spectral_norm_estimate_converges_to_the_largest_singular_value():
    # W with singular values (3, 1, 0.5): power iteration contracts the error by (1/3)² per step.
    q1, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    q2, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    w = q1[:, :3] @ torch.diag(torch.tensor([3.0, 1.0, 0.5], dtype=torch.float64)) @ q2.T  # (in=4, out=3)
    D = StackedMLP(MLPSpec(4, 3, 1, 0), [w[None].clone()], [torch.zeros(1, 1, 3, dtype=torch.float64)])
    D.enable_spectral_norm([torch.Generator().manual_seed(2)])
    (W_sn,) = D.layer_weights()
    assert abs(torch.linalg.matrix_norm(W_sn[0], ord=2).item() - 1.0) <= 1e-12  # 15 warm-up iterations: error ~9^-15


# ----------------------------------------------------------------------------- checkpoints
class _Kill(Exception):
    pass


@pytest.mark.parametrize("options", [{}, FEATURE_MATCHING, unrolled(2)], ids=["plain_g", "fm", "unrolled"])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, options):
    cfg = toy_config(_small_config(n_train=64 * 5), epochs=4, penalty="gp", spectral_norm=True, **options)
    seeds = [0, 3]
    straight = train_toy(cfg, seeds)

    def kill_after_two(trainer):
        if trainer.epochs_done == 2:
            raise _Kill

    ckpt = tmp_path / "run.pt"
    with pytest.raises(_Kill):
        train_toy(cfg, seeds, checkpoint=ckpt, on_epoch=kill_after_two)
    assert ckpt.is_file() and not list(tmp_path.glob(".*.tmp"))
    resumed = train_toy(cfg, seeds, checkpoint=ckpt)
    pd.testing.assert_frame_equal(resumed.table(), straight.table(), check_exact=True)  # NaN == NaN here
    for a, b in zip(_params(resumed, slice(None)), _params(straight, slice(None))):
        assert torch.equal(a, b)
    assert torch.equal(resumed.loss_d.nan_to_num(), straight.loss_d.nan_to_num())
    with pytest.raises(ValueError, match="seeds"):
        train_toy(cfg, [0, 4], checkpoint=ckpt)


# ----------------------------------------------------------------------------- remedies: PacGAN, mbstd, G objectives
REMEDIES = [
    {"pack": 2}, {"minibatch_std": True}, {"pack": 4, "minibatch_std": True},
    FEATURE_MATCHING, {**FEATURE_MATCHING, "pack": 2, "minibatch_std": True, "spectral_norm": True},
    unrolled(2), {**unrolled(3, 0.05), "n_dis": 2},
    {**unrolled(2), "pack": 2, "minibatch_std": True, "spectral_norm": True},
    {**unrolled(2), "penalty": "gp", "instance_noise": 0.1},
    {"pack": 2, "penalty": "gp"}, {"pack": 2, "penalty": "r1", "minibatch_std": True}, {"pack": 4, "penalty": "dragan"},
]


@pytest.mark.parametrize("options", REMEDIES, ids=lambda o: "+".join(f"{k}={v}" for k, v in o.items()))
def test_remedies_train_and_stay_per_seed(options):
    # As test_regularized_batched_equals_one_at_a_time (float64, EQUIV_TOL_64).
    cfg = _regularized(options, "float64")
    assert cfg.d_spec().in_dim == 2 * options.get("pack", 1) + int(options.get("minibatch_std", False))
    _assert_batched_equals_alone(cfg, [1, 4])


def test_minibatch_std_keeps_real_and_fake_statistics_apart():
    # D on the concatenated [real, fake] batch must equal D on each batch alone: the std feature of the real
    # packs may not see the fakes (otherwise D could tell the batches apart by their mixture alone).
    from toy.train import ToyTrainer

    cfg = _regularized({"pack": 2, "minibatch_std": True}, "float64")
    tr = ToyTrainer(cfg, [0, 1], torch.device("cpu"), TrainHooks())
    g = torch.Generator().manual_seed(0)
    real = torch.randn(2, cfg.batch_size, 2, generator=g, dtype=torch.float64)
    fake = 3 + 0.1 * torch.randn(2, cfg.batch_size, 2, generator=g, dtype=torch.float64)
    both = tr._d_logits(torch.cat([real, fake], dim=1))
    sep = torch.cat([tr._d_logits(real), tr._d_logits(fake)], dim=1)
    assert both.shape == (2, cfg.batch_size) and torch.allclose(both, sep, rtol=0, atol=1e-12)


def test_pack_must_divide_the_batch():
    with pytest.raises(ValueError, match="divisible by pack"):
        _regularized({"pack": 3})


@pytest.mark.parametrize("m", [1, 2])
def test_penalty_sees_packs_as_d_does(m):
    # With PacGAN, D is a function of packs (S, B/m, m·d): gradient penalties act on those rows.
    from toy.hooks import TrainHooks
    seen = []
    record = TrainHooks(d_penalty=lambda D, real, fake: (seen.append((real.shape, fake.shape, D(real).shape)),
                                                         torch.zeros(real.shape[0], dtype=real.dtype))[-1])
    cfg = _regularized({"pack": m}, "float64")
    train_toy(cfg, [0, 1], hooks=record)
    B = cfg.batch_size
    assert seen and all(s == ((2, B // m, 2 * m), (2, B // m, 2 * m), (2, B // m)) for s in seen)
