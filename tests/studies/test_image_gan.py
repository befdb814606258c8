"""studies.image_gan: outputs and schema, metrics per data set, skipping finished seeds, resuming a killed seed."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest

import gan.train
from gan.device import resolve_device
from studies import engine
from studies import image_gan as study
from studies import image_run
from studies.store import config_key

TINY = ["--steps", "4", "--batch-size", "8", "--g-channels", "8", "--d-channels", "8", "--eval-every", "2",
        "--n-eval", "200", "--log-every", "2", "--dpi", "30"]


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("image_gan")
    assert study.main([*TINY, "--out", str(out)]) == 0
    run = out  # --out is the run's directory
    return out, run, pd.read_csv(run / study.TABLE), json.loads((run / "run.json").read_text())


def test_outputs_and_schema(mnist_run):
    out, run, df, meta = mnist_run
    assert sorted(p.name for p in run.iterdir()) == sorted([study.TABLE, "curves.png", "samples_seed0.png",
                                                             "run.json", "runs", "metrics_arrays.npz"])
    for png in ("curves.png", "samples_seed0.png"):
        assert (run / png).read_bytes()[:4] == b"\x89PNG"
    assert list(df.columns) == study.COLUMNS
    assert set(df["dataset"]) == {"mnist5k"} and set(df["arch"]) == {"dcgan"} and set(df["loss"]) == {"ns"}
    feature = {"fid", "kid", "precision", "recall", "density", "coverage"}
    assert set(df["metric"]) == feature | set(study.LOSS_METRICS)  # 200 images: one KID subset, no kid_std
    for m in feature:
        assert sorted(df.loc[df.metric == m, "step"]) == [0, 2, 4]
    assert sorted(df.loc[df.metric == "d_loss", "step"]) == [2, 4]
    assert df["value"].map(math.isfinite).all()
    pr = df[df.metric.isin(["precision", "recall", "coverage"])]["value"]
    assert ((pr >= 0) & (pr <= 1)).all()
    assert (df.loc[df.metric == "fid", "value"] >= 0).all()
    assert meta["config"]["steps"] == 4 and meta["seeds"] == [0] and meta["extra"]["config_key"] == df.config_key[0]
    assert meta["extra"]["train_config"]["arch"] == "dcgan"
    assert meta["run_options"]["device"] == "auto" and meta["device"].split()[0] == str(resolve_device("auto"))
    assert meta["runs"] == {"requested": 1, "computed_in_this_invocation": 1, "reused_from_earlier_invocations": 0,
                            "resumed_from_checkpoint": 0}
    work = run / "runs" / df.config_key[0]
    names = sorted(p.name for p in work.iterdir())  # the checkpoint is removed when the seed is stored
    assert [n.split("-")[0].split(".")[0] for n in names] == ["claim", "config", "part", "part"], names


def test_rerun_skips_finished_seeds_and_plot_only(mnist_run, capsys):
    out, run, df, _ = mnist_run
    first = (run / "run.json").read_text()
    assert study.main([*TINY, "--out", str(out)]) == 0
    assert "1 reused, 0 resume, 0 new" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(run / study.TABLE), df)
    # the table is byte-identical to the one run.json records, so run.json keeps the provenance of the invocation
    # that computed it (regenerating committed results leaves the checkout clean)
    assert (run / "run.json").read_text() == first
    assert json.loads(first)["runs"]["computed_in_this_invocation"] == 1
    (run / "curves.png").unlink()
    meta = (run / "run.json").read_text()
    assert study.main([*TINY, "--out", str(out), "--plot-only"]) == 0
    assert (run / "curves.png").exists()
    assert (run / "run.json").read_text() == meta  # a redraw never replaces the provenance of the run


@pytest.mark.slow
def test_killed_seed_resumes_to_the_uninterrupted_table(mnist_run, tmp_path, monkeypatch):
    """Kill the run before its last chunk; re-running resumes from the checkpoint and reproduces every number."""
    _, _, full, _ = mnist_run
    real_train = gan.train.ImageTrainer.train
    calls = {"n": 0}

    def dying_train(self, steps, bar=None):
        calls["n"] += 1
        if calls["n"] == 2:  # train(2), then killed before iterations 3-4
            raise KeyboardInterrupt
        return real_train(self, steps, bar=bar)

    monkeypatch.setattr(gan.train.ImageTrainer, "train", dying_train)
    assert study.main([*TINY, "--out", str(tmp_path)]) == 130  # "interrupted: ...; rerun the same command"
    monkeypatch.undo()
    work = tmp_path / "runs" / full.config_key[0]
    assert len(list(work.glob("ckpt-*.pt"))) == 1 and not list(work.glob("part-*"))
    assert study.main([*TINY, "--out", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "run.json").read_text())["runs"]
    assert runs["resumed_from_checkpoint"] == runs["computed_in_this_invocation"] == 1
    resumed = pd.read_csv(tmp_path / study.TABLE)
    pd.testing.assert_frame_equal(resumed, full, check_exact=True)


@pytest.mark.slow
def test_stacked_mnist_conditional_resnet(tmp_path):
    args = ["--dataset", "stacked_mnist", "--n-data", "64", "--arch", "resnet", "--loss", "hinge", "--conditional",
            "--steps", "2", "--batch-size", "4", "--g-channels", "8", "--d-channels", "8", "--n-dis", "1",
            "--eval-every", "2", "--n-eval", "64", "--no-progress", "--dpi", "30", "--out", str(tmp_path)]
    assert study.main(args) == 0
    df = pd.read_csv(tmp_path / study.TABLE)
    modes = df[df.metric == "modes"]["value"]
    assert sorted(df[df.metric == "modes"]["step"]) == [0, 2]
    assert ((modes >= 1) & (modes <= 64)).all()  # at most one mode per sample
    kl = df[df.metric == "kl"]["value"]
    assert ((kl >= 0) & (kl <= math.log(1000) + 1e-9)).all()  # KL(Q̂ ‖ U) ∈ [0, log 1000]


def test_quick_preset_and_validation():
    inv = engine.parse(study.STUDY, ["--quick", "--steps", "10"])
    cfg, quick = inv.config, study.PRESETS["quick"]
    assert cfg.steps == 10 and cfg.batch_size == quick["batch_size"] and cfg.n_eval == quick["n_eval"]
    assert inv.out.name == f"image_gan_{cfg.dataset}_{cfg.arch}_{cfg.loss_spec}_quick" == "image_gan_mnist5k_dcgan_ns_quick"
    assert image_run.training_resolution(28, (32,), None) == 32
    assert image_run.training_resolution(28, (28, 32, 64), None) == 28
    assert image_run.training_resolution(100, (28, 32, 64), None) == 64
    for kw, match in [({"loss": "wasserstein"}, "unknown loss"), ({"loss": "alpha:alpha"}, "key=value"),
                      ({"seeds": 0}, "seeds"), ({"steps": 0}, "steps"), ({"lr_d": -1.0}, "lr_d"),
                      ({"ema_decay": 1.5}, "ema_decay"), ({"first_seed": -1}, "first_seed")]:
        with pytest.raises(ValueError, match=match):
            study.ImageGanConfig(**kw)
    a, b = study.ImageGanConfig(), study.ImageGanConfig(seeds=3, first_seed=2, compile=True, dpi=50)
    assert config_key(a.keyed()) == config_key(b.keyed()) != config_key(study.ImageGanConfig(lr_g=1e-4).keyed())


def test_one_progress_bar_with_the_true_total(tmp_path, capsys):
    """A 4-iteration run evaluated every 2 shows one bar counting to 4/4 (not an empty "0it" bar or two 2/2)."""
    assert study.main([*TINY, "--progress", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "4/4" in err
    # an empty bar prints " 0it " (not the "0it" inside a rate such as "10.10it/s"); a per-evaluation bar "2/2"
    assert not re.search(r"(?<![\w.])0it\b", err) and not re.search(r"(?<![\d/])2/2(?!\d)", err) and "/2 [" not in err


@pytest.mark.parametrize("argv, words", [
    (["--device", "gpu"], ["argument --device", "unknown device 'gpu'", "auto, cpu, cuda, cuda:N"]),
    (["--device", "cuda:7" if gan.train.torch.cuda.is_available() else "cuda"], ["argument --device", "auto, cpu"]),
    (["--dataset", "mnist"], ["--dataset mnist", "--data-root DIR", "train-images-idx3-ubyte"]),
    (["--dataset", "cifar10", "--data-root", "/nonexistent/cifar"],
     ["--data-root '/nonexistent/cifar' is not a directory", "data_batch_1"]),
    (["--data-root", "/tmp"], ["--dataset mnist5k is built in"]),
])
def test_command_line_errors_are_one_line_usage_errors(argv, words, tmp_path, capsys):
    """No traceback and no API wording (``root=``): ``error: ...`` naming the option, exit status 2."""
    with pytest.raises(SystemExit) as exc:
        study.main([*TINY, *argv, "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert line.startswith("python -m studies.image_gan: error: ") and "Traceback" not in err
    assert "root=" not in line
    for w in words:
        assert w in line, (w, line)


def test_help_shows_each_default_once_and_the_real_output_directory(capsys):
    with pytest.raises(SystemExit):
        study.main(["--help"])
    text = capsys.readouterr().out
    flat = " ".join(text.split())
    assert "(default: None)" not in text and "(default 60,000)" not in text
    assert "(default: results/image_gan_<dataset>_<arch>_<loss>[_cond][_<preset>, none for the default])" in flat
    assert "stacked_mnist: number of images (default: 60,000)" in flat
    assert "cuda:N; resolved where each unit runs (default: auto)" in flat
    for block in text.split("\n  --")[1:]:  # one option's help each
        assert " ".join(block.split()).count("(default") <= 1, block
