"""One intra-op thread for small toy computations, restored afterwards.

The toy computations of the studies (scalar Dirac-GAN steps, stacked MLPs of width ≤ 128 on a few thousand
rows) are too small for torch's intra-op thread pool: on the shared 2-core machine of development, under load,
200 batched D steps (40 slices, width 32) took 3.7 s of CPU in one thread and 29.8 s in two (wall 25 s vs 140 s),
and a float64 ``logsigmoid`` of 64 numbers 2 µs vs 830 µs. Studies run their units inside :func:`one_thread` and
get their parallelism from processes (one unit per process) instead.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def one_thread() -> Iterator[None]:
    """``torch.set_num_threads(1)`` for the duration of the block, then the previous count again."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
