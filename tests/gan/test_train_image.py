"""gan.train (image trainer): every architecture × loss runs, bit-for-bit resume, atomic checkpoints, validation.

All runs use tiny widths (8 channels) and batches of 4 on synthetic uint8 images.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gan.train as train_mod
from gan.checkpoint import load_checkpoint
from gan.losses import LOSSES
from gan.regularizers import TrainOptions
from gan.train import DistInfo, ImageTrainConfig, ImageTrainer, image_grid, stream_seed

REPO = Path(__file__).resolve().parents[2]
TINY = dict(batch_size=4, g_channels=8, d_channels=8, progress=False, log_every=2)


def _data(res: int, ch: int, n: int = 32, k: int = 10, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, ch, res, res), dtype=torch.uint8, generator=g),
            torch.randint(0, k, (n,), generator=g), k)


def _state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


MODELS = {
    "dcgan28": (dict(arch="dcgan"), 28, 1),
    "dcgan32": (dict(arch="dcgan"), 32, 3),
    "dcgan64": (dict(arch="dcgan"), 64, 3),
    "resnet32": (dict(arch="resnet"), 32, 3),
    "projection": (dict(arch="resnet", conditional=True), 32, 3),
    "acgan": (dict(arch="dcgan", conditional=True, cond_head="acgan"), 28, 1),
}
LOSS_SETUPS = {
    "ns": dict(loss="ns"),
    "hinge": dict(loss="hinge"),
    "wgan_gp": dict(loss="wgan", options=TrainOptions(n_dis=2, penalty="gp", beta1=0.0, beta2=0.9)),
    "alpha_d_alpha_g": dict(loss="alpha_d_alpha_g", loss_params={"alpha_d": 3.0, "alpha_g": 1.5}),
}


@pytest.mark.parametrize("loss_name", list(LOSS_SETUPS))
@pytest.mark.parametrize("model", list(MODELS))
def test_every_architecture_and_loss_trains(model, loss_name):
    kw, res, ch = MODELS[model]
    images, labels, k = _data(res, ch)
    cfg = ImageTrainConfig(**kw, **LOSS_SETUPS[loss_name], **TINY)
    t = ImageTrainer(cfg, images, labels, k)
    g0, d0 = _state(t.G), _state(t.D)
    hist = t.train(2)
    assert t.step == 2 and [r["step"] for r in hist] == [2]
    assert all(map(lambda v: v == v and abs(v) < 1e6, (hist[0]["d_loss"], hist[0]["g_loss"])))  # finite
    assert any(not torch.equal(g0[n], v) for n, v in t.G.state_dict().items())
    assert any(not torch.equal(d0[n], v) for n, v in t.D.state_dict().items())
    x = t.sample(3, torch.Generator().manual_seed(0))
    assert x.shape == (3, ch, res, res) and float(x.abs().max()) <= 1.0


@pytest.mark.parametrize("loss", list(LOSSES))
def test_every_registered_loss_runs(loss):
    images, labels, k = _data(28, 1, n=16)
    params = {"alpha": 2.0} if loss == "fgan_arimoto" else {}
    t = ImageTrainer(ImageTrainConfig(arch="dcgan", loss=loss, loss_params=params, **TINY), images, labels, k)
    hist = t.train(1)
    assert t.loss.name.startswith(loss) and len(hist) == 1
    assert all(torch.isfinite(p).all() for p in t.G.parameters())


def test_regularizer_options_are_applied():
    images, labels, k = _data(28, 1)
    opts = TrainOptions(clip=0.01, spectral_norm=True, real_target=0.9, instance_noise=0.1, instance_noise_anneal=5)
    t = ImageTrainer(ImageTrainConfig(arch="dcgan", options=opts, **TINY), images, labels, k)
    assert t.loss.name == "ns+smooth(0.9)" and t.noise is not None
    assert any("_SpectralNorm" in type(m).__name__ for m in t.D.modules())
    t.train(2)
    assert max(float(p.detach().abs().max()) for p in t.D.parameters()) <= 0.01  # clipped after each D step


@pytest.mark.parametrize("penalty", ["gp", "r1", "dragan"])
def test_penalties_with_bf16_autocast_and_channels_last(penalty):
    """The CUDA code path (bf16 autocast, channels_last) exercised on the CPU, with every penalty of TrainOptions."""
    images, labels, k = _data(32, 3)
    cfg = ImageTrainConfig(arch="dcgan", options=TrainOptions(penalty=penalty), amp=True, channels_last=True,
                           diffaugment="color,translation,cutout", **TINY)
    t = ImageTrainer(cfg, images, labels, k)
    hist = t.train(2)
    assert t.amp and t.channels_last and abs(hist[-1]["d_loss"]) < 1e6
    assert all(p.dtype == torch.float32 for p in t.G.parameters())  # autocast: fp32 master weights
    x = t.sample(2, torch.Generator().manual_seed(0))
    assert x.dtype == torch.float32 and x.shape == (2, 3, 32, 32)


# ----------------------------------------------------------------------------- resume
RESUME_CASES = {
    "resnet_cond_diffaug_r1": dict(arch="resnet", conditional=True, diffaugment="color,translation,cutout",
                                   options=TrainOptions(n_dis=2, penalty="r1", instance_noise=0.1)),
    "dcgan_gp_sn_acgan": dict(arch="dcgan", conditional=True, cond_head="acgan",
                              options=TrainOptions(penalty="gp", spectral_norm=True)),
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_resume_is_bit_for_bit(case, tmp_path):
    """N iterations straight == k iterations, checkpoint, fresh trainer, load, N − k iterations (torch.equal)."""
    kw = RESUME_CASES[case]
    res, ch = (32, 3) if kw["arch"] == "resnet" else (28, 1)
    images, labels, k = _data(res, ch)
    cfg = ImageTrainConfig(**kw, **TINY)
    straight = ImageTrainer(cfg, images, labels, k)
    straight.train(5)
    first = ImageTrainer(cfg, images, labels, k)
    first.train(2)
    first.save_checkpoint(tmp_path / "ck.pt")
    del first  # a "killed" run: only the checkpoint survives
    resumed = ImageTrainer(cfg, images, labels, k)
    resumed.load_checkpoint(tmp_path / "ck.pt")
    assert resumed.step == 2
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
    assert [r["d_loss"] for r in straight.history] == [r["d_loss"] for r in resumed.history]
    # and training moved away from the checkpoint (so the equalities above are not trivial)
    saved = load_checkpoint(tmp_path / "ck.pt")["G"]
    assert any(not torch.equal(saved[n], v) for n, v in resumed.G.state_dict().items())


def test_periodic_checkpoints_and_mismatch(tmp_path):
    images, labels, k = _data(28, 1)
    path = tmp_path / "run" / "ck.pt"
    cfg = ImageTrainConfig(arch="dcgan", checkpoint_every=2, checkpoint_path=str(path), **TINY)
    t = ImageTrainer(cfg, images, labels, k)
    t.train(3)  # checkpoints at 2 and (end) 3
    state = load_checkpoint(path)
    assert state["step"] == 3 and [r["step"] for r in state["history"]] == [2, 3]
    assert sorted(p.name for p in path.parent.iterdir()) == ["ck.pt"]  # no temporary file left behind
    other = ImageTrainer(dataclasses.replace(cfg, loss="hinge"), images, labels, k)
    with pytest.raises(ValueError, match="loss: checkpoint 'ns' vs config 'hinge'"):
        other.load_checkpoint(path)
    wide = ImageTrainer(dataclasses.replace(cfg, seed=1), images, labels, k)
    with pytest.raises(ValueError, match="seed"):
        wide.load_checkpoint(path)
    small, lab, kk = _data(32, 1)
    with pytest.raises(ValueError, match="data shape"):
        ImageTrainer(cfg, small, lab, kk).load_checkpoint(path)


def test_atomic_checkpoint_write(tmp_path, monkeypatch):
    """A write that dies half-way leaves the previous checkpoint intact and no temporary file."""
    import gan.checkpoint

    images, labels, k = _data(28, 1)
    t = ImageTrainer(ImageTrainConfig(arch="dcgan", **TINY), images, labels, k)
    t.train(1)
    path = tmp_path / "ck.pt"
    t.save_checkpoint(path)
    t.train(1)

    def broken_save(obj, fh):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(gan.checkpoint.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        t.save_checkpoint(path)
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # the temporary file was removed


# ----------------------------------------------------------------------------- sampling, streams, logging
def test_sample_is_reproducible_and_leaves_training_streams_alone():
    images, labels, k = _data(28, 1)
    cfg = ImageTrainConfig(arch="dcgan", conditional=True, **TINY)
    a, b = ImageTrainer(cfg, images, labels, k), ImageTrainer(cfg, images, labels, k)
    a.train(1)
    b.train(1)
    s1 = a.sample(6, torch.Generator().manual_seed(3))
    s2 = a.sample(6, torch.Generator().manual_seed(3))
    assert torch.equal(s1, s2) and a.G.training and a.D.training
    s_lab = a.sample(2, torch.Generator().manual_seed(3), labels=torch.tensor([4, 4]))
    assert s_lab.shape == (2, 1, 28, 28)
    a.train(1)
    b.train(1)
    assert all(torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters()))
    with pytest.raises(ValueError, match="shape"):
        a.sample(3, torch.Generator(), labels=torch.tensor([1, 2]))


def test_streams_are_distinct_and_seeded():
    seeds = {stream_seed(0, s) for s in train_mod.STREAMS} | {stream_seed(0, "data", rank=1), stream_seed(1, "data")}
    assert len(seeds) == len(train_mod.STREAMS) + 2
    assert all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(ValueError, match="unknown stream"):
        stream_seed(0, "dropout")


def test_history_tensorboard_and_grid(tmp_path, monkeypatch):
    images, labels, k = _data(28, 1)
    real_import = __import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", no_tensorboard)
    with pytest.warns(RuntimeWarning, match="tensorboard is not installed"):
        t = ImageTrainer(ImageTrainConfig(arch="dcgan", tensorboard_dir=str(tmp_path), sample_every=1,
                                          **TINY), images, labels, k)
    monkeypatch.undo()
    hist = t.train(3)
    assert [r["step"] for r in hist] == [2, 3]
    assert set(hist[0]) == {"step", "d_loss", "g_loss", "seconds", "images_per_s"}
    grid = image_grid(t.grid_samples(5), nrow=3)
    assert grid.dtype == torch.uint8 and grid.shape == (1, 2 * 30 + 2, 3 * 30 + 2)
    assert int(grid[:, :2].max()) == 0  # padding


def test_single_process_path_touches_no_process_group():
    assert DistInfo.from_env({}) == DistInfo(1, 0, 0) and not DistInfo.from_env({}).distributed
    assert DistInfo.from_env({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0"}).distributed
    with pytest.raises(ValueError, match="inconsistent"):
        DistInfo.from_env({"WORLD_SIZE": "2", "RANK": "2"})
    with pytest.raises(ValueError, match="integers"):
        DistInfo.from_env({"WORLD_SIZE": "two"})
    images, labels, k = _data(28, 1)
    ImageTrainer(ImageTrainConfig(arch="dcgan", **TINY), images, labels, k).train(1)
    assert not torch.distributed.is_initialized()


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("kw, match", [
    ({"arch": "stylegan"}, "unknown architecture"),
    ({"loss": "wasserstein"}, "unknown loss"),
    ({"loss": "alpha", "loss_params": {"alpha": -1.0}}, "alpha"),
    ({"loss": "ns", "loss_params": {"beta": 1.0}}, "bad parameters"),
    ({"batch_size": 0}, "batch_size"),
    ({"g_channels": 2.5}, "g_channels"),
    ({"latent": "cauchy"}, "latent distribution"),
    ({"cond_head": "unconditional"}, "cond_head"),
    ({"aux_weight": -1.0}, "aux_weight"),
    ({"ema_decay": 1.0}, "ema_decay"),
    ({"ema_warmup": -2}, "ema_warmup"),
    ({"diffaugment": "color,flip"}, "flip"),
    ({"amp": "yes"}, "amp"),
    ({"adam": "lion"}, "adam"),
    ({"log_every": 0}, "log_every"),
    ({"checkpoint_every": 5}, "checkpoint_path"),
    ({"seed": -1}, "seed"),
    ({"conditional": 1}, "conditional"),
])
def test_bad_config_values(kw, match):
    with pytest.raises(ValueError, match=match):
        ImageTrainConfig(**kw)


def test_bad_config_types_and_data(monkeypatch):
    with pytest.raises(TypeError, match="TrainOptions"):
        ImageTrainConfig(options={"n_dis": 2})
    cfg = ImageTrainConfig(arch="dcgan", **TINY)
    images, labels, k = _data(28, 1)
    with pytest.raises(ValueError, match="uint8"):
        ImageTrainer(cfg, images.float(), labels, k)
    with pytest.raises(ValueError, match="square"):
        ImageTrainer(cfg, images[:, :, :, :20], labels, k)
    with pytest.raises(ValueError, match="resolutions"):
        ImageTrainer(cfg, _data(16, 1)[0], labels, k)
    with pytest.raises(ValueError, match="int64"):
        ImageTrainer(cfg, images, labels.int(), k)
    cond = dataclasses.replace(cfg, conditional=True)
    with pytest.raises(ValueError, match="needs labels"):
        ImageTrainer(cond, images)
    with pytest.raises(ValueError, match=r"lie in \[0, 5\)"):
        ImageTrainer(cond, images, labels, 5)
    with monkeypatch.context() as m:
        m.setenv("WORLD_SIZE", "3")
        m.setenv("RANK", "0")
        with pytest.raises(ValueError, match="batch_size 4 is not divisible by the world size 3"):
            ImageTrainer(cfg, images, labels, k)
    with pytest.raises(ValueError, match="steps"):
        ImageTrainer(cfg, images, labels, k).train(-1)


CUDA = torch.cuda.is_available()


class _CountingBar:
    def __init__(self):
        self.n, self.closed, self.postfix = 0, False, None

    def update(self, k):
        self.n += k

    def set_postfix(self, **kw):
        self.postfix = kw

    def close(self):
        self.closed = True


def test_train_advances_a_callers_bar_and_makes_none_for_zero_steps(monkeypatch):
    """A caller that trains in chunks passes one bar for the whole run; ``train(0)`` draws no empty bar."""
    import tqdm.auto

    images, labels, k = _data(28, 1)
    made = []
    real_tqdm = tqdm.auto.tqdm

    def spy(*args, **kw):
        bar = real_tqdm(*args, **kw)
        made.append(bar)
        return bar

    monkeypatch.setattr(tqdm.auto, "tqdm", spy)
    tr = ImageTrainer(ImageTrainConfig(**{**TINY, "progress": True}), images, labels, k, device="cpu")
    tr.train(0)
    assert made and made[0].disable  # no "0it" bar on the screen
    made.clear()
    bar = _CountingBar()
    tr.train(2, bar=bar)
    tr.train(1, bar=bar)
    assert not made and bar.n == 3 and not bar.closed and bar.postfix is not None and tr.step == 3


def test_trainer_device_strings_are_checked():
    images, labels, k = _data(28, 1)
    cfg = ImageTrainConfig(**TINY)
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        ImageTrainer(cfg, images, labels, k, device="gpu")
    assert ImageTrainer(cfg, images, labels, k, device="auto").device.type == ("cuda" if CUDA else "cpu")


_DDP_SCRIPT = """
import sys, torch, torch.distributed as dist
from gan.train import ImageTrainer, ImageTrainConfig
from gan.regularizers import TrainOptions
g = torch.Generator().manual_seed(1)
imgs = torch.randint(0, 256, (32, 3, 32, 32), dtype=torch.uint8, generator=g)
labels = torch.randint(0, 10, (32,), generator=g)
cfg = ImageTrainConfig(arch="resnet", conditional=True, batch_size=8, g_channels=8, d_channels=8, progress=False,
                       log_every=2, options=TrainOptions(n_dis=1, penalty="gp"))
