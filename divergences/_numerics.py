"""Small numerically stable primitives shared by the analytic layer (numpy only)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

LOG_2PI = float(np.log(2.0 * np.pi))
LOG2 = float(np.log(2.0))


def logsumexp(a: Array, axis: int = -1) -> Array:
    """log Σ exp(a) along ``axis``, shift-stabilised; rows of all ``-inf`` give ``-inf``.

    One or two terms are returned as they are or by ``np.logaddexp`` (the common 1D cases).
    """
    if a.shape[axis] == 1:
        return np.squeeze(a, axis=axis)
    if a.shape[axis] == 2:
        first, second = np.moveaxis(a, axis, 0)
        return np.logaddexp(first, second)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis)
    return out


def softplus(x: Array) -> Array:
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^{-|x|})."""
    x = np.asarray(x, dtype=float)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def sigmoid(x: Array) -> Array:
    """1 / (1 + e^{-x}) evaluated without overflow for any sign of x."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def check_finite(name: str, value: ArrayLike) -> NDArray:
    """Return ``value`` as a float array, raising ``ValueError`` if it holds NaN or ±inf."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf); got {value!r}")
    return arr


def check_alpha(alpha: float, allow_one: bool = True) -> float:
    """Validate an α of the α-loss / Arimoto family: a real number (int, float, numpy scalar; not bool or str)
    in (0, ∞], NaN rejected."""
    arr = None if isinstance(alpha, (str, bytes)) else np.asarray(alpha)
    if arr is None or arr.ndim != 0 or arr.dtype.kind not in "iuf":
        raise TypeError(f"alpha must be a real number in (0, inf]; got {alpha!r}")
    a = float(arr)
    if np.isnan(a) or a <= 0.0:
        raise ValueError(f"alpha must lie in (0, inf]; got {alpha!r}")
    if not allow_one and a == 1.0:
        raise ValueError("alpha = 1 is not allowed here; use the log-loss form instead")
    return a


def expm1_ratio(x, ops=None):
    """expm1(x)/x with the removable singularity at 0 filled by its series 1 + x/2 (|x| < 1e-8)."""
    ops = NUMPY_OPS if ops is None else ops
    small = ops.abs(x) < 1e-8
    safe = ops.where(small, ops.ones_like(x), x)
    return ops.where(small, 1.0 + 0.5 * x, ops.expm1(safe) / safe)


class NumpyOps:
    """The elementwise operations the f-GAN expressions of the records are written in.

    Records state each activation / conjugate once as a function ``(x, ops)``; numpy evaluates them
    with these ops, and the torch layer (``gan.losses``) passes torch's, so the training objectives
    use the analytic records' formulas instead of rewriting them.
    """

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    expm1 = staticmethod(np.expm1)
    sqrt = staticmethod(np.sqrt)
    tanh = staticmethod(np.tanh)
    abs = staticmethod(np.abs)
    where = staticmethod(np.where)
    ones_like = staticmethod(np.ones_like)
    softplus = staticmethod(softplus)
    sigmoid = staticmethod(sigmoid)


NUMPY_OPS = NumpyOps()
