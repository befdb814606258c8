"""studies.image_gan: outputs and schema, metrics per data set, skipping finished seeds, resuming a killed seed, presets,
the real-vs-real reference (computed once, drawn from the table), the stopping rule, loss comparisons, and nothing
machine-dependent in the table."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import torch

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


FIGURES = ("curves", "losses", "samples")


def test_outputs_and_schema(mnist_run):
    out, run, df, meta = mnist_run
    assert sorted(p.name for p in run.iterdir()) == sorted([study.TABLE, "samples_seed0.png", "run.json", "runs",
                                                             "metrics_arrays.npz", *(f"{f}.png" for f in FIGURES),
                                                             *(f"{f}.md" for f in FIGURES)])
    for png in ("curves.png", "samples_seed0.png", "samples.png", "losses.png"):
        assert (run / png).read_bytes()[:4] == b"\x89PNG"
    caption = (run / "curves.md").read_text()
    for words in ("in-repo MNIST classifier", "not Inception", "raw unbiased MMD²", "no ×10³ scaling",
                  "200 samples", "200 training images", "real images B"):
        assert words in caption, words
    assert list(df.columns) == study.COLUMNS
    gen = df[df.loss != study.REFERENCE]
    assert set(gen["dataset"]) == {"mnist5k"} and set(gen["arch"]) == {"dcgan"} and set(gen["loss"]) == {"ns"}
    feature = {"fid", "kid", "precision", "recall", "density", "coverage"}
    assert set(gen["metric"]) == feature | set(study.LOSS_METRICS)  # 200 images: one KID subset, no kid_std
    for m in feature:
        assert sorted(gen.loc[gen.metric == m, "step"]) == [0, 2, 4]
    assert sorted(gen.loc[gen.metric == "d_loss", "step"]) == [2, 4]
    assert df["value"].map(math.isfinite).all()
    pr = df[df.metric.isin(["precision", "recall", "coverage"])]["value"]
    assert ((pr >= 0) & (pr <= 1)).all()
    assert (df.loc[df.metric == "fid", "value"] >= 0).all()
    keys = meta["extra"]["config_keys"]
    assert meta["config"]["steps"] == 4 and meta["seeds"] == [0] and keys["mnist5k_dcgan_ns"] == gen.config_key.iloc[0]
    assert meta["extra"]["train_config"]["arch"] == "dcgan"
    assert meta["run_options"]["device"] == "auto" and meta["device"].split()[0] == str(resolve_device("auto"))
    n = 1 + len(study.REFERENCE_DRAWS)  # the seed and the reference draws
    assert meta["runs"] == {"requested": n, "computed_in_this_invocation": n, "reused_from_earlier_invocations": 0,
                            "resumed_from_checkpoint": 0}
    work = run / "runs" / gen.config_key.iloc[0]
    names = sorted(p.name for p in work.iterdir())  # the checkpoint is removed when the seed is stored
    assert [n.split("-")[0].split(".")[0] for n in names] == ["claim", "config", "part", "part"], names


def test_rerun_skips_finished_seeds_and_plot_only(mnist_run, capsys):
    out, run, df, _ = mnist_run
    first = (run / "run.json").read_text()
    assert study.main([*TINY, "--out", str(out)]) == 0
    assert "4 reused, 0 resume, 0 new" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(run / study.TABLE), df)
    # the table is byte-identical to the one run.json records, so run.json keeps the provenance of the invocation
    # that computed it (regenerating committed results leaves the checkout clean)
    assert (run / "run.json").read_text() == first
    assert json.loads(first)["runs"]["computed_in_this_invocation"] == 4
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
    work = tmp_path / "runs" / full.config_key[0]  # the generator's rows come first
    assert len(list(work.glob("ckpt-*.pt"))) == 1 and not list(work.glob("part-*"))
    assert study.main([*TINY, "--out", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "run.json").read_text())["runs"]
    assert runs["resumed_from_checkpoint"] == 1 and runs["computed_in_this_invocation"] == 1 + len(
        study.REFERENCE_DRAWS)  # the interrupt came before the reference units ran
    resumed = pd.read_csv(tmp_path / study.TABLE)
    pd.testing.assert_frame_equal(resumed, full, check_exact=True)


@pytest.mark.slow
def test_stacked_mnist_conditional_resnet(tmp_path):
    args = ["--dataset", "stacked_mnist", "--n-data", "64", "--arch", "resnet", "--loss", "hinge", "--conditional",
            "--steps", "2", "--batch-size", "4", "--g-channels", "8", "--d-channels", "8", "--n-dis", "1",
            "--eval-every", "2", "--n-eval", "64", "--no-progress", "--dpi", "30", "--out", str(tmp_path)]
    assert study.main(args) == 0
    df = pd.read_csv(tmp_path / study.TABLE)
    df = df[df.loss != study.REFERENCE]
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
    assert "(default: results/image_gan_<dataset>_<arch>_<loss>[_vs_<loss>...][_cond][_<preset>, none for the default])" in flat
    assert "stacked_mnist: number of images (default: 60,000)" in flat
    assert "cuda:N; resolved where each unit runs (default: auto)" in flat
    for block in text.split("\n  --")[1:]:  # one option's help each
        assert " ".join(block.split()).count("(default") <= 1, block


# ----------------------------------------------------------------------------- presets
def test_presets_resolve_and_explicit_options_override_them():
    cpu = engine.parse(study.STUDY, ["--preset", "cpu"])
    want = study.PRESETS["cpu"]
    for name, value in want.items():
        assert getattr(cpu.config, name) == value, name
    assert cpu.preset == "cpu" and cpu.out.name == "image_gan_mnist5k_dcgan_ns_cpu"
    over = engine.parse(study.STUDY, ["--preset", "cpu", "--steps", "10", "--seeds", "2", "--stop-metric", "none"])
    assert (over.config.steps, over.config.seeds, over.config.stop_metric) == (10, 2, None)
    assert over.config.n_eval == want["n_eval"] and over.config.patience == want["patience"]
    stacked = engine.parse(study.STUDY, ["--preset", "cpu-stacked"]).config
    assert stacked.dataset == "stacked_mnist" and stacked.losses() == ["ns", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2"]
    assert stacked.seeds >= 5
    assert engine.parse(study.STUDY, ["--preset", "cpu-stacked", "--compare", "hinge"]).config.losses() == ["ns",
                                                                                                          "hinge"]
    assert engine.parse(study.STUDY, []).config == study.ImageGanConfig()  # paper: the field defaults


def test_help_lists_every_preset(capsys):
    with pytest.raises(SystemExit):
        study.main(["--help"])
    flat = " ".join(capsys.readouterr().out.split())
    for name in study.PRESETS:
        assert f" {name}: " in flat, name
    assert "stop_metric=fid" in flat and "compare=alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2" in flat


@pytest.mark.parametrize("kw, match", [
    ({"compare": ("ns",)}, "other than --loss"), ({"compare": ("hinge", "hinge")}, "other than --loss"),
    ({"compare": ("nope",)}, "unknown loss"), ({"patience": 0}, "patience"), ({"min_delta": 1.0}, "min_delta"),
    ({"min_delta": True}, "min_delta"), ({"stop_metric": "precision"}, "stop_metric"),
    ({"arch": "stylegan2", "truncations": (1.5,)}, "psi"), ({"truncations": (0.0,)}, "positive"),
])
def test_bad_settings_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        study.ImageGanConfig(**kw)


def test_stop_metric_must_be_one_the_data_set_reports(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        study.main([*TINY, "--stop-metric", "modes", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "--stop-metric modes: --dataset mnist5k is evaluated with fid" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the stopping rule
@pytest.mark.parametrize("values, patience, delta, direction, want", [
    ([100, 50, 30, 29.9, 29.5, 29.8, 30.2], 4, 0.02, "lower", True),   # best before 30; last four ≥ 29.4
    ([100, 30, 40, 39, 38, 37, 36], 4, 0.02, "lower", True),      # falling, but never below the best (30)
    ([100, 50, 30, 29.9, 29.5, 28.0, 30.2], 4, 0.02, "lower", False),  # 28.0 improves on 30 by 6.7%
    ([100, 32, 24, 40, 40], 3, 0.25, "lower", True),                  # exactly δ (32 − 8 = 24, exact in binary)
    ([100, 32, 23.99, 40, 40], 3, 0.25, "lower", False),              # just more than δ
    ([100, 50, 30, 29], 4, 0.02, "lower", False),                      # fewer than patience + 1 values
    ([10, 100, 101, 100.5], 2, 0.02, "higher", True),                  # modes: 101 is < 2% above 100
    ([10, 100, 103, 100.5], 2, 0.02, "higher", False),                 # 103 is 3% above 100
    ([5, 5, 5], 1, 0.0, "lower", True),                                # δ = 0: equal is no improvement
])
def test_stopped_improving_on_hand_made_curves(values, patience, delta, direction, want):
    assert study.stopped_improving(values, patience, delta, direction) is want


def test_stopped_improving_rejects_bad_input():
    for args, match in [(([1, 2], 0, 0.1), "patience"), (([1, 2], True, 0.1), "patience"),
                        (([1, 2], 1, -0.1), "min_delta"), (([1, float("nan")], 1, 0.1), "finite"),
                        (([[1, 2]], 1, 0.1), "1-D")]:
        with pytest.raises(ValueError, match=match):
            study.stopped_improving(*args)
    with pytest.raises(ValueError, match="direction"):
        study.stopped_improving([1, 2], 1, 0.1, "down")


def test_a_seed_stops_at_the_plateau_and_records_where(tmp_path):
    """With δ = 0.99 any evaluation that does not cut FID by 99% is no improvement: with patience 1 the seed stops at
    its second evaluation (iteration 1) and trains no further; with the rule off it runs all 4 iterations."""
    args = [*TINY, "--eval-every", "1", "--log-every", "1", "--no-progress"]
    assert study.main([*args, "--stop-metric", "fid", "--patience", "1", "--min-delta", "0.99",
                       "--out", str(tmp_path / "stop")]) == 0
    df = pd.read_csv(tmp_path / "stop" / study.TABLE)
    gen = df[df.loss != study.REFERENCE]
    assert gen.loc[gen.metric == "stopped_at", "value"].tolist() == [1.0]
    assert gen["step"].max() == 1 and sorted(gen.loc[gen.metric == "fid", "step"]) == [0, 1]
    assert "stopped at: seed 0: 1" in (tmp_path / "stop" / "curves.md").read_text()
    assert study.main([*args, "--out", str(tmp_path / "full")]) == 0
    full = pd.read_csv(tmp_path / "full" / study.TABLE)
    assert "stopped_at" not in set(full.metric) and full.loc[full.metric == "fid", "step"].max() == 4


# ----------------------------------------------------------------------------- the real-vs-real reference
def _numbered(n: int):
    """n two-pixel images holding their index (low and high byte): each image identifies itself."""
    from gan.data import ImageData

    idx = torch.arange(n)
    images = torch.stack([idx % 256, idx // 256], dim=1).to(torch.uint8).reshape(n, 1, 1, 2)
    return ImageData(images, torch.zeros(n, dtype=torch.int64), 0, "numbered")


def _ids(images) -> set[int]:
    x = images.reshape(len(images), 2).to(torch.int64)
    return set((x[:, 0] + 256 * x[:, 1]).tolist())


@pytest.mark.parametrize("total, n, sizes", [(5000, 2000, (2000, 2000)), (5000, 2500, (2500, 2500)),
                                             (5000, 3000, (2500, 2500)), (5000, 10_000, (2500, 2500)),
                                             (7, 2, (2, 2)), (7, 5, (3, 3))])
def test_real_pair_is_two_disjoint_sets_and_a_is_the_evaluation_set(total, n, sizes):
    data = _numbered(total)
    for draw in (0, 1):
        a, b = study.real_pair(data, n, draw)
        assert (len(a), len(b)) == sizes
        assert len(_ids(a)) == len(a) and len(_ids(b)) == len(b) and not _ids(a) & _ids(b)
        if 2 * min(n, total) <= total:  # A is what the generators are evaluated against
            assert torch.equal(a, study.real_reference(data, n))
    b0, b1 = study.real_pair(data, n, 0)[1], study.real_pair(data, n, 1)[1]
    assert not torch.equal(b0, b1)  # the draws differ
    with pytest.raises(ValueError, match="at least 4"):
        study.real_pair(_numbered(3), 2, 0)


def test_reference_is_computed_once_and_drawn_from_the_table(tmp_path, monkeypatch):
    calls = []
    real_draw = study.reference_draw

    def counting(ref, draw, ctx):
        calls.append(draw)
        return real_draw(ref, draw, ctx)

    monkeypatch.setitem(study.UNIT_RUNNERS, study.RealVsReal, counting)
    argv = [*TINY, "--no-progress", "--out", str(tmp_path)]
    assert study.main(argv) == 0
    assert study.main([*argv, "--seeds", "2"]) == 0  # a second seed: the reference is reused, not recomputed
    assert sorted(calls) == list(study.REFERENCE_DRAWS)
    df = pd.read_csv(tmp_path / study.TABLE)
    ref = df[df.loss == study.REFERENCE]
    assert sorted(ref.seed.unique()) == list(study.REFERENCE_DRAWS) and set(ref.step) == {0}
    assert set(ref.loc[ref.metric == "n_real_a", "value"]) == set(ref.loc[ref.metric == "n_real_b", "value"]) == {200}
    fid_ref = ref.loc[ref.metric == "fid", "value"]
    fid_untrained = df.loc[(df.loss == "ns") & (df.metric == "fid") & (df.step == 0), "value"]
    assert (fid_ref > 0).all() and fid_ref.max() < fid_untrained.min() / 5  # real digits vs noise
    (tmp_path / "curves.png").unlink()
    assert study.main([*argv, "--seeds", "2", "--plot-only"]) == 0
    assert (tmp_path / "curves.png").exists() and sorted(calls) == list(study.REFERENCE_DRAWS)
    cfg = engine.parse(study.STUDY, [*argv, "--seeds", "2"]).config
    fig = study.plot_curves(df, cfg, ["fid"], "t")
    level = fid_ref.mean()
    dashed = [ln for ln in fig.axes[0].lines if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and np.allclose(dashed[0].get_ydata(), level, rtol=0, atol=1e-9)
    assert any("real vs real (200 vs 200 images)" == t.get_text() for t in fig.legends[0].get_texts())


# ----------------------------------------------------------------------------- machine-dependent numbers
def test_machine_dependent_numbers_go_to_run_json_only(mnist_run, tmp_path):
    """A second run of the same command (other wall times) writes the same table byte for byte; throughput and wall
    times are in run.json's summary.machine."""
    _, run, df, meta = mnist_run
    assert study.main([*TINY, "--no-progress", "--out", str(tmp_path)]) == 0
    assert (tmp_path / study.TABLE).read_bytes() == (run / study.TABLE).read_bytes()
    assert list(df.columns) == study.COLUMNS
    for word in ("images_per_s", "seconds", "wall", "time"):
        assert not df["metric"].str.contains(word).any(), word
    machine = meta["extra"]["summary"]["machine"]
    seed0 = machine["mnist5k_dcgan_ns"]["seed 0"]
    assert seed0["wall_time_s"] > 0 and seed0["images_per_s_wall"] > 0 and seed0["device"] == meta["device"]
    assert set(machine[study.REFERENCE]) == {f"seed {d}" for d in study.REFERENCE_DRAWS}


