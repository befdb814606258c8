"""toy.dirac: the training code against the closed-form Dirac-GAN (Jacobians by autograd, measured update maps),
the verdicts of Mescheder et al. (2018), and the verdict rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from divergences import DIRAC_REGULARIZERS, DiracGAN
from divergences.dirac import eig2
from toy.dirac import TorchDirac, envelope_rate, verdict

LOSSES = [("minimax", {}), ("ns", {}), ("wgan", {}), ("lsgan", {}), ("hinge", {}), ("alpha", {"alpha": 2.0}),
          ("alpha", {"alpha": 0.5}), ("alpha_d_alpha_g", {"alpha_d": 0.5, "alpha_g": 1.2}),
          *[(f"fgan_{f}", {}) for f in ("kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "js", "gan", "tv")],
          ("fgan_arimoto", {"alpha": 2.0}), ("fgan_kl", {"g_form": "saturating"}),
          ("fgan_squared_hellinger", {"g_form": "saturating"})]
WEIGHTS = {"none": 0.0, "r1": 1.0, "r2": 0.7, "gp": 1.3, "clip": 0.3, "instance_noise": 0.9, "n_dis": 3,
           "consensus": 0.6}
# Jacobians: the closed form and autograd evaluate the same O(1) formulas in float64; the worst difference seen is
# 9e-16 (a few roundings). 1e-10 is the requirement and leaves five orders of margin.
JAC_TOL = 1e-10


@pytest.mark.parametrize("reg", DIRAC_REGULARIZERS)
@pytest.mark.parametrize("name,params", LOSSES)
def test_autograd_jacobian_equals_closed_form(name, params, reg):
    system = DiracGAN(name, params, reg, WEIGHTS[reg])
    torch_sys = TorchDirac(system, noise="two_point")
    if reg == "gp":  # not differentiable at ψ = 0: compare on both sides
        for psi in (1e-6, -1e-6):
            assert np.max(np.abs(torch_sys.jacobian(0.0, psi) - system.jacobian(0.0, psi))) <= JAC_TOL
    else:
        assert np.max(np.abs(torch_sys.jacobian() - system.jacobian())) <= JAC_TOL
    if reg not in ("consensus", "gp", "instance_noise"):  # and off the equilibrium
        assert np.max(np.abs(torch_sys.jacobian(0.7, -0.4) - system.jacobian(0.7, -0.4))) <= JAC_TOL


@pytest.mark.parametrize("name,params", LOSSES[:8])
def test_instance_noise_with_a_gaussian_draw(name, params):
    """With Gaussian noise drawn by gan.regularizers.add_instance_noise, the autograd Jacobian equals the closed form
    at the draw's own second moments (and the draws are antithetic: mean exactly 0)."""
    system = DiracGAN(name, params, "instance_noise", 0.8)
    t = TorchDirac(system, noise="gaussian", noise_batch=32, seed=3)
    noise = t.draw_noise()
    assert all(float(x.sum()) == 0.0 for x in noise)
    moments = tuple(float((x**2).mean()) for x in noise)
    assert abs(moments[0] - 1.0) > 1e-3  # a genuine sample, not the population moments
    assert np.max(np.abs(t.jacobian(noise=noise) - system.jacobian(noise_moments=moments))) <= JAC_TOL


def test_gp_field_jumps_by_four_lambda_in_the_training_code():
    system = DiracGAN("minimax", regularizer="gp", weight=1.3)
    t = TorchDirac(system)
    below = float(t.field(0.0, -1e-9)[1].detach())
    above = float(t.field(0.0, 1e-9)[1].detach())
    side = system.one_sided()
    assert abs(below - side["v_psi_minus"]) <= 1e-8 and abs(above - side["v_psi_plus"]) <= 1e-8


CONTRACTION_CASES = [(n, p, r) for n, p in LOSSES[:8] + [("fgan_kl", {}), ("fgan_tv", {})]
                     for r in ("none", "r1", "r2", "clip", "instance_noise", "n_dis", "consensus")]


@pytest.mark.parametrize("name,params,reg", CONTRACTION_CASES)
@pytest.mark.parametrize("method", ["simultaneous", "alternating"])
def test_measured_gd_contraction_equals_closed_form(name, params, reg, method):
    """One iteration of torch.optim.SGD from ±1e-6 along each axis measures the update map; its eigenvalue moduli
    equal the closed form. Tolerance 1e-9 (required): the measurement is exact up to O(amplitude²) = 1e-12 relative
    (cubic nonlinearity) and rounding of 1e-6-sized states (1e-16/1e-6 per entry ≈ 1e-10 worst case after division)."""
    h = 0.2
    system = DiracGAN(name, params, reg, WEIGHTS[reg])
    M = TorchDirac(system, noise="two_point").measured_update_matrix(method, "gd", h)
    C = system.update_matrix(method, h)
    assert np.max(np.abs(M - C)) <= 1e-9
    closed = system.contraction(method, h)
    assert abs(abs(np.linalg.det(M)) ** 0.5 - closed["geometric_modulus"]) <= 1e-9
    lam = system.update_eigenvalues(method, h)
    tr, det = lam.sum().real, (lam[0] * lam[1]).real
    if abs(tr * tr / 4 - det) > 1e-6:  # away from a double root ρ is well conditioned (at one, O(√ε): docstring)
        assert abs(np.max(np.abs(eig2(M))) - closed["spectral_radius"]) <= 1e-9


