"""toy.estimation: at the optimal discriminator, V ↦ estimate gives the exact divergence; the compared outputs,
the L2(M) distance and the Lipschitz estimate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import divergences
from divergences import get_f, optimal_discriminator, value_function
from gan.losses import get_loss
from toy.catalogue import PAIRS, exact_value
from toy.estimation import arimoto_offset, estimand, l2_distance, lipschitz_estimate
from toy.models import MLPSpec, StackedMLP

CASES = [("ns", {}), ("alpha", {"alpha": 2.0}), ("hinge", {}), ("wgan", {}),
         *[(f"fgan_{f}", {}) for f in ("kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "js", "tv")]]


@pytest.mark.parametrize("name,params", CASES)
@pytest.mark.parametrize("pair", ["toy1d_right", "overlap_1d"])
def test_the_estimate_at_the_optimum_is_the_divergence(name, params, pair):
    """V(D*) from the analytic layer's value_function, mapped by the estimand, equals the catalogue's exact value."""
    loss = get_loss(name, **params)
    est = estimand(loss)
    p = PAIRS[pair]
    obj, obj_params = est.dstar
    D = optimal_discriminator(p.P, p.Q, obj, **obj_params)
    V = value_function(p.P, p.Q, D, obj, **obj_params)
    want = exact_value(pair, est.divergence)
    # both sides are cubatures at rtol 1e-11 of values up to 1.3e5 (Neyman χ² of the toy pair)
    assert abs(est.from_value(V) - want) <= 1e-8 * max(1.0, abs(want))


def test_arimoto_offset():
    assert abs(arimoto_offset(2.0) - 2.0 * (2.0**0.5 - 2.0)) <= 1e-15
    assert arimoto_offset(1.0) == -2.0 * np.log(2.0)
    # continuous at α = 1: dc/dα = log 2 · (log 2 + ...)·O(1), so 1e-9 away the value moves by ~1e-9 and no more
    assert abs(arimoto_offset(1.0 + 1e-9) - arimoto_offset(1.0)) <= 2e-9
    p = PAIRS["overlap_1d"]
    D = optimal_discriminator(p.P, p.Q, "alpha", alpha=3.0)
    V = value_function(p.P, p.Q, D, "alpha", alpha=3.0)
    assert abs(V - arimoto_offset(3.0) - divergences.arimoto(p.P, p.Q, 3.0)) <= 1e-10


@pytest.mark.parametrize("f", ["kl", "reverse_kl", "neyman", "js", "tv"])
def test_fgan_output_is_the_records_activation(f):
    v = torch.linspace(-3, 3, 13, dtype=torch.float64)
    got = estimand(get_loss(f"fgan_{f}")).output(v).numpy()
    assert np.max(np.abs(got - get_f(f).g_f(v.numpy()))) <= 1e-14


def test_estimands_without_a_catalogued_divergence():
    with pytest.raises(ValueError, match="alpha = 2"):
        estimand(get_loss("alpha", alpha=3.0))
    with pytest.raises(ValueError, match="no catalogued divergence"):
        estimand(get_loss("lsgan"))


def test_l2_distance_and_lipschitz():
    dstar = np.array([0.1, 0.5, 0.9, 0.3])
    d = torch.tensor([[0.1, 0.5, 0.9, 0.3], [0.2, 0.6, 1.0, 0.4]], dtype=torch.float64)
    assert torch.allclose(l2_distance(d, dstar, centered=False), torch.tensor([0.0, 0.1], dtype=torch.float64),
                          rtol=0, atol=1e-15)
    assert torch.max(l2_distance(d, dstar, centered=True)) <= 1e-15  # a constant shift is no difference for critics
    D = StackedMLP(MLPSpec(2, 1, 1, 0), [torch.tensor([[[3.0], [4.0]]], dtype=torch.float64)],
                   [torch.zeros(1, 1, 1, dtype=torch.float64)])
    assert float(lipschitz_estimate(D, torch.randn(1, 7, 2, dtype=torch.float64))[0]) == 5.0
