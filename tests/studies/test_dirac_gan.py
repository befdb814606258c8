"""studies.dirac_gan: a tiny run of its units and main, the table's checks, --plot-only, bad configs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from studies import dirac_gan as mod


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dirac_gan")
    argv = ["--out", str(out), "--losses", "minimax", "wgan", "alpha:alpha=2", "--jacobian-only-losses",
            "fgan_kl:g_form=saturating", "--regularizers", "none", "r1", "gp", "instance_noise", "--steps", "60",
            "--overview-losses", "minimax", "wgan", "--jobs", "1", "--dpi", "30", "--streams-dpi", "30"]
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
    # Jacobian-only objectives have no runs
    jo = df[df["objective"] == "fgan_kl:g_form=saturating"]
    assert not jo["metric"].isin(["verdict", "theta"]).any() and jo["metric"].eq("rho_measured").any()


@pytest.mark.slow
def test_table_checks(run):
    _, df, meta = run
    checks = meta["extra"]
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
    (tmp_path / mod.TABLE).write_bytes((out / mod.TABLE).read_bytes())
    argv = ["--out", str(tmp_path), "--plot-only", "--losses", "minimax", "wgan", "alpha:alpha=2",
            "--jacobian-only-losses", "fgan_kl:g_form=saturating", "--regularizers", "none", "r1", "gp",
            "instance_noise", "--overview-losses", "minimax", "--dpi", "30"]
    assert mod.main(argv) == 0
    assert (tmp_path / "dirac_overview.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "summary.md").read_text() == (out / "summary.md").read_text()


def test_units_are_pure_and_labelled():
    cfg = mod.DiracGanConfig(losses=("ns",), jacobian_only_losses=("none",), regularizers=("consensus",),
                             overview_losses=("ns",), steps=20)
    (unit,) = mod.units(cfg)
    rows = mod.run_unit(unit)
    assert rows == mod.run_unit(unit)  # same seed, same rows
    df = pd.DataFrame(rows)
    assert set(df["objective"]) == {"ns"} and set(df["regularizer"]) == {"consensus"}
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