a = ImageTrainer(cfg, imgs, labels, 10); a.train(3)
b = ImageTrainer(cfg, imgs, labels, 10); b.train(1); b.save_checkpoint(sys.argv[1])
c = ImageTrainer(cfg, imgs, labels, 10); c.load_checkpoint(sys.argv[1]); c.train(2)
flat = torch.cat([p.detach().flatten() for p in [*a.G.parameters(), *a.D.parameters()]])
every = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
dist.all_gather(every, flat)
same = all(torch.equal(every[0], e) for e in every)
resumed = all(torch.equal(p, q) for p, q in zip(a.G.state_dict().values(), c.G.state_dict().values()))
rank = dist.get_rank()
with open(f"{sys.argv[2]}.{rank}", "w") as f:
    f.write(f"rank {rank} batch {a.batch_size} ranks_agree {same} resume_equal {resumed}")
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    """torchrun with 2 gloo processes: per-rank batch B/2, identical G and D on both ranks, exact resume under DDP."""
    script = tmp_path / "ddp_run.py"
    script.write_text(_DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          str(script), str(tmp_path / "ck.pt"), str(tmp_path / "result")], cwd=REPO, capture_output=True, text=True,
                         timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    # each rank writes its own file: the ranks share stdout, where their lines can interleave mid-line
    found = [(tmp_path / f"result.{r}").read_text() for r in (0, 1)]
    assert found == [f"rank {r} batch 4 ranks_agree True resume_equal True" for r in (0, 1)]


@pytest.mark.slow
def test_benchmark_quick(tmp_path):
    """``benchmarks/image_speed.py --quick`` runs on the CPU and writes its markdown table atomically."""
    out = tmp_path / "speed.md"
    res = subprocess.run([sys.executable, "-m", "benchmarks.image_speed", "--quick", "--tiny", "--steps", "1", "--rounds", "1",
                          "--warmup", "0", "--out", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    text = out.read_text()
    for row in ("dcgan-64", "resnet-32"):
        assert row in text and row in res.stdout
    assert "images/s" in text and "ratio" in text
