"""Unit tests for divergences.fdiv: the f-divergence records (f, f', f*, g_f, T*, integrands)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from divergences import F_DIVERGENCES, FDivergence, Interval, arimoto_f, get_f
from tests.helpers import assert_close
from tests.reference import REF_F, arimoto_f_mp, arimoto_f_ref

LOG2 = math.log(2.0)
NAMES = sorted(F_DIVERGENCES)
ARIMOTO = [0.3, 0.5, 1.0 - 1e-9, 1.0, 1.0 + 1e-9, 1.5, 3.0, 1e8, math.inf]
RECORDS = [F_DIVERGENCES[n] for n in NAMES] + [arimoto_f(a) for a in ARIMOTO]
IDS = NAMES + [f"arimoto({a!r})" for a in ARIMOTO]
ALPHA_OF = {id(r): a for r, a in zip(RECORDS, [None] * len(NAMES) + ARIMOTO)}  # record names round α (%g)
U = np.array([0.05, 0.3, 0.8, 1.7, 4.0, 20.0])


def ref_f(rec: FDivergence):
    """Independent generator for a record (tests/reference.py)."""
    alpha = ALPHA_OF.get(id(rec))
    if alpha is not None:
        if math.isinf(alpha):
            return lambda u: np.maximum(1.0 - np.asarray(u, float), 0.0)
        return lambda u: arimoto_f_mp(alpha, u)
    return REF_F[rec.name]


def test_registry_contents():
    assert set(F_DIVERGENCES) == {"kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "js", "gan", "tv"}
    for name, rec in F_DIVERGENCES.items():
        assert rec.name == name
        assert get_f(name) is rec
        assert get_f(rec) is rec


def test_get_f_arimoto_by_name_and_alpha():
    a = get_f("arimoto", alpha=2.0)
    b = get_f("arimoto(2)")
    u = np.array([0.5, 2.0])
    np.testing.assert_array_equal(a.f(u), b.f(u))
    assert a.name == "arimoto(2)"


# ----------------------------------------------------------------------------- generators
@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_f_matches_reference_generator(rec):
    with np.errstate(all="ignore"):
        want = ref_f(rec)(U)
    # both are a few elementary operations on O(1..100) numbers; the α ≈ 1 records use a
    # quadrature form (8-node Gauss-Legendre in s) accurate to ~1e-13
    np.testing.assert_allclose(rec.f(U), want, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_f_one(rec):
    want = -2 * LOG2 if rec.name == "gan" else 0.0
    assert_close(float(np.asarray(rec.f(1.0))), want, 1e-15, "f(1)")
    assert_close(rec.f_one, want, 0.0, "f_one")


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_f_convex_spot_check(rec):
    rng = np.random.default_rng(0)
    u = rng.uniform(0.01, 10.0, 200)
    v = rng.uniform(0.01, 10.0, 200)
    lam = rng.uniform(0.0, 1.0, 200)
    lhs = rec.f(lam * u + (1 - lam) * v)
    rhs = lam * rec.f(u) + (1 - lam) * rec.f(v)
    # rounding of f values up to |f| ≲ 30 on this range
    assert np.all(lhs <= rhs + 1e-12 * (1 + np.abs(rhs)))


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_f_prime_matches_finite_difference(rec):
    u = U[np.abs(U - 1.0) > 0.1]  # away from the TV kink at 1
    h = 1e-5 * u
    fd = (rec.f(u + h) - rec.f(u - h)) / (2 * h)
    # central difference: truncation h²f'''/6 ≲ 1e-9 here, cancellation eps·|f|/h ≲ 1e-9
    np.testing.assert_allclose(rec.f_prime(u), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_t_star_is_f_prime(rec):
    np.testing.assert_allclose(rec.t_star(U), rec.f_prime(U), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rec.t_star_log(np.log(U)), rec.f_prime(U), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="non-negative"):
        rec.t_star(np.array([-1.0]))


# ----------------------------------------------------------------------------- conjugates
def numeric_conjugate(rec: FDivergence, t: float) -> float:
    """sup_{u ≥ 0} [t u − f(u)] by bounded scalar search over log u, and the u → 0 end."""
    def neg(s):
        u = math.exp(s)
        return -(t * u - float(np.asarray(rec.f(u))))

    res = minimize_scalar(neg, bounds=(-35.0, 35.0), method="bounded", options={"xatol": 1e-12})
    with np.errstate(divide="ignore"):
        f0 = float(np.asarray(rec.f(0.0)))
    return max(-res.fun, -f0 if math.isfinite(f0) else -math.inf)


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
@pytest.mark.parametrize("v", [-2.0, -0.5, 0.3, 1.5])
def test_conjugate_matches_numeric_sup(rec, v):
    t = float(rec.g_f(v))
    want = numeric_conjugate(rec, t)
    # the bounded Brent search locates the maximiser to xatol 1e-12 in log u, so the sup is
    # found to second order (~1e-13 relative); TV and α = ∞ have flat tops (exact).
    assert_close(float(rec.f_conj(t)), want, 1e-9 * (1 + abs(want)), f"{rec.name}: f*({t})")


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_conjugate_is_inf_outside_domain(rec):
    dom = rec.conj_domain
    outside = [x for x in (dom.hi + 0.1, dom.lo - 0.1) if math.isfinite(x)]
    if not dom.hi_closed and math.isfinite(dom.hi):
        outside.append(dom.hi)  # an open end itself is outside
    if not outside:  # kl, pearson: dom f* = R, finite everywhere
        assert np.all(np.isfinite(rec.f_conj(np.array([-50.0, 50.0]))))
        return
    assert np.all(np.isinf(rec.f_conj(np.array(outside))))
    assert np.all(rec.f_conj(np.array(outside)) > 0)


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_fenchel_young_inequality(rec):
    """f(u) + f*(t) ≥ t u for all u, t (definition of the conjugate), equality at t = f'(u)."""
    t = rec.g_f(np.linspace(-3, 3, 13))
    lhs = rec.f(U)[:, None] + rec.f_conj(t)[None, :]
    assert np.all(lhs >= U[:, None] * t[None, :] - 1e-10 * (1 + np.abs(lhs)))
    tu = rec.f_prime(U)
    inside = rec.conj_domain.contains(tu)
    np.testing.assert_allclose((rec.f(U) + rec.f_conj(tu))[inside], (U * tu)[inside], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_g_f_maps_into_conjugate_domain(rec):
    v = np.linspace(-30.0, 30.0, 601)
    assert np.all(rec.conj_domain.contains(rec.g_f(v)))
    assert np.all(np.isfinite(rec.f_conj(rec.g_f(v))))


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_conj_g_f_equals_conjugate_of_activation(rec):
    v = np.linspace(-12.0, 12.0, 49)
    # g_f(v) stays ≳ 6e-6 inside every open end. Closer to an end, f*(t) is ill-conditioned as a
    # function of the rounded t (e.g. JS: −½ log(2 − e^{2t}) with 2 − e^{2t} ~ e^{−v}), which is
    # why conj_g_f exists; test_conj_g_f_stable_for_large_logits covers that range
    np.testing.assert_allclose(rec.conj_g_f(v), rec.f_conj(rec.g_f(v)), rtol=1e-9, atol=1e-12)


def _log_sigmoid(v):
    return -np.logaddexp(0.0, -v)


def conj_g_f_closed_form(rec, alpha, v):
    """f*(g_f(v)) written out by hand from f* and g_f (Nowozin et al. Table 2 conventions of the records)."""
    name = rec.name
    if alpha is not None:
        if math.isinf(alpha):  # f* (t) = t on [−1, 0], g = σ(v) − 1
            return np.exp(_log_sigmoid(v)) - 1.0
        if alpha == 1.0:  # log-loss: ℓ_1(0, σ(v)) = softplus(v), c_1 = −log 4
            return np.logaddexp(0.0, v) - 2 * LOG2
        # f*(g(v)) = ℓ_α(0, σ(v)) + c_α = k (1 − σ(−v)^{(α−1)/α}) + k (2^{1/α} − 2), k = α/(α−1),
        # in 50-digit arithmetic (k ~ 1e9 for α = 1 ± 1e-9)
        import mpmath as mp

        with mp.workdps(50):
            a = mp.mpf(alpha)
            k = a / (a - 1)

            def one(x):
                s = 1 / (1 + mp.exp(mp.mpf(float(x))))  # σ(−v)
                return float(k * (1 - s ** ((a - 1) / a)) + k * (2 ** (1 / a) - 2))

            return np.vectorize(one, otypes=[float])(v)
    return {
        "kl": lambda: np.exp(v - 1.0),                       # g = v, f* = e^{t−1}
        "reverse_kl": lambda: v - 1.0,                       # g = −e^{−v}, f* = −1 − log(−t)
        "pearson": lambda: 0.25 * v * v + v,                 # g = v
        "neyman": lambda: 2.0 - 2.0 * np.exp(-0.5 * v),      # g = 1 − e^{−v}, f* = 2 − 2√(1 − t)
        "squared_hellinger": lambda: np.expm1(v),            # g = 1 − e^{−v}, f* = t/(1 − t)
        "tv": lambda: 0.5 * np.tanh(v),                      # g = ½ tanh v, f* = t
        "js": lambda: 0.5 * (np.logaddexp(0.0, v) - LOG2),   # f* = −½ log(2 − e^{2t}) = −½ log(2σ(−v))
        "gan": lambda: np.logaddexp(0.0, v),                 # f* = −log(1 − e^t) = −log σ(−v)
    }[name]()


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_conj_g_f_stable_for_large_logits(rec):
    """Where g_f(v) rounds onto the edge of dom f* (|v| ≳ 40), f*(g_f(v)) must still be right."""
    alpha = ALPHA_OF.get(id(rec))
    v = np.array([-60.0, -40.0, -5.0, 0.0, 5.0, 40.0, 60.0])
    if rec.name != "kl" and not (alpha is not None and alpha < 1):
        # grow at most linearly there (kl's e^{v−1} and Arimoto α < 1's e^{(1−α)v/α} overflow)
        v = np.concatenate([v, [-500.0, 500.0]])
    with np.errstate(over="ignore"):
        want = conj_g_f_closed_form(rec, alpha, v)
    got = rec.conj_g_f(v)
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-12, atol=1e-14)
    assert np.array_equal(got[~finite], want[~finite])


