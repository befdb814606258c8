"""studies.common and the engine's command line: config -> CLI, atomic writers, run.json provenance;
``python -m studies`` listing."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import pandas as pd
import pytest

from studies import common, engine
from studies.common import (RunTimer, git_revision, json_safe, pyplot, savefig_atomic, write_atomic, write_csv_atomic,
                            write_json_atomic, write_run_json)

REPO = Path(__file__).resolve().parents[2]


def demo_study(config_cls, presets=None, run_name=None, default_preset=None) -> engine.Study:
    """A study named ``demo`` around ``config_cls`` (only its command line is used here)."""
    attrs = {"__module__": "studies.demo", "name": "demo", "description": "demo study", "config_cls": config_cls,
             "table": "demo.csv",
             "presets": presets or {}, "default_preset": default_preset}
    if run_name is not None:
        attrs["run_name"] = lambda self, cfg: run_name(cfg)
    return type("Demo", (engine.Study,), attrs)()


def parse_config(config_cls, argv, presets=None, run_name=None, default_preset=None):
    """(config, output directory) of ``argv`` for the demo study."""
    inv = engine.parse(demo_study(config_cls, presets, run_name, default_preset), argv)
    return inv.config, inv.out


def build_parser(config_cls, **kw):
    return engine.build_parser(demo_study(config_cls, **kw))


@dataclass(frozen=True)
class DemoConfig:
    n_steps: int = 10
    lr: float = 1e-3
    name: str = "demo"
    use_ema: bool = False
    plot: bool = True
    alphas: tuple[float, ...] = field(default=(0.5, math.inf), metadata={"allow_inf": True})
    seed: Optional[int] = None
    loss: Literal["vanilla", "hinge"] = "vanilla"
    tag: str = field(default="x", metadata={"help": "a tag"})

    def __post_init__(self):
        if self.n_steps < 1:
            raise ValueError(f"n_steps must be >= 1; got {self.n_steps}")


def _no_temp_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------- CLI
def test_cli_defaults_and_out():
    cfg, out = parse_config(DemoConfig, [])
    assert cfg == DemoConfig()
    assert out == Path("results") / "demo"


def test_cli_overrides_all_kinds():
    argv = ["--n-steps", "7", "--lr", "0.5", "--name", "b", "--use-ema", "--no-plot", "--alphas", "1", "2", "inf",
            "--seed", "3", "--loss", "hinge", "--tag", "y", "--out", "somewhere/else"]
    cfg, out = parse_config(DemoConfig, argv)
    assert cfg == DemoConfig(n_steps=7, lr=0.5, name="b", use_ema=True, plot=False, alphas=(1.0, 2.0, math.inf),
                             seed=3, loss="hinge", tag="y")
    assert isinstance(cfg.alphas, tuple)  # lists from argparse are turned back into tuples (hashable config)
    hash(cfg)
    assert out == Path("somewhere/else")
    cfg2, _ = parse_config(DemoConfig, ["--seed", "none"])
    assert cfg2.seed is None


@pytest.mark.parametrize("argv", [["--n-steps", "x"], ["--loss", "wgan"], ["--n-steps", "0"], ["--bogus", "1"]])
def test_cli_rejects_bad_values(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_config(DemoConfig, argv)
    assert exc.value.code == 2
    if argv[:2] == ["--n-steps", "0"]:  # the config's own validation message reaches the user
        assert "n_steps must be >= 1" in capsys.readouterr().err


def test_cli_help_mentions_every_field():
    text = build_parser(DemoConfig).format_help()
    for opt in ("--n-steps", "--lr", "--name", "--use-ema", "--no-use-ema", "--alphas", "--seed", "--loss", "--tag",
                "--out"):
        assert opt in text
    assert "a tag" in text


def test_cli_rejects_reserved_and_unsupported_fields():
    @dataclass(frozen=True)
    class HasOut:
        out: str = "x"

    @dataclass(frozen=True)
    class HasDict:
        table: dict = field(default_factory=dict)

    with pytest.raises(TypeError, match="out"):
        build_parser(HasOut)
    with pytest.raises(TypeError, match="command-line form"):
        build_parser(HasDict)


# ----------------------------------------------------------------------------- atomic writes
def test_write_atomic_creates_and_replaces(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    write_atomic(target, "first")
    assert target.read_text() == "first"
    write_atomic(target, b"second \xe2\x9c\x93")
    assert target.read_bytes() == b"second \xe2\x9c\x93"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]  # no temporary file left behind
    mask = os.umask(0)
    os.umask(mask)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~mask)  # not mkstemp's 0600


def test_write_atomic_failure_keeps_old_file_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    write_atomic(target, "old")

    def boom(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(common.os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        write_atomic(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert _no_temp_files(tmp_path)
    with pytest.raises(TypeError):
        write_atomic(target, 3.0)


def test_write_csv_atomic_round_trips(tmp_path):
    df = pd.DataFrame({"g": ["a", "b", "c"], "alpha": [np.nan, 0.1, math.inf], "v": [1 / 3, -2e-300, 1e308]})
    path = write_csv_atomic(df, tmp_path / "t.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == ["g", "alpha", "v"]
    assert np.isnan(back["alpha"][0]) and back["alpha"][1] == 0.1 and np.isinf(back["alpha"][2])
    assert back["v"].tolist() == df["v"].tolist()  # floats are written with round-trip precision
    write_csv_atomic(df.iloc[:1], path)  # replaces
    assert len(pd.read_csv(path)) == 1
    assert _no_temp_files(tmp_path)


def test_savefig_atomic_writes_png(tmp_path):
    plt = pyplot()
    import matplotlib

    assert matplotlib.get_backend().lower() == "agg"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    path = savefig_atomic(fig, tmp_path / "f.png", dpi=30)
    plt.close(fig)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _no_temp_files(tmp_path)


def test_json_safe_is_strict_json(tmp_path):
    obj = {"a": math.inf, "b": -math.inf, "c": math.nan, "d": (1, 2.5), "e": np.float64(0.25), "f": np.int64(3),
           "g": Path("x/y"), "h": np.array([1.0, np.inf]), "i": DemoConfig()}
    safe = json_safe(obj)
    text = json.dumps(safe, allow_nan=False)  # raises if any NaN/Infinity token remained
    assert safe["a"] == "inf" and safe["b"] == "-inf" and safe["c"] == "nan"
    assert safe["d"] == [1, 2.5] and safe["e"] == 0.25 and safe["f"] == 3 and isinstance(safe["f"], int)
    assert safe["g"] == "x/y" and safe["h"] == [1.0, "inf"] and safe["i"]["alphas"] == [0.5, "inf"]
    write_json_atomic(obj, tmp_path / "o.json")
    assert json.loads((tmp_path / "o.json").read_text()) == json.loads(text)


# ----------------------------------------------------------------------------- provenance
RUN_KEYS = {"study", "config", "seeds", "versions", "git_revision", "git_dirty", "device", "hostname", "started_at",
            "ended_at", "wall_time_s", "extra"}


def test_write_run_json(tmp_path):
    timer = RunTimer()
    wall = timer.stop()
    assert wall >= 0 and timer.stop() == wall  # idempotent
    path = write_run_json(tmp_path, DemoConfig(), seeds=[0, 1], wall_time=wall, extra={"x": math.inf},
                          study="demo", timer=timer)
    meta = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON token {c}"))
    assert RUN_KEYS <= set(meta)
    assert meta["config"]["alphas"] == [0.5, "inf"] and meta["config"]["n_steps"] == 10
    assert meta["seeds"] == [0, 1] and meta["device"] == "cpu" and meta["extra"] == {"x": "inf"}
    assert meta["started_at"] == timer.started_at and meta["ended_at"] == timer.ended_at
    for pkg in ("python", "numpy", "scipy", "matplotlib", "distmatch"):
        assert pkg in meta["versions"]
    rev = meta["git_revision"]
    assert rev == "unknown" or re.fullmatch(r"[0-9a-f]{40}", rev)
    assert _no_temp_files(tmp_path)


def test_run_json_without_timer_and_bad_config(tmp_path):
    meta = json.loads(write_run_json(tmp_path, DemoConfig(), [], wall_time=2.0).read_text())
    assert meta["wall_time_s"] == 2.0 and meta["started_at"] < meta["ended_at"]
    with pytest.raises(TypeError):
        write_run_json(tmp_path, {"not": "a dataclass"}, [], 0.0)


def test_git_revision_outside_a_checkout(tmp_path):
    assert git_revision(tmp_path) == ("unknown", None)


def test_torch_is_not_imported_for_versions():
    code = "import sys; from studies.common import package_versions; package_versions(); print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


# ----------------------------------------------------------------------------- python -m studies
def test_python_m_studies_lists_the_studies():
    res = subprocess.run([sys.executable, "-m", "studies"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    for name in ("toy_gradients", "alpha_sweep", "mode_coverage", "loss_comparison", "dirac_gan", "disjoint_supports",
                 "estimators"):
        line = next((ln for ln in lines if ln.split() and ln.split()[0] == name), None)
        assert line is not None, res.stdout
        assert len(line.split(maxsplit=1)) == 2  # a description follows the name
    assert not any(ln.split() and ln.split()[0] == "common" for ln in lines)


# ----------------------------------------------------------------------------- help text, device option, errors
@dataclass(frozen=True)
class HelpConfig:
    width: int | None = field(default=None, metadata={"help": "G width (default: the architecture's)"})
    losses: tuple[str, ...] = field(default=("ns", "minimax"), metadata={"help": "losses"})
    extra: tuple[str, ...] = field(default=(), metadata={"help": "KEY=VALUE items"})
    scale: float = field(default=1.0, metadata={"help": "a scale"})


def _help(**kw) -> str:
    return " ".join(build_parser(HelpConfig, **kw).format_help().split())


def test_help_shows_each_default_once_as_typed():
    text = _help()
    assert "(default: None)" not in text
    assert "G width (default: the architecture's)" in text  # a None default says in words what it means, once
    assert "losses (default: ns minimax)" in text and "KEY=VALUE items (default: none)" in text
    assert "torch device: auto (CUDA when available, else the CPU), cpu, cuda or cuda:N; resolved where each unit " \
           "runs (default: auto)" in text
    assert "(default: results/demo)" in text
    raw = build_parser(HelpConfig).format_help()
    for block in raw.split("\n  --")[1:]:  # one option's help each
        assert " ".join(block.split()).count("(default") <= 1, block


def test_help_shows_the_real_output_directory_and_the_presets(capsys):
    with pytest.raises(SystemExit):
        parse_config(HelpConfig, ["--help"], presets={"quick": {"scale": 2.0}, "paper": {}}, run_name=lambda c: "x",
                     default_preset="paper")
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: results/demo_<run name>[_<preset>, none for the default])" in text
    assert "quick: scale=2.0" in text and "paper: the values shown above [used when no preset is named]" in text
    assert "explicit options override a preset's values" in text


def test_presets_resolve_and_explicit_options_override_them():
    presets = {"quick": {"scale": 2.0, "width": 8}, "paper": {}}
    cfg, out = parse_config(HelpConfig, ["--quick", "--width", "3"], presets=presets, default_preset="paper")
    assert (cfg.scale, cfg.width, out) == (2.0, 3, Path("results/demo_quick"))
    cfg, out = parse_config(HelpConfig, ["--preset", "quick"], presets=presets, default_preset="paper")
    assert (cfg.scale, cfg.width, out) == (2.0, 8, Path("results/demo_quick"))
    cfg, out = parse_config(HelpConfig, [], presets=presets, default_preset="paper")
    assert (cfg.scale, cfg.width, out) == (1.0, None, Path("results/demo"))


@pytest.mark.parametrize("argv, words", [
    (["--scale", "inf"], ["argument --scale", "'inf'", "must be a finite number"]),
    (["--scale", "nan"], ["argument --scale", "'nan'", "must be a finite number"]),
    (["--jobs", "0"], ["--jobs must be a positive integer; got 0"]),
    (["--cpus-per-job", "2"], ["--cpus-per-job applies to --executor ray only"]),
    (["--executor", "ray", "--jobs", "2"], ["--jobs applies to --executor local"]),
    (["--executor", "dask"], ["argument --executor", "invalid choice"]),
])
def test_bad_options_are_one_line_errors(argv, words, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_config(HelpConfig, argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert line.startswith("python -m studies.demo: error: ") and "Traceback" not in err
    for w in words:
        assert w in line, (w, line)


@pytest.mark.parametrize("argv, words", [
    (["--device", "gpu"], ["argument --device", "unknown device 'gpu'", "allowed: auto, cpu, cuda, cuda:N"]),
    (["--device", "cuda:0" if not __import__("torch").cuda.is_available() else "cuda:99"],
     ["argument --device", "allowed"]),
])
def test_device_option_is_checked_when_parsed(argv, words, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_config(HelpConfig, argv)
    assert exc.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("python -m studies.demo: error: ")
    for w in words:
        assert w in line
    inv = engine.parse(demo_study(HelpConfig), ["--device", "CPU"])
    assert inv.options.device == "cpu" and engine.parse(demo_study(HelpConfig), []).options.device == "auto"


def test_cli_error_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        common.cli_error("demo", "--data-root: not there")
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == "python -m studies.demo: error: --data-root: not there"


def test_run_json_records_computed_and_reused_runs(tmp_path):
    runs = common.runs_record(requested=10, computed=4, resumed=1)
    assert runs == {"requested": 10, "computed_in_this_invocation": 4, "reused_from_earlier_invocations": 6,
                    "resumed_from_checkpoint": 1}
    meta = json.loads(write_run_json(tmp_path, DemoConfig(), [0], 1.0, runs=runs).read_text())
    assert meta["runs"] == runs and meta["wall_time_s"] == 1.0
    assert "runs" not in json.loads(write_run_json(tmp_path, DemoConfig(), [0], 1.0).read_text())
    for bad in (dict(requested=2, computed=3), dict(requested=2, computed=1, resumed=2), dict(requested=-1, computed=0),
                dict(requested=2.0, computed=1)):
        with pytest.raises(ValueError):
            common.runs_record(**bad)


def test_draw_figures_runs_every_task_and_raises_a_task_error(tmp_path):
    from studies.common import draw_figures

    tasks = [lambda i=i: (tmp_path / f"f{i}").write_text(str(i)) for i in range(5)]
    draw_figures(tasks, jobs=2)
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == [str(i) for i in range(5)]

    def broken() -> None:
        raise ValueError("figure 3 has no data")

    with pytest.raises(ValueError, match="figure 3 has no data"):
        draw_figures([tasks[0], broken], jobs=2)
    with pytest.raises(ValueError, match="figure 3 has no data"):
        draw_figures([broken], jobs=1)
