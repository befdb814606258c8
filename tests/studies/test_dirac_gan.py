"""studies.dirac_gan: a tiny run of its units and main (through the study engine), the table's checks, --plot-only,
reuse of stored units, bad configs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from studies import dirac_gan as mod
from studies import engine

TINY = ["--losses", "ns", "--jacobian-only-losses", "none", "--regularizers", "none", "r1", "--steps", "20",
        "--overview-losses", "ns", "--dpi", "20", "--streams-dpi", "20", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dirac_gan")
    argv = ["--out", str(out), "--losses", "minimax", "wgan", "alpha:alpha=2", "--jacobian-only-losses",
            "fgan_kl:g_form=saturating", "--regularizers", "none", "r1", "gp", "instance_noise", "--steps", "60",
            "--overview-losses", "minimax", "wgan", "--jobs", "1", "--dpi", "30", "--streams-dpi", "30", "--no-progress"]
    assert mod.main(argv) == 0
    return out, pd.read_csv(out / mod.TABLE), json.loads((out / "run.json").read_text())


@pytest.mark.slow
def test_outputs(run):
    out, df, meta = run
    names = {p.name for p in out.iterdir()}
    assert {"dirac_gan.csv", "dirac_overview.png", "dirac_overview.md", "dirac_eigenvalues.png",
            "dirac_eigenvalues.md", "eigenvalues.md", "summary.md", "run.json", "dirac_streams.md"} <= names
    assert {f"dirac_streams_{r}.png" for r in ("none", "r1", "gp", "instance_noise")} <= names
    assert list(df.columns) == mod.COLUMNS
    assert set(df["objective"]) == {"minimax", "wgan", "alpha:alpha=2", "fgan_kl:g_form=saturating"}
    assert meta["config"]["steps"] == 60 and meta["extra"]["figures"][0] == "dirac_overview.png"
    assert meta["files"]["dirac_gan.csv"]["bytes"] == (out / mod.TABLE).stat().st_size
    # Jacobian-only objectives have no runs
    jo = df[df["objective"] == "fgan_kl:g_form=saturating"]
    assert not jo["metric"].isin(["verdict", "theta"]).any() and jo["metric"].eq("rho_measured").any()


@pytest.mark.slow
def test_table_checks(run):
    _, df, meta = run
    checks = meta["extra"]["summary"]
    assert checks["jacobian_max_abs_diff"] <= 1e-10  # the requirement (see tests/toy/test_dirac.py for why)
    for method in ("sim_gd", "alt_gd"):
        assert checks[f"{method}_geo_max_abs_diff"] <= 1e-9
    assert checks["mescheder_verdicts"]["minimax/none/sim_gd"] == "diverges"
    assert checks["mescheder_verdicts"]["minimax/r1/alt_gd"] == "converges"
    gp = df[(df["regularizer"] == "gp") & (df["metric"].str.startswith("v_psi"))].set_index(["objective", "metric"])
    assert abs(gp.loc[("minimax", "v_psi_plus_autograd"), "value"] - 2.0) <= 1e-5  # +2λ above ψ = 0 (λ = 1)
    assert not (df[(df["regularizer"] == "gp") & (df["metric"] == "rho_measured")]).any().any()


@pytest.mark.slow
def test_plot_only_redraws_from_the_table(run, tmp_path):
    out, df, _ = run
    for name in (mod.TABLE, "run.json"):
        shutil.copy(out / name, tmp_path / name)
    argv = ["--out", str(tmp_path), "--plot-only", "--losses", "minimax", "wgan", "alpha:alpha=2",
            "--jacobian-only-losses", "fgan_kl:g_form=saturating", "--regularizers", "none", "r1", "gp",
            "instance_noise", "--overview-losses", "minimax", "--dpi", "30"]
    assert mod.main(argv) == 0
    assert (tmp_path / "dirac_overview.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "summary.md").read_text() == (out / "summary.md").read_text()


def test_units_are_pure_and_labelled():
    cfg = mod.DiracGanConfig(losses=("ns",), jacobian_only_losses=("none",), regularizers=("consensus",),
                             overview_losses=("ns",), steps=20)
    (variant,) = mod.variants(cfg)
    assert dict(variant.labels) == {"objective": "ns", "regularizer": "consensus"}
    rows = mod.unit_rows(variant.config)
    assert rows == mod.unit_rows(variant.config)  # same seed, same rows
    df = pd.DataFrame(rows)
    assert list(df.columns) == mod.COLUMNS[2:]  # the labels lead the table (the engine adds them)
    j = df[df["metric"].str.match(r"J\d\d_(closed|autograd)")].pivot_table(index="metric", values="value")
    assert np.allclose(j.loc[["J00_closed", "J11_closed"], "value"], -0.25, rtol=0, atol=1e-15)  # −γ/4, γ = 1


@pytest.mark.parametrize("kw,match", [({"losses": ("nope",)}, "unknown name"), ({"losses": ("alpha:alpha",)}, "key=value"),
                                       ({"regularizers": ("dropout",)}, "regularizers"),
                                       ({"overview_losses": ("ns",), "losses": ("minimax",)}, "overview"),
                                       ({"noise_batch": 3}, "even"), ({"momentum": 1.0}, "momentum")])
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        mod.DiracGanConfig(**kw)


def test_loss_specs():
    assert mod.parse_loss("alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2") == ("alpha_d_alpha_g", {"alpha_d": 0.5, "alpha_g": 1.2})
    assert mod.parse_loss("fgan_kl:g_form=saturating") == ("fgan_kl", {"g_form": "saturating"})
    assert mod.loss_label("fgan_kl:g_form=saturating") == "f-GAN kl (sat.)"


def test_rerun_reuses_the_stored_units_and_plot_only_redraws(tmp_path, capsys):
    """Engine contract, CI-sized: a rerun trains nothing and keeps run.json; --plot-only redraws from the table."""
    out = tmp_path / "dirac"
    assert mod.main(TINY + ["--out", str(out)]) == 0
    table, meta = (out / mod.TABLE).read_bytes(), (out / "run.json").read_text()
    assert json.loads(meta)["runs"]["computed_in_this_invocation"] == 2
    parts = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/part-*.part")}
    assert len(parts) == 2
    capsys.readouterr()
    assert mod.main(TINY + ["--out", str(out)]) == 0
    assert "2 units (2 configurations): 2 reused, 0 resume, 0 new" in capsys.readouterr().err
    assert (out / mod.TABLE).read_bytes() == table and (out / "run.json").read_text() == meta
    assert all(p.stat().st_mtime_ns == m for p, m in parts.items())
    (out / "dirac_overview.png").unlink()
    (out / "summary.md").unlink()
    assert mod.main(TINY + ["--out", str(out), "--plot-only"]) == 0
    assert (out / "dirac_overview.png").read_bytes()[:4] == b"\x89PNG" and (out / "summary.md").exists()
    assert (out / mod.TABLE).read_bytes() == table and (out / "run.json").read_text() == meta
    # one more regularizer: only its unit is computed
    assert mod.main(TINY[:5] + ["none", "r1", "r2"] + TINY[7:] + ["--out", str(out)]) == 0
    assert json.loads((out / "run.json").read_text())["runs"]["computed_in_this_invocation"] == 1


def test_quick_preset_and_command_line_errors(capsys):
    inv = engine.parse(mod.STUDY, ["--quick", "--steps", "30"])
    assert inv.config.steps == 30 and inv.config.losses == mod.PRESETS["quick"]["losses"]
    assert inv.out.name == "dirac_gan_quick" and engine.parse(mod.STUDY, []).out.name == "dirac_gan"
    with pytest.raises(SystemExit) as exc:
        mod.main(["--losses", "nope", "--out", "/tmp/distmatch-never-written"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m studies.dirac_gan: error: loss 'nope': unknown name") and "Traceback" not in "".join(err)


def test_loss_spelling_is_gan_losses():
    from gan.losses import parse_loss_spec

    for spec in (*mod.DEFAULT_LOSSES, *mod.DEFAULT_JACOBIAN_ONLY):
        assert mod.parse_loss(spec) == parse_loss_spec(spec)