def test_activation_takes_an_ops_namespace():
    from divergences._numerics import NUMPY_OPS

    for rec in RECORDS:
        v = np.linspace(-3, 3, 7)
        np.testing.assert_array_equal(rec.activation(v, NUMPY_OPS), rec.g_f(v))
        np.testing.assert_array_equal(rec.conj_activation(v, NUMPY_OPS), rec.conj_g_f(v))


def test_domains_as_documented():
    # Nowozin et al. (2016) Table 2 (with the JS record halved)
    # closed where f* stays finite at the end: Neyman at 1 (f* → 2), TV, Arimoto α > 1 at both ends
    expect = {"kl": (-math.inf, math.inf, False), "reverse_kl": (-math.inf, 0.0, False),
              "pearson": (-math.inf, math.inf, False), "neyman": (-math.inf, 1.0, True),
              "squared_hellinger": (-math.inf, 1.0, False), "js": (-math.inf, 0.5 * LOG2, False),
              "gan": (-math.inf, 0.0, False), "tv": (-0.5, 0.5, True)}
    for name, (lo, hi, hi_closed) in expect.items():
        d = F_DIVERGENCES[name].conj_domain
        assert (d.lo, d.hi, d.hi_closed) == (lo, hi, hi_closed), name
    d = arimoto_f(3.0).conj_domain
    assert (d.lo, d.hi, d.lo_closed, d.hi_closed) == (-1.5, 0.0, True, True)
    d = arimoto_f(0.5).conj_domain
    assert (d.lo, d.hi, d.hi_closed) == (-math.inf, 0.0, False)
    d = arimoto_f(math.inf).conj_domain
    assert (d.lo, d.hi, d.lo_closed, d.hi_closed) == (-1.0, 0.0, True, True)


