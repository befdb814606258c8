"""Divergence estimates from trained discriminators: the variational value, its estimand, and ‖D − D*‖.

A discriminator trained (alone, against a fixed Q) on an objective of ``gan.losses`` maximises the value function
V(D) = −(D loss) = E_P[real reward] + E_Q[fake reward]; at the optimal D* the supremum is a known divergence
(``divergences.objectives`` table). Evaluated on **held-out** samples, V(D) of the trained D is a variational
(lower-bound type) estimate of that divergence, up to an affine map (:data:`ESTIMANDS`, keyed by the loss's
``analytic`` objective):

| objective | sup_D V | estimate of | from V |
|---|---|---|---|
| vanilla (minimax/ns D loss) | 2 JSD − log 4 | JSD | V/2 + log 2 |
| alpha (α) | D_{f_α} + c_α, c_α = α/(α−1)(2^{1/α} − 2) | Arimoto D_{f_α} (catalogue: α = 2) | V − c_α |
| f-GAN with f | D_f | D_f (kl, reverse_kl, pearson, neyman, squared_hellinger, js, tv) | V |
| hinge | 2 TV − 2 | TV | V/2 + 1 |
| wgan | W1 (over 1-Lipschitz critics) | W1 | V (clipping: V / L̂, L̂ the critic's largest input-gradient norm on the held-out points) |

‖D − D*‖_{L2(M)} = (E_{x~M}[D(x) − D*(x)]²)^{1/2}, M = ½(P + Q), estimated on the held-out points (half from P,
half from Q), with D(x) the quantity comparable with the closed-form D* (``divergences.optimal_discriminator``):
σ(v) for vanilla and α (D* = p/(p+q), p^α/(p^α+q^α)), the f-GAN critic T = g_f(v) = −d_real(v) for f-GANs
(T* = f'(p/q)), v for hinge (D* = sign(p − q)), and for WGAN (1D only) the critic minus its M-mean against the
Kantorovich potential minus its M-mean (critics are defined up to a constant; clipping: divided by L̂).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from divergences import GaussianMixture, optimal_discriminator
from gan.losses import AdversarialLoss

from .models import StackedMLP

LOG2 = math.log(2.0)
FGAN_CATALOGUE = ("kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "js", "tv")


def arimoto_offset(alpha: float) -> float:
    """c_α = α/(α−1)(2^{1/α} − 2): sup_D V_α = D_{f_α} + c_α (Kurri et al. 2021). Written as −2 log 2 · expm1(x)/x
    with x = (1/α − 1) log 2, without the cancellation of the first form near α = 1 (where c_1 = −log 4)."""
    x = (1.0 / alpha - 1.0) * LOG2
    return -2.0 * LOG2 * (math.expm1(x) / x if x != 0.0 else 1.0)


@dataclass(frozen=True)
class Estimand:
    """What the trained D of one objective estimates: the catalogue divergence, V ↦ estimate, raw output v ↦ the
    quantity compared with D*, and the name/parameters of its closed-form D* (``optimal_discriminator``)."""

    divergence: str
    from_value: Callable[[float], float]
    output: Callable[[torch.Tensor], torch.Tensor]
    dstar: tuple[str, dict]
    centered: bool = False  # compare after subtracting the M-mean (critics defined up to a constant)


def estimand(loss: AdversarialLoss) -> Estimand:
    """The :class:`Estimand` of ``loss`` (by its ``analytic`` objective); ValueError where none is catalogued."""
    name, params = loss.analytic
    if name == "vanilla":
        return Estimand("js", lambda V: V / 2.0 + LOG2, torch.sigmoid, ("vanilla", {}))
    if name == "alpha":
        a = float(params["alpha"])
        if a != 2.0:
            raise ValueError(f"the catalogue holds the Arimoto divergence at alpha = 2 only; got alpha = {a}")
        c = arimoto_offset(a)
        return Estimand("arimoto2", lambda V: V - c, torch.sigmoid, ("alpha", {"alpha": a}))
    if name == "hinge":
        return Estimand("tv", lambda V: V / 2.0 + 1.0, lambda v: v, ("hinge", {}))
    if name == "wgan":
        return Estimand("w1", lambda V: V, lambda v: v, ("wgan", {}), centered=True)
    if name in FGAN_CATALOGUE:
        return Estimand(name, lambda V: V, lambda v: -loss.d_real(v), (name, {}))
    raise ValueError(f"no catalogued divergence for the objective {name!r} of loss {loss.name!r}")


def value(loss: AdversarialLoss, v_real: torch.Tensor, v_fake: torch.Tensor) -> torch.Tensor:
    """V(D) = −(D loss) per slice from D's raw outputs on real (S, n) and fake (S, m) held-out points."""
    return -loss.d_loss(v_real, v_fake)


def lipschitz_estimate(D: StackedMLP, x: torch.Tensor) -> torch.Tensor:
    """L̂ = max over the points x (S, n, d) of ‖∇_x D(x)‖₂ per slice, shape (S,) (a lower bound of D's Lipschitz
    constant; exact for a linear D)."""
    xr = x.detach().to(D.weights[0].dtype).requires_grad_(True)
    (g,) = torch.autograd.grad(D(xr).sum(), xr)
    return torch.linalg.vector_norm(g, dim=-1).amax(dim=-1).detach()


def dstar_at(P: GaussianMixture, Q: GaussianMixture, est: Estimand, x: np.ndarray) -> np.ndarray | None:
    """The closed-form D* of the estimand at points x (n, d); None where there is none (WGAN in 2D)."""
    name, params = est.dstar
    if name == "wgan" and P.dim != 1:
        return None
    D = optimal_discriminator(P, Q, name, **params)
    return np.asarray(D(x[:, 0] if P.dim == 1 else x), dtype=float)


def l2_distance(d: torch.Tensor, dstar: np.ndarray, centered: bool) -> torch.Tensor:
    """‖D − D*‖_{L2(M)} per slice from values d (S, n) and D* (n,) at points drawn from M (half P, half Q)."""
    ds = torch.as_tensor(dstar, dtype=torch.float64)
    diff = d.double() - ds
    if centered:
        diff = diff - diff.mean(dim=1, keepdim=True)
    return diff.pow(2).mean(dim=1).sqrt()


__all__ = ["Estimand", "FGAN_CATALOGUE", "arimoto_offset", "dstar_at", "estimand", "l2_distance",
           "lipschitz_estimate", "value"]
