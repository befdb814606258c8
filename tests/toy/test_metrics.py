"""Mode-coverage rules and the D* probe on hand-built inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from divergences import GaussianMixture, optimal_discriminator, ring, seed_toy
from toy.metrics import DStarProbe, ModeReference, get_mode_rule, mode_metrics, mode_statistics
from toy.models import MLPSpec, StackedMLP

RING4 = ring(4, radius=1.0, var=1e-4)  # means (1,0), (0,1), (−1,0), (0,−1); σ = 0.01
TOL = 1e-12  # exact arithmetic up to float64 rounding of a few operations


def test_all_samples_on_one_mode():
    m = mode_metrics(np.tile([[0.0, 1.0]], (100, 1)), RING4)
    assert m["modes_captured"][0] == 1
    assert abs(m["hq_fraction"][0] - 1.0) <= TOL
    assert m["counts"][0].tolist() == [0, 100, 0, 0]
    assert abs(m["mode_reverse_kl"][0] - math.log(4)) <= TOL  # KL(δ_k || uniform) = log K


def test_samples_far_away_are_never_high_quality():
    m = mode_metrics(np.full((50, 2), 5.0), RING4)
    assert m["modes_captured"][0] == 0 and m["hq_fraction"][0] == 0.0
    assert math.isnan(m["mode_reverse_kl"][0])  # empty histogram, eps = 0: undefined
    smoothed = mode_metrics(np.full((50, 2), 5.0), RING4, eps=1.0)
    assert abs(smoothed["mode_reverse_kl"][0]) <= TOL  # all pseudo-counts: the uniform histogram


def test_balanced_samples_capture_everything_with_zero_kl():
    x = np.repeat(RING4.means, 3, axis=0) + 0.005  # 0.005·√2 ≈ 0.71σ from each mean
    m = mode_metrics(x, RING4)
    assert m["modes_captured"][0] == 4 and m["hq_fraction"][0] == 1.0
    assert abs(m["mode_reverse_kl"][0]) <= TOL
    # half on one mode, half on another: KL = Σ ½ log(½·4) = log 2
    m2 = mode_metrics(np.array([[1.0, 0.0], [0.0, 1.0]]), RING4)
    assert abs(m2["mode_reverse_kl"][0] - math.log(2)) <= TOL


def test_threshold_boundary_separates_the_rules():
    # σ = 0.5 exactly, so 3σ = 1.5 exactly: a point at distance 1.5 is HQ under ≤ (welfert), not under < (pacgan)
    P = GaussianMixture([0.5, 0.5], [[0.0, 0.0], [10.0, 0.0]], [0.25, 0.25])
    x = np.array([[1.5, 0.0], [1.4999, 0.0], [1.5001, 0.0]])
    welfert = mode_metrics(x, P, "welfert")
    pacgan = mode_metrics(x, P, "pacgan")
    assert welfert["counts"][0].tolist() == [2, 0]
    assert pacgan["counts"][0].tolist() == [1, 0]


def test_anisotropic_components_separate_the_rules():
    # Σ = diag(1, 0.01): the point (0, 0.5) is 0.5/√0.505 ≈ 0.70 RMS-σ away (welfert: HQ) but
    # 0.5/0.1 = 5 per-axis σ away (pacgan: not HQ)
    P = GaussianMixture([1.0], [[0.0, 0.0]], np.diag([1.0, 0.01])[None])
    x = np.array([[0.0, 0.5]])
    assert mode_metrics(x, P, "welfert")["hq_fraction"][0] == 1.0
    assert mode_metrics(x, P, "pacgan")["hq_fraction"][0] == 0.0


def test_min_count_and_min_share():
    x = np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]])
    assert mode_metrics(x, RING4)["modes_captured"][0] == 2
    assert mode_metrics(x, RING4, min_count=2)["modes_captured"][0] == 1
    assert mode_metrics(x, RING4, min_share=0.5)["modes_captured"][0] == 1  # needs ⌈0.5·6⌉ = 3: mode 0 has 5
    assert mode_metrics(x, RING4, min_share=0.9)["modes_captured"][0] == 0  # needs ⌈5.4⌉ = 6
    assert get_mode_rule("welfert", min_share=0.5).min_hq(6) == 3


def test_non_finite_samples_and_seed_batches():
    ref = ModeReference.from_mixture(RING4)
    rule = get_mode_rule("welfert")
    x = torch.tensor([[[1.0, 0.0], [math.nan, 0.0], [math.inf, 1.0]],
                      [[0.0, -1.0], [-1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    st = mode_statistics(x, ref, rule)
    assert st.modes_captured.tolist() == [1, 3]
    assert torch.allclose(st.hq_fraction, torch.tensor([1 / 3, 1.0], dtype=torch.float64), rtol=0, atol=TOL)
    for s in range(2):  # batching over seeds changes nothing
        alone = mode_statistics(x[s], ref, rule)
        assert torch.equal(alone.counts[0], st.counts[s])


def test_rule_registry():
    assert get_mode_rule("veegan") == get_mode_rule("pacgan")
    assert get_mode_rule("pacgan").strict and get_mode_rule("pacgan").distance == "standardized"
    with pytest.raises(ValueError, match="unknown mode rule"):
        get_mode_rule("nope")
    with pytest.raises(ValueError, match="min_count"):
        get_mode_rule("welfert", min_count=0)


def _constant_half_discriminator(S: int) -> StackedMLP:
    spec = MLPSpec(1, 1, 4, 1)
    return StackedMLP(spec, [torch.zeros(S, 1, 4), torch.zeros(S, 4, 1)], [torch.zeros(S, 1, 4), torch.zeros(S, 1, 1)])


def test_dstar_probe_of_a_constant_discriminator_matches_quadrature():
    # D ≡ ½ (all-zero network, logit 0): ‖½ − D*‖²_{L2(M)} = ∫ ½(p + q)(½ − D*)² dx, by adaptive quadrature
    toy = seed_toy()
    P, Q = toy.real, toy.gen_right
    dstar = optimal_discriminator(P, Q)
    f = lambda x: 0.5 * (P.pdf([x])[0] + Q.pdf([x])[0]) * (0.5 - dstar([x])[0]) ** 2
    exact = math.sqrt(sum(quad(f, a, b, limit=200)[0] for a, b in [(-3, 3.5), (3.5, 5.44), (5.44, 11)]))
    probe = DStarProbe(P, Q, ("vanilla", {}), n=20_000, seed=1)
    l2, se = probe(_constant_half_discriminator(2))
    assert l2.shape == (2,) and float(l2[0]) == float(l2[1])
    # Monte Carlo: 4 standard errors (se ≈ 1.5e-4 here) plus float32 rounding of the points (~1e-7)
    assert abs(float(l2[0]) - exact) <= 4 * float(se[0]) + 1e-6
    assert 0.4 < exact < 0.5


def test_dstar_probe_objectives():
    toy = seed_toy()
    assert DStarProbe(toy.real, toy.gen_right, ("alpha", {"alpha": 2.0}), n=100).output == "probability"
    assert DStarProbe(toy.real, toy.gen_right, ("lsgan", {"a": 0.0, "b": 1.0, "c": 1.0}), n=100).output == "critic"
    with pytest.raises(ValueError, match="defined for objectives"):
        DStarProbe(toy.real, toy.gen_right, ("hinge", {}), n=100)


def test_every_named_rule_gives_its_documented_count_on_hand_made_samples():
    """200 samples: 150 HQ at mode 0, 40 HQ at mode 1 (2.9σ away along x), 1 HQ stray at mode 2 (2.5σ away), 9 far
    away. welfert, pacgan and veegan count 3 modes (on an isotropic ring they agree away from the 3σ boundary, see
    test_threshold_boundary_separates_the_rules); share needs ≥ 1% of 200 = 2 HQ samples per mode: 2 (the stray is
    alone)."""
    sd = 0.01
    x = torch.cat([torch.tensor([[1.0, 0.0]]).repeat(150, 1), torch.tensor([[2.9 * sd, 1.0]]).repeat(40, 1),
                   torch.tensor([[-1.0 + 2.5 * sd, 0.0]]), torch.full((9, 2), 5.0)]).double()
    ref = ModeReference.from_mixture(RING4)
    want = {"welfert": 3, "pacgan": 3, "veegan": 3, "share": 2}
    for name, n in want.items():
        st = mode_statistics(x, ref, get_mode_rule(name))
        assert int(st.modes_captured[0]) == n, name