def test_interval_contains_and_str():
    I = Interval(-1.0, 2.0, lo_closed=True)
    np.testing.assert_array_equal(I.contains([-1.0, 0.0, 2.0, 3.0]), [True, True, False, False])
    assert str(I) == "[-1, 2)"


# ----------------------------------------------------------------------------- conventions of named records
def test_js_record_is_half_of_nowozin_js():
    u = np.array([0.1, 0.5, 2.0, 9.0])
    nowozin = u * np.log(u) - (u + 1) * np.log((u + 1) / 2)
    np.testing.assert_allclose(F_DIVERGENCES["js"].f(u), 0.5 * nowozin, rtol=1e-14)
    # the limit u → ∞ per unit mass: f(u)/u → ½ log 2, so D_js ≤ log 2 (f(0) + lim f(u)/u)
    js = F_DIVERGENCES["js"]
    assert_close(float(js.f(0.0)) + float(js.f(1e12)) / 1e12, LOG2, 1e-10, "f(0) + f'(∞)")


def test_gan_record_is_2js_minus_log4_generator():
    u = np.array([0.1, 0.5, 2.0, 9.0])
    # u log u − (u+1) log(u+1) = 2·[½(u log u − (u+1) log((u+1)/2))] − (u+1) log 2
    np.testing.assert_allclose(F_DIVERGENCES["gan"].f(u), 2 * F_DIVERGENCES["js"].f(u) - LOG2 * (u + 1), rtol=1e-13)


