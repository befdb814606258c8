"""The analytic layer at the edges of float64: a correct value or a clear ValueError, never 0 ± 0, NaN or a hang.

References are closed forms evaluated in mpmath from the exact float64 inputs (``_mp_*`` below), never numbers
printed by the code under test. Each case here failed before the anchored mesh / overflow handling (issue 14).
"""

from __future__ import annotations

import math
import time
import warnings

import mpmath as mp
import numpy as np
import pytest

import divergences.quadrature as quad
from divergences import (GaussianMixture, IntegrationWarning, arimoto, gaussian_kl, jsd, kl, pearson_chi2,
                         squared_hellinger, total_variation, wasserstein1)
from divergences.fdiv import get_f

G = GaussianMixture.gaussian
LOG2 = math.log(2.0)
DPS = 50


# ----------------------------------------------------------------------------- mpmath closed forms
def _mat(a) -> mp.matrix:
    a = np.atleast_2d(np.asarray(a, dtype=float))
    return mp.matrix(a.tolist())


def _vec(v) -> mp.matrix:
    return mp.matrix([float(x) for x in np.atleast_1d(np.asarray(v, dtype=float))])


def _mp_kl(P, Q) -> mp.mpf:
    """KL(N_p || N_q) = ½[tr(Σq⁻¹Σp) + Δᵀ Σq⁻¹ Δ − d + log det Σq / det Σp], in mpmath."""
    with mp.workdps(DPS):
        Sp, Sq = _mat(P.covs[0]), _mat(Q.covs[0])
        d = _vec(Q.means[0]) - _vec(P.means[0])
        iq = Sq**-1
        tr = sum((iq * Sp)[i, i] for i in range(Sp.rows))
        return (tr + (d.T * iq * d)[0] - Sp.rows + mp.log(mp.det(Sq) / mp.det(Sp))) / 2


def _mp_hellinger2(P, Q) -> mp.mpf:
    """H² = 2 − 2 BC, BC = det(Σp)^¼ det(Σq)^¼ det(Σ̄)^−½ exp(−⅛ Δᵀ Σ̄⁻¹ Δ), Σ̄ = (Σp + Σq)/2 (Bhattacharyya 1943)."""
    with mp.workdps(DPS):
        Sp, Sq = _mat(P.covs[0]), _mat(Q.covs[0])
        S = (Sp + Sq) / 2
        d = _vec(Q.means[0]) - _vec(P.means[0])
        bc = mp.det(Sp) ** 0.25 * mp.det(Sq) ** 0.25 / mp.sqrt(mp.det(S)) * mp.exp(-(d.T * S**-1 * d)[0] / 8)
        return 2 - 2 * bc


def _mp_pearson(P, Q) -> mp.mpf:
    """Pearson χ² = ∫ p²/q − 1 by completing the square (inf when 2Σp⁻¹ − Σq⁻¹ is not positive definite), with P's
    mean moved to 0 (χ² depends on μ_q − μ_p only; at |μ| = 1e30 the square's terms cancel over 60 digits)."""
    with mp.workdps(DPS):
        Sp, Sq = _mat(P.covs[0]), _mat(Q.covs[0])
        mq = _vec(Q.means[0]) - _vec(P.means[0])  # exact in mpmath
        mp_ = mq * 0
        ip, iq = Sp**-1, Sq**-1
        A = 2 * ip - iq
        if min(mp.eig(A)[0], key=lambda z: mp.re(z)).real <= 0:
            return mp.inf
        b = 2 * ip * mp_ - iq * mq
        c = 2 * (mp_.T * ip * mp_)[0] - (mq.T * iq * mq)[0]
        return mp.sqrt(mp.det(Sq)) / mp.det(Sp) / mp.sqrt(mp.det(A)) * mp.exp((b.T * A**-1 * b)[0] / 2 - c / 2) - 1


def _covered(got: float, err: float, want, what: str) -> None:
    """|got − want| ≤ err (the returned estimate must cover the error), with want an mpmath number."""
    assert math.isfinite(got) and err >= 0, what
    actual = float(abs(mp.mpf(got) - want))
    assert actual <= err, f"{what}: |{got!r} − {mp.nstr(want, 17)}| = {actual:.3g} > estimate {err:.3g}"


