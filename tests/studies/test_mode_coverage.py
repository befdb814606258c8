"""studies.mode_coverage on the study engine: outputs, schema, ranges, skipping finished seeds, presets."""

from __future__ import annotations

import json
import typing

import numpy as np
import pandas as pd
import pytest

import torch

from gan.device import resolve_device
from studies import mode_coverage as mc
from studies import engine
from studies.store import RunStore, plan
from tests.helpers import assert_jobs_match_serial

TINY = ["--seeds", "2", "--epochs", "2", "--eval-every", "1", "--losses", "ns", "alpha_d_alpha_g:alpha_d=0.3,alpha_g=1", "--n-train", "1280",
        "--g-width", "16", "--d-width", "16", "--depth", "2", "--n-eval", "500", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mode_coverage")
    assert mc.main(TINY + ["--out", str(out)]) == 0
    return out


def _cfg(extra=()):
    return engine.parse(mc.STUDY, TINY + list(extra)).config


def test_outputs_exist_without_temp_files(run):
    for name in (mc.TABLE, "summary.csv", "summary.md", "modes_histogram.png", "modes_vs_epoch.png", "samples.png",
                 "captions.md", mc.STUDY.arrays_file, "run.json"):
        assert (run / name).stat().st_size > 0, name
    assert not list(run.rglob("*.tmp")) and not list(run.rglob("ckpt-*.pt"))


def test_table_schema_and_ranges(run):
    t = pd.read_csv(run / mc.TABLE)
    assert list(t.columns) == ["loss", "beta2", "mode_rule", "config_key", "seed", "epoch", "metric", "value"]
    assert set(t.mode_rule) == {"welfert"}
    assert set(t.loss) == {"ns", "alpha_d_alpha_g:alpha_d=0.3,alpha_g=1"} and set(t.beta2) == {0.99, 0.999} and set(t.seed) == {0, 1}
    assert set(t.epoch) == {0, 1, 2}
    assert t.config_key.nunique() == 4  # one per (loss, β2)
    # one row per seed × config × epoch × metric
    assert not t.duplicated(["config_key", "seed", "epoch", "metric"]).any()
    modes = t[t.metric == "modes_captured"].value
    assert modes.between(0, 8).all() and (modes == modes.round()).all()
    assert t[t.metric == "hq_fraction"].value.between(0, 1).all()
    rkl = t[t.metric == "mode_reverse_kl"].value.dropna()
    assert (rkl >= -1e-12).all() and (rkl <= np.log(8) + 1e-12).all()  # KL(Q̂‖uniform on 8) ≤ log 8
    assert set(t[t.metric == "diverged"].value) <= {0.0, 1.0}


def test_summary_agrees_with_the_table(run):
    t = pd.read_csv(run / mc.TABLE)
    s = pd.read_csv(run / "summary.csv")
    assert len(s) == 4
    for r in s.itertuples():
        last = t[(t.loss == r.loss) & (t.beta2 == r.beta2) & (t.epoch == 2) & (t.metric == "modes_captured")].value
        assert r.seeds == len(last) == 2
        assert r.success == int((last == 8).sum()) and r.failure == int((last == 0).sum())
        assert abs(r.modes_mean - last.mean()) <= 1e-12
        assert 0 <= r.success_ci_low <= r.success_rate <= r.success_ci_high <= 1
    md = (run / "summary.md").read_text()
    assert sum(line.startswith("| ") for line in md.splitlines()) == 1 + 4 and "(α_D, α_G) = (0.3, 1)" in md and "converged seeds" in md


def test_run_json_records_the_run(run):
    meta = json.loads((run / "run.json").read_text())
    assert meta["study"] == "mode_coverage" and meta["seeds"] == [0, 1]
    assert meta["config"]["epochs"] == 2 and meta["config"]["losses"] == ["ns", "alpha_d_alpha_g:alpha_d=0.3,alpha_g=1"]
    assert {"torch", "numpy", "python"} <= set(meta["versions"])
    assert meta["run_options"]["device"] == "auto" and meta["device"].split()[0] == str(resolve_device("auto"))
    assert meta["preset"] == "paper" and meta["files"][mc.TABLE]["bytes"] == (run / mc.TABLE).stat().st_size
    # 2 losses x 2 beta2 x 2 seeds, all trained by this first invocation
    assert meta["runs"] == {"requested": 8, "computed_in_this_invocation": 8, "reused_from_earlier_invocations": 0,
                            "resumed_from_checkpoint": 0}
    assert len(meta["extra"]["configurations"]) == 4 and meta["wall_time_s"] > 0
    assert len(meta["extra"]["summary"]) == 4


def test_rerun_skips_finished_seeds_and_extends_to_new_ones(run):
    cfg = _cfg()
    store = RunStore(run)
    assert plan(store, cfg.variants(), mc.STUDY.seeds(cfg), cfg.seed_batch).units == []
    parts = {p: p.stat().st_mtime_ns for p in run.glob("runs/*/part-*.part")}
    assert len(parts) == 4
    before = pd.read_csv(run / mc.TABLE)
    more = _cfg(["--seeds", "3"])
    todo = plan(store, more.variants(), mc.STUDY.seeds(more), more.seed_batch).units
    assert [(u.key, u.seeds) for u in todo] == [(v.key, (2,)) for v in more.variants()]
    assert mc.main(TINY + ["--seeds", "3", "--losses", "ns", "--beta2s", "0.99", "--out", str(run)]) == 0
    assert all(p.stat().st_mtime_ns == m for p, m in parts.items())  # old parts untouched
    after = pd.read_csv(run / mc.TABLE)
    assert set(after.seed) == {0, 1, 2}
    old = before[(before.loss == "ns") & (before.beta2 == 0.99)].reset_index(drop=True)
    pd.testing.assert_frame_equal(after[after.seed < 2].reset_index(drop=True), old, check_exact=True)
    meta = json.loads((run / "run.json").read_text())
    # one (loss, beta2) x 3 seeds: seed 2 trained now, seeds 0 and 1 reused from the first invocation
    assert meta["runs"] == {"requested": 3, "computed_in_this_invocation": 1, "reused_from_earlier_invocations": 2,
                            "resumed_from_checkpoint": 0}
    assert mc.main(TINY + ["--out", str(run)]) == 0  # back to the original request: nothing to train
    meta = json.loads((run / "run.json").read_text())
    assert meta["runs"]["computed_in_this_invocation"] == 0 and meta["runs"]["reused_from_earlier_invocations"] == 8


def test_plot_only_redraws_from_the_table(run):
    (run / "modes_histogram.png").unlink()
    (run / "samples.png").unlink()
    meta = (run / "run.json").read_text()
    assert mc.main(TINY + ["--plot-only", "--out", str(run)]) == 0
    assert (run / "modes_histogram.png").stat().st_size > 0
    assert (run / "samples.png").stat().st_size > 0  # drawn from the saved samples, no training
    assert (run / "run.json").read_text() == meta  # a redraw keeps the provenance of the run


def test_quick_preset_and_explicit_options_win():
    quick = mc.PRESETS["quick"]
    inv = engine.parse(mc.STUDY, ["--quick", "--seeds", "3"])
    assert inv.config.seeds == 3 and inv.config.epochs == quick["epochs"] and inv.config.g_width == quick["g_width"]
    assert inv.out.name == "mode_coverage_quick" and inv.preset == "quick"
    assert engine.parse(mc.STUDY, ["--preset", "quick", "--out", "x"]).out.name == "x"
    default = engine.parse(mc.STUDY, [])
    assert default.config.epochs == 400 and default.preset == "paper" and default.out.name == "mode_coverage"


@pytest.mark.parametrize("argv, words", [
    (["--losses", "saturating"], "'saturating' is neither a gan.losses spec"), (["--losses", "ns", "ns"], "distinct"),
    (["--beta2s", "1.0"], "beta2s must be"), (["--seeds", "0"], "seeds must be a positive integer"),
    (["--lr", "inf"], "argument --lr: invalid value 'inf': must be a finite number"),
    (["--variance", "inf"], "argument --variance: invalid value 'inf'"),
    (["--n-train", "100"], "an epoch of n_train // batch_size = 0 minibatches"),
])
def test_bad_options_are_one_line_command_line_errors(argv, words, capsys):
    with pytest.raises(SystemExit) as exc:
        mc.main(argv + ["--no-progress", "--out", "/tmp/distmatch-never-written"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert words in err.strip().splitlines()[-1] and "Traceback" not in err


@pytest.mark.parametrize("argv, words", [
    (["--device", "gpu"], ["argument --device", "unknown device 'gpu'", "auto, cpu, cuda, cuda:N"]),
    (["--device", "cuda:7" if torch.cuda.is_available() else "cuda"], ["argument --device", "auto, cpu"]),
])
def test_bad_devices_are_one_line_command_line_errors(argv, words, capsys):
    """``--device cuda`` without CUDA (or a misspelt device) is an argparse error, exit status 2, not a traceback."""
    with pytest.raises(SystemExit) as exc:
        mc.main(["--quick", *argv])
    assert exc.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("python -m studies.mode_coverage: error: ")
    for w in words:
        assert w in line


def test_help_lists_the_variants_in_registry_terms_and_each_default_once(capsys):
    with pytest.raises(SystemExit):
        mc.main(["--help"])
    text = capsys.readouterr().out
    flat = " ".join(text.split())
    assert ("(default: ns minimax alpha_d_alpha_g:alpha_d=0.3,alpha_g=1 alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2 "
            "alpha_d_alpha_g:alpha_d=1,alpha_g=1)") in flat
    for line in ("a gan.losses spec NAME[:key=value,...]", "wgan-gp wgan + gp penalty (weight 10)",
                 "dragan ns + dragan penalty (weight 10)"):
        assert line in flat, line
    assert "(default: None)" not in text
    assert "results/mode_coverage[_<preset>, none for the default]" in " ".join(text.split())
    assert "quick: seeds=6, epochs=10" in " ".join(text.split())
    assert "(default: auto)" in text


def test_paper_defaults():
    cfg = mc.ModeCoverageConfig()
    v = cfg.variants()
    assert len(v) == 10 and cfg.seeds == 40 and cfg.epochs == 400
    c = v[0].config
    assert (c.g_width, c.d_width, c.g_depth, c.batch_size, c.options.lr_g, c.betas) == (400, 200, 4, 128, 1e-4, (0.9, 0.99))
    # the authors' code: fixed latents reshuffled with the data, the G step reusing the D step's z, LeakyReLU(0.2) D
    assert (c.latents, c.g_latents, c.d_activation, c.n_eval) == ("fixed", "reuse", "leaky_relu", 25_000)
    assert (c.n_train, c.n_eval, c.mixture.n_components) == (50_000, 25_000, 8)
    assert np.allclose(c.mixture.covs, 1e-4 * np.eye(2)) and np.allclose(np.linalg.norm(c.mixture.means, axis=1), 1)


def test_parallel_jobs_write_the_serial_table(tmp_path):
    assert_jobs_match_serial(mc.main, TINY, mc.TABLE, tmp_path)
    assert json.loads((tmp_path / "jobs2" / "run.json").read_text())["run_options"]["jobs"] == 2


def test_cpu_preset_resolves_and_records_its_scheme():
    inv = engine.parse(mc.STUDY, ["--preset", "cpu", "--seeds", "41"])
    cfg = inv.config
    assert inv.out.name == "mode_coverage_cpu" and cfg.seeds == 41 and cfg.epochs == mc.CPU_PRESET["epochs"]
    assert (cfg.latents, cfg.g_latents) == ("fixed", "reuse") and len(cfg.variants()) == 2 * len(mc.CPU_PRESET["losses"])
    assert cfg.lr_schedule == "cosine" and {v.config.options.lr_schedule for v in cfg.variants()} == {"cosine"}
    quick = engine.parse(mc.STUDY, ["--quick"]).config
    assert (quick.latents, quick.g_latents) == ("fresh", "fresh")  # the committed quick run's scheme
    assert engine.parse(mc.STUDY, ["--preset", "cpu", "--lr-schedule", "constant"]).config.lr_schedule == "constant"


def test_schedule_choices_are_the_registry():
    from gan.schedules import LR_SCHEDULES
    assert set(typing.get_args(typing.get_type_hints(mc.ModeCoverageConfig)["lr_schedule"])) == set(LR_SCHEDULES)


def test_stable_fraction_counts_seeds_whose_modes_stop_changing():
    rows = []
    for seed, trace in ((0, [1, 3, 5, 5, 5, 5]), (1, [2, 4, 6, 7, 6, 7]), (2, [0, 0, 8, 8, 8, 8]),
                        (3, [5, 5, 5, 5, 4, 4])):
        rows += [{"seed": seed, "epoch": 2 * e, "metric": "modes_captured", "value": v} for e, v in enumerate(trace)]
    # epochs 0..10: the last 20% are epochs >= 8, i.e. the last two evaluations: seeds 0, 2 and 3 are constant there
    assert mc.stable_fraction(pd.DataFrame(rows)) == 0.75


@pytest.mark.parametrize("rule", ["veegan", "share"])
def test_mode_rule_is_an_option_and_a_column(rule, tmp_path):
    argv = [*TINY, "--losses", "ns", "--beta2s", "0.99", "--mode-rule", rule, "--out", str(tmp_path)]
    assert mc.main(argv) == 0
    t = pd.read_csv(tmp_path / mc.TABLE)
    assert set(t.mode_rule) == {rule}
    assert json.loads((tmp_path / "run.json").read_text())["config"]["mode_rule"] == rule


def test_figures_drawn_by_two_processes_are_the_serial_ones(run, tmp_path):
    """--jobs 2 draws the figures two at a time in forked processes (studies.common.draw_figures): the files are the
    ones a serial run writes, byte for byte."""
    import shutil

    shutil.copytree(run, tmp_path / "a")
    shutil.copytree(run, tmp_path / "b")
    assert mc.main(TINY + ["--plot-only", "--out", str(tmp_path / "a")]) == 0
    for p in (tmp_path / "b").glob("*.png"):
        p.unlink()
    assert mc.main(TINY + ["--plot-only", "--jobs", "2", "--out", str(tmp_path / "b")]) == 0
    pngs = sorted(p.name for p in (tmp_path / "a").glob("*.png"))
    assert len(pngs) == 3
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in pngs)