def test_arimoto_limits_of_the_generator():
    u = np.array([0.05, 0.5, 2.0, 7.0])
    # α = 1: u log u − (1+u) log(1+u) + 2 log 2
    np.testing.assert_allclose(arimoto_f(1.0).f(u), u * np.log(u) - (1 + u) * np.log1p(u) + 2 * LOG2, rtol=1e-13)
    # α = 1/2: 2 − 2√u
    np.testing.assert_allclose(arimoto_f(0.5).f(u), 2 - 2 * np.sqrt(u), rtol=1e-13)
    # α = ∞: (1 − u)₊
    np.testing.assert_allclose(arimoto_f(math.inf).f(u), np.maximum(1 - u, 0.0), rtol=0, atol=1e-15)
    # α = 1 ± 1e-9 within |α − 1|·|∂f/∂α| ≲ 1e-9 of α = 1 (and the near-1 branch has no 1/(α−1) blow-up)
    for a in (1 - 1e-9, 1 + 1e-9):
        np.testing.assert_allclose(arimoto_f(a).f(u), arimoto_f(1.0).f(u), rtol=0, atol=1e-8)
    # α = 1e8 within ~ (1 + log-terms)/α of (1 − u)₊
    np.testing.assert_allclose(arimoto_f(1e8).f(u), np.maximum(1 - u, 0.0), rtol=0, atol=1e-7)


# ----------------------------------------------------------------------------- integrands
@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_integrand_is_q_times_bregman_remainder(rec):
    """integrand(log p, log q) = q φ(p/q), φ(u) = f(u) − f(1) − f'(1)(u − 1), from the reference f."""
    lq = np.log(np.array([0.3, 0.3, 0.3, 1e-3, 2.0, 0.05]))
    lp = np.log(np.array([0.3, 0.01, 0.9, 0.5, 1e-3, 4.0]))
    u = np.exp(lp - lq)
    f = ref_f(rec)
    f_one = float(f(np.array(1.0)))
    if rec.name in ("tv", "arimoto(inf)"):
        slope = -0.5 if rec.name == "arimoto(inf)" else 0.0  # the records' subgradient at u = 1 (same φ)
    else:
        slope = float((f(np.array(1 + 1e-6)) - f(np.array(1 - 1e-6))) / 2e-6)
    want = np.exp(lq) * (f(u) - f_one - slope * (u - 1))
    got = rec.integrand(lp, lq)
    # slope from a central difference (error ~1e-10 · |u − 1| ≤ 1e-7 q for these points)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10)
    assert np.all(got >= 0)
    assert got[0] == 0.0  # exactly zero where p = q


@pytest.mark.parametrize("rec", RECORDS, ids=IDS)
def test_integrand_stable_where_densities_underflow(rec):
    lp = np.array([-800.0, -1000.0, -700.0, -5.0, -1e4])
    lq = np.array([-1000.0, -800.0, -700.0, -1e4, -5.0])
    got = rec.integrand(lp, lq)
    finite_expected = ~((rec.name in ("pearson",)) & (lp > lq)) & ~((rec.name in ("neyman",)) & (lq > lp))
    assert np.all(got[finite_expected] >= 0) and np.all(np.isfinite(got[finite_expected]))
    assert got[2] == 0.0


# ----------------------------------------------------------------------------- regressions (found by this suite)
def test_neyman_conjugate_finite_at_closed_end():
    """f*(1) = sup_u [u − (1−u)²/u] = 2 is finite: dom f* = (−inf, 1] (was open, f_conj(1) = inf)."""
    assert_close(float(F_DIVERGENCES["neyman"].f_conj(1.0)), 2.0, 1e-12, "Neyman f*(1)")


