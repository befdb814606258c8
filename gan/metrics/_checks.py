"""Validation of metric inputs at the API edge: images, feature matrices and integer parameters."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

IMAGE_RANGE_TOL = 1e-3
"""How far float images may stray outside [−1, 1] (tanh outputs, and float32/bf16 rounding, stay inside)."""


def check_images(images: Any, who: str) -> torch.Tensor:
    """``images`` if they are finite float images (N, C, H, W) in [−1, 1], N, H, W ≥ 1; else TypeError/ValueError.

    NaN or ±inf (a diverged generator) and values outside [−1 − tol, 1 + tol] (pixels in [0, 255]
    passed as floats, or a generator without its tanh) raise: a classifier or feature extractor
    would still return a number for them (a NaN logit vector has argmax 0), a wrong one.
    """
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError(f"{who} expects float images in [-1, 1] (a floating-point torch.Tensor; use "
                        f"gan.data.to_float for uint8); got {type(images).__name__} {getattr(images, 'dtype', '')}")
    if images.ndim != 4 or 0 in images.shape:
        raise ValueError(f"{who} expects images of shape (N, C, H, W) with N, H, W >= 1; got {tuple(images.shape)}")
    lo, hi = (float(v) for v in torch.aminmax(images.detach()))  # NaN anywhere makes both NaN
    if np.isnan(lo) or np.isnan(hi):
        raise ValueError(f"{who}: the images contain NaN (a diverged generator?)")
    if lo < -1.0 - IMAGE_RANGE_TOL or hi > 1.0 + IMAGE_RANGE_TOL:
        raise ValueError(f"{who} expects images in [-1, 1] (gan.data.to_float maps uint8 pixels there); got values "
                         f"in [{lo:.4g}, {hi:.4g}]")
    return images


def real_array(value: Any, name: str) -> np.ndarray:
    """``value`` (a tensor on any device, an array or nested lists) as a float64 numpy array; TypeError unless it holds
    real numbers (bool and complex refused: a bool is not a value, and casting complex to float drops a part)."""
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must hold real numbers; got a tensor of dtype {value.dtype}")
        return value.detach().to("cpu", torch.float64).numpy()
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged nested lists
        arr = None
    if arr is None or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers; got {type(value).__name__}"
                        + ("" if arr is None else f" of dtype {arr.dtype}"))
    return arr.astype(np.float64)


def as_features(features: Any, name: str) -> np.ndarray:
    """A finite float64 (n, d) numpy copy of a real tensor (any device) or array-like (:func:`real_array`);
    (n,) is read as (n, 1)."""
    x = real_array(features, name)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d); got {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def feature_pair(real: Any, fake: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both feature sets validated, with the same dimension d."""
    x, y = as_features(real, "real_features"), as_features(fake, "fake_features")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"real and fake features must have the same dimension; got {x.shape[1]} and {y.shape[1]}")
    return x, y


def check_int(name: str, value: Any, low: int) -> int:
    """``value`` as an int ≥ ``low`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)
