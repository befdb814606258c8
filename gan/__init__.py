"""distmatch.gan: training machinery (torch): adversarial objectives, regularizers, mode-collapse remedies,
image networks (``gan.nets``), image data (``gan.data``), image metrics (``gan.metrics``) and the image trainer
(``gan.train``).

The package's top-level names are loaded lazily, so that the torch-free module :mod:`gan.fileio` (atomic writes,
sealed files) can be imported without importing torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"LOSSES": "losses", "AdversarialLoss": "losses", "get_loss": "losses", "TrainOptions": "regularizers"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
