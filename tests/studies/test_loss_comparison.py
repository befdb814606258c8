"""studies.loss_comparison: grid construction, outputs, ranking recomputed from the table, 1D analytic metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from studies import loss_comparison as lc
from studies import engine
from tests.helpers import assert_jobs_match_serial

TINY = ["--seeds", "2", "--epochs", "1", "--n-train", "640", "--losses", "ns", "wgan-gp", "lsgan", "--regularizers",
        "none", "sn", "gp", "--lrs", "1e-3", "--adam-betas", "0.5/0.999", "--n-dis", "1", "--width", "16", "--depth",
        "2", "--n-eval", "500", "--n-fit", "500", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("loss_comparison")
    assert lc.main(TINY + ["--out", str(out)]) == 0
    return out


def test_grid_has_only_meaningful_regularizers():
    cfg = engine.parse(lc.STUDY, TINY).config
    cells = {(v.labels["loss"], v.labels["reg"]) for v in cfg.variants()}
    # wgan-gp already has its gradient penalty: no second one; sn and none apply to all three
    assert cells == {("ns", "none"), ("ns", "sn"), ("ns", "gp"), ("wgan-gp", "none"), ("wgan-gp", "sn"),
                     ("lsgan", "none"), ("lsgan", "sn"), ("lsgan", "gp")}
    assert not lc.regularizer_applies("wgan-clip", "sn") and not lc.regularizer_applies("dragan", "gp")
    assert lc.regularizer_applies("wgan", "sn") and lc.regularizer_applies("wgan", "gp")  # the bare objective
    c = {v.labels["loss"]: v.config for v in cfg.variants() if v.labels["reg"] == "none"}
    assert c["wgan-gp"].options.penalty == "gp" and c["wgan-gp"].loss == "wgan"
    full = lc.LossComparisonConfig()
    assert {v.labels["problem"] for v in full.variants()} == {"ring", "grid", "toy1d"}
    wgan = [v.config for v in full.variants() if v.labels["loss"] == "wgan-clip"]
    assert wgan and all(c.options.clip == 0.01 and not c.options.spectral_norm for c in wgan)


def test_outputs_and_schema(run):
    for name in (lc.TABLE, "ranking.csv", "ranking.md", "box_best.png", "box_grid.png", "heatmap_ring.png",
                 "heatmap_grid.png", "heatmap_toy1d.png", "run.json"):
        assert (run / name).stat().st_size > 0, name
    t = pd.read_csv(run / lc.TABLE)
    assert list(t.columns) == ["problem", "loss", "reg", "lr", "beta1", "beta2", "n_dis", "config_key", "seed",
                               "epoch", "metric", "value"]
    assert t.config_key.nunique() == 8 * 3
    assert not t.duplicated(["config_key", "seed", "epoch", "metric"]).any()
    assert t[t.metric == "hq_fraction"].value.between(0, 1).all()


def test_ranking_matches_an_independent_recomputation(run):
    t = pd.read_csv(run / lc.TABLE)
    rank = pd.read_csv(run / "ranking.csv")
    n_modes = {"ring": 8, "grid": 25, "toy1d": 2}
    last = t[(t.epoch == 1) & (t.metric == "modes_captured")].copy()
    last["frac"] = last.value / last.problem.map(n_modes)
    for (problem, loss), g in last.groupby(["problem", "loss"]):
        best = g.groupby("config_key").frac.mean().max()
        row = rank[(rank.problem == problem) & (rank.loss == loss)].iloc[0]
        assert abs(row.modes_fraction - best) <= 1e-12
    for problem, g in rank.groupby("problem"):
        assert list(g["rank"]) == list(range(1, len(g) + 1))
        assert (np.diff(g.modes_fraction) <= 1e-12).all()


def test_one_dimensional_analytic_metrics(run):
    t = pd.read_csv(run / lc.TABLE)
    fit = t[(t.problem == "toy1d") & t.metric.str.endswith("_fit")]
    jsd = fit[fit.metric == "jsd_fit"].value
    assert len(jsd) == 8 * 2 and ((jsd >= 0) & (jsd <= math.log(2) + 1e-9)).all()
    assert (fit[fit.metric == "w1_fit"].value >= 0).all()
    dstar = fit[fit.metric == "d_star_l2_fit"]
    assert dstar[dstar.loss == "wgan-gp"].value.isna().all()  # a critic: no pointwise D*
    assert dstar[dstar.loss.isin(["ns", "lsgan"])].value.between(0, 2).all()
    assert t[(t.problem != "toy1d") & t.metric.str.endswith("_fit")].empty


def test_bad_options(capsys):
    with pytest.raises(SystemExit):
        lc.main(["--adam-betas", "0.5", "--no-progress"])
    assert "b1/b2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        lc.main(["--losses", "nope", "--no-progress"])


def test_parallel_jobs_write_the_serial_table(tmp_path):
    # functools.partial post-processing (the 1D analytic metrics) must reach the workers: the toy1d problem
    argv = TINY[:TINY.index("--losses")] + ["--losses", "ns", "lsgan", "--regularizers", "none", "--problems", "toy1d",
                                           *TINY[TINY.index("--lrs"):]]
    assert_jobs_match_serial(lc.main, argv, lc.TABLE, tmp_path)
