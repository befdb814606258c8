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
