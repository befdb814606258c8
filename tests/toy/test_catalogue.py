"""toy.catalogue: exact values come from divergences (and agree with independent closed forms), the scorer."""

from __future__ import annotations

import math

import numpy as np
import pytest

import divergences
from toy.catalogue import DIVERGENCES, PAIRS, draws, exact, exact_value, score_estimator, sliced_w1, summarize


@pytest.mark.parametrize("pair", ["toy1d_right", "overlap_1d", "thin_far_1d"])
@pytest.mark.parametrize("div,fn", [("kl", divergences.kl), ("reverse_kl", divergences.reverse_kl),
                                    ("js", divergences.jsd), ("tv", divergences.total_variation),
                                    ("squared_hellinger", divergences.squared_hellinger),
                                    ("neyman", divergences.neyman_chi2), ("w1", divergences.wasserstein1)])
def test_exact_values_are_the_divergences_ones(pair, div, fn):
    p = PAIRS[pair]
    assert exact_value(pair, div) == float(fn(p.P, p.Q))
    assert exact_value(pair, "arimoto2") == float(divergences.arimoto(p.P, p.Q, 2.0))


def test_exact_values_against_independent_closed_forms():
    # equal-variance Gaussians: KL = Δ²/(2σ²), χ² = e^{Δ²/σ²} − 1, W1 = Δ
    assert abs(exact_value("thin_far_1d", "kl") - 200.0) <= 1e-9
    assert abs(exact_value("thin_far_1d", "pearson") / math.expm1(400.0) - 1.0) <= 1e-9
    assert abs(exact_value("overlap_1d", "kl") - divergences.gaussian_kl(0.0, 1.0, 0.5, 1.44)) <= 1e-12
    # a dropped mode: KL(Q‖P) = log(8/7) (Q is P restricted to 7 of its 8 equal, well-separated modes)
    assert abs(exact_value("ring_dropped", "reverse_kl") - math.log(8 / 7)) <= 1e-9
    # translations: W1 = ‖s‖, sliced W1 = E|u·s| = (2/π)‖s‖ over directions on the circle
    s = math.hypot(0.1, 0.1)
    assert exact_value("grid_shift", "w1") == pytest.approx(s, rel=0, abs=1e-15)
    for pair, shift in (("grid_shift", s), ("disjoint_looking", 0.5)):
        value, err = exact(pair, "sliced_w1")
        assert abs(value - 2 / math.pi * shift) <= err  # the rule's own (half-grid) error estimate
        assert err <= 1e-4 * shift  # 256 angles: relative error ~1e-5, over-estimated ~3x
    # the lecture notes' toy: W1 = |E_P X − E_Q X| when the CDFs do not cross (P entirely left of Q in mass)
    assert abs(exact_value("toy1d_left", "w1") - 4.0) <= 1e-9


@pytest.mark.slow
def test_sliced_w1_error_estimate_covers_a_finer_rule():
    """The half-grid estimate of the 256-angle rule bounds its distance to the 512-angle rule (the rotated ring:
    W1 of the projections kinks wherever projected modes cross)."""
    p = PAIRS["ring_rotated"]
    (a, err), (b, _) = exact("ring_rotated", "sliced_w1"), sliced_w1(p.P, p.Q, 512)
    assert abs(a - b) <= err
    assert sliced_w1(PAIRS["overlap_1d"].P, PAIRS["overlap_1d"].Q)[0] == exact_value("overlap_1d", "w1")
    with pytest.raises(ValueError, match="even"):
        sliced_w1(p.P, p.Q, 7)


def test_infinite_exact_values_are_skipped_with_a_reason():
    assert math.isinf(exact_value("ring_dropped", "pearson"))
    df = score_estimator(lambda x, y: 1.0, "pearson", pairs=["ring_dropped", "overlap_1d"], sizes=[20], repeats=1)
    assert set(df["pair"]) == {"overlap_1d"} and "ring_dropped" in df.attrs["skipped"]


def test_score_estimator_rows_and_reproducible_draws():
    est = lambda x, y: float(np.mean(y) - np.mean(x))
    df = score_estimator(est, "w1", pairs=["overlap_1d", "toy1d_left"], sizes=[50, 100], repeats=3, seed=4)
    assert len(df) == 2 * 2 * 3 and list(df.columns)[:5] == ["pair", "dim", "divergence", "n", "repeat"]
    assert np.allclose(df["error"], df["estimate"] - df["exact"], rtol=0, atol=0)
    again = score_estimator(est, "w1", pairs=["toy1d_left"], sizes=[100], repeats=3, seed=4)
    sel = df[(df["pair"] == "toy1d_left") & (df["n"] == 100)]
    assert np.array_equal(sel["estimate"].to_numpy(), again["estimate"].to_numpy())  # per-(pair, n) streams
    x, y = next(draws("toy1d_left", 100, 1, seed=4))
    assert sel["estimate"].iloc[0] == est(x, y)
    summ = summarize(df)
    assert set(summ.columns) >= {"bias", "sd", "rmse", "relative_rmse"} and len(summ) == 4


@pytest.mark.parametrize("args,exc,match", [
    ((lambda x, y: 0.0, "kl2"), ValueError, "unknown divergence"),
    (("not callable", "kl"), TypeError, "callable"),
])
def test_bad_input(args, exc, match):
    with pytest.raises(exc, match=match):
        score_estimator(*args)
    with pytest.raises(ValueError, match="unknown pair"):
        score_estimator(lambda x, y: 0.0, "kl", pairs=["nope"])
    with pytest.raises(ValueError, match="sizes"):
        score_estimator(lambda x, y: 0.0, "kl", sizes=[1])
    with pytest.raises(ValueError, match="repeats"):
        score_estimator(lambda x, y: 0.0, "kl", repeats=0)
    with pytest.raises(ValueError, match="unknown divergence"):
        exact("overlap_1d", "wasserstein")


def test_catalogue_lists():
    assert set(DIVERGENCES) == {"kl", "reverse_kl", "js", "tv", "squared_hellinger", "pearson", "neyman", "arimoto2",
                                "w1", "sliced_w1"}
    assert [p for p in PAIRS] == ["toy1d_right", "toy1d_left", "overlap_1d", "thin_far_1d", "ring_rotated",
                                  "ring_dropped", "grid_shift", "disjoint_looking"]
