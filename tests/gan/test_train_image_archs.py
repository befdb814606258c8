"""gan.train with SAGAN, BigGAN and StyleGAN2: every (architecture × representative losses and regularizers) trains
without NaN, every registered loss runs, resumes are bit for bit (ADA's p, the path-length mean and the step counters
included), lazy regularization and ADA inside the trainer, truncated sampling and metrics at several thresholds.

Tiny widths, batches of 4, synthetic uint8 images (the MNIST runs are marked slow).
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

import gan.regularizers as regs
import gan.train as train_mod
from gan.checkpoint import load_checkpoint
from gan.losses import LOSSES
from gan.nets import get_arch, truncated_latents
from gan.regularizers import TrainOptions
from gan.train import ImageTrainConfig, ImageTrainer

BASE = dict(batch_size=4, progress=False, log_every=2)
WIDTHS = {"sagan": dict(g_channels=4, d_channels=4, latent_dim=16),
          "biggan": dict(g_channels=4, d_channels=4, latent_dim=20),  # 20: 4 chunks at 32 px, 5 at 64 px
          "stylegan2": dict(g_channels=8, d_channels=8, latent_dim=16)}


def _data(res: int, ch: int, n: int = 32, k: int = 10, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, ch, res, res), dtype=torch.uint8, generator=g),
            torch.randint(0, k, (n,), generator=g), k)


def _cfg(arch: str, options: dict | None = None, res: int = 32, **kw) -> ImageTrainConfig:
    opts = None if options is None else dataclasses.replace(get_arch(arch).options, **options)
    widths = dict(WIDTHS[arch])
    if res == 64 and arch != "stylegan2":  # the 64-px tables are 4× wider (×16 at the bottom): halve ch
        widths.update(g_channels=2, d_channels=2)
    return ImageTrainConfig(arch=arch, options=opts, **widths, **BASE, **kw)


def _state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _finite(module: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


MODELS = {
    "sagan32_acgan": ("sagan", dict(conditional=True, cond_head="acgan"), 32, 1),
    "sagan64_cond": ("sagan", dict(conditional=True), 64, 3),
    "biggan32_cond": ("biggan", dict(conditional=True), 32, 1),
    "biggan64": ("biggan", dict(), 64, 3),
    "stylegan2_32_cond": ("stylegan2", dict(conditional=True), 32, 1),
    "stylegan2_64": ("stylegan2", dict(), 64, 3),
}
# on top of each architecture's own paper settings (ortho for BigGAN; lazy R1, path length, mixing for StyleGAN2)
SETUPS = {
    "paper": dict(),
    "ns": dict(loss="ns"),
    "wgan_gp": dict(loss="wgan", options=dict(penalty="gp", penalty_weight=10.0, penalty_interval=1, n_dis=2)),
    "alpha_d_alpha_g_lazy_r1": dict(loss="alpha_d_alpha_g", loss_params={"alpha_d": 3.0, "alpha_g": 1.5},
                                    options=dict(penalty="r1", penalty_weight=1.0, penalty_interval=2)),
    "cr_bcr_dragan": dict(options=dict(cr_real=10.0, cr_fake=10.0, penalty="dragan", penalty_weight=10.0,
                                       penalty_interval=1)),
    "ada_sn_clip_smoothing_noise": dict(loss="ns", ada_target=0.6, ada_interval=1,
                                        options=dict(spectral_norm=True, clip=0.5, real_target=0.9,
                                                     instance_noise=0.1)),
    "diffaugment_lsgan": dict(loss="lsgan", diffaugment="color,translation,cutout"),
}


@pytest.mark.parametrize("setup", list(SETUPS))
@pytest.mark.parametrize("model", list(MODELS))
def test_every_new_architecture_and_regularizer_trains(model, setup):
    arch, kw, res, ch = MODELS[model]
    images, labels, k = _data(res, ch)
    t = ImageTrainer(_cfg(arch, res=res, **kw, **SETUPS[setup]), images, labels, k)
    g0, d0 = _state(t.G), _state(t.D)
    hist = t.train(1)
    assert t.step == 1 and all(math.isfinite(hist[-1][key]) for key in ("d_loss", "g_loss"))
    assert _finite(t.G) and _finite(t.D)
    assert any(not torch.equal(g0[n], v) for n, v in t.G.state_dict().items())
    assert any(not torch.equal(d0[n], v) for n, v in t.D.state_dict().items())
    x = t.sample(3, torch.Generator().manual_seed(0))
    assert x.shape == (3, ch, res, res) and bool(torch.isfinite(x).all()) and float(x.abs().max()) <= 1.0


@pytest.mark.parametrize("arch", ["sagan", "biggan", "stylegan2"])
@pytest.mark.parametrize("loss", list(LOSSES))
def test_every_registered_loss_runs_with_the_new_architectures(arch, loss):
    images, labels, k = _data(32, 1, n=16)
    params = {"alpha": 2.0} if loss == "fgan_arimoto" else {}
    t = ImageTrainer(_cfg(arch, loss=loss, loss_params=params), images, labels, k)
    hist = t.train(1)
    assert t.loss.name.startswith(loss) and math.isfinite(hist[-1]["d_loss"]) and math.isfinite(hist[-1]["g_loss"])
    assert _finite(t.G) and _finite(t.D)


@pytest.mark.parametrize("arch", ["sagan", "biggan", "stylegan2"])
def test_bf16_autocast_and_channels_last_with_ada_cr_r1_and_truncation(arch):
    """The CUDA code path (bf16 autocast, channels_last) exercised on the CPU with the new architectures' extras."""
    images, labels, k = _data(32, 3, n=16)
    cfg = _cfg(arch, conditional=True, amp=True, channels_last=True, ada_target=0.6,
               options=dict(cr_real=10.0, penalty="r1", penalty_weight=1.0, penalty_interval=1))
    t = ImageTrainer(cfg, images, labels, k)
    hist = t.train(2)
    assert t.amp and t.channels_last and all(math.isfinite(hist[-1][key]) for key in ("d_loss", "g_loss"))
    assert all(p.dtype == torch.float32 for p in t.G.parameters())  # autocast: fp32 master weights
    x = t.sample(3, torch.Generator().manual_seed(0), truncation=0.7)
    assert x.dtype == torch.float32 and x.shape == (3, 3, 32, 32) and bool(torch.isfinite(x).all())


