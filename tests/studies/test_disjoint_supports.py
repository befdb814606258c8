"""studies.disjoint_supports: the smoothed exact values (→ the disjoint ones as σ → 0, the 2D → 1D reduction,
an independent quadrature), a tiny run of the units and main (through the study engine), --plot-only, reuse of stored
units."""

from __future__ import annotations

import json
import math
import shutil

import mpmath
import numpy as np
import pandas as pd
import pytest

import divergences
from divergences import GaussianMixture
from studies import disjoint_supports as mod
from studies import engine

TINY = ["--objectives", "vanilla", "--train-sigmas", "0", "--exact-sigmas", "0.5", "--n-exact", "11",
        "--n-train-theta", "3", "--seeds", "2", "--steps", "5", "--n-train", "32", "--n-eval", "32", "--width", "4",
        "--dpi", "20", "--no-progress"]

LOG2 = math.log(2.0)


def test_smoothed_jsd_tends_to_log2_as_sigma_goes_to_zero():
    sigmas = [1.0, 0.5, 0.3, 0.2, 0.1, 0.05]
    gaps = [LOG2 - mod.smoothed(np.array([1.0]), s, 1e-4)["js"][0] for s in sigmas]
    assert all(g > 0 for g in gaps[:-1]) and all(a > b for a, b in zip(gaps, gaps[1:]) if b > 0)
    # θ/σ = 20 at σ = 0.05: the overlap is Φ(−10) ~ 1e-23, so JSD = log 2 to the cubature's rtol 1e-11
    assert abs(gaps[-1]) <= 1e-11
    # and TV → 1, KL = θ²/(2σ²), W1 = |θ| for every σ
    v = mod.smoothed(np.array([1.0]), 0.05, 1e-4)
    assert abs(v["tv"][0] - 1.0) <= 1e-11 and abs(v["kl"][0] - 200.0) <= 1e-8 and v["w1"][0] == 1.0


def test_smoothed_jsd_against_an_independent_quadrature():
    """JSD(N(0, σ²), N(θ, σ²)) by mpmath at 30 digits: the study's value (divergences) to 1e-10."""
    theta, sigma = 0.7, 0.5
    mpmath.mp.dps = 30
    p = lambda x: mpmath.npdf(x, 0, sigma)
    q = lambda x: mpmath.npdf(x, theta, sigma)
    m = lambda x: (p(x) + q(x)) / 2
    f = lambda x: 0.5 * (p(x) * mpmath.log(p(x) / m(x)) + q(x) * mpmath.log(q(x) / m(x)))
    want = float(mpmath.quad(f, [-mpmath.inf, theta / 2, mpmath.inf]))
    assert abs(mod.smoothed(np.array([theta]), sigma, 1e-4)["js"][0] - want) <= 1e-10


def test_the_shared_factor_integrates_out_in_2d():
    """The docstring's reduction: a 2D pair sharing its y-factor has the f-divergence of its x-factors (here with a
    Gaussian y-factor, which divergences integrates in 2D)."""
    s = 0.4
    P2 = GaussianMixture([1.0], [[0.0, 0.5]], [np.diag([s * s, 0.3**2])])
    Q2 = GaussianMixture([1.0], [[0.8, 0.5]], [np.diag([s * s, 0.3**2])])
    P1, Q1 = GaussianMixture.gaussian(0.0, s * s), GaussianMixture.gaussian(0.8, s * s)
    for fn in (divergences.jsd, divergences.kl, divergences.total_variation):
        assert abs(fn(P2, Q2) - fn(P1, Q1)) <= 1e-6  # 2D cubature rtol 1e-8 (TV 1e-7) on values ≤ 2


