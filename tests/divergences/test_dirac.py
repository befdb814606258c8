"""divergences.dirac: the closed-form derivatives against finite differences of the analytic records' own values,
the Jacobians against the papers' statements, the update maps against explicit products, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from divergences import DIRAC_LOSSES, DIRAC_REGULARIZERS, DiracGAN, dirac_loss_terms
from divergences.dirac import eig2

LOSSES = [("minimax", {}), ("ns", {}), ("wgan", {}), ("lsgan", {}), ("lsgan", {"a": -1.0, "b": 1.0, "c": 0.0}),
          ("hinge", {}), ("alpha", {"alpha": 0.5}), ("alpha", {"alpha": 2.0}), ("alpha", {"alpha": math.inf}),
          ("alpha_d_alpha_g", {"alpha_d": 0.5, "alpha_g": 1.2}), ("alpha_d_alpha_g", {"alpha_d": 3.0, "alpha_g": 1.0}),
          *[(f"fgan_{f}", {"g_form": g}) for f in ("kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "js",
                                                     "gan", "tv") for g in ("alternative", "saturating")],
          ("fgan_arimoto", {"alpha": 2.0}), ("fgan_arimoto", {"alpha": 0.7, "g_form": "saturating"})]
V = np.linspace(-2.5, 2.5, 41)


def test_every_gan_loss_has_a_dirac_form():
    from gan.losses import LOSSES as TORCH_LOSSES

    assert set(DIRAC_LOSSES) == set(TORCH_LOSSES)


@pytest.mark.parametrize("name,params", LOSSES)
@pytest.mark.parametrize("term", ["d_real", "d_fake", "g_fake"])
def test_derivatives_against_finite_differences_of_the_values(name, params, term):
    """d1 and d2 are hand-written; the values come from the records (softplus, alpha_reward_log, g_f, f*∘g_f)."""
    t = getattr(dirac_loss_terms(name, **params), term)
    h = 1e-4
    v = V[np.abs(np.abs(V) - 1.0) > 2 * h]  # hinge terms kink at v = ±1
    f = t.value
    fd1 = (f(v + h) - f(v - h)) / (2 * h)
    fd2 = (f(v + h) - 2 * f(v) + f(v - h)) / h**2
    scale = 1.0 + np.abs(f(v))
    # central differences: truncation h²/6 |f'''| ≲ 1e-7 here (|f'''| ≤ e^{2.5+1}); rounding ε|f|/h ≈ 1e-12 for d1;
    # the second difference carries ε|f|/h² ≈ 2e-8·scale of rounding
    assert np.all(np.abs(t.d1(v) - fd1) <= 1e-6 * scale)
    assert np.all(np.abs(t.d2(v) - fd2) <= 1e-5 * scale)


def test_equilibrium_jacobians_of_the_paper():
    """Mescheder et al. (2018): J = [[0, −f'(0)], [f'(0), 0]] up to the sign convention of ψ; ±i/2 for the GAN."""
    for name in ("minimax", "ns"):
        lam = DiracGAN(name).eigenvalues()
        assert np.allclose(sorted(lam.imag), [-0.5, 0.5], rtol=0, atol=1e-15) and np.all(lam.real == 0)
    assert np.allclose(sorted(DiracGAN("wgan").eigenvalues().imag), [-1.0, 1.0], rtol=0, atol=0)
    # R1 with γ: eigenvalues (−γ ± √(γ² − 4 f'(0)²))/2 (Mescheder et al. 2018, Thm 4.1's setting)
    for gamma in (0.3, 1.0, 2.5):
        lam = DiracGAN("minimax", regularizer="r1", weight=gamma).eigenvalues()
        want = (-gamma + np.array([1, -1]) * np.sqrt(complex(gamma**2 - 1.0))) / 2
        assert np.max(np.abs(np.sort_complex(lam) - np.sort_complex(want))) <= 1e-15
    # instance noise σ: J₂₂ = −σ²(d_real''(0) + d_fake''(0)) = −σ²/2 for the GAN (2 f''(0) σ², f''(0) = −1/4)
    J = DiracGAN("minimax", regularizer="instance_noise", weight=1.5).jacobian()
    assert abs(J[1, 1] - (-(1.5**2) / 2)) <= 1e-15 and abs(J[0, 1] - 0.5) <= 1e-15 and J[0, 0] == 0


def test_alpha_gan_slope_closed_form():
    """d_fake'(0) = 2^{−(2α−1)/α} for the α-GAN: 1/2 at α = 1, 1/4 at α = ∞."""
    for a in (0.5, 1.0, 2.0, 10.0, math.inf):
        want = 0.25 if math.isinf(a) else 2.0 ** (-(2 * a - 1) / a)
        got = dirac_loss_terms("alpha", alpha=a).d_fake.d1(np.array([0.0]))[0]
        assert abs(got - want) <= 1e-15


