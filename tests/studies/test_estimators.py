"""studies.estimators: a tiny run of every kind of unit and of main (through the study engine), the table's exact
values, --plot-only, reuse of stored units."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from studies import engine
from studies import estimators as mod
from toy.catalogue import exact_value

ARGS = ["--pairs", "overlap_1d", "grid_shift", "--objectives", "vanilla", "fgan_kl", "wgan_clip", "wgan_gp",
        "--sizes", "50", "200", "--widths", "4", "8", "--steps", "30", "--seeds", "2", "--n-test", "400",
        "--n-projections", "20", "--jobs", "1", "--dpi", "30", "--no-progress"]
TINY = ["--pairs", "overlap_1d", "--objectives", "vanilla", "--sample-estimators", "w1_ot", "--sizes", "20",
        "--widths", "4", "--steps", "5", "--seeds", "2", "--n-test", "40", "--dpi", "20", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("estimators")
    assert mod.main(["--out", str(out), *ARGS]) == 0
    return out, pd.read_csv(out / mod.TABLE), json.loads((out / "run.json").read_text())


@pytest.mark.slow
def test_outputs_and_table(run):
    out, df, meta = run
    assert {"estimators.csv", "estimates_vs_exact.png", "error_vs_n.png", "d_star_l2.png", "d_vs_dstar_1d.png",
            "summary.md", "run.json"} <= {p.name for p in out.iterdir()}
    assert all((out / f"{n}.md").exists() for n in ("estimates_vs_exact", "error_vs_n", "d_star_l2", "d_vs_dstar_1d"))
    assert list(df.columns) == mod.COLUMNS
    ex = mod.exact_table(df)
    for (pair, div), v in ex.items():  # the exact values are the catalogue's (divergences')
        assert v == exact_value(pair, div) or (np.isinf(v) and np.isinf(exact_value(pair, div)))
    est = df[df["metric"] == "estimate"]
    assert set(est["estimator"]) == {"vanilla", "fgan_kl", "wgan_clip", "wgan_gp", "w1_ot", "sliced_w1", "knn_kl"}
    d = est[est["estimator"] == "vanilla"]
    assert len(d) == 2 * 2 * 2 * 2 and set(d["divergence"]) == {"js"}  # pairs × sizes × widths × seeds
    assert set(df[df["metric"] == "lipschitz"]["estimator"]) == {"wgan_clip"}
    l2 = df[df["metric"] == "d_star_l2"]
    assert "grid_shift" not in set(l2[l2["estimator"] == "wgan_gp"]["pair"])  # no 2D Kantorovich potential
    assert set(df[df["metric"] == "d_profile"]["pair"]) == {"overlap_1d"}  # profiles of 1D pairs only
    sc = mod.scores(df)
    assert {"bias", "sd", "rmse", "relative_rmse"} <= set(sc.columns)
    assert meta["extra"]["figures"][0] == "estimates_vs_exact.png" and meta["seeds"] == [0, 1]
    assert "vanilla/4" in meta["extra"]["summary"]["median_relative_rmse"]


@pytest.mark.slow
def test_plot_only(run, tmp_path):
    out, _, _ = run
    for name in (mod.TABLE, "run.json"):
        shutil.copy(out / name, tmp_path / name)
    assert mod.main(["--out", str(tmp_path), "--plot-only", *ARGS]) == 0
    assert (tmp_path / "summary.md").read_text() == (out / "summary.md").read_text()


def test_sample_unit_uses_the_catalogue_streams():
    cfg = mod.EstimatorsConfig(pairs=("overlap_1d",), objectives=("vanilla",), sample_estimators=("w1_ot",),
                               sizes=(40,), seeds=2)
    variant = [v for v in mod.variants(cfg) if v.config["kind"] == "sample"][0]
    rows = mod.unit_rows(variant.config, (0, 1)).to_dict(orient="records")
    from toy.catalogue import draws
    from toy.sample_estimators import w1_ot

    want = [w1_ot(x, y) for x, y in draws("overlap_1d", 40, 2, seed=0)]
    assert [r["value"] for r in rows] == want


@pytest.mark.parametrize("kw,match", [({"pairs": ("nope",)}, "pairs"), ({"sizes": (1000, 100)}, "increasing"),
                                       ({"objectives": ("hinge",)}, "objectives"), ({"n_test": 11}, "even")])
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        mod.EstimatorsConfig(**kw)


def test_rerun_reuses_the_stored_units_and_plot_only_redraws(tmp_path, capsys):
    """Engine contract, CI-sized: a sample unit and a critic unit holding both seeds, and the seedless exact unit; a
    rerun trains nothing and keeps run.json; --plot-only redraws from the table."""
    out = tmp_path / "estimators"
    assert mod.main(TINY + ["--out", str(out)]) == 0
    table, meta = (out / mod.TABLE).read_bytes(), (out / "run.json").read_text()
    df = pd.read_csv(out / mod.TABLE)
    assert list(df.columns) == mod.COLUMNS and list(dict.fromkeys(df["estimator"])) == ["w1_ot", "vanilla", "exact"]
    assert set(df["seed"].dropna()) == {0, 1} and df[df["estimator"] == "exact"]["seed"].isna().all()
    capsys.readouterr()
    assert mod.main(TINY + ["--out", str(out)]) == 0
    assert "5 runs (3 configurations × their seeds): 5 reused, 0 resume, 0 new" in capsys.readouterr().err
    assert (out / mod.TABLE).read_bytes() == table and (out / "run.json").read_text() == meta
    for name in ("estimates_vs_exact.png", "summary.md"):
        (out / name).unlink()
    assert mod.main(TINY + ["--out", str(out), "--plot-only"]) == 0
    assert (out / "estimates_vs_exact.png").read_bytes()[:4] == b"\x89PNG" and (out / "summary.md").exists()
    assert (out / mod.TABLE).read_bytes() == table and (out / "run.json").read_text() == meta


def test_quick_preset():
    inv = engine.parse(mod.STUDY, ["--quick", "--seeds", "3"])
    assert inv.config.seeds == 3 and inv.config.pairs == mod.PRESETS["quick"]["pairs"]
    assert inv.out.name == "estimators_quick" and engine.parse(mod.STUDY, []).config == mod.EstimatorsConfig()
