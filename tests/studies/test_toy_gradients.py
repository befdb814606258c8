"""studies.toy_gradients: outputs, the score/gradient formulas, and the seeds' vanishing-gradient claim."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

from divergences import seed_toy
from studies import toy_gradients as tg

TOY = seed_toy()
SIGMA2 = 0.3**2


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("toy_gradients")
    assert tg.main(["--out", str(out), "--n-points", "801", "--dpi", "40"]) == 0
    return out, pd.read_csv(out / tg.TABLE), json.loads((out / "run.json").read_text())


def _q(df, gen, quantity):
    s = df[(df["generator"] == gen) & (df["quantity"] == quantity)].sort_values("x")
    return s["x"].to_numpy(), s["value"].to_numpy()


# ----------------------------------------------------------------------------- outputs
def test_outputs_exist_and_no_temp_files(run):
    out, _, _ = run
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([tg.TABLE, "toy_gradients_right.png", "toy_gradients_left.png", "run.json", "runs"])
    for png in ("toy_gradients_right.png", "toy_gradients_left.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_table_schema(run):
    _, df, _ = run
    assert list(df.columns) == ["generator", "x", "quantity", "alpha", "value"]
    assert set(df["generator"]) == {"right", "left"}
    assert set(df["quantity"]) == set(tg.QUANTITIES)
    is_alpha = df["quantity"] == "D_star_alpha"
    assert df.loc[~is_alpha, "alpha"].isna().all()
    assert sorted(df.loc[is_alpha, "alpha"].unique()) == [0.5, 1.0, 2.0, 5.0, math.inf]
    assert np.isfinite(df["value"]).all()
    assert len(df) == 2 * 801 * (len(tg.QUANTITIES) - 1 + 5)


def test_run_json(run):
    _, _, meta = run
    assert {"config", "seeds", "versions", "git_revision", "wall_time_s", "device", "started_at"} <= set(meta)
    assert meta["config"]["n_points"] == 801 and meta["config"]["alphas"] == [0.5, 1.0, 2.0, 5.0, "inf"]
    assert meta["seeds"] == [] and meta["device"] == "cpu" and meta["wall_time_s"] > 0
    # the score-based r' agrees with the finite difference (tolerance argued in log_ratio_derivative_fd)
    for gen in ("right", "left"):
        assert meta["extra"]["fd_check_dlog_ratio_dx"][gen]["max_rel_diff"] <= 1e-4


def test_plot_only_redraws_from_the_table(run, tmp_path, capsys):
    out, _, _ = run
    for name in (tg.TABLE, "run.json"):
        shutil.copy(out / name, tmp_path / name)
    before = (tmp_path / tg.TABLE).read_bytes()
    assert tg.main(["--out", str(tmp_path), "--plot-only", "--dpi", "30"]) == 0
    assert (tmp_path / tg.TABLE).read_bytes() == before  # not recomputed
    assert (tmp_path / "toy_gradients_left.png").exists() and not (tmp_path / "runs").exists()
    with pytest.raises(SystemExit) as exc:
        tg.main(["--out", str(tmp_path / "empty"), "--plot-only"])
    assert exc.value.code == 2
    assert "does not record toy_gradients.csv" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["truncate", "edit"])
def test_plot_only_refuses_a_damaged_table(run, tmp_path, capsys, damage):
    """A truncated table, or one with one value edited, is not summarised: one line, exit status 2."""
    out, _, _ = run
    for name in (tg.TABLE, "run.json"):
        shutil.copy(out / name, tmp_path / name)
    text = (tmp_path / tg.TABLE).read_text()
    if damage == "truncate":
        text = text[: len(text) // 2]
    else:
        first = text.splitlines()[1]
        text = text.replace(first, first[:-1] + ("1" if first[-1] != "1" else "2"), 1)
    (tmp_path / tg.TABLE).write_text(text)
    with pytest.raises(SystemExit) as exc:
        tg.main(["--out", str(tmp_path), "--plot-only"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "is not the file run.json records" in err and "Traceback" not in err
    assert not (tmp_path / "toy_gradients_left.png").exists()


# ----------------------------------------------------------------------------- values
def test_discriminators_are_probabilities_and_consistent(run):
    _, df, _ = run
    for gen in ("right", "left"):
        x, d = _q(df, gen, "D_star")
        assert np.all((d >= 0) & (d <= 1))
        _, r = _q(df, gen, "log_ratio")
        _, pr = _q(df, gen, "p_real")
        _, pg = _q(df, gen, "p_gen")
        ok = (pr + pg) > 1e-300
        # D* = p/(p+q) where the densities are representable; 1e-12 relative covers the exp/log round trips
        assert np.all(np.abs(d[ok] - pr[ok] / (pr[ok] + pg[ok])) <= 1e-12)
        alpha_rows = df[(df["generator"] == gen) & (df["quantity"] == "D_star_alpha")]
        by_alpha = {a: g.sort_values("x")["value"].to_numpy() for a, g in alpha_rows.groupby("alpha")}
        assert np.all(np.abs(by_alpha[1.0] - d) <= 1e-15)  # α = 1 is the vanilla discriminator
        alphas = sorted(by_alpha)
        for a_lo, a_hi in zip(alphas, alphas[1:]):
            # σ(α r) moves away from ½ as α grows: up where p > q, down where p < q (1e-15: rounding of σ)
            assert np.all((by_alpha[a_hi] - by_alpha[a_lo]) * np.sign(r) >= -1e-15)
        assert np.all(np.isin(by_alpha[math.inf][r != 0], (0.0, 1.0)))


def test_losses_match_their_definitions(run):
    _, df, _ = run
    for gen in ("right", "left"):
        _, d = _q(df, gen, "D_star")
        _, sat = _q(df, gen, "loss_saturating")
        _, ns = _q(df, gen, "loss_nonsaturating")
        assert np.all(sat <= 0) and np.all(ns >= 0)
        m = (d > 1e-300) & (d < 0.5)  # where log1p(−D) and −log D are themselves accurate
        assert np.all(np.abs(sat[m] - np.log1p(-d[m])) <= 1e-12 * (1 + np.abs(sat[m])))
        assert np.all(np.abs(ns[m] + np.log(d[m])) <= 1e-12 * (1 + np.abs(ns[m])))


def _ref_score(weights, means, var, x):
    """Independent reference: central difference of log m(x) built from scipy.stats.norm (h = 1e-5)."""
    h = 1e-5
    logm = lambda t: logsumexp(np.log(weights)[None, :] + norm.logpdf(t[:, None], means[None, :], math.sqrt(var)),
                               axis=1)
    return (logm(x + h) - logm(x - h)) / (2 * h)


@pytest.mark.parametrize("which", ["real", "gen_right", "gen_left"])
def test_mixture_score_against_independent_reference(which):
    M = getattr(TOY, which)
    x = np.linspace(-3.0, 10.0, 1301)
    got = tg.mixture_score(M, x)
    ref = _ref_score(M.weights, M.means[:, 0], SIGMA2, x)
    # FD error: h²|s''|/6 ≤ 1e-10·(Δμ/σ²)³ ≈ 1e-5 at the responsibility switch, plus ε·|log m|/h ≈ 1e-9
    assert np.all(np.abs(got - ref) <= 1e-4 * (1 + np.abs(got)))


@pytest.mark.parametrize("gen", ["gen_right", "gen_left"])
def test_log_ratio_derivative_score_vs_finite_difference(gen):
    x = np.linspace(-2.0, 9.0, 2001)
    exact = tg.log_ratio_derivative(TOY.real, getattr(TOY, gen), x)
    fd = tg.log_ratio_derivative_fd(TOY.real, getattr(TOY, gen), x, h=1e-4)
    # truncation h²|r'''|/6 ≲ 1e-8·1e4/6 and rounding ε|r|/h ≲ 1e-9 (|r| ≤ 500): see the function's docstring
    assert np.all(np.abs(exact - fd) <= 1e-4 * (1 + np.abs(exact)))


@pytest.mark.parametrize("gen", ["right", "left"])
def test_gradients_are_derivatives_of_the_losses(gen):
    G = tg.generators()[gen]
    x = np.linspace(-2.0, 9.0, 301)
    h = 1e-5
    rows = {s: tg.generator_rows(TOY.real, G, gen, x + s * h, ()) for s in (-1, 0, 1)}
    pick = lambda df, q: df[df["quantity"] == q]["value"].to_numpy()
    for loss in ("saturating", "nonsaturating"):
        fd = (pick(rows[1], f"loss_{loss}") - pick(rows[-1], f"loss_{loss}")) / (2 * h)
        g = pick(rows[0], f"grad_{loss}")
        # relative truncation ≈ h²·r'²/6 ≤ 1e-10·61²/6 ≈ 6e-8; rounding ε|ℓ|/(h|g|) ≤ 1e-8 where |g| > 1e-6·|ℓ|;
        # gradients below 1e-290 are compared absolutely (subnormal range)
        big = np.abs(g) > 1e-290
        assert np.all(np.abs(fd[big] - g[big]) <= 1e-5 * np.abs(g[big]) + 1e-10 * np.abs(pick(rows[0], f"loss_{loss}"))[big])


# ----------------------------------------------------------------------------- the seeds' claims
def test_left_generator_saturating_gradient_vanishes(run):
    """Far-away generator: D* ≈ 0 on its support, log(1 − D*) is flat (|dℓ/dx| ≤ 1e-6), −log D* is not.

    With equal variances r'(x) = (Σ_k γ_k μ_k − μ_g)/σ²; near x = −0.5 the mode at 2 carries all the
    responsibility (the other is e^{−100} lighter), so dℓ_ns/dx = −(1 − D*)·2.5/0.09 = −27.78 to ~1e-8.
    """
    _, df, _ = run
    x, g_sat = _q(df, "left", "grad_saturating")
    _, g_ns = _q(df, "left", "grad_nonsaturating")
    region = np.abs(x + 0.5) <= 0.6
    assert np.max(np.abs(g_sat[region])) <= 1e-6
    assert np.all(np.abs(g_ns[region] + 2.5 / SIGMA2) <= 1e-6)


def test_right_generator_saturating_gradient_is_large_near_the_data(run):
    """Generator overlapping the mode at 5: on its own support the saturating gradient is *smaller* than the
    non-saturating one (D* < ½ there), but where D* ≈ 1 (the data) it is (μ_g − 2)/σ² = 44.4 and points away
    from the data (dℓ/dx > 0: descent moves samples left, past the mode at 2)."""
    _, df, _ = run
    x, g_sat = _q(df, "right", "grad_saturating")
    _, g_ns = _q(df, "right", "grad_nonsaturating")
    i_mu = int(np.argmin(np.abs(x - 6.0)))
    assert 0 < g_sat[i_mu] < g_ns[i_mu]
    near_mode_2 = np.abs(x - 2.0) <= 0.6
    assert np.all(np.abs(g_sat[near_mode_2] - 4.0 / SIGMA2) <= 1e-6 * 4.0 / SIGMA2)
    assert np.all(g_sat > 0) and np.all(g_ns >= 0)  # one sign on the whole line (generator right of all data)
