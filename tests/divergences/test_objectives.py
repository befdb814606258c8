"""Unit tests for divergences.objectives: α-loss, objective registry, optimal discriminators, value functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from divergences import (F_DIVERGENCES, OBJECTIVES, GaussianMixture, Objective, OptimalDiscriminator, alpha_loss,
                         arimoto, f_divergence, get_f, get_objective, optimal_discriminator, value_function)
from tests.helpers import LogitDiscriminator, assert_close
from tests.reference import divergence_ref, harmonic_overlap_ref, pdf_ref, tv_gauss_1d

LOG2 = math.log(2.0)
G = GaussianMixture.gaussian
P = GaussianMixture([0.3, 0.7], [-1.0, 2.0], [0.5, 1.5])
Q = G(0.5, 2.0)
P2 = GaussianMixture([0.4, 0.6], [[0.0, 0.0], [1.0, 2.0]], [np.eye(2), [[1.0, 0.3], [0.3, 0.5]]])
Q2 = G([0.5, 0.5], 2.0 * np.eye(2))
X = np.linspace(-4.0, 6.0, 41)




# ----------------------------------------------------------------------------- α-loss
def test_alpha_loss_known_values():
    assert_close(float(alpha_loss(1.0, 0.5, 1.0)), LOG2, 1e-16, "log-loss at ½")
    # α = 2: 2(1 − ŷ^{1/2}) for y = 1
    assert_close(float(alpha_loss(1.0, 0.25, 2.0)), 2 * (1 - 0.5), 1e-15, "α = 2")
    # α = 1/2: (1/2)/(−1/2)(1 − ŷ^{−1}) = 1/ŷ − 1
    assert_close(float(alpha_loss(1.0, 0.25, 0.5)), 3.0, 1e-14, "α = 1/2")
    # α = ∞: 1 − y ŷ − (1 − y)(1 − ŷ)
    assert_close(float(alpha_loss(0.0, 0.3, math.inf)), 0.3, 2e-16, "α = ∞")
    assert_close(float(alpha_loss(1.0, 0.3, math.inf)), 0.7, 2e-16, "α = ∞")


def test_alpha_loss_soft_labels_are_linear_and_broadcast():
    yhat = np.array([0.1, 0.4, 0.9])
    for a in (0.5, 1.0, 3.0, math.inf):
        l1, l0 = alpha_loss(1.0, yhat, a), alpha_loss(0.0, yhat, a)
        np.testing.assert_allclose(alpha_loss(0.3, yhat, a), 0.3 * l1 + 0.7 * l0, rtol=1e-14)
        assert alpha_loss(np.array([[1.0], [0.0]]), yhat, a).shape == (2, 3)


def test_alpha_loss_symmetry():
    # ℓ_α(0, ŷ) = ℓ_α(1, 1 − ŷ)
    yhat = np.linspace(0.05, 0.95, 19)
    for a in (0.3, 1.0, 2.5, math.inf):
        np.testing.assert_allclose(alpha_loss(0.0, yhat, a), alpha_loss(1.0, 1 - yhat, a), rtol=1e-13)


@pytest.mark.parametrize("eps", [1e-9, -1e-9, 1e-6, -1e-6])
def test_alpha_loss_near_one_is_log_loss(eps):
    yhat = np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    log_loss = -np.log(yhat)
    # |ℓ_{1+ε} − ℓ_1| ≈ |ε|·|L − L²/2| with L = −log ŷ ≤ 4.6: ≤ |ε| · 16
    np.testing.assert_allclose(alpha_loss(1.0, yhat, 1.0 + eps), log_loss, rtol=0, atol=16 * abs(eps) + 1e-15)


@pytest.mark.parametrize("alpha", [1e6, 1e8])
def test_alpha_loss_large_alpha_is_linear_loss(alpha):
    yhat = np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    # ℓ_α(1, ŷ) = α/(α−1)(1 − ŷ ŷ^{−1/α}) = (1 − ŷ) + [(1 − ŷ) − ŷ L]/α + O(1/α²), L = −log ŷ ≤ 4.6
    np.testing.assert_allclose(alpha_loss(1.0, yhat, alpha), 1 - yhat, rtol=0, atol=6.0 / alpha)


# regressions: certain predictions used to give NaN — 0·(−inf) for α ≤ 1 (alpha_loss(0, 0, 1)) and
# −α/(α−1) = −inf/inf at α = inf (alpha_loss(1, 0, inf))
@pytest.mark.parametrize("y,yhat,alpha,want", [
    pytest.param(1.0, 0.0, 0.5, math.inf, id="miss-a0.5"),
    pytest.param(1.0, 0.0, 1.0, math.inf, id="miss-a1"),
    pytest.param(1.0, 0.0, 2.0, 2.0, id="miss-a2"),             # α/(α−1)
    pytest.param(0.0, 1.0, 4.0, 4.0 / 3.0, id="miss-a4"),
    pytest.param(1.0, 1.0, 2.0, 0.0, id="hit-a2"),
    pytest.param(0.0, 0.0, 2.0, 0.0, id="hit0-a2"),
    pytest.param(1.0, 0.0, math.inf, 1.0, id="miss-inf"),
    pytest.param(1.0, 1.0, math.inf, 0.0, id="hit-inf"),
    pytest.param(0.0, 0.0, 1.0, 0.0, id="hit0-a1"),
    pytest.param(1.0, 1.0, 0.5, 0.0, id="hit-a0.5"),
])
def test_alpha_loss_at_certain_predictions(y, yhat, alpha, want):
    assert float(alpha_loss(y, yhat, alpha)) == want


# ----------------------------------------------------------------------------- registry
def test_objective_registry():
    assert set(OBJECTIVES) == {"vanilla", "alpha", "lsgan", "hinge", "wgan"}
    assert get_objective("vanilla").name == "vanilla"
    assert get_objective("alpha", alpha=2.0).params == {"alpha": 2.0}
    assert get_objective("lsgan").params == {"a": 0.0, "b": 1.0, "c": 1.0}
    for name in F_DIVERGENCES:
        obj = get_objective(name)
        assert isinstance(obj, Objective) and obj.output == "critic" and obj.name == name
    assert get_objective("arimoto", alpha=3.0).name == "arimoto(3)"


# ----------------------------------------------------------------------------- optimal discriminators
def _pq(x):
    return pdf_ref(P, x), pdf_ref(Q, x)


def test_optimal_discriminators_pointwise():
    p, q = _pq(X)
    np.testing.assert_allclose(optimal_discriminator(P, Q)(X), p / (p + q), rtol=1e-12)
    for a in (0.5, 2.0, 7.0):
        np.testing.assert_allclose(optimal_discriminator(P, Q, "alpha", alpha=a)(X), p**a / (p**a + q**a), rtol=1e-11)
    Dinf = optimal_discriminator(P, Q, "alpha", alpha=math.inf)(X)
    np.testing.assert_array_equal(Dinf, np.where(p > q, 1.0, np.where(p < q, 0.0, 0.5)))
    np.testing.assert_allclose(optimal_discriminator(P, Q, "lsgan", a=-1.0, b=2.0)(X), (2 * p - q) / (p + q),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(optimal_discriminator(P, Q, "hinge")(X), np.sign(p - q))


@pytest.mark.parametrize("name", sorted(F_DIVERGENCES))
def test_fgan_optimal_critic_is_f_prime_of_ratio(name):
    p, q = _pq(X)
    rec = F_DIVERGENCES[name]
    T = optimal_discriminator(P, Q, name)(X)
    u = p / q
    want = rec.f_prime(u)
    if name != "tv":  # away from u = 1 the subgradient is unique; TV's T* is ½ sign(u − 1)
        # f' by a central difference of the record's f (independently of f_prime)
        h = 1e-6 * u
        np.testing.assert_allclose(want, (rec.f(u + h) - rec.f(u - h)) / (2 * h), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(T, want, rtol=1e-11, atol=1e-13)
    assert np.all(rec.conj_domain.contains(T))


def test_fgan_optimal_critic_is_clipped_inside_open_domain():
    # P much wider than Q: p/q → ∞ in the tails, T* = f'(p/q) → sup dom f* (open for js, hellinger, gan, …)
    Pw, Qn = G(0.0, 16.0), G(0.0, 1.0)
    x = np.array([0.0, 20.0, 60.0, 200.0])
    for name in ("js", "squared_hellinger", "gan", "reverse_kl", "neyman"):
        T = optimal_discriminator(Pw, Qn, name)(x)
        assert np.all(F_DIVERGENCES[name].conj_domain.contains(T)), name
        assert np.all(np.isfinite(F_DIVERGENCES[name].f_conj(T))), name


def test_logit_method():
    r = P.logpdf(X) - Q.logpdf(X)
    np.testing.assert_allclose(optimal_discriminator(P, Q).logit(X), r, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(optimal_discriminator(P, Q, "alpha", alpha=3.0).logit(X), 3 * r, rtol=1e-14, atol=1e-13)
    for loss, params in (("hinge", {}), ("lsgan", {}), ("alpha", {"alpha": math.inf}), ("kl", {})):  # no logit
        with pytest.raises(ValueError, match="no finite logit"):
            optimal_discriminator(P, Q, loss, **params).logit(X)


def test_optimal_discriminator_accepts_point_shapes():
    D = optimal_discriminator(P, Q)
    np.testing.assert_array_equal(D(X), D(X[:, None]))
    D2 = optimal_discriminator(P2, Q2)
    pts = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]])
    p, q = pdf_ref(P2, pts), pdf_ref(Q2, pts)
    np.testing.assert_allclose(D2(pts), p / (p + q), rtol=1e-12)
    assert isinstance(D2, OptimalDiscriminator) and "vanilla" in repr(D2)


# ----------------------------------------------------------------------------- value functions: closed forms
CONST = lambda c: (lambda x: np.full(np.shape(x)[0], c))


@pytest.mark.parametrize("PQ", [(P, Q), (P2, Q2)], ids=["1d", "2d"])
def test_value_of_constant_discriminators(PQ):
    A, B = PQ
    # vanilla D ≡ ½: log ½ + log ½
    assert_close(value_function(A, B, CONST(0.5)), -2 * LOG2, 1e-13, "vanilla ½")
    # α-loss D ≡ ½: 2 · α/(α−1)(2^{−(α−1)/α} − 1)
    a = 3.0
    assert_close(value_function(A, B, CONST(0.5), "alpha", alpha=a), 2 * a / (a - 1) * (2 ** (-(a - 1) / a) - 1),
                 1e-13, "alpha ½")
    # hinge D ≡ 0: −1 − 1; D ≡ 3: −0 − 4
    assert_close(value_function(A, B, CONST(0.0), "hinge"), -2.0, 1e-13, "hinge 0")
    assert_close(value_function(A, B, CONST(3.0), "hinge"), -4.0, 1e-13, "hinge 3")
    # lsgan D ≡ c: −½(c − b)² − ½(c − a)²
    assert_close(value_function(A, B, CONST(0.25), "lsgan", a=-1.0, b=1.0), -0.5 * 0.75**2 - 0.5 * 1.25**2, 1e-13,
                 "lsgan")
    # KL f-GAN T ≡ t0: t0 − e^{t0 − 1}; TV T ≡ 0.3: 0.3 − 0.3
    assert_close(value_function(A, B, CONST(0.4), "kl"), 0.4 - math.exp(-0.6), 1e-13, "kl const")
    assert_close(value_function(A, B, CONST(0.3), "tv"), 0.0, 1e-13, "tv const")


def test_wgan_value_of_linear_critic():
    # E_P x − E_Q x with the hand-computed means of P (0.3·−1 + 0.7·2 = 1.1) and Q (0.5)
    assert_close(value_function(P, Q, lambda x: x, "wgan"), 1.1 - 0.5, 1e-12, "1D")
    # 2D: D(x) = x0 + 2 x1; E_P = 0.6·(1, 2) = (0.6, 1.2) → 3.0; E_Q = (0.5, 0.5) → 1.5
    assert_close(value_function(P2, Q2, lambda x: x[:, 0] + 2 * x[:, 1], "wgan"), 3.0 - 1.5, 1e-10, "2D")


def test_value_at_optimum_against_quad_references():
    js, _ = divergence_ref(P, Q, "js")
    v, e = value_function(P, Q, optimal_discriminator(P, Q), error=True)
    assert_close(v, 2 * js - 2 * LOG2, max(e, 1e-10), "vanilla")
    v, e = value_function(P, Q, optimal_discriminator(P, Q, "lsgan", a=-1.0, b=2.0), "lsgan", a=-1.0, b=2.0,
                          error=True)
    assert_close(v, -0.5 * 9.0 * harmonic_overlap_ref(P, Q), max(e, 1e-10), "lsgan")
    for a in (0.5, 2.0, 6.0):
        d, _ = divergence_ref(P, Q, "arimoto", a)
        v, e = value_function(P, Q, optimal_discriminator(P, Q, "alpha", alpha=a), "alpha", alpha=a, error=True)
        assert_close(v, d + a / (a - 1) * (2 ** (1 / a) - 2), max(e, 1e-10), f"alpha {a}")


def test_hinge_value_at_optimum_single_gaussians():
    A, B = G(0.0, 1.0), G(1.5, 1.0)  # equal variances: one crossing at 0.75, no kink-estimate issue
    v, e = value_function(A, B, optimal_discriminator(A, B, "hinge"), "hinge", error=True)
    assert_close(v, 2 * tv_gauss_1d(0.0, 1.0, 1.5, 1.0) - 2, max(e, 1e-10), "hinge = 2 TV − 2")


@pytest.mark.parametrize("name", sorted(F_DIVERGENCES) + ["arimoto"])
def test_logit_path_equals_plain_path(name):
    """A discriminator with .logit is scored through g_f / conj_g_f; the same critic as a plain
    callable through f*(T): both must give V(g_f(v))."""
    params = {"alpha": 2.0} if name == "arimoto" else {}
    rec = get_f(name, params.get("alpha"))
    v = lambda x: 0.3 + 0.8 * np.sin(np.asarray(x, float))
    a, ea = value_function(P, Q, LogitDiscriminator(v), name, error=True, **params)
    b, eb = value_function(P, Q, lambda x: rec.g_f(v(x)), name, error=True, **params)
    assert_close(a, b, ea + eb + 1e-13, name)
    # and for probability-valued losses, the logit path equals the probability path where nothing rounds
    D = optimal_discriminator(P, Q)
    a, ea = value_function(P, Q, D, error=True)
    b, eb = value_function(P, Q, lambda x: D(x), error=True)
    assert_close(a, b, ea + eb + 1e-13, "vanilla logit vs probability")


def test_value_minus_infinity_when_discriminator_is_certain_and_wrong():
    # regression: a −inf value used to come back as +inf
    A, B = G(0.0, 1.0), G(1.0, 1.0)
    D = lambda x: np.where(np.asarray(x) < 0, 0.0, 0.5)  # log D = −inf on half of P's mass
    assert value_function(A, B, D) == -math.inf
    T = lambda x: np.full(np.shape(x), 0.1)  # outside dom f* = (−inf, 0) of the GAN row: f*(T) = +inf
    assert value_function(A, B, T, "gan") == -math.inf


# ----------------------------------------------------------------------------- regressions (found by this suite)
def test_alpha_gan_value_at_infinity():
    """Regression: D* = 1{p > q} is 0 where p < q, and the reward there was −inf/(inf − 1) = NaN."""
    A, B = G(0.0, 1.0), G(1.5, 1.0)
    v, e = value_function(A, B, optimal_discriminator(A, B, "alpha", alpha=math.inf), "alpha", alpha=math.inf,
                          error=True)
    assert_close(v, tv_gauss_1d(0.0, 1.0, 1.5, 1.0) - 1.0, max(e, 1e-10), "sup V_∞ = TV − 1")


def test_fgan_arimoto_value_at_optimum_with_wider_data():
    """Regression: where p/q ≳ e^30, T* ≈ 0⁻ and f_conj(T*) was NaN (cancellation), so V(T*) was NaN."""
    A, B = G(0.0, 4.0), G(0.0, 1.0)
    T = optimal_discriminator(A, B, "arimoto", alpha=2.0)
    v, e = value_function(A, B, T, "arimoto", alpha=2.0, error=True)
    d, ed = arimoto(A, B, 2.0, error=True)
    assert_close(v, d, e + ed + 1e-12, "V(T*) = D_{f_2}")


# regression: T* = −e^{−r}, −expm1(−r/2), … overflow where log p/q ≪ −709; the RuntimeWarning (an error
# under the project's pytest config) is now suppressed where T* saturates
@pytest.mark.parametrize("name,params", [("reverse_kl", {}), ("squared_hellinger", {}), ("arimoto", {"alpha": 0.5})],
                         ids=["reverse_kl", "squared_hellinger", "arimoto(0.5)"])
def test_fgan_critic_with_narrower_data_does_not_warn(name, params):
    A, B = G(0.0, 0.25), G(0.0, 1.0)
    v, e = value_function(A, B, optimal_discriminator(A, B, name, **params), name, error=True, **params)
    d, ed = f_divergence(A, B, name, error=True, **params)
    assert_close(v, d, e + ed + 1e-12, f"{name}: V(T*) = D_f")


# ----------------------------------------------------------------------------- extreme density ratios
# T* = f'(p/q) and f*(T*) leave float64 where |log p/q| is large while p or q still carries mass; value_function
# then uses the Fenchel–Young equality p T* − q f*(T*) = q f(p/q) at those points (divergences.objectives). Each case
# below returned a wrong value before (noted per test) and is checked against a closed form.
# before: Pearson f-GAN at T* when χ² = inf: T* = 2 expm1(r) saturates to inf, the real term p·T* is +inf and the
#   fake term −q·f*(T*) is −inf; the pair is resolved as −inf instead of sup V = D = +inf
def test_fgan_pearson_value_at_optimum_when_divergence_is_infinite():
    # V(T*) = sup V = χ² = +inf comes from the χ² tail test (as for the divergence); a bounded critic on the same
    # pair stays finite, so the inf is not an overflow of the term-by-term path
    A, B = G(0.0, 4.0), G(0.0, 1.0)
    assert f_divergence(A, B, "pearson") == math.inf
    assert value_function(A, B, optimal_discriminator(A, B, "pearson"), "pearson") == math.inf
    assert math.isfinite(value_function(A, B, lambda x: np.tanh(x) + 1.0, "pearson"))


# before: KL f-GAN at T* = 1 + r: the fake term q·f*(T*) = q·e^{r} is formed as q·exp(T* − 1), which overflows to
#   inf where r > 709 while q is still subnormal-positive (|x| > 9.5 here, carrying P-mass 2e-6), so V(T*) = −inf
#   instead of KL = 29.42
def test_fgan_kl_value_at_optimum_with_much_wider_data():
    A, B = G(0.0, 4.0), G(0.0, 1.0 / 16.0)
    want = 0.5 * (4.0 * 16.0 - 1.0 + math.log(1.0 / 64.0))  # closed form ½(σp²/σq² − 1 + log σq²/σp²)
    v, e = value_function(A, B, optimal_discriminator(A, B, "kl"), "kl", error=True)
    assert math.isfinite(e)
    assert_close(v, want, max(e, 1e-10), "V(T*) = KL")


# before: reverse-KL f-GAN at T* = −e^{−r}: where log p/q < −709.8 (|x| > 9.5 here, carrying Q-mass 2e-6) T*
#   overflows and is clipped to −1.8e308, so f*(T*) = −1 − log(−T*) is −710.8 instead of −1 + r; V(T*) =
#   29.420439 vs reverse KL = 29.420558 (error 1.2e-4, estimate 4e-11)
def test_fgan_reverse_kl_value_at_optimum_with_much_narrower_data():
    A, B = G(0.0, 1.0 / 16.0), G(0.0, 4.0)
    want = 0.5 * (4.0 * 16.0 - 1.0 + math.log(1.0 / 64.0))  # KL(Q||P) in closed form
    v, e = value_function(A, B, optimal_discriminator(A, B, "reverse_kl"), "reverse_kl", error=True)
    assert_close(v, want, max(e, 1e-10), "V(T*) = KL(Q||P)")


# before: Pearson f-GAN at T* with χ² finite but close to its boundary 2σq² > σp²: the integrand decays like p²/q
#   ~ exp(−0.0057 x²), log p/q passes 709 on the mesh and T*, p·T*, q·f*(T*) overflow; value_function returns
#   −inf for χ² = 3.745
def test_fgan_pearson_value_at_optimum_with_heavy_ratio_tails():
    vp = 1.97753906
    A, B = G(0.0, vp), G(0.0, 1.0)
    want = 1.0 / math.sqrt(vp * (2.0 - vp)) - 1.0  # χ² = σq²/(σp √(2σq² − σp²)) − 1, σq = 1
    v, e = value_function(A, B, optimal_discriminator(A, B, "pearson"), "pearson", error=True)
    assert_close(v, want, max(e, 1e-10), "V(T*) = χ²")  # (assert_close also rejects err = inf)


@pytest.mark.parametrize("name", sorted(F_DIVERGENCES) + ["arimoto"])
def test_fenchel_young_form_equals_the_two_terms_where_both_are_finite(name):
    # the substitute used where T* or f*(T*) overflows must be the same function as p T* − q f*(T*) pointwise:
    # compare the two on |log p/q| ≤ 30 (generic terms from the record's T* and conjugate, the substitute from
    # its Bregman integrand)
    from divergences.objectives import _fenchel_young

    params = {"alpha": 3.0} if name == "arimoto" else {}
    obj = get_objective(name, **params)
    rec = obj.f_record
    lq = np.linspace(-8.0, 2.0, 11)[:, None] * np.ones((1, 13))
    lp = lq + np.linspace(-30.0, 30.0, 13)[None, :]
    lp, lq = lp.ravel(), lq.ravel()
    t = obj.optimal_from_r(lp - lq)
    p, q = np.exp(lp), np.exp(lq)
    real, fake = p * obj.real(t), q * obj.fake(t)
    fy = _fenchel_young(rec, lp, lq)
    # both forms are differences of larger terms (p T* vs q f*(T*); q φ vs f'(1)(p − q)): compare at their scale
    scale = np.abs(real) + np.abs(fake) + np.abs(rec.integrand(lp, lq)) + abs(rec.f_one) * q \
        + abs(float(rec.f_prime(1.0))) * (p + q)
    assert np.all(np.abs(fy - (real + fake)) <= 1e-12 * scale), np.max(np.abs(fy - (real + fake)) / scale)


def test_fenchel_young_only_for_the_optimal_critic_of_the_same_pair_and_loss():
    from divergences.objectives import _optimal_fgan_record

    A, B, C = G(0.0, 1.0), G(1.0, 2.0), G(0.5, 1.0)
    kl_obj = get_objective("kl")
    assert _optimal_fgan_record(optimal_discriminator(A, B, "kl"), kl_obj, A, B) is kl_obj.f_record
    same_values = GaussianMixture.gaussian(0.0, 1.0)  # equal parameters, another object
    assert _optimal_fgan_record(optimal_discriminator(same_values, B, "kl"), kl_obj, A, B) is kl_obj.f_record
    assert _optimal_fgan_record(optimal_discriminator(A, C, "kl"), kl_obj, A, B) is None  # another pair
    assert _optimal_fgan_record(optimal_discriminator(A, B, "pearson"), kl_obj, A, B) is None  # another f
    assert _optimal_fgan_record(lambda x: np.ones(len(x)), kl_obj, A, B) is None  # any other critic
    assert _optimal_fgan_record(optimal_discriminator(A, B, "vanilla"), get_objective("vanilla"), A, B) is None


@pytest.mark.parametrize("alpha", [1e3, 1e4])
def test_alpha_gan_value_at_optimum_large_alpha_1d(alpha):
    """Regression: in 1D the mesh was cut only at p = q, not where the large-α critic bends (log p/q = ±k/α), so
    a thin-mode pair came out 1e-9 off with an error estimate of 2e-16. sup V_α = D_{f_α} + α/(α−1)(2^{1/α} − 2)
    (Kurri et al. 2021, Thm. 1) against the independent quad reference of the Arimoto divergence."""
    A = GaussianMixture([0.3, 0.7], [-3.0, 4.0], [1e-4, 0.5])
    B = GaussianMixture([0.6, 0.4], [-2.9, 10.0], [2e-4, 3.0])
    d, ed = divergence_ref(A, B, "arimoto", alpha)
    v, e = value_function(A, B, optimal_discriminator(A, B, "alpha", alpha=alpha), "alpha", alpha=alpha, error=True)
    assert_close(v, d + alpha / (alpha - 1) * (2 ** (1 / alpha) - 2), e + ed + 1e-15, f"alpha {alpha}")
    t, et = value_function(A, B, optimal_discriminator(A, B, "arimoto", alpha=alpha), "arimoto", alpha=alpha,
                           error=True)
    assert_close(t, d, et + ed + 1e-15, f"f-GAN arimoto {alpha}")