def test_arimoto_conjugate_finite_at_domain_ends():
    """α > 1: f*(−α/(α−1)) = −f_α(0) and f*(0) = −lim f_α(u→∞) = α/(α−1)(2^{1/α} − 1) (was inf at both)."""
    a = 2.0
    rec = arimoto_f(a)
    assert_close(float(rec.f_conj(-a / (a - 1))), -float(arimoto_f_ref(a, 0.0)), 1e-12, "f*(lo)")
    assert_close(float(rec.f_conj(0.0)), a / (a - 1) * (2 ** (1 / a) - 1), 1e-12, "f*(0)")


def test_arimoto_f_accurate_for_large_ratio():
    """Was φ·u + f'(1)(u − 1) with O(u) terms cancelling: f_2(1e16) gave −1.0 (true −0.8284), f_2(1e20) −16384."""
    u = np.array([1e8, 1e12, 1e16, 1e20])
    # reference: (1 + u^α)^{1/α} − u = u expm1(log1p(u^{−α})/α), no cancellation
    np.testing.assert_allclose(arimoto_f(2.0).f(u), arimoto_f_ref(2.0, u), rtol=1e-10)


def test_arimoto_conjugate_accurate_near_zero_alpha_half():
    """Was t·u − f(u) with u huge: α = 1/2 (f*(t) = 1/|t| − 2) gave f*(−1e-12) = 9.99978e11, f*(−1e-20) = −1e20."""
    t = np.array([-1e-12, -1e-16, -1e-20])
    np.testing.assert_allclose(arimoto_f(0.5).f_conj(t), 1.0 / np.abs(t) - 2.0, rtol=1e-10)


def test_arimoto_conjugate_accurate_near_zero_alpha_two():
    """Same cancellation for α > 1: f_conj(−1e-100) gave 1.04e34 and f_conj(−1e-200) NaN, not ≈ 2(√2 − 1)."""
    t = np.array([-1e-30, -1e-100, -1e-200])
    # f*(t) = f*(0) + O(|t|·u*(t)) with u* ~ |t|^{-1/2} for α = 2, so |f*(t) − f*(0)| ≤ 1e-14 here
    np.testing.assert_allclose(arimoto_f(2.0).f_conj(t), 2.0 * (math.sqrt(2.0) - 1.0), rtol=1e-12)


@pytest.mark.parametrize("alpha", [0.97, 1.04, 1.3, 1.0 + 1e-6])
def test_arimoto_f_at_extreme_ratios_against_mpmath(alpha):
    """The public f_α to 1e-14 relative for u from 1e-9 to 1e12. Regression: near α = 1 it was formed as
    φ_α(u) + f_α'(1)(u − 1), whose O(u) terms cancel: f_1.04(1e12) = −16.35474 for −16.35374."""
    u = np.array([1e-9, 0.5, 3.0, 1e3, 1e12])
    assert np.allclose(arimoto_f(alpha).f(u), arimoto_f_mp(alpha, u), rtol=1e-14, atol=1e-15)


def test_gan_f_and_f_prime_at_extreme_ratios_against_mpmath():
    """f(u) = u log u − (u+1) log(u+1) and f'(u) = log(u/(u+1)) in 60-digit arithmetic. Regression: the first
    form cancelled at large u (f(1e12) = −28.6328 for −28.6310; f'(1e12) 2e-5 off)."""
    import mpmath as mp

    rec = F_DIVERGENCES["gan"]
    with mp.workdps(60):
        for u in (1e-9, 0.5, 3.0, 1e3, 1e12, 1e20):
            x = mp.mpf(u)
            f_want = float(x * mp.log(x) - (x + 1) * mp.log(x + 1))
            fp_want = float(mp.log(x / (x + 1)))
            assert_close(float(rec.f(u)), f_want, 1e-15 * max(1.0, abs(f_want)), f"gan f({u:g})")
            assert_close(float(rec.f_prime(u)), fp_want, 1e-15 * abs(fp_want), f"gan f'({u:g})")
    assert rec.f(0.0) == 0.0 and rec.f_prime(0.0) == -math.inf
