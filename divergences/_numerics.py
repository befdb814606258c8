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


def _holds(value, kinds: str, types: tuple) -> bool:
    """Whether ``value`` (a scalar, a numpy array or nested lists/tuples) holds an element of one of ``types``
    (Python objects) or of a numpy dtype kind in ``kinds``."""
    if isinstance(value, types):
        return True
    if isinstance(value, np.ndarray):
        if value.dtype.kind in kinds:
            return True
        return value.dtype.kind == "O" and any(_holds(v, kinds, types) for v in value.flat)
    if isinstance(value, np.generic):
        return value.dtype.kind in kinds
    if isinstance(value, (list, tuple)):
        return any(_holds(v, kinds, types) for v in value)
    return False


def real_array(name: str, value: ArrayLike) -> NDArray:
    """``value`` as a float64 array of real numbers, or an error that names ``name``.

    Accepted: ints, floats, numpy integer and float scalars, and (nested) sequences or arrays of them.
    Rejected with ``TypeError``: None (reported as missing), bools (not numbers, also inside a sequence),
    strings (numpy would parse ``'1'`` as 1.0), complex numbers and other objects; with ``ValueError``:
    ragged nesting (numpy's "inhomogeneous shape"). NaN and ±inf pass; see :func:`check_finite`.
    """
    if value is None:
        raise TypeError(f"{name} is missing (got None); expected real numbers")
    if _holds(value, "b", (bool, np.bool_)):
        raise TypeError(f"{name} must hold real numbers, not bools (bools are not numbers); got {value!r}")
    if _holds(value, "USc", (str, bytes, complex)):
        raise TypeError(f"{name} must hold real numbers, not strings or complex numbers; got {value!r}")
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nesting
        raise ValueError(f"{name} must be a rectangular array of real numbers (every row the same length); "
                         f"got {value!r} (numpy: {exc})") from None
    if arr.dtype.kind not in "iuf":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold real numbers; got {value!r} (numpy: {exc})") from None
    return arr.astype(float, copy=False)


def check_finite(name: str, value: ArrayLike) -> NDArray:
    """Return ``value`` as a float array (:func:`real_array`), raising ``ValueError`` if it holds NaN or ±inf."""
    arr = real_array(name, value)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf); got {value!r}")
    return arr


def check_real(name: str, value, positive: bool = False) -> float:
    """A finite real scalar (int, float, numpy scalar; not bool or str), > 0 with ``positive``; else an error naming it."""
    arr = None if isinstance(value, (bool, np.bool_, str, bytes)) else np.asarray(value)
    if arr is None or arr.ndim != 0 or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number; got {value!r}")
    v = float(arr)
    if not np.isfinite(v) or (positive and v <= 0.0):
        raise ValueError(f"{name} must be a finite{' positive' if positive else ''} number; got {value!r}")
    return v


def check_int(name: str, value, minimum: int) -> int:
    """An integer (Python or numpy; not bool) ≥ ``minimum`` (0: non-negative, 1: positive); else an error naming it."""
    what = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {what}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be {what}; got {value!r}")
    return int(value)


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