# ----------------------------------------------------------------------------- far-apart locations (1D)
@pytest.mark.parametrize("m", [1e17, 1e20])
def test_far_apart_gaussians_1d(m):
    # before: 0.0 ± 0.0 for all three at ±1e20 (the mesh rounded to one cell), TV 3.55 and JSD 2.46 at ±1e17
    P, Q = G(-m, 1.0), G(m, 1.0)
    v, e = kl(P, Q, error=True)
    _covered(v, e, _mp_kl(P, Q), "KL = (2m)²/2")
    assert abs(v - 2 * m * m) <= 1e-12 * 2 * m * m  # the closed form, to a few ulps
    for fn, top in ((jsd, LOG2), (total_variation, 1.0), (squared_hellinger, 2.0)):
        v, e = fn(P, Q, error=True)
        assert 0.0 <= v <= top
        assert abs(v - top) <= e  # the overlap is e^{-m²/2}: the exact value is the bound itself


@pytest.mark.parametrize("m", [1e160, 1e200])
def test_overflowing_separation_1d(m):
    # before: NaN for every divergence. Bounded divergences take their limits; KL (2m² > 1.8e308) cannot be formed
    P, Q = G(-m, 1.0), G(m, 1.0)
    for fn, top in ((jsd, LOG2), (total_variation, 1.0), (squared_hellinger, 2.0)):
        v, e = fn(P, Q, error=True)
        assert 0.0 <= v <= top and abs(v - top) <= e
    with pytest.raises(ValueError, match=r"kl\(P\|\|Q\) cannot be computed in float64: the means of P and Q are "
                                         r"[0-9.e+]+ of the smallest standard deviation apart"):
        kl(P, Q)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert pearson_chi2(P, Q) == math.inf  # e^{(2m)²} − 1: beyond float64, said so
    assert any("exceeds the float64 range" in str(w.message) for w in caught)


@pytest.mark.parametrize("m,want", [(1e17, 2e17), (1e200, 2e200), (2e200, 4e200)])
def test_w1_far_apart(m, want):
    # before: inf at ±1e200 (the norm of the shift squared it)
    v, e = wasserstein1(G(-m, 1.0), G(m, 1.0), error=True)
    assert v == want and e <= 8 * np.spacing(want)  # the shift exactly, a bracket of a few ulps
    assert wasserstein1(G([-m, 0.0], np.eye(2)), G([m, 0.0], np.eye(2))) == want


def test_translated_pair_far_from_the_origin_equals_the_pair_at_the_origin():
    # f-divergences are invariant under a common shift; at 1e15 (ulp 0.125) absolute cubature nodes were rounded to a
    # quarter of σ = 0.5
    P = GaussianMixture([0.3, 0.7], [0.0, 3.0], [0.25, 1.0])
    Q = GaussianMixture([0.5, 0.5], [1.0, 2.5], [0.5, 0.36])
    for fn in (kl, jsd, total_variation, squared_hellinger):
        near, e0 = fn(P, Q, error=True)
        far, e1 = fn(P.translate(1e15), Q.translate(1e15), error=True)
        assert abs(far - near) <= e0 + e1, fn.__name__
        assert e1 <= 10.0 * e0, fn.__name__  # and as accurate as at the origin (not a wide estimate covering a loss)


def test_batch_mixing_ordinary_and_extreme_pairs():
    P = [G(0.0, 1.0), G(-1e20, 1.0), G(5.0, 0.01)]
    Q = [G(1.0, 2.0), G(1e20, 1.0), G(5.1, 0.02)]
    vals, errs = jsd(P, Q, error=True)
    for i in range(3):
        v, e = jsd(P[i], Q[i], error=True)
        assert abs(vals[i] - v) <= errs[i] + e
    assert abs(vals[1] - LOG2) <= errs[1]


# ----------------------------------------------------------------------------- extreme scales
def test_kl_with_scales_beyond_float64_is_a_clear_error():
    # KL(N(0, 1e308) || N(0, 1)) = 5e307, but log q overflows where P still has mass: before NaN
    with pytest.raises(ValueError, match=r"the standard deviations of P and Q differ by a factor [0-9.e+]+"):
        kl(G(0.0, 1e308), G(0.0, 1.0))


