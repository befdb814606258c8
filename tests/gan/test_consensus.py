"""gan.regularizers.consensus_penalty: the closed form on a bilinear game, its gradient (Jᵀv), and bad input."""

from __future__ import annotations

import pytest
import torch

from gan.regularizers import consensus_penalty

DT = torch.float64


def test_bilinear_game_closed_form_and_gradient():
    """L_1 = a·x·y (player x), L_2 = −a·x·y (player y): v = (a y, −a x), penalty γ/2 a²(x² + y²), gradient γ a² (x, y)."""
    a, gamma = 1.7, 0.3
    x = torch.tensor(0.4, dtype=DT, requires_grad=True)
    y = torch.tensor(-1.1, dtype=DT, requires_grad=True)
    pen = consensus_penalty([a * x * y, -a * x * y], [[x], [y]], gamma)
    want = 0.5 * gamma * a * a * (0.4**2 + 1.1**2)
    assert abs(float(pen.detach()) - want) <= 1e-15
    gx, gy = torch.autograd.grad(pen, [x, y])
    assert abs(float(gx) - gamma * a * a * 0.4) <= 1e-15 and abs(float(gy) - gamma * a * a * (-1.1)) <= 1e-15


def test_gradient_is_gamma_jt_v_for_a_nonlinear_game():
    """∇(γ/2‖v‖²) = γ (∂v)ᵀ v with v = (∂_x L_1, ∂_y L_2) and ∂v from autograd's Hessian blocks."""
    def losses(x, y):
        return torch.sin(x) * y**2 + x**3, torch.exp(x * y) - y

    x = torch.tensor(0.3, dtype=DT, requires_grad=True)
    y = torch.tensor(0.8, dtype=DT, requires_grad=True)
    l1, l2 = losses(x, y)
    pen = consensus_penalty([l1, l2], [[x], [y]], 1.0)
    g = torch.stack(torch.autograd.grad(pen, [x, y]))

    def field(z):
        zx, zy = z[0], z[1]
        a, b = losses(zx, zy)
        return torch.stack([torch.autograd.grad(a, zx, create_graph=True)[0],
                            torch.autograd.grad(b, zy, create_graph=True)[0]])

    z = torch.tensor([0.3, 0.8], dtype=DT, requires_grad=True)
    v = field(z)
    J = torch.autograd.functional.jacobian(field, z.detach())
    assert torch.max(torch.abs(g - J.T @ v.detach())) <= 1e-14


def test_unused_parameters_and_zero_weight():
    x = torch.tensor(1.0, dtype=DT, requires_grad=True)
    z = torch.tensor(2.0, dtype=DT, requires_grad=True)
    assert float(consensus_penalty([x * 3.0], [[x, z]], 2.0).detach()) == 9.0  # z unused: contributes 0
    assert float(consensus_penalty([x * 3.0], [[x]], 0.0).detach()) == 0.0


@pytest.mark.parametrize("args,exc,match", [
    (([], [], 1.0), ValueError, "one parameter list per loss"),
    (("L", [[1]], 1.0), ValueError, "scalar"),
    ((None, None, -1.0), ValueError, "gamma"),
    ((None, None, True), TypeError, "gamma"),
])
def test_bad_input(args, exc, match):
    x = torch.tensor([1.0, 2.0], dtype=DT, requires_grad=True)
    losses, params, gamma = args
    if losses is None:
        losses, params = [x.sum()], [[x]]
    if losses == "L":
        losses, params = [x * 2.0], [[x]]
    with pytest.raises(exc, match=match):
        consensus_penalty(losses, params, gamma)
