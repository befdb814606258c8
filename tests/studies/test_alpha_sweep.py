"""studies.alpha_sweep: outputs, the α → 1 / ½ / ∞ limits, bounds, and what monotonicity in α does (not) hold."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import divergences
from divergences import GaussianMixture, seed_toy
from studies import alpha_sweep as sweep_mod

REPO = Path(__file__).resolve().parents[2]
TOY = seed_toy()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("alpha_sweep")
    assert sweep_mod.main(["--out", str(out), "--n-alpha", "15", "--dpi", "40"]) == 0
    return out, pd.read_csv(out / sweep_mod.TABLE), json.loads((out / "run.json").read_text())


def test_outputs_and_schema(run):
    out, df, meta = run
    assert sorted(p.name for p in out.iterdir()) == sorted([sweep_mod.TABLE, "alpha_sweep.png", "run.json", "runs"])
    assert (out / "alpha_sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert list(df.columns) == ["pair", "quantity", "alpha", "value", "abs_error"]
    assert set(df["pair"]) == {"right", "left", sweep_mod.BOUND_PAIR}
    assert set(df["quantity"]) == {"arimoto", "2jsd", "squared_hellinger", "tv"}
    assert np.all(np.isfinite(df["abs_error"])) and np.all(df["abs_error"] >= 0)
    alphas = np.sort(df.loc[(df["pair"] == "right") & (df["quantity"] == "arimoto"), "alpha"].to_numpy())
    assert alphas.size == 15 + 2 + 1  # log grid (holds neither 1/2 nor 1 for n=15), plus 1/2, 1 and inf
    assert alphas[0] == pytest.approx(0.1, rel=1e-12) and alphas[-2] == pytest.approx(100.0, rel=1e-12)
    assert 0.5 in alphas and 1.0 in alphas and math.isinf(alphas[-1])
    assert np.all(np.isfinite(df["value"])) and np.all(df["value"] >= 0)
    assert {"config", "seeds", "versions", "git_revision", "wall_time_s"} <= set(meta)
    assert meta["config"]["n_alpha"] == 15 and meta["seeds"] == []


@pytest.mark.parametrize("pair", ["right", "left"])
@pytest.mark.parametrize("quantity", ["2jsd", "squared_hellinger", "tv"])
def test_limits(run, pair, quantity):
    _, df, _ = run
    a = sweep_mod.LIMITS[quantity][0]
    got = sweep_mod._value(df, pair, "arimoto", a)
    want = sweep_mod._value(df, pair, quantity, a)
    # both sides are cubatures at rtol 1e-11 of values ≤ 2, so 1e-9 leaves two orders of margin
    assert abs(got - want) <= 1e-9


def test_left_pair_is_near_the_disjoint_maxima(run):
    """Left pair: nearly disjoint supports, so 2JSD, H², TV sit just below their maxima 2 log 2, 2 and 1."""
    _, df, _ = run
    for q, top in (("2jsd", 2 * math.log(2)), ("squared_hellinger", 2.0), ("tv", 1.0)):
        v = sweep_mod._value(df, "left", q, sweep_mod.LIMITS[q][0])
        assert 0 < top - v <= 1e-3  # measured gaps 6e-5 (2JSD), 2.4e-4 (H²), 2.2e-5 (TV): the overlap is small


def test_bounded_by_disjoint_support_value(run):
    _, df, _ = run
    bound = sweep_mod.sweep(df, sweep_mod.BOUND_PAIR)
    for pair in ("right", "left"):
        s = sweep_mod.sweep(df, pair)
        # D_{f_α} ≤ f_α(0) + lim f_α(u)/u = f_α(0); relative 1e-12 for rounding of the two numbers
        assert np.all(s.to_numpy() <= bound.reindex(s.index).to_numpy() * (1 + 1e-12))
    assert bound.loc[1.0] == pytest.approx(2 * math.log(2), rel=1e-14)
    assert bound.loc[0.5] == pytest.approx(2.0, rel=1e-14)


def test_seed_pairs_decrease_in_alpha(run):
    """Observed for these two well-separated pairs (not a theorem, see the next test): D_{f_α} falls with α."""
    _, df, _ = run
    for pair in ("right", "left"):
        assert np.all(np.diff(sweep_mod.sweep(df, pair).to_numpy()) < 0)


def test_not_monotone_in_general_near_equal_distributions():
    """Theory: D_{f_α}(P||Q) ≈ ½ f_α''(1) χ²(P||Q), f_α''(1) = α 2^{1/α−2}, minimal at α = ln 2 -> not monotone."""
    delta = 0.05
    P, Q = GaussianMixture.gaussian(0.0, 1.0), GaussianMixture.gaussian(delta, 1.0)
    chi2 = math.expm1(delta**2)  # χ²(N(0,1)||N(δ,1)) = e^{δ²} − 1
    vals = {}
    for a in (0.2, 0.4, math.log(2), 1.0, 2.0):
        vals[a] = divergences.arimoto(P, Q, a)
        approx = a * 2 ** (1 / a - 3) * chi2
        # second-order expansion: relative remainder O(δ²) = O(2.5e-3) for α ≤ 2 (measured ≤ 0.24%)
        assert abs(vals[a] / approx - 1) <= 1e-2
    assert vals[math.log(2)] < vals[0.2] and vals[math.log(2)] < vals[2.0]


@pytest.mark.parametrize("alpha", [0.1, 0.5, 1.0, 3.0, math.inf])
def test_batched_arimoto_equals_one_by_one(alpha):
    """One batched call over both pairs gives the per-pair values (a pair no longer degrades the batch)."""
    vals, errs = sweep_mod.arimoto_values(alpha)
    for k, gen in enumerate((TOY.gen_right, TOY.gen_left)):
        one = divergences.arimoto(TOY.real, gen, alpha)
        assert abs(vals[k] - one) <= 1e-12 * abs(one)
    assert np.all(errs <= 1e-9 * np.abs(vals))


@pytest.mark.parametrize("alpha, quantity", [(0.5, "squared_hellinger"), (1.0, "2jsd"), (2.0, None),
                                             (math.inf, "tv")])
def test_library_arimoto_finite_for_left_pair(alpha, quantity):
    """The left pair's log p/q exceeds 709.8 inside the cubature box; the Arimoto integrand must stay finite."""
    v = divergences.arimoto(TOY.real, TOY.gen_left, alpha)
    assert math.isfinite(v)
    if quantity is not None:
        fn, scale = {"2jsd": (divergences.jsd, 2.0), "squared_hellinger": (divergences.squared_hellinger, 1.0),
                     "tv": (divergences.total_variation, 1.0)}[quantity]
        assert abs(v - scale * fn(TOY.real, TOY.gen_left)) <= 1e-9


def test_cli_dispatch_through_python_m_studies(tmp_path):
    res = subprocess.run([sys.executable, "-m", "studies", "alpha_sweep", "--n-alpha", "3", "--dpi", "30",
                          "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "|D(α=1)   − 2·JSD|" in res.stdout
    assert (tmp_path / "alpha_sweep.csv").exists() and (tmp_path / "run.json").exists()
