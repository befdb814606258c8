"""The project's one way of writing files, and sealed files whose content is checked when read back (torch-free).

:func:`write_atomic` writes every file the project writes (tables, figures, ``run.json``, checkpoints, run-store
parts, benchmark tables): the bytes go to a temporary file ``.<name>.<random>.tmp`` in the destination directory,
are flushed and fsync'ed, and the file is renamed over the destination with ``os.replace`` (atomic on POSIX and
Windows within one file system); the rename itself is fsync'ed where the platform allows. A reader therefore sees
the previous complete file or the new complete one, never a half-written one, whatever kills the writer.

A *sealed* file (:func:`seal`, :func:`unseal`) is a payload behind a one-line JSON header that records what the
payload is (its ``kind``, e.g. ``checkpoint`` or ``part``, and the caller's metadata such as the configuration key
and the seeds it belongs to) together with the payload's length and SHA-256::

    DISTMATCH-SEALED 1\\n
    {"kind": "part", "nbytes": 1234, "sha256": "…", "config_key": "…", "seeds": [0, 1], …}\\n
    <payload bytes>

Reading one back checks the magic line, the header, the length and the checksum, and optionally that header fields
equal expected values, so a truncated, altered or foreign file, or one that belongs to another configuration, is
detected (:class:`SealError`, :class:`SealMismatch`) instead of being used.

This module imports neither torch nor pandas: the analytic studies and benchmarks use it too.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

MAGIC = b"DISTMATCH-SEALED 1\n"
_MAX_HEADER = 1 << 20  # a header line longer than this is not ours


class SealError(ValueError):
    """A file is not a sealed distmatch file of the expected kind, or its content fails its checksum."""


class SealMismatch(SealError):
    """A sealed file is intact but belongs to something else (another configuration, other seeds)."""


# ----------------------------------------------------------------------------- atomic writes
def _file_mode() -> int:
    """0o666 masked by the process umask (what ``open(path, 'w')`` would give); mkstemp uses 0o600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_dir(directory: Path) -> None:
    """Persist a rename in ``directory`` (best effort: not every platform can open a directory)."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def write_atomic(path: str | os.PathLike, data: bytes | bytearray | memoryview | str) -> Path:
    """Write ``data`` (str is UTF-8 encoded) to ``path`` atomically; returns the path.

    The destination directory is created if missing. An existing file is replaced; on any error (or an interrupt)
    the temporary file is removed and the old file is left untouched.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomic(d / "a.txt", "hello").read_text()
    'hello'
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes or str; got {type(data).__name__}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def remove_stale_temporaries(path: str | os.PathLike) -> int:
    """Delete the ``.<name>.*.tmp`` files a writer of ``path`` killed mid-write (SIGKILL) left behind; returns how
    many were removed. Only call it when no other process is writing ``path``."""
    path = Path(path)
    n = 0
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
        n += 1
    return n


# ----------------------------------------------------------------------------- sealed files
def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def seal(kind: str, payload: bytes, meta: Mapping[str, Any] | None = None) -> bytes:
    """The bytes of a sealed file: magic line, JSON header (``kind``, ``nbytes``, ``sha256`` and ``meta``), payload.

    ``meta`` must be JSON-serialisable and may not use the reserved names ``kind``, ``nbytes``, ``sha256``.

    >>> meta, body = unseal(seal("part", b"x,y\\n1,2\\n", {"config_key": "abc"}), kind="part")
    >>> meta["config_key"], body
    ('abc', b'x,y\\n1,2\\n')
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind must be a non-empty string; got {kind!r}")
    meta = dict(meta or {})
    clash = {"kind", "nbytes", "sha256"} & set(meta)
    if clash:
        raise ValueError(f"meta may not set the reserved header fields {sorted(clash)}")
    payload = bytes(payload)
    header = {"kind": kind, "nbytes": len(payload), "sha256": sha256_hex(payload), **meta}
    line = json.dumps(header, sort_keys=True, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return MAGIC + line + b"\n" + payload


def _split(data: bytes, kind: str, where: str) -> tuple[dict, bytes]:
    def fail(reason: str) -> SealError:
        return SealError(f"not a distmatch {kind}: {where} ({reason})")

    if not data.startswith(MAGIC):
        raise fail("no distmatch header: written by another program or an older version, or damaged")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    if end < 0:
        raise fail("header line truncated")
    try:
        header = json.loads(data[len(MAGIC):end].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"header unreadable: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("nbytes"), int) or \
            not isinstance(header.get("sha256"), str):
        raise fail("header lacks nbytes/sha256")
    if header.get("kind") != kind:
        raise fail(f"it holds a {header.get('kind')!r}")
    return header, data[end + 1:]


def unseal(data: bytes, kind: str, expect: Mapping[str, Any] | None = None, where: str = "<bytes>") -> tuple[dict, bytes]:
    """Check and open a sealed file's bytes: ``(header, payload)``.

    Raises :class:`SealError` ("not a distmatch <kind>: <where> (<reason>)") if the magic line or header is missing or
    damaged, the kind differs, the payload is shorter or longer than recorded (truncated, appended to) or its SHA-256
    differs (altered); :class:`SealMismatch` if a header field differs from ``expect`` (a file of another
    configuration or other seeds).
    """
    header, payload = _split(bytes(data), kind, where)
    if len(payload) != header["nbytes"]:
        raise SealError(f"not a distmatch {kind}: {where} (payload is {len(payload)} bytes, the header records "
                        f"{header['nbytes']}: truncated or appended to)")
    if sha256_hex(payload) != header["sha256"]:
        raise SealError(f"not a distmatch {kind}: {where} (payload checksum differs from the header's: altered)")
    for name, want in (expect or {}).items():
        got = header.get(name)
        if got != want:
            raise SealMismatch(f"{kind} {where} belongs to another run: its {name} is {got!r}, expected {want!r}")
    return header, payload


def write_sealed(path: str | os.PathLike, kind: str, payload: bytes, meta: Mapping[str, Any] | None = None) -> Path:
    """:func:`seal` then :func:`write_atomic`."""
    return write_atomic(path, seal(kind, payload, meta))


def read_sealed(path: str | os.PathLike, kind: str, expect: Mapping[str, Any] | None = None) -> tuple[dict, bytes]:
    """Read and :func:`unseal` the file at ``path``; a missing or unreadable file is a :class:`SealError` too."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SealError(f"not a distmatch {kind}: {path} (unreadable: {exc.strerror or exc})") from None
    return unseal(data, kind, expect, where=str(path))


def read_sealed_header(path: str | os.PathLike, kind: str) -> dict:
    """The header of a sealed file without reading or checking its payload (cheap: for listings and messages);
    :class:`SealError` if the file is not a sealed file of ``kind``."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(MAGIC) + _MAX_HEADER)
    except OSError as exc:
        raise SealError(f"not a distmatch {kind}: {path} (unreadable: {exc.strerror or exc})") from None
    return _split(head, kind, str(path))[0]


__all__ = ["MAGIC", "SealError", "SealMismatch", "read_sealed", "read_sealed_header", "remove_stale_temporaries",
           "seal", "sha256_hex", "unseal", "write_atomic", "write_sealed"]
