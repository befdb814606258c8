"""Keep freed heap memory in the process (glibc), so that tensors reallocated at every step do not page-fault.

A training step on the CPU frees and reallocates the same large tensors over and over: in the seed-parallel
toy trainer at S = 40 seeds every stacked weight gradient of the ring generator is 40 × 400 × 400 float32 =
25.6 MB. glibc's ``malloc`` serves a request above ``M_MMAP_THRESHOLD`` with a fresh ``mmap`` and unmaps it
on ``free``, and it returns free memory at the top of the heap to the kernel once it exceeds
``M_TRIM_THRESHOLD`` (mallopt(3); both thresholds are dynamic by default: 128 KiB, raised as large chunks are
freed). The next allocation then touches new pages, one minor page fault per 4 KiB page, which the kernel
must zero. :func:`retain_freed_memory` fixes both thresholds (an explicit value also turns the dynamic
adjustment off), so allocations up to ``mmap_threshold`` come from the heap and freed memory stays there
for reuse.

Measured on the 2-core CPU of development (default ring networks, S = 40, float32, 2 threads;
``python -m benchmarks.toy_speed --seeds 40 --repeats 5 --no-small``, whose table has a page-fault column):
35,519 minor page faults per iteration and 143.7 seed-steps/s with ``DISTMATCH_MALLOC=default``, 0 faults and
153.7 seed-steps/s with the setting, in two runs one after the other (the machine's noise is ±10%).
The price is memory: the process keeps up to ``trim_threshold`` of freed heap instead of returning it. Requests above ``mmap_threshold`` (at most 32 MiB on 64-bit glibc) still use
``mmap``, so very large stacks (S ≳ 50 of the ring generator) fault as before.

A process-wide setting, so the library does not apply it on import or in a trainer: the study runner
(:mod:`studies.executors`, in this process for CPU runs and in every worker) and ``benchmarks.toy_speed`` call it;
call it yourself before training large seed stacks on the CPU. The environment variable
``DISTMATCH_MALLOC=default`` makes it leave glibc's allocator as it is. A no-op (returning False) where the C
library is not glibc (macOS, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 2**20
"""glibc's upper limit for M_MMAP_THRESHOLD on 64-bit systems (4 MiB · sizeof(long)); mallopt rejects more."""

OPT_OUT_ENV = "DISTMATCH_MALLOC"

_applied: tuple[int, int] | None = None


def _glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc (it exports ``gnu_get_libc_version``), else None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


def retain_freed_memory(mmap_threshold: int = MMAP_THRESHOLD_MAX, trim_threshold: int = 2**30) -> bool:
    """Set glibc's ``mallopt(M_MMAP_THRESHOLD, mmap_threshold)`` and ``mallopt(M_TRIM_THRESHOLD, trim_threshold)``.

    Allocations of at most ``mmap_threshold`` bytes are then served from the heap, and up to
    ``trim_threshold`` bytes of free memory at the heap top are kept instead of returned to the kernel
    (mallopt(3); module docstring for why and the measured effect). Returns True when the settings are in
    effect (applied now or by an earlier call), False when the environment says ``DISTMATCH_MALLOC=default``
    or the C library is not glibc. ValueError for a threshold outside 0 < mmap_threshold ≤ 32 MiB or
    trim_threshold < 0 (glibc would reject or misread it).
    """
    global _applied
    for name, v in (("mmap_threshold", mmap_threshold), ("trim_threshold", trim_threshold)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an integer number of bytes; got {v!r}")
    if not 0 < mmap_threshold <= MMAP_THRESHOLD_MAX:
        raise ValueError(f"mmap_threshold must be in (0, {MMAP_THRESHOLD_MAX}] bytes (glibc's limit); got {mmap_threshold}")
    if not 0 <= trim_threshold < 2**31:
        raise ValueError(f"trim_threshold must be in [0, 2**31) bytes (mallopt takes a C int); got {trim_threshold}")
    if _applied == (mmap_threshold, trim_threshold):
        return True  # in effect, whatever the environment says now
    if os.environ.get(OPT_OUT_ENV, "").strip().lower() == "default":
        return False
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    ok = libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 and libc.mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1
    _applied = (mmap_threshold, trim_threshold) if ok else None
    return ok
