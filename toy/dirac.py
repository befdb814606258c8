"""The Dirac-GAN run by the project's training code: its torch losses, regularizers and optimisers (float64).

The analytic side (:class:`divergences.DiracGAN`) writes the vector field and its Jacobian in closed form; this
module computes the same things the way training does, so that the two can be compared:

* the objectives are ``gan.losses.get_loss(name, **params)`` evaluated on D's logits ψ·x for the real point 0
  and the fake point θ (D step) and on ψθ (G step);
* R1 and R2 are ``gan.regularizers.r1_penalty`` on the real and on the fake point, WGAN-GP is
  ``gradient_penalty`` (random interpolates drawn from this object's generator), weight clipping
  ``clip_weights_`` on D's module after every D step, instance noise is drawn by ``add_instance_noise`` and
  added to D's inputs in the D step only (as ``toy.train``), consensus is ``consensus_penalty`` added to both
  players' losses;
* the optimisers are ``torch.optim.SGD`` (plain and heavy-ball momentum) and ``gan.seeding.make_adam``;
  the alternating schedule is ``toy.train``'s: ``n_dis`` D steps, then one G step at the new ψ.

Instance noise: ``noise="gaussian"`` draws B/2 values ξ ~ N(0, 1) per input and per D step and uses ±ξ
(antithetic, so that the sample mean is exactly 0 and (0, 0) stays a fixed point of every step);
``noise="two_point"`` uses ξ = ±1, a law with the same first three moments (0, 1, 0), hence the same
linearisation at (0, 0) (:class:`divergences.DiracGAN` shows J depends on E ξ² only) and a deterministic update
map whose contraction can be measured exactly.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn

from divergences import DiracGAN
from gan.losses import get_loss
from gan.regularizers import add_instance_noise, clip_weights_, consensus_penalty, gradient_penalty, r1_penalty
from gan.seeding import make_adam

DTYPE = torch.float64
NOISE_MODES = ("gaussian", "two_point")
OPTIMIZERS = ("gd", "momentum", "adam")
SCHEDULES = ("simultaneous", "alternating")
VERDICTS = {"converges": 0, "cycles": 1, "diverges": 2, "stalls": 3}
"""Verdict of a trajectory (:func:`verdict`) and its numeric code in the study tables."""


class _Scalar(nn.Module):
    """One trainable scalar: the generator's θ or the discriminator's ψ (shape (1,))."""

    def __init__(self, value: float):
        super().__init__()
        self.value = nn.Parameter(torch.tensor([float(value)], dtype=DTYPE))


class TorchDirac:
    """The Dirac-GAN ``system`` computed with the training code (module docstring).

    noise, noise_batch : instance-noise law and draws per input per D step (even); seed : this object's
        ``torch.Generator`` (instance noise and WGAN-GP interpolates; nothing global is touched).
    """

    def __init__(self, system: DiracGAN, noise: str = "gaussian", noise_batch: int = 64, seed: int = 0):
        if not isinstance(system, DiracGAN):
            raise TypeError(f"system must be a divergences.DiracGAN; got {type(system).__name__}")
        if noise not in NOISE_MODES:
            raise ValueError(f"noise must be one of {NOISE_MODES}; got {noise!r}")
        if isinstance(noise_batch, bool) or not isinstance(noise_batch, int) or noise_batch < 2 or noise_batch % 2:
            raise ValueError(f"noise_batch must be an even integer >= 2; got {noise_batch!r}")
        self.system, self.noise, self.noise_batch = system, noise, noise_batch
        self.loss = get_loss(system.loss, **system.loss_params)
        self.gen = torch.Generator().manual_seed(int(seed))

    # ------------------------------------------------------------------ objectives
    def draw_noise(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Unit-variance noise (ξ_real, ξ_fake), each (B, 1), for one D step; None without instance noise."""
        if self.system.regularizer != "instance_noise":
            return None
        if self.noise == "two_point":
            xi = torch.tensor([[1.0], [-1.0]], dtype=DTYPE)
            return xi, xi.clone()
        half = self.noise_batch // 2
        zero = torch.zeros(half, 1, dtype=DTYPE)
        draws = [add_instance_noise(zero, 1.0, self.gen) for _ in range(2)]
        return tuple(torch.cat([d, -d]) for d in draws)

    def losses(self, theta: torch.Tensor, psi: torch.Tensor,
               noise: tuple[torch.Tensor, torch.Tensor] | None = None,
               need: tuple[bool, bool] = (True, True)) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(L_D, L_G) at θ, ψ (shape-(1,) tensors), regularizers included, differentiable in both.

        ``noise``: the unit-variance instance noise to use (default: :meth:`draw_noise`). ``need``: which of the
        two to form (the other is None); consensus always forms both, its penalty needs both gradients.
        """
        sysm = self.system
        need_d, need_g = (True, True) if sysm.regularizer == "consensus" else need
        loss_d = loss_g = None
        if need_d:
            critic: Callable[[torch.Tensor], torch.Tensor] = lambda x: x * psi  # (B, 1) -> (B, 1): D_ψ(x) = ψx
            real = torch.zeros(1, 1, dtype=DTYPE)
            fake = theta.reshape(1, 1)
            if sysm.regularizer == "instance_noise":
                xi_r, xi_f = self.draw_noise() if noise is None else noise
                sigma = float(sysm.weight)
                real, fake = real + sigma * xi_r, fake + sigma * xi_f
            loss_d = self.loss.d_loss(critic(real)[:, 0], critic(fake)[:, 0])
            if sysm.regularizer == "r1":
                loss_d = loss_d + r1_penalty(critic, real, sysm.weight)
            elif sysm.regularizer == "r2":
                loss_d = loss_d + r1_penalty(critic, fake, sysm.weight)  # R2: the same penalty on the fake samples
            elif sysm.regularizer == "gp":
                loss_d = loss_d + gradient_penalty(critic, real, fake, self.gen, sysm.weight)
        if need_g:
            loss_g = self.loss.g_loss((psi * theta).reshape(1))
        if sysm.regularizer == "consensus":
            pen = consensus_penalty([loss_g, loss_d], [[theta], [psi]], sysm.weight)
            loss_d, loss_g = loss_d + pen, loss_g + pen
        return loss_d, loss_g

    def field(self, theta: float, psi: float, noise=None, create_graph: bool = False):
        """(v_θ, v_ψ) = (−∂_θ L_G, −∂_ψ L_D) by autograd, as shape-(1,) tensors (with their graph if asked)."""
        th = torch.tensor([float(theta)], dtype=DTYPE, requires_grad=True)
        ps = torch.tensor([float(psi)], dtype=DTYPE, requires_grad=True)
        loss_d, loss_g = self.losses(th, ps, noise)
        (gt,) = torch.autograd.grad(loss_g, th, create_graph=True)
        (gp,) = torch.autograd.grad(loss_d, ps, create_graph=True)
        return -gt, -gp, th, ps

    def jacobian(self, theta: float = 0.0, psi: float = 0.0, noise=None) -> np.ndarray:
        """∂(v_θ, v_ψ)/∂(θ, ψ) by autograd through the training code (n_dis: times diag(1, k), the continuous
        time scaling of :class:`divergences.DiracGAN`), a (2, 2) float64 array."""
        vt, vp, th, ps = self.field(theta, psi, noise)
        rows = []
        for v in (vt, vp):
            g = torch.autograd.grad(v.sum(), [th, ps], retain_graph=True, allow_unused=True)
            rows.append([0.0 if gi is None else float(gi.detach()) for gi in g])
        J = np.array(rows)
        if self.system.regularizer == "n_dis":
            J = np.diag([1.0, float(self.system.n_dis)]) @ J
        return J

    # ------------------------------------------------------------------ discrete dynamics
    def _optimizer(self, kind: str, params, h: float, momentum: float, betas: tuple[float, float]):
        if kind == "gd":
            return torch.optim.SGD(params, lr=h)
        if kind == "momentum":
            return torch.optim.SGD(params, lr=h, momentum=momentum)
        return make_adam(params, h, betas, "auto", torch.device("cpu"))

    def run(self, schedule: str, optimizer: str, h: float, steps: int, start: tuple[float, ...] = (1.0, 1.0),
            momentum: float = 0.5, betas: tuple[float, float] = (0.5, 0.999)) -> np.ndarray:
        """Iterate from ``start`` for ``steps`` iterations; returns the states, shape (steps + 1, 2) (θ, ψ), or
        (steps + 1, 4) with the momentum buffers (b_θ, b_ψ) for ``optimizer="momentum"``.

        ``start`` may hold the buffers too (4 numbers, momentum only): they are put into the SGD state before the
        first step. A non-finite state stops the run; the remaining rows are NaN.
        """
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}; got {schedule!r}")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {optimizer!r}")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative integer; got {steps!r}")
        G, D = _Scalar(start[0]), _Scalar(start[1])
        th, ps = G.value, D.value
        opt_g = self._optimizer(optimizer, [th], h, momentum, betas)
        opt_d = self._optimizer(optimizer, [ps], h, momentum, betas)
        with_buf = optimizer == "momentum"
        if len(start) == 4:
            if not with_buf:
                raise ValueError("start holds momentum buffers; only optimizer='momentum' has them")
            opt_g.state[th]["momentum_buffer"] = torch.tensor([float(start[2])], dtype=DTYPE)
            opt_d.state[ps]["momentum_buffer"] = torch.tensor([float(start[3])], dtype=DTYPE)
        elif len(start) != 2:
            raise ValueError(f"start must hold (theta, psi) or (theta, psi, b_theta, b_psi); got {start!r}")
        clip = self.system.weight if self.system.regularizer == "clip" else None
        k = self.system.n_dis
        out = np.full((steps + 1, 4 if with_buf else 2), np.nan)

        def record(i: int) -> bool:
            row = [float(th.detach()), float(ps.detach())]
            if with_buf:
                row += [float(opt.state[p]["momentum_buffer"]) if "momentum_buffer" in opt.state[p] else 0.0
                        for opt, p in ((opt_g, th), (opt_d, ps))]
            out[i] = row
            return bool(np.all(np.isfinite(row)))

        def d_step() -> None:  # .grad is assigned, not accumulated: no zero_grad needed
            loss_d, _ = self.losses(th, ps, need=(True, False))
            (ps.grad,) = torch.autograd.grad(loss_d, ps)
            opt_d.step()
            if clip is not None:
                clip_weights_(D, clip)

        record(0)
        for i in range(steps):
            if schedule == "alternating":
                for _ in range(k):
                    d_step()
                _, loss_g = self.losses(th, ps, need=(False, True))
                (g_theta,) = torch.autograd.grad(loss_g, th)
            else:
                _, loss_g = self.losses(th, ps, need=(False, True))
                (g_theta,) = torch.autograd.grad(loss_g, th)  # G's gradient at the state before D's steps
                for _ in range(k):
                    d_step()
            th.grad = g_theta
            opt_g.step()
            if not record(i + 1):
                break
        return out

    def measured_update_matrix(self, schedule: str, optimizer: str, h: float, momentum: float = 0.0,
                               amplitude: float = 1e-6) -> np.ndarray:
        """The update map of one iteration at (0, 0), measured: column j is the state one iteration after
        starting at ``amplitude``·e_j (buffers included for momentum), divided by the amplitude.

        Exact for the linearisation up to O(amplitude²) relative (the field's nonlinear terms are cubic in
        (θ, ψ) for every objective: d'(ψθ)θ = d'(0)θ + d''(0)ψθ² + …) and rounding. Needs a deterministic
        step: instance noise must use ``noise="two_point"``.
        """
        if self.system.regularizer == "instance_noise" and self.noise != "two_point":
            raise ValueError("measure the update map with noise='two_point' (Gaussian draws change every step)")
        if not (isinstance(amplitude, float) and 0 < amplitude < 1e-2):
            raise ValueError(f"amplitude must be a float in (0, 1e-2); got {amplitude!r}")
        n = 4 if optimizer == "momentum" else 2
        cols = []
        for j in range(n):
            start = [0.0] * n
            start[j] = amplitude
            traj = self.run(schedule, optimizer, h, 1, tuple(start), momentum=momentum)
            cols.append(traj[1] / amplitude)
        return np.stack(cols, axis=1)


# ----------------------------------------------------------------------------- verdicts
def envelope_rate(states: np.ndarray) -> float:
    """Per-iteration growth rate of ‖(θ, ψ)‖ over the second half of a trajectory of N iterations:
    (max of the last quarter / max of the third quarter)^{1/(N/4)}; the maxima make it insensitive to the
    rotation of a spiral (its period must be shorter than N/4). NaN if the run stopped (non-finite)."""
    xy = np.asarray(states, float)[:, :2]
    norms = np.linalg.norm(xy, axis=1)
    n = len(norms) - 1
    if n < 8 or not np.all(np.isfinite(norms)):
        return math.nan
    q = n // 4
    late, mid = norms[n - q + 1:].max(), norms[n - 2 * q + 1: n - q + 1].max()
    if mid == 0.0:
        return 0.0
    return float((late / mid) ** (1.0 / q))


def verdict(states: np.ndarray, tol: float = 1e-3, zero: float = 1e-8) -> tuple[str, float]:
    """(verdict, rate) of a trajectory from (θ, ψ)_0 (:data:`VERDICTS`); rate from :func:`envelope_rate`.

    With r_0 = ‖x_0‖ and the maxima M_3, M_4 of ‖x‖ over the third and the last quarter:
    diverges: a non-finite state, or rate > 1 + tol with M_4 > r_0, or a drift M_4 > 2 r_0 still growing
    (M_4 > (1 + 10 tol) M_3: saturating objectives creep away slower than geometrically);
    converges: ‖x_N‖ ≤ zero·r_0, or rate < 1 − tol; stalls: the last quarter moved less than zero·r_0 per step
    while ‖x_N‖ is not small (stopped away from the equilibrium); cycles: otherwise (bounded, neither converging
    nor leaving: a closed orbit, or a limit cycle such as the one Adam's normalised steps settle into).
    """
    xy = np.asarray(states, float)[:, :2]
    if not np.all(np.isfinite(xy)):
        return "diverges", math.nan
    rate = envelope_rate(xy)
    norms = np.linalg.norm(xy, axis=1)
    n = len(norms) - 1
    r0, q = norms[0], max(n // 4, 1)
    late, mid = norms[n - q + 1:].max(), norms[n - 2 * q + 1: n - q + 1].max()
    if norms[-1] <= zero * r0:
        return "converges", rate
    if (rate > 1.0 + tol and late > r0) or (late > 2.0 * r0 and late > (1.0 + 10.0 * tol) * mid):
        return "diverges", rate
    if rate < 1.0 - tol:
        return "converges", rate
    if np.max(np.linalg.norm(np.diff(xy[-q - 1:], axis=0), axis=1)) <= zero * r0:
        return "stalls", rate
    return "cycles", rate