def test_consensus_jacobian_is_j_minus_gamma_jtj():
    for name, params in LOSSES[:8]:
        base = DiracGAN(name, params).jacobian()
        J = DiracGAN(name, params, "consensus", 0.7).jacobian()
        assert np.max(np.abs(J - (base - 0.7 * base.T @ base))) <= 1e-15


def test_consensus_field_is_v_minus_gamma_jt_v():
    """At a point off the equilibrium, v − γ Jᵀv with J from central differences of the unregularised field."""
    s0, s = DiracGAN("alpha", {"alpha": 2.0}), DiracGAN("alpha", {"alpha": 2.0}, "consensus", 0.4)
    th, ps, h = 0.7, -0.3, 1e-6
    v = np.array(s0.field(th, ps), float)
    J = np.stack([(np.array(s0.field(th + h * e[0], ps + h * e[1]), float)
                   - np.array(s0.field(th - h * e[0], ps - h * e[1]), float)) / (2 * h) for e in np.eye(2)], axis=1)
    got = np.array(s.field(th, ps), float)
    # finite-difference J: O(h²) truncation + O(ε/h) rounding ≈ 1e-10
    assert np.max(np.abs(got - (v - 0.4 * J.T @ v))) <= 1e-8


def test_instance_noise_field_against_quadrature():
    """Gauss-Hermite expectation of v_ψ against scipy.integrate.quad over the Gaussian noise."""
    s = DiracGAN("ns", regularizer="instance_noise", weight=0.8)
    T = s.terms
    th, ps = 0.6, 1.3

    def integrand(x):
        xi = x
        real = T.d_real.d1(np.array([ps * 0.8 * xi]))[0] * 0.8 * xi
        fake = T.d_fake.d1(np.array([ps * (th + 0.8 * xi)]))[0] * (th + 0.8 * xi)
        return -(real + fake) * math.exp(-xi * xi / 2) / math.sqrt(2 * math.pi)

    want = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)[0]
    got = s.field(th, ps)[1]
    assert abs(got - want) <= 1e-12  # quad's own error ~1e-14; GH with 81 nodes on a smooth integrand


def test_wgan_gp_is_not_differentiable_at_the_equilibrium():
    s = DiracGAN("wgan", regularizer="gp", weight=1.5)
    assert not s.differentiable_at_equilibrium
    with pytest.raises(ValueError, match="not differentiable"):
        s.jacobian()
    side = s.one_sided()
    eps = 1e-9
    below, above = s.field(0.0, -eps)[1], s.field(0.0, eps)[1]
    assert abs(below - side["v_psi_minus"]) <= 1e-8 and abs(above - side["v_psi_plus"]) <= 1e-8
    assert side["jump"] == 6.0  # 4λ
    assert abs((above - below) - side["jump"]) <= 4 * 2 * 1.5 * eps  # the field's own jump, up to its O(ε) slope
    # the one-sided Jacobian is the limit of the Jacobians off ψ = 0, from both sides
    for sgn in (1, -1):
        assert np.max(np.abs(s.jacobian(0.0, sgn * 1e-7) - side["jacobian"])) <= 1e-13


@pytest.mark.parametrize("reg,weight", [("none", 0.0), ("r1", 1.0), ("instance_noise", 0.7), ("n_dis", 3),
                                         ("consensus", 0.5), ("clip", 0.3)])
@pytest.mark.parametrize("h", [0.05, 0.2])
def test_update_matrices_are_the_explicit_products(reg, weight, h):
    s = DiracGAN("fgan_kl", regularizer=reg, weight=weight)
    J = s._base_jacobian(np.asarray(0.0), np.asarray(0.0)) if reg == "n_dis" else s.jacobian()
    k = s.n_dis
    AD = np.array([[1.0, 0.0], [h * J[1, 0], 1.0 + h * J[1, 1]]])
    AG = np.array([[1.0 + h * J[0, 0], h * J[0, 1]], [0.0, 1.0]])
    ADk = np.linalg.matrix_power(AD, k)
    assert np.max(np.abs(s.update_matrix("alternating", h) - AG @ ADk)) <= 1e-15
    sim = np.vstack([[1.0 + h * J[0, 0], h * J[0, 1]], ADk[1]])
    assert np.max(np.abs(s.update_matrix("simultaneous", h) - sim)) <= 1e-15
    # closed-form eigenvalues against numpy's (well conditioned here: no double root)
    for method in ("simultaneous", "alternating"):
        lam = np.sort_complex(s.update_eigenvalues(method, h))
        ref = np.sort_complex(np.linalg.eigvals(s.update_matrix(method, h)))
        assert np.max(np.abs(lam - ref)) <= 1e-12


