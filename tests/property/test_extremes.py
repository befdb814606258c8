"""Property tests at the edges of float64: extreme locations, scales and condition numbers (issue 14).

For every draw each measure must give a value inside its bounds whose returned error estimate covers the error
against the closed form where there is one (single Gaussians: KL, squared Hellinger, Pearson χ², computed in mpmath
from the exact float64 inputs), or raise a ValueError that says why float64 cannot hold the computation, never a NaN.
Draws: a common location up to ±1e250, location gaps up to 1e6 standard deviations, scales from 1e-150 to 1e150,
and in 2D condition numbers up to 1e12 at any orientation. Example counts are a fraction of the profile's (each
draw integrates six measures).
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from divergences import GaussianMixture, jsd, kl, pearson_chi2, squared_hellinger, total_variation
from divergences.fdiv import F_DIVERGENCES
from tests.divergences.test_extremes import _mp_hellinger2, _mp_kl, _mp_pearson

LOG2 = math.log(2.0)
_finite = dict(allow_nan=False, allow_infinity=False)
UNREPRESENTABLE = ("cannot be computed in float64", "cannot place cubature nodes", "places cubature nodes only")
"""The ValueErrors allowed: the integrand or the mesh does not fit float64 (each message says which input)."""
BOUNDS = {"js": (0.0, LOG2), "tv": (0.0, 1.0), "squared_hellinger": (0.0, 2.0), "kl": (0.0, math.inf),
          "pearson": (0.0, math.inf)}
CLOSED = {"kl": _mp_kl, "squared_hellinger": _mp_hellinger2, "pearson": _mp_pearson}
MEASURES = {"kl": kl, "js": jsd, "tv": total_variation, "squared_hellinger": squared_hellinger, "pearson": pearson_chi2}


def few(n: int):
    return settings(max_examples=max(4, settings().max_examples // n))


@st.composite
def extreme_pairs_1d(draw):
    """Two 1D Gaussians sharing a location up to ±1e250, log10 σ in [−150, 150] and a ratio of σ up to 1e3, their
    means up to 1e6 of the smaller σ apart."""
    centre = draw(st.sampled_from([0.0, 1.0, -1.0])) * 10.0 ** draw(st.floats(0.0, 250.0, **_finite))
    log_s = draw(st.floats(-150.0, 150.0, **_finite))
    s1 = 10.0**log_s
    s2 = s1 * 10.0 ** draw(st.floats(-3.0, 3.0, **_finite))
    gap = min(s1, s2) * draw(st.sampled_from([0.0, 1.0, -1.0])) * 10.0 ** draw(st.floats(-2.0, 6.0, **_finite))
    return GaussianMixture.gaussian(centre, s1 * s1), GaussianMixture.gaussian(centre + gap, s2 * s2)


@st.composite
def extreme_pairs_2d(draw):
    """Two 2D Gaussians: a common location up to ±1e15 per axis, σ_max up to 1e3 apart, condition numbers up to 1e12
    (σ ratio 1e6) at any orientation, means up to 100 of the smaller σ_max apart."""
    centre = np.array([draw(st.floats(-1e15, 1e15, **_finite)) for _ in range(2)])
    covs = []
    for _ in range(2):
        s = 10.0 ** draw(st.floats(-2.0, 1.0, **_finite))
        ratio = 10.0 ** draw(st.floats(0.0, 6.0, **_finite))
        t = draw(st.floats(0.0, math.pi, **_finite))
        R = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
        covs.append(R @ np.diag([s * s, (s / ratio) ** 2]) @ R.T)
    gap = draw(st.floats(0.0, 100.0, **_finite)) * min(math.sqrt(np.linalg.eigvalsh(c)[-1]) for c in covs)
    direction = draw(st.floats(0.0, 2 * math.pi, **_finite))
    offset = gap * np.array([math.cos(direction), math.sin(direction)])
    return GaussianMixture.gaussian(centre, covs[0]), GaussianMixture.gaussian(centre + offset, covs[1])


def _check(P, Q, name: str) -> None:
    """Bounds, finiteness-or-ValueError, and the closed form where there is one (see the module docstring)."""
    fn = MEASURES[name]
    lo, hi = BOUNDS[name]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            v, e = fn(P, Q, error=True)
    except ValueError as exc:
        assert any(s in str(exc) for s in UNREPRESENTABLE), f"{name}: unexpected ValueError {exc}"
        return
    assert not math.isnan(v) and not math.isnan(e), f"{name}: NaN"
    assert lo <= v <= hi, f"{name} = {v!r} outside [{lo}, {hi}]"
    want = CLOSED[name](P, Q) if name in CLOSED else None
    if v == math.inf:  # only when the exact value is infinite, or finite beyond float64 and said so
        assert want is None or want > np.finfo(float).max, f"{name} = inf, closed form {want}"
        if want is None or want != mp.inf:
            assert any("exceeds the float64 range" in str(w.message) for w in caught)
        return
    assert e >= 0 and math.isfinite(e), f"{name}: estimate {e!r}"
    if want is not None:
        assert want <= np.finfo(float).max, f"{name} = {v!r} finite, closed form {mp.nstr(want, 5)} beyond float64"
        actual = float(abs(mp.mpf(v) - want))
        assert actual <= e, f"{name}: |{v!r} − {mp.nstr(want, 17)}| = {actual:.3g} > estimate {e:.3g}"
    if name in ("js", "tv", "squared_hellinger"):
        assert v - e <= hi  # the estimate is consistent with the bound (trivially, as v ≤ hi)


@few(3)
@given(PQ=extreme_pairs_1d(), name=st.sampled_from(sorted(MEASURES)))
@example(PQ=(GaussianMixture.gaussian(-1e20, 1.0), GaussianMixture.gaussian(1e20, 1.0)), name="kl")
@example(PQ=(GaussianMixture.gaussian(-1e17, 1.0), GaussianMixture.gaussian(1e17, 1.0)), name="tv")
@example(PQ=(GaussianMixture.gaussian(-1e200, 1.0), GaussianMixture.gaussian(1e200, 1.0)), name="js")
@example(PQ=(GaussianMixture.gaussian(0.0, 1e-200), GaussianMixture.gaussian(0.0, 1e200)), name="js")
@example(PQ=(GaussianMixture.gaussian(0.0, 1e308), GaussianMixture.gaussian(0.0, 1.0)), name="kl")
def test_extreme_1d(PQ, name):
    _check(*PQ, name)


@few(6)
@given(PQ=extreme_pairs_2d(), name=st.sampled_from(sorted(MEASURES)))
@example(PQ=(GaussianMixture.gaussian([0.3, -0.2], np.array([[0.5828, 0.4928], [0.4928, 0.4172]])),
             GaussianMixture.gaussian([0.0, 0.5], np.eye(2))), name="kl")
def test_extreme_2d(PQ, name):
    _check(*PQ, name)


def test_bounds_table_matches_the_records():
    # BOUNDS above are the measures' ranges, also stored on the records (FDivergence.upper): they must agree
    for name, (lo, hi) in BOUNDS.items():
        rec = F_DIVERGENCES[name]
        assert rec.f_one == lo and rec.upper == hi, name
