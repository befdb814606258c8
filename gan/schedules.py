"""Learning-rate schedules: the factor by which the base Adam rates are multiplied at each iteration.

A schedule maps the progress t = it / T of a run of T iterations (``it`` = 0, ..., T − 1, the iteration about to be
taken) to a factor in [0, 1]; the trainers set every parameter group's rate to ``base × factor(t)`` before the
iteration's steps, so a resumed run is on the same schedule as a straight one (the rate is a function of ``it``).

| name | factor(t) | reference |
|---|---|---|
| ``constant`` | 1 | (every paper this project reproduces, unless it says otherwise) |
| ``linear`` | 1 − t (to 0 at the end of the run) | Gulrajani et al. 2017, the authors' code (``gan_cifar_resnet.py``) |
| ``cosine`` | ½ (1 + cos π t) | Loshchilov & Hutter 2017 (SGDR, without restarts) |
"""

from __future__ import annotations

import math
from typing import Callable

import torch

LR_SCHEDULES: dict[str, Callable[[float], float]] = {
    "constant": lambda t: 1.0,
    "linear": lambda t: 1.0 - t,
    "cosine": lambda t: 0.5 * (1.0 + math.cos(math.pi * t)),
}


def lr_factor(schedule: str, it: int, total: int) -> float:
    """The factor of schedule ``schedule`` (a key of :data:`LR_SCHEDULES`) at iteration ``it`` of ``total``.

    ``factor = f(it / total)`` with f from the table above; 0 ≤ it < total.
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {sorted(LR_SCHEDULES)}; got {schedule!r}")
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ValueError(f"total must be an integer ≥ 1 (the run's iterations); got {total!r}")
    if isinstance(it, bool) or not isinstance(it, int) or not 0 <= it < total:
        raise ValueError(f"it must be an integer in [0, {total}); got {it!r}")
    return LR_SCHEDULES[schedule](it / total)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group of ``optimizer`` to ``lr``."""
    for group in optimizer.param_groups:
        group["lr"] = lr
