"""studies.estimators: a tiny run of every kind of unit and of main, the table's exact values, --plot-only."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from studies import estimators as mod
from toy.catalogue import exact_value

ARGS = ["--pairs", "overlap_1d", "grid_shift", "--objectives", "vanilla", "fgan_kl", "wgan_clip", "wgan_gp",
        "--sizes", "50", "200", "--widths", "4", "8", "--steps", "30", "--seeds", "2", "--n-test", "400",
        "--n-projections", "20", "--jobs", "1", "--dpi", "30"]


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
    assert meta["extra"]["figures"][0] == "estimates_vs_exact.png"


@pytest.mark.slow
def test_plot_only(run, tmp_path):
    out, _, _ = run
    (tmp_path / mod.TABLE).write_bytes((out / mod.TABLE).read_bytes())
    assert mod.main(["--out", str(tmp_path), "--plot-only", *ARGS]) == 0
    assert (tmp_path / "summary.md").read_text() == (out / "summary.md").read_text()


def test_sample_unit_uses_the_catalogue_streams():
    cfg = mod.EstimatorsConfig(pairs=("overlap_1d",), objectives=("vanilla",), sample_estimators=("w1_ot",),
                               sizes=(40,), seeds=2)
    unit = [u for u in mod.units(cfg) if u["config"]["kind"] == "sample"][0]
    rows = mod.run_unit(unit)
    from toy.catalogue import draws
    from toy.sample_estimators import w1_ot

    want = [w1_ot(x, y) for x, y in draws("overlap_1d", 40, 2, seed=0)]
    assert [r["value"] for r in rows] == want


@pytest.mark.parametrize("kw,match", [({"pairs": ("nope",)}, "pairs"), ({"sizes": (1000, 100)}, "increasing"),
                                       ({"objectives": ("hinge",)}, "objectives"), ({"n_test": 11}, "even")])
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        mod.EstimatorsConfig(**kw)