def test_jsd_across_400_orders_of_magnitude():
    # σ = 1e-100 against σ = 1e100: JSD = log 2 − (a vanishing overlap); before NaN
    v, e = jsd(G(0.0, 1e-200), G(0.0, 1e200), error=True)
    assert 0.0 <= v <= LOG2 and abs(v - LOG2) <= e


def test_kl_at_tiny_but_normal_variance():
    # KL(N(0, v) || N(0, 1)) = ½(v − 1 − log v): v = 1e-300 is fine (σ = 1e-150)
    P, Q = G(0.0, 1e-300), G(0.0, 1.0)
    v, e = kl(P, Q, error=True)
    _covered(v, e, _mp_kl(P, Q), "KL at variance 1e-300")


def test_subnormal_variance_is_refused():
    # 1e-320 is stored as 9.99989e-321 (subnormal: ~10 significant bits); before it was accepted and KL gave NaN
    with pytest.raises(ValueError, match=r"covariance eigenvalues must be at least 2.23e-308 \(the smallest normal "
                                         r"float64"):
        G(0.0, 1e-320)


@pytest.mark.parametrize("alpha", [1e-3, 1e-2])
def test_arimoto_small_alpha_against_mpmath(alpha):
    # D_{f_α} ≈ α 2^{1/α} H²/2 for small α: 1.26e297 at α = 1e-3
    P, Q = G(0.0, 1.0), G(1.0, 1.0)
    with mp.workdps(40):
        a = mp.mpf(alpha)

        def g(x):
            p, q = mp.npdf(x, 0, 1), mp.npdf(x, 1, 1)
            u = p / q
            return q * a / (a - 1) * ((1 + u**a) ** (1 / a) - (1 + u) - 2 ** (1 / a) + 2)

        want = mp.quad(g, [-40, -10, -3, 0, 0.5, 1, 3, 10, 40])
    v, e = arimoto(P, Q, alpha, error=True)
    _covered(v, e, want, f"arimoto({alpha})")
    assert float(abs(v - want) / want) <= 1e-11  # and to near float64 precision


def test_arimoto_alpha_1e4_exceeds_float64():
    # the exact value is α 2^{1/α}·(…) ≈ 2.3e3005: inf, said so (before: NaN)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert arimoto(G(0.0, 1.0), G(1.0, 1.0), 1e-4) == math.inf
    assert any("exceeds the float64 range" in str(w.message) for w in caught)
    assert not any("overflow encountered" in str(w.message) for w in caught)  # no stray numpy warnings


# ----------------------------------------------------------------------------- 2D: condition numbers, locations
def _rotation(t: float) -> np.ndarray:
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


@pytest.mark.parametrize("cond", [1e8, 1e10, 1e12])
def test_2d_kl_cost_does_not_grow_with_the_condition_number(cond):
    # before: 7 s at 1e8, 55 s at 1e10, minutes at 1e12 (the mesh followed the thin Gaussian at its thin width along
    # its whole length); KL(thin || N(0, I)) ≈ 13.6 at 1e12
    Sp = _rotation(0.7) @ np.diag([1.0, 1.0 / cond]) @ _rotation(0.7).T
    P, Q = G([0.3, -0.2], Sp), G([0.0, 0.5], np.eye(2))
    for A, B in ((P, Q), (Q, P)):
        t0 = time.perf_counter()
        v, e = kl(A, B, error=True)
        # 2 s: the call takes 0.03-0.1 s on a quiet machine (20x margin for a loaded one)
        assert time.perf_counter() - t0 < 2.0
        _covered(v, e, _mp_kl(A, B), f"KL at condition number {cond:g}")
    for fn, ref in ((squared_hellinger, _mp_hellinger2), (pearson_chi2, _mp_pearson)):
        v, e = fn(P, Q, error=True)
        want = ref(P, Q)
        if want == mp.inf:
            assert v == math.inf
        else:
            _covered(v, e, want, f"{fn.__name__} at condition number {cond:g}")


def test_gaussian_kl_at_condition_number_1e12():
    # the closed form itself: float64 Cholesky kept 4 digits of the thin direction (1.3e-5 relative error)
    Sp = _rotation(0.7) @ np.diag([1.0, 1e-12]) @ _rotation(0.7).T
    P, Q = G([0.3, -0.2], Sp), G([0.0, 0.5], np.eye(2))
    for A, B in ((P, Q), (Q, P)):
        want = _mp_kl(A, B)
        got = gaussian_kl(A.means[0], A.covs[0], B.means[0], B.covs[0])
        assert float(abs(got - want) / want) <= 1e-7  # κ·u_longdouble = 1e12 · 1.1e-19 ≈ 1e-7


