"""Small assertion helpers shared by the test modules."""

from __future__ import annotations

import math

import numpy as np


def assert_close(got: float, want: float, tol: float, what: str = "") -> None:
    """Two-sided check ``abs(got - want) <= tol`` (equal infinities pass) with a readable message.

    A non-finite ``tol`` (an infinite error estimate from the code under test) fails: it would
    make the comparison vacuous.
    """
    if math.isinf(want) or math.isinf(got):
        assert got == want, f"{what}: got {got!r}, want {want!r}"
        return
    assert math.isfinite(tol), f"{what}: tolerance {tol!r} is not finite (an error estimate came back inf/NaN)"
    assert abs(got - want) <= tol, f"{what}: got {got!r}, want {want!r}, |diff| = {abs(got - want):.3e} > tol = {tol:.3e}"


def assert_le(lhs: float, rhs: float, tol: float, what: str = "") -> None:
    """One-sided inequality ``lhs <= rhs + tol`` (the property itself is an inequality); ``tol`` must be finite."""
    assert math.isfinite(tol), f"{what}: tolerance {tol!r} is not finite (an error estimate came back inf/NaN)"
    assert lhs <= rhs + tol, f"{what}: {lhs!r} > {rhs!r} + tol {tol:.3e} (excess {lhs - rhs:.3e})"


class LogitDiscriminator:
    """A probability-valued discriminator given by its logit (so value_function integrates in log space)."""

    def __init__(self, logit_fn):
        self._logit = logit_fn

    def logit(self, x):
        return self._logit(np.asarray(x, float))

    def __call__(self, x):
        from scipy.special import expit

        return expit(self.logit(x))


def assert_jobs_match_serial(main, argv: list[str], table: str, tmp_path) -> None:
    """A toy study run with ``--jobs 2`` (spawned workers) writes the same table as the serial run, to the bit.

    Both run with one torch thread (the workers get max(1, 1 // 2) = 1), so the arithmetic is the same; the
    serial run is done here rather than taken from a module fixture for that reason.
    """
    import pandas as pd
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(argv + ["--out", str(tmp_path / "serial")]) == 0
        assert main(argv + ["--jobs", "2", "--out", str(tmp_path / "jobs2")]) == 0
    finally:
        torch.set_num_threads(before)
    serial, parallel = pd.read_csv(tmp_path / "serial" / table), pd.read_csv(tmp_path / "jobs2" / table)
    assert len(serial) > 0
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
