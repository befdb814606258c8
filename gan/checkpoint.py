"""Checkpoint files: ``torch.save`` bytes sealed with what they belong to, written atomically.

A checkpoint is a sealed file (:mod:`gan.fileio`) of kind ``checkpoint``: a header recording the payload's length and
SHA-256 and the caller's metadata (a run store records the configuration key, the seeds and the progress), then the
``torch.save`` bytes of the state. It is written to a temporary file in the destination directory, fsync'ed and
renamed, so a reader (or a resumed run) sees either the previous complete checkpoint or the new one, whatever kills
the writer. Reading checks header, length and checksum (flipped or missing bytes are detected before torch sees
them), optionally that the metadata matches (``expect``), and loads with ``torch.load(weights_only=True)``:
checkpoints hold tensors, numbers, strings and containers of them only, never pickled code. Anything else — a file
of another program, garbage bytes, an altered or truncated checkpoint — is reported as
``not a distmatch checkpoint: PATH (reason)`` (:class:`gan.fileio.SealError`); unsafe loading is never suggested.
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from .fileio import SealError, read_sealed, read_sealed_header, write_sealed

KIND = "checkpoint"


def save_checkpoint(state: Any, path: str | os.PathLike, meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``torch.save(state)`` sealed with ``meta`` (JSON-serialisable) to ``path`` atomically; returns the path.

    The directory is created if missing; on any error the temporary file is removed and an existing checkpoint at
    ``path`` is left untouched.
    """
    buf = io.BytesIO()
    torch.save(state, buf)
    return write_sealed(path, KIND, buf.getvalue(), meta)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu",
                    expect: Mapping[str, Any] | None = None) -> Any:
    """Read a checkpoint written by :func:`save_checkpoint`.

    FileNotFoundError names a missing path; :class:`gan.fileio.SealError` a file that is not an intact distmatch
    checkpoint (or whose content torch cannot read with ``weights_only=True``); :class:`gan.fileio.SealMismatch` one
    whose metadata differs from ``expect``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    _, payload = read_sealed(path, KIND, expect)
    try:
        return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SealError(f"not a distmatch checkpoint: {path} (content unreadable by torch.load with "
                        f"weights_only=True: {reason})") from None


@dataclass(frozen=True)
class CheckpointFile:
    """Where a run keeps its checkpoint, and what the checkpoint must belong to.

    ``meta`` (e.g. ``{"config_key": ..., "seeds": [...]}``, JSON-serialisable) is written into every checkpoint's
    header and required of it when loaded, so a run never continues from a checkpoint of another configuration or
    other seeds. :meth:`save` adds a ``progress`` record (e.g. ``{"epoch": 5}``) that a resuming driver can report
    without loading the checkpoint.
    """

    path: Path
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, where: "str | os.PathLike | CheckpointFile") -> "CheckpointFile":
        """A CheckpointFile from a path (no metadata required) or itself."""
        return where if isinstance(where, CheckpointFile) else cls(Path(where))

    def exists(self) -> bool:
        return Path(self.path).is_file()

    def save(self, state: Any, progress: Mapping[str, Any] | None = None) -> Path:
        """:func:`save_checkpoint` with this file's metadata and ``progress``."""
        return save_checkpoint(state, self.path, {**self.meta, "progress": dict(progress or {})})

    def load(self, map_location: str | torch.device = "cpu") -> Any:
        """:func:`load_checkpoint` requiring this file's metadata (FileNotFoundError if there is none)."""
        return load_checkpoint(self.path, map_location, expect=self.meta)


def checkpoint_meta(path: str | os.PathLike) -> dict:
    """The metadata header of a checkpoint, without loading it (:func:`gan.fileio.read_sealed_header`)."""
    return read_sealed_header(path, KIND)


__all__ = ["KIND", "CheckpointFile", "checkpoint_meta", "load_checkpoint", "save_checkpoint"]