# ----------------------------------------------------------------------------- resume
def _rig_real_logits_positive(t: ImageTrainer) -> None:
    """D's output bias +20: every logit positive for a few steps, so ADA's r_t = 1 > 0.6 and p rises."""
    with torch.no_grad():
        t.D.linear.bias.fill_(20.0)


RESUME_CASES = {
    "stylegan2_ada_lazy_r1_path_length_mixing_cond": (
        "stylegan2", dict(conditional=True, ada_target=0.6, ada_interval=1,
                          options=dict(penalty_interval=2, pl_interval=2)), True),
    "biggan_ortho_cr_bcr_cond": ("biggan", dict(conditional=True, options=dict(cr_real=10.0, cr_fake=5.0)), False),
    "sagan_gp_diffaugment": ("sagan", dict(diffaugment="color,translation,cutout",
                                           options=dict(penalty="gp", penalty_weight=10.0)), False),
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_resume_is_bit_for_bit(case, tmp_path):
    """5 iterations straight == 2, checkpoint, fresh trainer, load, 3 more (torch.equal on every state)."""
    arch, kw, rig = RESUME_CASES[case]
    images, labels, k = _data(32, 1)
    cfg = _cfg(arch, **kw)
    straight = ImageTrainer(cfg, images, labels, k)
    first = ImageTrainer(cfg, images, labels, k)
    if rig:
        _rig_real_logits_positive(straight)
        _rig_real_logits_positive(first)
    straight.train(5)
    first.train(2)
    first.save_checkpoint(tmp_path / "ck.pt")
    del first
    resumed = ImageTrainer(cfg, images, labels, k)
    resumed.load_checkpoint(tmp_path / "ck.pt")
    resumed.train(3)
    for name in ("G", "D"):
        a, b = getattr(straight, name).state_dict(), getattr(resumed, name).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a), name
    ea, eb = straight.ema.module.state_dict(), resumed.ema.module.state_dict()
    assert all(torch.equal(ea[n], eb[n]) for n in ea)
    for opt in ("opt_g", "opt_d"):
        sa, sb = getattr(straight, opt).state_dict()["state"], getattr(resumed, opt).state_dict()["state"]
        assert all(torch.equal(sa[i][m], sb[i][m]) for i in sa for m in sa[i])
    assert all(torch.equal(straight.gens[n].get_state(), resumed.gens[n].get_state()) for n in straight.gens)
    n_dis = cfg.train_options().n_dis
    assert (straight.d_steps, straight.g_steps) == (resumed.d_steps, resumed.g_steps) == (5 * n_dis, 5)
    assert torch.equal(straight.pl_mean, resumed.pl_mean)
    assert [r["d_loss"] for r in straight.history] == [r["d_loss"] for r in resumed.history]
    if straight.ada is not None:
        assert torch.equal(straight.ada.p, resumed.ada.p) and torch.equal(straight.ada.signs, resumed.ada.signs)
        assert float(straight.ada.p) > 0  # p moved, so its round trip was tested
        assert float(straight.pl_mean) > 0  # and so did the path-length mean
    saved = load_checkpoint(tmp_path / "ck.pt")["G"]
    assert any(not torch.equal(saved[n], v) for n, v in resumed.G.state_dict().items())


