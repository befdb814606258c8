"""Shared small pieces of the trainers: named random streams derived from a seed, and Adam construction."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch


def derive_seed(*words: int) -> int:
    """63-bit integer seed from integer words: the first 64-bit word of ``numpy.random.SeedSequence(words)``,
    shifted right by one (a valid ``torch.Generator.manual_seed`` value). Distinct word tuples give
    independent streams (SeedSequence's hashing; O'Neill 2015).

    >>> derive_seed(0, 1) != derive_seed(0, 2) != derive_seed(1, 1)
    True
    """
    state = np.random.SeedSequence([int(w) for w in words]).generate_state(1, dtype=np.uint64)[0]
    return int(state >> np.uint64(1))


def named_stream_seed(streams: Mapping[str, int], seed: int, stream: str, *extra: int) -> int:
    """``derive_seed(seed, streams[stream], *extra)``; ValueError naming the known streams for an unknown one."""
    if stream not in streams:
        raise ValueError(f"unknown stream {stream!r}; known: {', '.join(streams)}")
    return derive_seed(seed, streams[stream], *extra)


ADAM_IMPLS = ("auto", "fused", "foreach", "for")


def make_adam(params, lr: float, betas: tuple[float, float], impl: str, device: torch.device) -> torch.optim.Adam:
    """``torch.optim.Adam`` with the implementation ``impl``: "fused", "foreach", "for" (single-tensor) or
    "auto" (fused on CUDA, foreach elsewhere). Fused falls back to foreach where the device/dtype lacks it."""
    if impl not in ADAM_IMPLS:
        raise ValueError(f"adam implementation must be one of {ADAM_IMPLS}; got {impl!r}")
    if impl == "auto":
        impl = "fused" if device.type == "cuda" else "foreach"
    kw = {"fused": {"fused": True}, "foreach": {"foreach": True}, "for": {"foreach": False}}[impl]
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, **kw)
    except (RuntimeError, ValueError):  # fused unsupported on this device/dtype
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)