# ----------------------------------------------------------------------------- comparing losses
def _table(groups: dict[str, list[float]], metric: str = "modes") -> pd.DataFrame:
    rows = []
    for loss, values in groups.items():
        for seed, v in enumerate(values):
            rows += [{"loss": loss, "seed": seed, "step": 0, "metric": metric, "value": 0.0},
                     {"loss": loss, "seed": seed, "step": 100, "metric": metric, "value": v}]
    rows.append({"loss": study.REFERENCE, "seed": 0, "step": 0, "metric": metric, "value": 990.0})
    return pd.DataFrame(rows)


def test_comparison_tells_separated_groups_apart_and_not_overlapping_ones():
    apart = study.compare_losses(_table({"ns": [1, 2, 3, 4, 5], "other": [11, 12, 13, 14, 15]}), ["modes"])[0]
    # complete separation of 5 vs 5: the exact two-sided Mann-Whitney p is 2 / C(10, 5) = 2/252
    assert abs(apart["mann_whitney_p"] - 2 / 252) <= 1e-12  # exact arithmetic up to rounding
    # Welch: t = -10 / sqrt(2.5/5 + 2.5/5) = -10 on 8 degrees of freedom: p = 8.6e-6 (t tables)
    assert 1e-6 < apart["welch_p"] < 1e-4 and apart["told_apart"] is True
    assert (apart["n_a"], apart["mean_a"], apart["mean_b"]) == (5, 3.0, 13.0)
    assert abs(apart["sd_a"] - math.sqrt(2.5)) <= 1e-12
    # 95% interval: 3 ± t_{0.975, 4} · sqrt(2.5/5), t_{0.975, 4} = 2.776445 (tables)
    assert abs(apart["ci_high_a"] - (3 + 2.776445 * math.sqrt(0.5))) <= 1e-5
    close = study.compare_losses(_table({"ns": [1, 2, 3, 4, 5], "other": [1.5, 2.5, 3.5, 4.5, 5.5]}), ["modes"])[0]
    assert close["told_apart"] is False and close["welch_p"] > 0.5
    text = study.comparison_markdown([apart, close])
    assert text.count("| yes |") == 1 and text.count("| no |") == 1