def test_checkpoints_written_before_the_new_fields_still_load(tmp_path):
    """A checkpoint without the run fields, options and states added here resumes (they take their defaults)."""
    images, labels, k = _data(28, 1)
    cfg = ImageTrainConfig(arch="dcgan", g_channels=4, d_channels=4, **BASE)
    t = ImageTrainer(cfg, images, labels, k)
    t.train(2)
    state = t.state_dict()
    for key in ("preset", "ada_target", "ada_interval", "ada_kimg", "ada_policy"):
        del state["run"][key]
    for key in ("penalty_interval", "cr_real", "cr_fake", "cr_transform", "ortho_weight", "pl_weight", "pl_interval",
                "pl_decay", "pl_batch_shrink", "style_mixing"):
        del state["run"]["options"][key]
    for key in ("d_steps", "g_steps", "pl_mean", "ada"):
        del state[key]
    fresh = ImageTrainer(cfg, images, labels, k)
    fresh.load_state_dict(state)
    assert (fresh.step, fresh.d_steps, fresh.g_steps) == (2, 2, 2)
    fresh.train(1)
    state["run"]["options"]["cr_real"] = 1.0  # a field that is present and differs still refuses to load
    with pytest.raises(ValueError, match="options"):
        ImageTrainer(cfg, images, labels, k).load_state_dict(state)


# ----------------------------------------------------------------------------- lazy regularization, ADA in the trainer
def test_lazy_r1_and_path_length_run_every_k_steps_with_weight_times_k(monkeypatch):
    calls = {"r1": [], "pl": []}
    real_r1, real_pl = regs.r1_penalty, train_mod.path_length_penalty

    def r1(critic, real, gamma=10.0, sample_ndim=1):
        calls["r1"].append(gamma)
        return real_r1(critic, real, gamma, sample_ndim)

    def pl(*args, **kw):
        calls["pl"].append(1)
        return real_pl(*args, **kw)

    monkeypatch.setattr(regs, "r1_penalty", r1)
    monkeypatch.setattr(train_mod, "path_length_penalty", pl)
    images, labels, k = _data(32, 1)
    t = ImageTrainer(_cfg("stylegan2", options=dict(penalty_interval=4, penalty_weight=0.01, pl_interval=3)),
                     images, labels, k)
    t.train(7)
    assert calls["r1"] == [0.04, 0.04]  # D steps 0 and 4, γ × 4
    assert len(calls["pl"]) == 3  # G steps 0, 3, 6