@pytest.mark.parametrize("name,reg", [("minimax", "none"), ("wgan", "r1"), ("fgan_kl", "consensus")])
def test_measured_momentum_map_equals_closed_form(name, reg):
    system = DiracGAN(name, regularizer=reg, weight=WEIGHTS[reg])
    M = TorchDirac(system).measured_update_matrix("alternating", "momentum", 0.1, momentum=0.5)
    assert np.max(np.abs(M - system.update_matrix("alternating", 0.1, 0.5))) <= 1e-9
    rho = np.max(np.abs(np.linalg.eigvals(M)))
    assert abs(rho - system.contraction("alternating", 0.1, 0.5)["spectral_radius"]) <= 1e-9


def test_bilinear_trajectory_follows_the_closed_form_exactly():
    """WGAN without regularizer is linear: 50 steps of the project's SGD equal T^50 x_0."""
    system = DiracGAN("wgan")
    for method in ("simultaneous", "alternating"):
        traj = TorchDirac(system).run(method, "gd", 0.2, 50)
        want = np.linalg.matrix_power(system.update_matrix(method, 0.2), 50) @ np.array([1.0, 1.0])
        assert np.max(np.abs(traj[-1] - want)) <= 1e-13


# the four cases of Mescheder et al. (2018), minimax objective, h = 0.2, 500 steps from (1, 1)
@pytest.mark.slow
@pytest.mark.parametrize("reg,method,want", [
    ("none", "simultaneous", "diverges"),
    ("none", "alternating", "cycles"),
    ("instance_noise", "simultaneous", "converges"), ("instance_noise", "alternating", "converges"),
    ("r1", "simultaneous", "converges"), ("r1", "alternating", "converges"),
    ("r2", "simultaneous", "converges"), ("r2", "alternating", "converges"),
])
def test_mescheder_verdicts(reg, method, want):
    system = DiracGAN("minimax", regularizer=reg, weight=1.0)
    traj = TorchDirac(system, noise="gaussian", noise_batch=64, seed=0).run(method, "gd", 0.2, 500)
    word, rate = verdict(traj)
    assert word == want, (word, rate)
    if reg == "none" and method == "simultaneous":
        assert 1.0 < rate <= math.sqrt(1 + 0.2**2 / 4) + 1e-12  # spirals out, no faster than the linearisation
    if reg in ("r1", "r2") and method == "simultaneous":
        assert abs(rate - 0.9) <= 0.01  # the double eigenvalue 0.9 (rate of n·0.9^n: 0.9(1 + 1/n))


def test_verdict_rules_on_synthetic_trajectories():
    n = np.arange(401)
    spiral = lambda r: np.stack([r**n * np.cos(0.3 * n), r**n * np.sin(0.3 * n)], axis=1)
    assert verdict(spiral(0.97))[0] == "converges" and abs(envelope_rate(spiral(0.97)) - 0.97) <= 1e-3
    assert verdict(spiral(1.01))[0] == "diverges"
    assert verdict(spiral(1.0))[0] == "cycles"
    stuck = np.vstack([np.linspace([1, 1], [2, 0], 50), np.tile([2.0, 0.0], (351, 1))])
    assert verdict(stuck)[0] == "stalls"
    drift = np.stack([1 + 0.01 * n, np.zeros_like(n, dtype=float)], axis=1)  # slow, sub-geometric escape
    assert verdict(drift)[0] == "diverges"
    assert verdict(np.vstack([spiral(1.0)[:10], [[np.nan, 0.0]]]))[0] == "diverges"


@pytest.mark.parametrize("kw,match", [({"noise": "uniform"}, "noise"), ({"noise_batch": 3}, "even"),
                                       ({"noise_batch": True}, "even")])
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        TorchDirac(DiracGAN(), **kw)
    with pytest.raises(TypeError, match="DiracGAN"):
        TorchDirac("minimax")
    t = TorchDirac(DiracGAN(regularizer="instance_noise", weight=1.0))
    with pytest.raises(ValueError, match="two_point"):
        t.measured_update_matrix("alternating", "gd", 0.1)
    for kw, match in (({"schedule": "x"}, "schedule"), ({"optimizer": "rmsprop"}, "optimizer"), ({"steps": -1}, "steps"),
                      ({"start": (1.0, 1.0, 0.0, 0.0)}, "buffers")):
        args = {"schedule": "alternating", "optimizer": "gd", "h": 0.1, "steps": 2} | kw
        with pytest.raises(ValueError, match=match):
            TorchDirac(DiracGAN()).run(**args)