def test_2d_far_apart_locations():
    P, Q = G([-1e20, 0.0], np.eye(2)), G([1e20, 3.0], [[2.0, 0.5], [0.5, 1.0]])
    for fn, top in ((jsd, LOG2), (total_variation, 1.0), (squared_hellinger, 2.0)):
        v, e = fn(P, Q, error=True)
        assert 0.0 <= v <= top and abs(v - top) <= e
    v, e = kl(P, Q, error=True)
    _covered(v, e, _mp_kl(P, Q), "2D KL at ±1e20")


def test_2d_translated_far_from_the_origin():
    P = GaussianMixture([0.4, 0.6], [[0.0, 0.0], [1.0, 2.0]], [np.eye(2), [[1.0, 0.3], [0.3, 0.5]]])
    Q = G([0.5, -0.5], [[2.0, -0.4], [-0.4, 0.7]])
    shift = np.array([2.0**51, -(2.0**50)])  # ulp 0.5 and 0.25 there, the components' σ 0.5 to 1.4
    for M in (P, Q):  # the premise: every shifted mean is exact, so the shifted pair is the same pair
        assert np.array_equal(M.translate(shift).means - shift, M.means)
    for fn in (kl, jsd):
        near, e0 = fn(P, Q, error=True)
        far, e1 = fn(P.translate(shift), Q.translate(shift), error=True)
        assert abs(far - near) <= e0 + e1, fn.__name__
        assert e1 <= 10.0 * e0, fn.__name__


# ----------------------------------------------------------------------------- χ² at its tail tie, cubature budget
@pytest.mark.parametrize("delta,mean", [(1e-7, 0.0), (1e-5, 0.0), (1e-9, 0.0), (1e-7, 0.001)])
def test_pearson_near_the_tail_tie_1d(delta, mean):
    # σ_Q² = σ_P²/2 + δ: p²/q decays like exp(−x² δ/…), χ² ≈ 1117 at δ = 1e-7. Before: error 2.1e-7 against an
    # estimate of 2.4e-8 (at δ = 1e-5: 3e-10 against 8e-11, without a warning). Now the estimate counts the rounding
    # of log p and log q (~1e6 where p²/q has its mass)
    P, Q = G(0.0, 1.0), G(mean, 0.5 + delta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)  # a budget stop would still have to be covered
        v, e = pearson_chi2(P, Q, error=True)
    _covered(v, e, _mp_pearson(P, Q), f"Pearson at δ = {delta:g}")


def test_estimate_covers_the_error_when_the_budget_stops_refinement():
    # TV of a thin rotated ring with the cell budget cut to 3000: the cubature stops early, says so, and re-estimates
    # its unresolved cells by bisection (their |I_n − I_n/2| is what cannot be trusted there)
    from divergences import ring
    P, Q = ring(), ring(phase=0.01)
    rec = get_f("tv")
    want = 0.3829234556102296  # TV of two 8-rings (var 1e-4) rotated by 0.01: benchmarks/references.json, closed form
    cub = quad.PairCubature([P], [Q])
    with pytest.warns(IntegrationWarning, match="stopped before its tolerance"):
        v, e = cub.integrate(lambda pts, lp, lq: rec.integrand(lp, lq), max_cells=3000, levels=rec.bend_levels)
    assert abs(float(v[0]) - want) <= float(e[0])


def test_chi2_beyond_float64_in_2d_is_inf_not_an_error():
    # an 8-ring against the ring rotated by π/8 (modes 39σ apart): Pearson χ² ≥ 2.4e341 (benchmarks/references.json,
    # a mesh lower bound). Regression: an inf integrand times a zero weight of the other rule gave NaN and a ValueError
    from divergences import neyman_chi2, ring
    P, Q = ring(), ring(phase=math.pi / 8)
    for fn in (pearson_chi2, neyman_chi2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert fn(P, Q) == math.inf
        assert any("exceeds the float64 range" in str(w.message) for w in caught)