def test_final_values_take_each_seeds_last_evaluation():
    df = pd.DataFrame([{"loss": "ns", "seed": 0, "step": s, "metric": "fid", "value": v}
                       for s, v in ((0, 900.0), (250, 40.0), (500, 35.0))]
                      + [{"loss": "ns", "seed": 1, "step": s, "metric": "fid", "value": v}
                         for s, v in ((0, 880.0), (250, 50.0))])  # seed 1 stopped at 250
    fin = study.final_values(df).set_index("seed")["value"]
    assert fin.to_dict() == {0: 35.0, 1: 50.0}


@pytest.mark.slow
def test_compare_runs_each_loss_with_the_same_seeds_and_draws_the_comparison(tmp_path):
    args = ["--dataset", "stacked_mnist", "--n-data", "300", "--steps", "2", "--batch-size", "4", "--g-channels", "8",
            "--d-channels", "8", "--eval-every", "2", "--n-eval", "64", "--seeds", "2", "--loss", "ns", "--compare",
            "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2", "--no-progress", "--dpi", "30", "--out", str(tmp_path)]
    assert study.main(args) == 0
    df = pd.read_csv(tmp_path / study.TABLE)
    gen = df[df.loss != study.REFERENCE]
    assert gen.groupby("loss").seed.unique().map(sorted).map(list).to_dict() == {
        "ns": [0, 1], "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2": [0, 1]}
    for name in ("comparison", "curves", "samples"):
        assert (tmp_path / f"{name}.png").exists() and (tmp_path / f"{name}.md").exists()
    assert not list(tmp_path.glob("samples_seed*.png"))  # per-seed files only for a single loss
    meta = json.loads((tmp_path / "run.json").read_text())
    assert {t["metric"] for t in meta["extra"]["summary"]["comparison"]} == {"modes", "kl"}
    assert "Welch p" in (tmp_path / "comparison.md").read_text()


def test_comparison_of_constant_groups_is_undefined_not_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = study.compare_losses(_table({"ns": [1, 1, 1], "other": [1, 1, 1]}), ["modes"])[0]
    assert math.isnan(t["welch_p"]) and t["told_apart"] is False and t["mann_whitney_p"] == 1.0
