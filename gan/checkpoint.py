"""Atomic checkpoint files: ``torch.save`` to a temporary file in the destination directory, then rename.

A reader (or a resumed run) therefore sees either the previous complete checkpoint or the new
complete one, never a half-written file, whatever kills the writer (SIGKILL, power loss after
the fsync). Loading uses ``torch.load(weights_only=True)``: checkpoints hold tensors, numbers,
strings and containers of them only, never pickled code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch


def save_checkpoint(state: Any, path: str | os.PathLike) -> Path:
    """Write ``torch.save(state)`` to ``path`` atomically (temporary file, fsync, ``os.replace``); returns the path.

    The directory is created if missing; on any error the temporary file is removed and an existing
    checkpoint at ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``); FileNotFoundError names the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location=map_location, weights_only=True)
