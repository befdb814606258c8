"""Exponential moving average of a network's weights (an averaged generator for sampling).

    θ_EMA ← β_t θ_EMA + (1 − β_t) θ,     β_t = 0 for t < warmup_steps, else decay          (ramp=False)
                                          β_t = min(decay, (1 + t')/(10 + t')), t' = t − warmup  (ramp=True)

after every generator step t = 0, 1, … (t counts the updates). Buffers (batch-norm running
statistics, the batch counter) are copied, not averaged. β = 0 is a plain copy, so a warm-up
makes the average start from the trained weights instead of the random initialisation.
References: Yazıcı et al. (2019), "The unusual effectiveness of averaging in GAN training";
Karras et al. (2018, progressive GANs) and Brock et al. (2019, BigGAN: EMA started after a
warm-up); the (1 + t)/(10 + t) ramp is TensorFlow's ``ExponentialMovingAverage(num_updates=t)``.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .layers import check_int


class EMA:
    """An averaged copy ``ema.module`` of ``model`` (eval mode, no gradients), updated by :meth:`update`.

    >>> net = nn.Linear(1, 1, bias=False)
    >>> with torch.no_grad(): _ = net.weight.fill_(0.0)
    >>> ema = EMA(net, decay=0.5)
    >>> with torch.no_grad(): _ = net.weight.fill_(1.0)
    >>> ema.update(); ema.update()
    >>> float(ema.module.weight)  # 0 → ½·0 + ½·1 → ½·½ + ½·1
    0.75
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup_steps: int = 0, ramp: bool = False):
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not (0.0 <= decay < 1.0):
            raise ValueError(f"EMA decay must lie in [0, 1); got {decay!r}")
        self.decay = float(decay)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, 0)
        if not isinstance(ramp, bool):
            raise ValueError(f"ramp must be True or False; got {ramp!r}")
        self.ramp = ramp
        self.model = model
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.num_updates = 0
        self._pairs = list(zip(self.module.parameters(), model.parameters()))
        self._buffers = list(zip(self.module.buffers(), model.buffers()))

    def decay_at(self, t: int) -> float:
        """β_t of the module docstring for update number ``t`` ≥ 0."""
        if t < self.warmup_steps:
            return 0.0
        if self.ramp:
            s = t - self.warmup_steps
            return min(self.decay, (1.0 + s) / (10.0 + s))
        return self.decay

    @torch.no_grad()
    def update(self) -> None:
        """One averaging step θ_EMA ← θ_EMA + (1 − β_t)(θ − θ_EMA) (parameters); buffers copied."""
        beta = self.decay_at(self.num_updates)
        ema_p = [e for e, _ in self._pairs]
        src_p = [p.detach() for _, p in self._pairs]
        if beta == 0.0:
            torch._foreach_copy_(ema_p, src_p)
        elif ema_p:
            torch._foreach_lerp_(ema_p, src_p, 1.0 - beta)
        for e, b in self._buffers:
            e.copy_(b)
        self.num_updates += 1

    def state_dict(self) -> dict:
        """The averaged module's state and the update counter (settings are checked on load)."""
        return {"module": self.module.state_dict(), "num_updates": self.num_updates, "decay": self.decay,
                "warmup_steps": self.warmup_steps, "ramp": self.ramp}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`; ValueError if it was saved with other EMA settings."""
        saved = (state["decay"], state["warmup_steps"], state["ramp"])
        if not (math.isclose(saved[0], self.decay, rel_tol=0, abs_tol=0) and saved[1:] == (self.warmup_steps, self.ramp)):
            raise ValueError(f"EMA settings differ: checkpoint (decay, warmup_steps, ramp) = {saved}, "
                             f"this EMA {(self.decay, self.warmup_steps, self.ramp)}")
        self.module.load_state_dict(state["module"])
        self.num_updates = int(state["num_updates"])
