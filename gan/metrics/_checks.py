"""Validation of metric inputs at the API edge: feature matrices and integer parameters."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def as_features(features: Any, name: str) -> np.ndarray:
    """A finite float64 (n, d) numpy copy of a tensor (any device) or array-like; (n,) is read as (n, 1)."""
    if isinstance(features, torch.Tensor):
        features = features.detach().to("cpu", torch.float64).numpy()
    try:
        x = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real (n, d) array or tensor; got {type(features).__name__}") from None
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
