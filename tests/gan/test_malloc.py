"""gan.malloc: glibc's allocator keeps freed memory, so a step that frees and reallocates large buffers stops
page-faulting. The fault counts come from a child process (the setting is process-wide), with a control run
under ``DISTMATCH_MALLOC=default`` that must fault: otherwise the check could not fail."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gan import malloc

# One "training step" as the toy trainer does it: several large buffers alive at once, all freed at the end
# (80 MB, more than twice the largest chunk, so glibc's default trims the heap top after every step).
_STEPS = """
import resource, sys
from gan.malloc import retain_freed_memory
applied = retain_freed_memory()
def step():
    bufs = [bytearray(8 << 20) for _ in range(10)]  # zero-filled: every page is touched
    del bufs
step()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""

_PAGES_PER_STEP = 80 * 2**20 // 4096


def _faults(env_value: str | None) -> tuple[bool, int]:
    env = {k: v for k, v in os.environ.items() if k != malloc.OPT_OUT_ENV}
    if env_value is not None:
        env[malloc.OPT_OUT_ENV] = env_value
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", _STEPS], capture_output=True, text=True, env=env, cwd=root,
                         check=True).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(malloc._glibc() is None, reason="needs glibc (mallopt)")
def test_retained_memory_stops_page_faults():
    applied, faults = _faults(None)
    control_applied, control_faults = _faults("default")
    assert applied and not control_applied
    # glibc's default trims the freed 80 MB every step: about one fault per page, 10 steps
    assert control_faults > 5 * _PAGES_PER_STEP, control_faults
    assert faults < _PAGES_PER_STEP / 10, faults


def test_opt_out_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setattr(malloc, "_applied", None)  # as in a fresh process (another test may have applied it)
    monkeypatch.setenv(malloc.OPT_OUT_ENV, "default")
    assert malloc.retain_freed_memory() is False


@pytest.mark.parametrize("kwargs", [{"mmap_threshold": 0}, {"mmap_threshold": malloc.MMAP_THRESHOLD_MAX + 1},
                                    {"trim_threshold": -1}, {"trim_threshold": 2**31}])
def test_out_of_range_thresholds_are_rejected(kwargs):
    with pytest.raises(ValueError, match="threshold must be in"):
        malloc.retain_freed_memory(**kwargs)


@pytest.mark.parametrize("kwargs", [{"mmap_threshold": 1e6}, {"trim_threshold": True}])
def test_non_integer_thresholds_are_rejected(kwargs):
    with pytest.raises(TypeError, match="must be an integer number of bytes"):
        malloc.retain_freed_memory(**kwargs)