def test_ada_p_follows_a_rigged_discriminator_in_the_trainer():
    images, labels, k = _data(32, 1)
    t = ImageTrainer(_cfg("stylegan2", ada_target=0.6), images, labels, k)
    _rig_real_logits_positive(t)
    hist = t.train(8)  # 8 D steps: two adjustments of B·4/500,000 = 3.2e-5
    assert abs(float(t.ada.p) - 2 * 4 * 4 / 500_000) <= 1e-9
    assert [r["ada_p"] for r in hist] == pytest.approx([3.2e-5 * (r["step"] // 4) for r in hist], abs=1e-9)
    with torch.no_grad():
        t.D.linear.bias.fill_(-20.0)  # now every real logit is negative: r_t = −1 < 0.6, p falls back to 0
    t.train(8)
    assert float(t.ada.p) == 0.0


# ----------------------------------------------------------------------------- truncation
@pytest.mark.parametrize("latent, threshold", [("normal", 0.5), ("normal", 2.0), ("uniform", 0.3)])
def test_truncated_latents_respect_the_threshold_and_the_law(latent, threshold):
    z = truncated_latents(latent, (20000,), threshold, torch.Generator().manual_seed(1))
    assert float(z.abs().max()) <= threshold
    if latent == "normal":  # N(0, 1) conditioned on |z| ≤ t: variance 1 − 2tφ(t)/(2Φ(t) − 1)
        phi = math.exp(-threshold ** 2 / 2) / math.sqrt(2 * math.pi)
        want = 1 - 2 * threshold * phi / math.erf(threshold / math.sqrt(2))
    else:  # U[−1, 1] conditioned on |z| ≤ t is U[−t, t]: variance t²/3
        want = threshold ** 2 / 3
    assert abs(float(z.var()) - want) <= 0.05 * want  # 20,000 draws: relative sd of a variance ≈ 1 %
    with pytest.raises(ValueError, match="threshold"):
        truncated_latents(latent, (3,), 0.0, torch.Generator())


def test_biggan_samples_use_truncated_latents():
    images, labels, k = _data(32, 1)
    t = ImageTrainer(_cfg("biggan", conditional=True), images, labels, k)
    seen = []
    t.ema.module.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    x = t.sample(50, torch.Generator().manual_seed(2), truncation=0.4)
    assert x.shape == (50, 1, 32, 32) and float(torch.cat(seen).abs().max()) <= 0.4
    seen.clear()
    t.sample(50, torch.Generator().manual_seed(2))
    assert float(torch.cat(seen).abs().max()) > 1.5  # untruncated N(0, 1): max of 1,000 draws


def test_stylegan2_truncation_in_w_collapses_to_the_mean_at_psi_zero():
    images, labels, k = _data(32, 1)
    t = ImageTrainer(_cfg("stylegan2"), images, labels, k)  # untrained: noise strengths 0
    x = t.sample(4, torch.Generator().manual_seed(3), truncation=0.0)
    assert float((x - x[:1]).abs().max()) <= 1e-6  # every sample is g(w̄)
    y = t.sample(4, torch.Generator().manual_seed(3), truncation=1.0)
    assert float((y - y[:1]).abs().max()) > 1e-3
    with pytest.raises(ValueError, match="ψ must lie in"):
        t.sample(2, torch.Generator(), truncation=1.5)


def test_fid_and_inception_score_at_several_thresholds():
    from gan.metrics import extract_features, fid, get_extractor, inception_score

    images, labels, k = _data(32, 1, n=64)
    t = ImageTrainer(_cfg("biggan", conditional=True), images, labels, k)
    t.train(1)
    ext = get_extractor("mnist_classifier")
    real = extract_features(train_mod.uint8_to_float(images), ext)
    results = {}
    for threshold in (0.5, 1.0, None):
        fake = t.sample(64, torch.Generator().manual_seed(4), truncation=threshold)
        is_mean, _ = inception_score(ext.probs(fake), splits=2)
        results[threshold] = (fid(real, extract_features(fake, ext)), is_mean)
    assert all(math.isfinite(f) and f > 0 and 1.0 <= s <= 10.0 for f, s in results.values())
    assert len({f for f, _ in results.values()}) == 3


# ----------------------------------------------------------------------------- configuration
@pytest.mark.parametrize("kw, match", [
    (dict(arch="sagan", options=TrainOptions(pl_weight=2.0)), "pl_weight=2.0 needs a style-based generator"),
    (dict(arch="biggan", options=TrainOptions(style_mixing=0.9)), "style_mixing"),
    (dict(arch="stylegan2", ada_target=0.6, diffaugment="color"), "choose one"),
    (dict(arch="sagan", preset="tiny"), "no width preset 'tiny'"),
    (dict(arch="sagan", preset=3), "preset"),
    (dict(arch="sagan", ada_target=1.2), "ada_target"),
    (dict(arch="sagan", ada_target=0.6, ada_kimg=0.0), "ada_kimg"),
    (dict(arch="sagan", ada_interval=0), "ada_interval"),
    (dict(arch="sagan", ada_policy="zoom"), "ADA policy"),
])
def test_bad_configs(kw, match):
    with pytest.raises(ValueError, match=match):
        ImageTrainConfig(**kw)


def test_presets_resolve_widths():
    cfg = ImageTrainConfig(arch="stylegan2", preset="small", g_channels=16)
    assert cfg.widths() == {"latent_dim": 64, "g_channels": 16, "d_channels": 32}
    assert cfg.run_fields()["preset"] == "small"


def test_integer_adam_betas_are_accepted():
    """TrainOptions(beta1=0) (an int) used to reach torch.optim.Adam next to a float β2 and fail there."""
    images, labels, k = _data(28, 1)
    cfg = ImageTrainConfig(arch="dcgan", options=TrainOptions(beta1=0, beta2=0.9), g_channels=4, d_channels=4, **BASE)
    ImageTrainer(cfg, images, labels, k).train(1)


# ----------------------------------------------------------------------------- MNIST quick configurations
QUICK = {  # the CPU quick configurations reported for the image study (MNIST digits at 32 px, 1 channel)
    "sagan": dict(arch="sagan", preset="small", batch_size=32),
    "biggan": dict(arch="biggan", preset="small", batch_size=32, conditional=True),
    "stylegan2": dict(arch="stylegan2", preset="small", batch_size=32),
}


@pytest.mark.slow
@pytest.mark.parametrize("arch", list(QUICK))
def test_mnist_quick_configurations_train(arch):
    from gan.data import mnist5k, resize

    data = resize(mnist5k(), 32)
    t = ImageTrainer.from_data(ImageTrainConfig(**QUICK[arch], progress=False, log_every=1), data, device="cpu")
    hist = t.train(2)
    assert math.isfinite(hist[-1]["d_loss"]) and _finite(t.G)
    assert t.sample(8, torch.Generator().manual_seed(0)).shape == (8, 1, 32, 32)


# ----------------------------------------------------------------------------- benchmarks.image_speed
@pytest.mark.parametrize("argv, words", [
    (["--steps", "0"], ["argument --steps", "≥ 1", "got 0"]),
    (["--rounds", "-2"], ["argument --rounds", "≥ 1"]),
    (["--warmup", "-1"], ["argument --warmup", "≥ 0"]),
    (["--batch", "x"], ["argument --batch", "'x'"]),
    (["--workloads", "stylegan3-32"], ["argument --workloads", "invalid choice"]),
])
def test_image_speed_rejects_bad_values(argv, words, capsys):
    from benchmarks import image_speed

    with pytest.raises(SystemExit) as exc:
        image_speed.main([*argv, "--no-write", "--device", "cpu"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(w in err for w in words), err


@pytest.mark.slow
def test_image_speed_covers_the_new_architectures(tmp_path, capsys):
    from benchmarks import image_speed

    out = tmp_path / "speed.md"
    image_speed.main(["--quick", "--tiny", "--steps", "1", "--rounds", "1", "--warmup", "0", "--device", "cpu",
                      "--threads", "1", "--out", str(out), "--workloads", *image_speed.NEW_ARCHITECTURES])
    text = out.read_text()
    for wl in image_speed.NEW_ARCHITECTURES:
        rows = [line for line in text.splitlines() if line.startswith(f"| {wl} |")]
        assert len(rows) == 2 and "| ours |" in rows[0] and "| reference |" in rows[1], wl
