"""Fixtures of the toy tests.

The toy tests train tiny networks (widths 16-64), whose steps are dispatch-bound: a second
OpenMP thread brings nothing, and on a shared 2-core CPU it slows small matmuls by 10-40×
(measured: a (3, 256, 64)@(3, 64, 64) baddbmm 0.13 ms with one thread, 5 ms with two while
another process held a core). Every test here runs with one intra-op thread; the previous
setting is restored afterwards.
"""

from __future__ import annotations

import pytest

from toy.threads import one_thread as _one_thread


@pytest.fixture(autouse=True)
def one_thread():
    with _one_thread():
        yield