def test_paper_moduli_of_the_update_maps():
    """Simultaneous GD: |1 ± i h f'(0)| = √(1 + h²/4) for the GAN; alternating: modulus 1; R1 γ = 1, h = 0.2: 0.9."""
    h = 0.2
    gan = DiracGAN("minimax")
    assert abs(gan.contraction("simultaneous", h)["spectral_radius"] - math.sqrt(1 + h * h / 4)) <= 1e-15
    assert abs(gan.contraction("alternating", h)["spectral_radius"] - 1.0) <= 1e-15
    assert abs(gan.contraction("alternating", h)["geometric_modulus"] - 1.0) <= 1e-15
    r1 = DiracGAN("minimax", regularizer="r1", weight=1.0)
    assert abs(r1.contraction("simultaneous", h)["spectral_radius"] - 0.9) <= 1e-15  # double root 1 − h/2


def test_momentum_update_matrix_matches_its_recursion():
    """Iterating the 4×4 map equals running the heavy-ball recursion b ← βb + g, p ← p − h b with g = −(J x)_player."""
    s = DiracGAN("hinge", regularizer="r2", weight=0.5)
    J, h, beta = s.jacobian(), 0.1, 0.6
    z = np.array([0.3, -0.2, 0.05, 0.1])
    T = s.update_matrix("alternating", h, beta)
    x, b = z[:2].copy(), z[2:].copy()
    for _ in range(5):
        z = T @ z
        gd = -(J @ x)[1]
        b[1] = beta * b[1] + gd
        x[1] -= h * b[1]
        gg = -(J @ x)[0]
        b[0] = beta * b[0] + gg
        x[0] -= h * b[0]
    assert np.max(np.abs(z - np.concatenate([x, b]))) <= 1e-15


def test_eig2_against_numpy():
    rng = np.random.default_rng(0)
    for _ in range(50):
        M = rng.normal(size=(2, 2))
        assert np.max(np.abs(np.sort_complex(eig2(M)) - np.sort_complex(np.linalg.eigvals(M)))) <= 1e-13
    with pytest.raises(ValueError, match="2x2"):
        eig2(np.eye(3))


@pytest.mark.parametrize("kw,exc,match", [
    ({"regularizer": "dropout"}, ValueError, "regularizer must be one of"),
    ({"regularizer": "n_dis", "weight": 2.5}, ValueError, "integer"),
    ({"regularizer": "gp", "weight": 0.0}, ValueError, "> 0"),
    ({"regularizer": "r1", "weight": -1.0}, ValueError, ">= 0"),
    ({"regularizer": "r1", "weight": True}, TypeError, "real number"),
    ({"regularizer": "r1", "weight": math.nan}, TypeError, "finite"),
    ({"loss": "nope"}, ValueError, "unknown loss"),
    ({"loss": "alpha", "loss_params": {"alpha": -1.0}}, ValueError, "alpha"),
    ({"loss": "fgan_kl", "loss_params": {"g_form": "other"}}, ValueError, "g_form"),
    ({"n_quad": 1}, ValueError, "n_quad"),
])
def test_bad_input(kw, exc, match):
    with pytest.raises(exc, match=match):
        DiracGAN(**kw)


def test_bad_update_arguments():
    s = DiracGAN()
    for kw, match in (({"method": "sideways", "h": 0.1}, "method"), ({"method": "alternating", "h": 0.0}, "step h"),
                      ({"method": "alternating", "h": 0.1, "momentum": 1.0}, "momentum")):
        with pytest.raises(ValueError, match=match):
            s.update_matrix(**kw)
    with pytest.raises(ValueError, match="equilibrium"):
        DiracGAN(regularizer="consensus").jacobian(0.1, 0.0)
    with pytest.raises(ValueError, match="one_sided"):
        DiracGAN().one_sided()


def test_regularizer_names_are_the_documented_ones():
    assert DIRAC_REGULARIZERS == ("none", "r1", "r2", "gp", "clip", "instance_noise", "n_dis", "consensus")