def test_exact_derivatives():
    th = np.array([-1.0, -0.3, 0.4, 1.2])
    v = mod.smoothed(th, 0.3, 1e-4)
    assert np.max(np.abs(v["d_kl"] - th / 0.09)) <= 1e-6  # KL = θ²/(2σ²); central difference: exact for a quadratic
    from scipy.stats import norm

    assert np.max(np.abs(v["d_tv"] - np.sign(th) * norm.pdf(th / 0.6) / 0.3)) <= 1e-6  # TV = 2Φ(|θ|/2σ) − 1
    u = mod.unsmoothed(np.array([-1.0, 0.0, 2.0]))
    assert u["js"].tolist() == [LOG2, 0.0, LOG2] and u["w1"].tolist() == [1.0, 0.0, 2.0]
    assert np.isinf(u["kl"][0]) and u["d_w1"].tolist() == [-1.0, 0.0, 1.0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("disjoint")
    argv = ["--out", str(out), "--steps", "60", "--seeds", "1", "--n-train-theta", "5", "--n-train", "256",
            "--n-eval", "256", "--n-exact", "21", "--width", "8", "--exact-sigmas", "0.3", "--dpi", "30", "--no-progress"]
    assert mod.main(argv) == 0
    return out, pd.read_csv(out / mod.TABLE), json.loads((out / "run.json").read_text())


@pytest.mark.slow
def test_outputs(run):
    out, df, meta = run
    assert {"disjoint_supports.png", "disjoint_gradients.png", "disjoint_supports.md", "disjoint_gradients.md",
            "summary.md", "run.json", mod.TABLE} <= {p.name for p in out.iterdir()}
    assert list(df.columns) == mod.COLUMNS
    grads = df[df["metric"] == "grad"]
    assert set(grads["loss"]) == {"minimax", "ns", "wgan", "wgan-gp", "hinge"}
    assert len(grads) == 5 * 2 * 5  # losses × training σ (0, 0.3) × θ grid × 1 seed
    assert np.all(np.isfinite(grads["value"]))
    assert meta["extra"]["figures"] == ["disjoint_supports.png", "disjoint_gradients.png"]
    assert meta["seeds"] == [0] and set(meta["extra"]["summary"]["gradients"]) >= {"minimax/sigma=0", "ns/sigma=0.3"}
    prof = df[df["metric"] == "d_profile"]
    assert set(prof["loss"]) == {"vanilla", "wgan", "wgan-gp", "hinge"} and len(prof) == 4 * 2 * 81


@pytest.mark.slow
def test_plot_only(run, tmp_path):
    out, _, _ = run
    for name in (mod.TABLE, "run.json"):
        shutil.copy(out / name, tmp_path / name)
    argv = ["--out", str(tmp_path), "--plot-only", "--seeds", "1", "--n-train-theta", "5", "--n-exact", "21",
            "--exact-sigmas", "0.3", "--dpi", "30"]
    assert mod.main(argv) == 0
    assert (tmp_path / "summary.md").read_text() == (out / "summary.md").read_text()


def test_units_and_targets():
    cfg = mod.DisjointConfig(objectives=("vanilla",), train_sigmas=(0.0,), exact_sigmas=(0.5,), n_exact=11,
                             n_train_theta=3, seeds=1, steps=5, n_train=32, n_eval=32, width=4)
    vs = mod.variants(cfg)
    assert [v.config["kind"] for v in vs] == ["trained", "exact", "exact"]
    assert [v.seed_list(mod.STUDY.seeds(cfg)) for v in vs] == [[0], [], []]
    df = pd.concat([mod.unit_rows(v.config, tuple(v.seed_list(range(cfg.seeds)))) for v in vs], ignore_index=True)
    assert list(df.columns) == mod.COLUMNS
    t = mod.target(df, "minimax", 0.5)
    assert np.allclose(t.to_numpy(), 2 * mod._exact(df, 0.5, "d_js").to_numpy(), rtol=0, atol=0)
    assert set(df[df["metric"] == "grad"]["loss"]) == {"minimax", "ns"}  # one vanilla D, both generator losses


@pytest.mark.parametrize("kw,match", [({"n_exact": 10}, "odd"), ({"objectives": ("hinge", "hinge")}, "distinct"),
                                       ({"train_sigmas": (-0.1,)}, ">= 0"), ({"exact_sigmas": (0.0,)}, "> 0")])
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        mod.DisjointConfig(**kw)


def test_rerun_reuses_the_stored_units_and_plot_only_redraws(tmp_path, capsys):
    """Engine contract, CI-sized: one trained unit holding both seeds and two exact units; a rerun trains nothing and
    keeps run.json; --plot-only redraws from the table; more seeds make a new trained unit (the seed count is part of
    its configuration) and reuse the exact ones."""
    out = tmp_path / "disjoint"
    assert mod.main(TINY + ["--out", str(out)]) == 0
    table, meta = (out / mod.TABLE).read_bytes(), (out / "run.json").read_text()
    df = pd.read_csv(out / mod.TABLE)
    assert list(df.columns) == mod.COLUMNS and set(df["seed"].dropna()) == {0, 1}
    assert json.loads(meta)["seeds"] == [0, 1]
    capsys.readouterr()
    assert mod.main(TINY + ["--out", str(out)]) == 0
    assert "4 runs (3 configurations × their seeds): 4 reused, 0 resume, 0 new" in capsys.readouterr().err
    assert (out / mod.TABLE).read_bytes() == table and (out / "run.json").read_text() == meta
    for name in ("disjoint_supports.png", "summary.md"):
        (out / name).unlink()
    assert mod.main(TINY + ["--out", str(out), "--plot-only"]) == 0
    assert (out / "disjoint_supports.png").read_bytes()[:4] == b"\x89PNG" and (out / "summary.md").exists()
    assert (out / mod.TABLE).read_bytes() == table
    i = TINY.index("--seeds")
    assert mod.main(TINY[:i + 1] + ["3"] + TINY[i + 2:] + ["--out", str(out)]) == 0
    runs = json.loads((out / "run.json").read_text())["runs"]
    assert runs["computed_in_this_invocation"] == 3 and runs["reused_from_earlier_invocations"] == 2


def test_quick_preset():
    inv = engine.parse(mod.STUDY, ["--quick", "--seeds", "2"])
    assert inv.config.seeds == 2 and inv.config.steps == mod.PRESETS["quick"]["steps"]
    assert inv.out.name == "disjoint_supports_quick" and engine.parse(mod.STUDY, []).config == mod.DisjointConfig()
