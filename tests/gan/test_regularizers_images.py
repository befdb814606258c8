"""Image-GAN regularizers of gan.regularizers against their papers' formulas: lazy regularization, consistency
regularization (CR, bCR), BigGAN's orthogonal regularization, StyleGAN2's path-length penalty; the new TrainOptions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from gan.nets.diffaugment import TRANSFORMS, consistency_transform, parse_transforms
from gan.regularizers import (IMAGE_ONLY, TrainOptions, consistency_penalty, lazy_weight, orthogonal_penalty,
                              path_length_penalty, r1_penalty, spectral_normalize)


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- lazy regularization
def test_lazy_weight_schedule_and_validation():
    assert [lazy_weight(2.0, 3, t) for t in range(7)] == [6.0, 0.0, 0.0, 6.0, 0.0, 0.0, 6.0]
    assert [lazy_weight(2.0, 1, t) for t in range(3)] == [2.0, 2.0, 2.0]
    for kw, match in [({"interval": 0}, "interval"), ({"step": -1}, "step"), ({"interval": True}, "interval")]:
        with pytest.raises(ValueError, match=match):
            lazy_weight(**({"weight": 1.0, "interval": 2, "step": 0} | kw))


def test_lazy_r1_gives_the_every_step_penalty_on_average():
    """Σ over 32 D steps of the lazy R1 (every 16 steps, γ × 16) equals Σ of R1 applied every step (γ scaling)."""
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 4 * 4, 1)).double()
    torch.nn.init.normal_(net[0].weight, generator=_g(1))
    critic = lambda x: net(x).squeeze(-1)  # noqa: E731
    x = torch.randn(4, 1, 6, 6, generator=_g(2), dtype=torch.float64)
    every = TrainOptions(penalty="r1", penalty_weight=0.5)
    lazy = TrainOptions(penalty="r1", penalty_weight=0.5, penalty_interval=16)
    terms = [lazy.d_penalty(critic, x, x, _g(3), step=i) for i in range(32)]
    total_lazy = sum(float(t.detach()) for t in terms)
    total_every = sum(float(every.d_penalty(critic, x, x, _g(3), step=i).detach()) for i in range(32))
    assert abs(total_lazy - total_every) <= 1e-12 * total_every  # float64: 32 terms of one value
    assert [i for i, t in enumerate(terms) if float(t.detach()) != 0.0] == [0, 16]
    assert abs(float(terms[0].detach()) - 16 * float(r1_penalty(critic, x, 0.5).detach())) <= 1e-12
    with pytest.raises(ValueError, match="needs the D-step index"):
        lazy.d_penalty(critic, x, x, _g(3))


# ----------------------------------------------------------------------------- orthogonal regularization
def _by_hand(module: nn.Module, beta: float) -> float:
    total = 0.0
    for w in (module[0].weight, module[1].weight):
        m = w.detach().reshape(w.shape[0], -1).double().numpy()
        for i in range(m.shape[0]):
            for j in range(m.shape[0]):
                if i != j:
                    total += float(np.dot(m[i], m[j])) ** 2
    return beta * total


def test_orthogonal_penalty_is_zero_for_orthogonal_filters_and_its_formula_otherwise():
    net = nn.Sequential(nn.Linear(5, 3), nn.Conv2d(2, 4, 3), nn.Embedding(10, 6)).double()
    for p in net.parameters():
        nn.init.normal_(p, generator=_g(4))
    got = float(orthogonal_penalty(net, 1e-4).detach())
    assert abs(got - _by_hand(net, 1e-4)) <= 1e-12 * got  # the embedding is left out
    with torch.no_grad():  # rows mutually orthogonal, with unequal norms: no penalty
        q, _ = torch.linalg.qr(torch.randn(5, 5, generator=_g(5), dtype=torch.float64))
        net[0].weight.copy_(q[:3] * torch.tensor([[1.0], [3.0], [0.2]], dtype=torch.float64))
        q, _ = torch.linalg.qr(torch.randn(18, 18, generator=_g(6), dtype=torch.float64))
        net[1].weight.copy_((q[:4] * 2.5).reshape(4, 2, 3, 3))
    assert abs(float(orthogonal_penalty(net, 1e-4).detach())) <= 1e-16


def test_orthogonal_penalty_gradient_and_spectral_norm():
    lin = nn.Linear(6, 4, bias=False).double()
    nn.init.normal_(lin.weight, generator=_g(7))
    orthogonal_penalty(lin, 0.1).backward()
    w = lin.weight.detach()
    off = (w @ w.T) * (1 - torch.eye(4, dtype=torch.float64))
    # d/dW ‖WWᵀ ⊙ (1 − I)‖² = 4 (WWᵀ ⊙ (1 − I)) W; BigGAN's code adds half of it, 2β(·)W
    assert torch.allclose(lin.weight.grad, 4 * 0.1 * off @ w, atol=1e-12)
    sn = spectral_normalize(nn.Sequential(nn.Linear(6, 4)).double())
    nn.init.normal_(sn[0].parametrizations.weight.original, generator=_g(8))
    raw = sn[0].parametrizations.weight.original.detach()
    want = 0.1 * float((((raw @ raw.T) * (1 - torch.eye(4, dtype=torch.float64))) ** 2).sum())
    assert abs(float(orthogonal_penalty(sn, 0.1).detach()) - want) <= 1e-12 * want  # the stored weight, not W/σ


# ----------------------------------------------------------------------------- consistency regularization
def test_cr_is_zero_for_a_discriminator_invariant_to_t():
    """D(x) = f(x + flip(x)) is flip-invariant: CR with T = flip vanishes (and is positive for a non-invariant D)."""
    f = nn.Sequential(nn.Flatten(), nn.Linear(2 * 6 * 6, 1)).double()
    nn.init.normal_(f[1].weight, generator=_g(9))
    invariant = lambda x: f(x + x.flip(3)).squeeze(-1)  # noqa: E731
    x = torch.randn(8, 2, 6, 6, generator=_g(10), dtype=torch.float64)
    flip = consistency_transform("flip")
    assert float(consistency_penalty(invariant, x, flip, _g(11)).detach()) == 0.0
    plain = lambda x: f(x).squeeze(-1)  # noqa: E731
    assert float(consistency_penalty(plain, x, flip, _g(11)).detach()) > 1e-3


def test_cr_value_matches_its_formula():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 1)).double()
    for p in net.parameters():
        nn.init.normal_(p, generator=_g(12))
    critic = lambda x: net(x).squeeze(-1)  # noqa: E731
    x = torch.randn(6, 1, 6, 6, generator=_g(13), dtype=torch.float64)
    T = consistency_transform("flip,translation")
    with torch.no_grad():
        want = 10.0 * float(((critic(x) - critic(T(x, _g(14)))) ** 2).mean())
    got = consistency_penalty(critic, x, T, _g(14), weight=10.0)
    assert abs(float(got.detach()) - want) <= 1e-12 * want
    again = consistency_penalty(critic, x, T, _g(14), weight=10.0, logits=critic(x))  # D(x) passed in: same value
    assert abs(float(again.detach()) - want) <= 1e-12 * want


def test_cr_gradient_flows_to_d_only():
    """bCR on generated images: the penalty trains D and never reaches G (its input is detached)."""
    G = nn.Sequential(nn.Linear(3, 36), nn.Unflatten(1, (1, 6, 6))).double()
    D = nn.Sequential(nn.Flatten(), nn.Linear(36, 1)).double()
    for p in [*G.parameters(), *D.parameters()]:
        nn.init.normal_(p, generator=_g(15))
    fake = G(torch.randn(5, 3, generator=_g(16), dtype=torch.float64))
    consistency_penalty(lambda x: D(x).squeeze(-1), fake, consistency_transform("flip"), _g(17)).backward()
    assert all(p.grad is None for p in G.parameters())
    assert float(D[1].weight.grad.abs().max()) > 0  # (D's bias cancels in D(x) − D(T(x)): its gradient is 0)


def test_transform_registry():
    assert set(TRANSFORMS) == {"flip", "translation", "cutout", "color"}
    x = torch.rand(64, 1, 8, 8, generator=_g(18)) + 1.0  # positive: a zero fill would show
    t = TRANSFORMS["translation"](x, _g(19))
    assert float(t.min()) >= 1.0  # reflection padding, not zeros
    flipped = TRANSFORMS["flip"](x, _g(20))
    n = sum(torch.equal(o, i.flip(-1)) for o, i in zip(flipped, x))
    assert 16 <= n <= 48 and all(torch.equal(o, i) or torch.equal(o, i.flip(-1)) for o, i in zip(flipped, x))
    with pytest.raises(ValueError, match="unknown consistency transform 'rotate'"):
        parse_transforms("flip,rotate")
    with pytest.raises(ValueError, match="at least one"):
        parse_transforms(" , ")
    # TrainOptions checks the type; the image trainer's config checks the names (gan.nets sits above regularizers)
    from gan.regularizers import TrainOptions
    from gan.train import ImageTrainConfig

    with pytest.raises(ValueError, match="cr_transform must be a comma list"):
        TrainOptions(cr_transform="")
    with pytest.raises(ValueError, match="unknown consistency transform 'rotate'"):
        ImageTrainConfig(options=TrainOptions(cr_real=10.0, cr_transform="flip,rotate"))


# ----------------------------------------------------------------------------- path length
class TinySynthesis(nn.Module):
    """g(ws) = tanh(ws·A) arranged as a (C, H, W) image: ws (B, L, D) → (B, 2, 3, 3)."""

    def __init__(self, L: int = 2, D: int = 3):
        super().__init__()
        self.A = nn.Parameter(torch.randn(L * D, 18, generator=_g(21), dtype=torch.float64))

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        return torch.tanh(ws.flatten(1) @ self.A).view(-1, 2, 3, 3)


def test_path_length_penalty_equals_its_definition_by_hand():
    """(‖J_wᵀ y‖ − a)² with y ~ N(0, I)/√(HW), the length averaged over layers as in the official code, and
    a ← a + 0.01 (mean length − a): J computed column by column with torch.autograd.functional.jacobian."""
    g_net = TinySynthesis()
    ws = torch.randn(4, 2, 3, generator=_g(22), dtype=torch.float64).requires_grad_(True)
    img = g_net(ws)
    a0 = torch.tensor(0.7, dtype=torch.float64)
    pen, a1 = path_length_penalty(img, ws, a0, _g(23), decay=0.01)
    y = torch.randn(img.shape, generator=_g(23), dtype=torch.float32).double() / 3.0  # √(H·W) = 3
    lengths = []
    for b in range(4):
        J = torch.autograd.functional.jacobian(lambda w: g_net(w[None])[0].flatten(), ws[b].detach())  # (18, 2, 3)
        v = torch.einsum("k,kld->ld", y[b].flatten(), J)
        lengths.append(math.sqrt(float(v.square().sum(dim=1).mean())))
    a = 0.7 + 0.01 * (sum(lengths) / 4 - 0.7)
    want = sum((length - a) ** 2 for length in lengths) / 4
    assert abs(float(pen.detach()) - want) <= 1e-12 and abs(float(a1) - a) <= 1e-12
    pen.backward()
    assert g_net.A.grad is not None and float(g_net.A.grad.abs().max()) > 0


def test_path_length_running_mean_follows_the_lengths():
    """With the same lengths L̄ every call, a_k = L̄ (1 − 0.99^k) from a_0 = 0 (an exponential moving average)."""
    g_net = TinySynthesis()
    ws = torch.randn(4, 2, 3, generator=_g(24), dtype=torch.float64).requires_grad_(True)
    a = torch.zeros((), dtype=torch.float64)
    for _ in range(50):
        _, a = path_length_penalty(g_net(ws), ws, a, _g(25))
    big = path_length_penalty(g_net(ws), ws, torch.tensor(1e6, dtype=torch.float64), _g(25), decay=1.0)[1]
    mean_length = float(big)  # decay 1: a is the batch mean length itself
    assert abs(float(a) - mean_length * (1 - 0.99 ** 50)) <= 1e-12
    with pytest.raises(ValueError, match="decay"):
        path_length_penalty(g_net(ws), ws, a, _g(25), decay=1.5)


# ----------------------------------------------------------------------------- TrainOptions
@pytest.mark.parametrize("kw, match", [
    ({"penalty_interval": 0}, "penalty_interval"), ({"pl_interval": 1.5}, "pl_interval"),
    ({"cr_real": -1.0}, "cr_real"), ({"cr_fake": float("nan")}, "cr_fake"), ({"ortho_weight": "1"}, "ortho_weight"),
    ({"pl_weight": -2.0}, "pl_weight"), ({"pl_decay": 0.0}, "pl_decay"), ({"pl_decay": 2.0}, "pl_decay"),
    ({"pl_batch_shrink": 0}, "pl_batch_shrink"), ({"style_mixing": 1.5}, "style_mixing"),
    ({"style_mixing": True}, "style_mixing"), ({"cr_transform": " "}, "cr_transform"),
])
def test_new_train_options_are_validated(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        TrainOptions(**kw)


def test_an_unknown_consistency_transform_is_refused_by_the_image_config():
    """The transform names belong to gan.nets (a layer above TrainOptions): the image config checks them."""
    from gan.train import ImageTrainConfig
    with pytest.raises(ValueError, match="zoom"):
        ImageTrainConfig(arch="dcgan", options=TrainOptions(cr_real=1.0, cr_transform="flip,zoom"))


def test_image_only_options_are_listed():
    assert TrainOptions().image_only() == ()
    assert TrainOptions(cr_real=10.0, pl_weight=2.0).image_only() == ("cr_real", "pl_weight")
    assert set(IMAGE_ONLY) == {"cr_real", "cr_fake", "ortho_weight", "pl_weight", "style_mixing"}
