"""The run store of a study: finished parts, checkpoints and claims under ``<out>/runs/``, checked when read.

Layout (one directory per configuration key; ``<s>`` is a hash of a unit's seeds)::

    <out>/runs/<config key>/config.json      the configuration and its labels (for people; never read back)
    <out>/runs/<config key>/part-<s>.part    a finished unit: its long rows (CSV), sealed (gan.fileio)
    <out>/runs/<config key>/part-<s>.npz     its arrays (e.g. final samples), sealed, if it has any
    <out>/runs/<config key>/ckpt-<s>.pt      the checkpoint of a unit in progress, sealed (gan.checkpoint)
    <out>/runs/<config key>/claim-<s>.lock   the claim of a unit (an advisory lock held while it runs)
    <out>/runs/quarantine/                   parts and checkpoints that failed their check, moved aside

**Parts.** A part's header records the configuration key, the seeds, the columns and number of rows, and a
provenance record (host, device, torch version, thread count, wall time, whether it resumed from a checkpoint);
the payload's length and SHA-256 seal it. A part is read back only after its seal, its key and its seeds check
out, and its CSV parses to the recorded shape. Anything else — truncated, one value edited, unreadable, or a part
of another configuration — is moved to ``quarantine/`` (never deleted), reported in one line, and its seeds are
trained again.

**Checkpoints** (:class:`gan.checkpoint.CheckpointFile`) carry the configuration key and seeds in their header; one
that fails its seal or belongs to another configuration is moved aside in the same way before the unit starts.

**Claims.** A unit is claimed before it is trained: an exclusive ``flock`` on its ``claim-*.lock`` file, held by the
process that trains it (a driver, a pool worker or a Ray worker) and released by the operating system when that
process ends, however it ends. After claiming, the unit is checked again, so two drivers on one output directory
never train a unit twice: the second skips what the first finished and waits for what the first is training
(taking it over, from its checkpoint, if the first dies). ``flock`` works across the hosts of a cluster on file
systems that support it (NFS v4, Lustre, BeeGFS with locking enabled); see the README.

The store never imports torch.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import io
import json
import os
import shutil
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from gan.fileio import (SealError, read_sealed, read_sealed_header, remove_stale_temporaries, sha256_hex,
                        write_sealed)
from studies.common import json_safe, write_json_atomic

RUNS_DIR = "runs"
QUARANTINE = "quarantine"
PART_KIND = "part"
ARRAYS_KIND = "arrays"
RESERVED_COLUMNS = ("config_key", "seed")


# ----------------------------------------------------------------------------- keys
def config_key(config: Any) -> str:
    """Hash identifying a configuration: ``sha256(json(non-default fields, sort_keys))[:16]``.

    For a dataclass, the fields whose JSON form equals that of their default (or default factory's value) are left
    out, so an option added later with a default that keeps the old behaviour leaves every existing key valid; a
    nested dataclass is compared field by field the same way. Any other object is hashed whole.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class C:
    ...     lr: float = 1e-3
    ...     new_option: bool = False
    >>> config_key(C()) == config_key({}) and config_key(C(lr=0.1)) == config_key({"lr": 0.1})
    True
    """
    text = json.dumps(non_default_fields(config), sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def non_default_fields(config: Any) -> Any:
    """A dataclass as a JSON-safe dict of the fields that differ from their defaults (recursively for nested
    dataclasses; a field without a default is always kept); any other object as ``json_safe`` gives it."""
    if not (dataclasses.is_dataclass(config) and not isinstance(config, type)):
        return json_safe(config)
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            out[f.name] = non_default_fields(value)
            continue
        if dataclasses.is_dataclass(value) and type(value) is type(default):
            nested = non_default_fields(value)
            if nested:
                out[f.name] = nested
        elif json_safe(value) != json_safe(default):
            out[f.name] = non_default_fields(value)
    return out


def seeds_hash(seeds: Sequence[int]) -> str:
    """12 hex digits naming a unit's seed batch (``"all"`` for a unit without seeds)."""
    if not seeds:
        return "all"
    return hashlib.sha256(",".join(str(int(s)) for s in seeds).encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------- variants and units
@dataclass(frozen=True)
class Variant:
    """One configuration of a study: its labels (leading table columns, e.g. ``{"loss": "ns", "beta2": 0.99}``),
    its config (picklable; its :func:`config_key` names it in the store), a title for messages, and ``options``:
    settings of how it runs that do not change its numbers (e.g. ``checkpoint_every``; not part of the key)."""

    labels: Mapping[str, Any]
    config: Any
    name: str = ""
    options: Mapping[str, Any] = field(default_factory=dict, compare=False)
    seeds: tuple[int, ...] | None = None
    """This variant's own run seeds (None: the study's seeds)."""

    def seed_list(self, default: Sequence[int]) -> list[int]:
        """Its seeds: its own, else ``default``."""
        return [int(s) for s in (self.seeds if self.seeds is not None else default)]

    def __post_init__(self) -> None:
        bad = set(self.labels) & set(RESERVED_COLUMNS)
        if bad:
            raise ValueError(f"labels may not be named {sorted(bad)} (reserved table columns)")

    @cached_property
    def key(self) -> str:
        """:func:`config_key` of the config (computed once: the engine asks for it at every step of a run; a
        variant is frozen and its config is never changed once the variant is made)."""
        return config_key(self.config)

    def title(self) -> str:
        """The name, or ``label=value`` pairs."""
        return self.name or ", ".join(f"{k}={v}" for k, v in self.labels.items())


@dataclass(frozen=True, eq=False)
class Unit:
    """One unit of work: a variant and a batch of its seeds (``()`` for work without seeds, an analytic point).
    Units are equal (and hash) by configuration key and seeds."""

    variant: Variant
    seeds: tuple[int, ...] = ()
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.variant.key)
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unit) and (self.key, self.seeds) == (other.key, other.seeds)

    def __hash__(self) -> int:
        return hash((self.key, self.seeds))

    @property
    def name(self) -> str:
        """``<config key>/<seeds hash>``: the unit's files in the store."""
        return f"{self.key}/{seeds_hash(self.seeds)}"

    def describe(self) -> str:
        """Title and seeds, for messages."""
        return self.variant.title() + (f", seeds {_seed_range(self.seeds)}" if self.seeds else "")


def _seed_range(seeds: Sequence[int]) -> str:
    s = list(seeds)
    if len(s) > 2 and s == list(range(s[0], s[0] + len(s))):
        return f"{s[0]}–{s[-1]}"
    return ", ".join(map(str, s))


# ----------------------------------------------------------------------------- provenance
def provenance(device: str, wall_time_s: float, resumed_from: Any = None) -> dict:
    """A part's provenance: host, pid, device, torch version (if loaded), torch threads, wall time, resume point."""
    import sys

    torch = sys.modules.get("torch")
    return {"host": socket.gethostname(), "pid": os.getpid(), "device": str(device),
            "torch": getattr(torch, "__version__", None), "threads": torch.get_num_threads() if torch else None,
            "wall_time_s": float(wall_time_s), "resumed_from": resumed_from,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


# ----------------------------------------------------------------------------- the store
@dataclass
class Part:
    """A finished unit read back and checked: its header, its rows and its arrays (name → array; may be empty)."""

    header: dict
    rows: pd.DataFrame
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return [int(s) for s in self.header.get("seeds", [])]


@dataclass
class Claim:
    """An acquired unit claim (keep it while the unit trains; :meth:`release` or process exit frees it)."""

    path: Path
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = -1


class RunStore:
    """Parts, checkpoints and claims of one study under ``<out>/runs`` (module docstring). ``notes`` collects the
    one-line reports of files moved aside."""

    def __init__(self, out_dir: str | os.PathLike):
        self.out = Path(out_dir)
        self.root = self.out / RUNS_DIR
        self.notes: list[str] = []

    # paths ----------------------------------------------------------------
    def _dir(self, key: str) -> Path:
        return self.root / key

    def part_path(self, unit: Unit) -> Path:
        return self._dir(unit.key) / f"part-{seeds_hash(unit.seeds)}.part"

    @staticmethod
    def arrays_path(part_path: Path) -> Path:
        """The arrays file written beside a part (before it: the part is the commit marker)."""
        return part_path.with_suffix(".npz")

    def checkpoint_path(self, unit: Unit) -> Path:
        return self._dir(unit.key) / f"ckpt-{seeds_hash(unit.seeds)}.pt"

    def claim_path(self, unit: Unit) -> Path:
        return self._dir(unit.key) / f"claim-{seeds_hash(unit.seeds)}.lock"

    def checkpoint_meta(self, unit: Unit) -> dict:
        """What a unit's checkpoint header must record (and what is checked when it is read back)."""
        return {"config_key": unit.key, "seeds": list(unit.seeds)}

    # reset -----------------------------------------------------------------
    def clear(self) -> None:
        """Delete every stored part and checkpoint (``--fresh``); the quarantine goes too."""
        if self.root.exists():
            shutil.rmtree(self.root)

    # moving aside ----------------------------------------------------------
    def quarantine(self, path: Path, reason: str) -> None:
        """Move ``path`` to ``runs/quarantine/`` (never delete it) and note one line saying why."""
        dest_dir = self.root / QUARANTINE
        dest_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        dest = dest_dir / f"{stamp}-{path.parent.name}-{path.name}"
        n = 1
        while dest.exists():
            dest = dest_dir / f"{stamp}-{n}-{path.parent.name}-{path.name}"
            n += 1
        try:
            os.replace(path, dest)
        except FileNotFoundError:  # another driver moved it first
            return
        self.notes.append(f"moved aside {path.relative_to(self.out)} ({reason}) -> "
                          f"{dest.relative_to(self.out)}; its work is redone")

    # parts -----------------------------------------------------------------
    def save_part(self, unit: Unit, rows: pd.DataFrame, prov: Mapping[str, Any],
                  arrays: Mapping[str, np.ndarray] | None = None) -> Path:
        """Store a finished unit: its arrays (if any, sealed, first) and its rows (a DataFrame; a ``seed`` column when
        the unit has seeds), sealed with its key, seeds, provenance and the arrays' checksum; then drop its
        checkpoint and any temporaries a killed writer left."""
        if unit.seeds and "seed" not in rows.columns:
            raise ValueError(f"rows of a unit with seeds need a 'seed' column; got {list(rows.columns)}")
        d = self._dir(unit.key)
        d.mkdir(parents=True, exist_ok=True)
        config_json = d / "config.json"
        if not config_json.exists():
            write_json_atomic({"labels": dict(unit.variant.labels), "config": unit.variant.config}, config_json)
        path = self.part_path(unit)
        meta = {"config_key": unit.key, "seeds": list(unit.seeds), "columns": list(rows.columns),
                "rows": int(len(rows)), "provenance": json_safe(dict(prov))}
        if arrays:
            buf = io.BytesIO()
            np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
            data = buf.getvalue()
            write_sealed(self.arrays_path(path), ARRAYS_KIND, data, {"config_key": unit.key,
                                                                        "seeds": list(unit.seeds)})
            meta["arrays_sha256"] = sha256_hex(data)
        payload = rows.to_csv(index=False, lineterminator="\n").encode("utf-8")
        write_sealed(path, PART_KIND, payload, meta)
        ckpt = self.checkpoint_path(unit)
        ckpt.unlink(missing_ok=True)
        remove_stale_temporaries(ckpt)
        return path

    def read_part(self, path: Path, key: str) -> Part | None:
        """A part (and its arrays) if it passes every check; else it is moved aside (noted) and None returned."""
        arrays_file = self.arrays_path(path)
        try:
            header, payload = read_sealed(path, PART_KIND, expect={"config_key": key})
            df = pd.read_csv(io.BytesIO(payload))
            if list(df.columns) != header.get("columns") or len(df) != header.get("rows"):
                raise SealError(f"its CSV has {len(df)} rows × {list(df.columns)}, the header records "
                                f"{header.get('rows')} × {header.get('columns')}")
            if "seed" in df.columns and sorted(set(df.seed.astype(int))) != sorted(header.get("seeds", [])):
                raise SealError("its rows hold other seeds than its header records")
            arrays: dict[str, np.ndarray] = {}
            if "arrays_sha256" in header:
                _, data = read_sealed(arrays_file, ARRAYS_KIND, expect={"config_key": key,
                                                                         "seeds": header.get("seeds")})
                if sha256_hex(data) != header["arrays_sha256"]:
                    raise SealError(f"its arrays file {arrays_file.name} is not the one it was stored with")
                with np.load(io.BytesIO(data), allow_pickle=False) as z:
                    arrays = {k: z[k] for k in z.files}
        except (SealError, ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            self.quarantine(path, _reason(exc))
            if arrays_file.exists():
                self.quarantine(arrays_file, "its part was moved aside")
            return None
        return Part(header, df, arrays)

    def parts(self, key: str) -> list[Part]:
        """Every valid part of ``key`` (invalid ones are moved aside)."""
        d = self._dir(key)
        if not d.is_dir():
            return []
        return [p for p in (self.read_part(path, key) for path in sorted(d.glob("part-*.part"))) if p is not None]

    def is_done(self, unit: Unit) -> bool:
        """Whether the unit's own part is stored and intact (checked in full; a bad one is moved aside)."""
        path = self.part_path(unit)
        return path.exists() and self.read_part(path, unit.key) is not None

    # adopting a saved table -------------------------------------------------
    def adopt(self, variants: Sequence[Variant], saved: pd.DataFrame, arrays: Mapping[str, np.ndarray],
              key_column: str, origin: Mapping[str, Any], compute: Mapping[str, Any] | None = None) -> int:
        """Store the runs of a saved long table (a finished invocation's, checked against its run.json by the caller)
        as parts, for each variant whose configuration key the table holds and the store has no part of: one part
        per configuration with all its seeds, its rows as the unit returned them (the table's rows of that key
        without the label and key columns), its arrays (``<key>/<name>`` entries of ``arrays``) and ``origin`` (the
        saved run's provenance) as its provenance, with ``compute[title]`` (the saved run's record of where that
        configuration was computed, ``extra.compute`` of its run.json) when there is one, so that the cost of every
        invocation behind a table stays in its record. Returns the number of (configuration, seed) runs adopted (a
        seedless configuration counts 1). This is how a fresh checkout, whose store is empty, extends a committed
        study without recomputing it."""
        if key_column not in saved.columns:
            raise ValueError(f"the saved table has no {key_column!r} column; it cannot be split into parts")
        n = 0
        for v in variants:
            if any(self._dir(v.key).glob("part-*.part")):  # plan() reads and checks the stored parts
                continue
            rows = saved[saved[key_column] == v.key]
            if rows.empty:
                continue
            rows = rows.drop(columns=[*v.labels, key_column]).reset_index(drop=True)
            seeds = tuple(sorted(int(s) for s in rows.seed.unique())) if "seed" in rows.columns else ()
            prefix = f"{v.key}/"
            mine = {k[len(prefix):]: a for k, a in arrays.items() if k.startswith(prefix)}
            provenance: dict[str, Any] = {"adopted_from": dict(origin)}
            if compute and isinstance(compute.get(v.title()), Mapping):
                provenance["compute"] = dict(compute[v.title()])
            self.save_part(Unit(v, seeds), rows, provenance, mine)
            n += max(len(seeds), 1)
        return n

    # checkpoints -----------------------------------------------------------
    def checkpoint_progress(self, unit: Unit) -> dict | None:
        """The progress recorded in a unit's checkpoint header, or None without a checkpoint. A checkpoint whose
        header is unreadable or names another configuration or other seeds is moved aside here (its payload is
        checked in full when the unit loads it: :meth:`check_checkpoint`)."""
        path = self.checkpoint_path(unit)
        if not path.exists():
            return None
        try:
            header = read_sealed_header(path, "checkpoint")
            for name, want in self.checkpoint_meta(unit).items():
                if header.get(name) != want:
                    raise SealError(f"it belongs to another run: its {name} is {header.get(name)!r}")
        except SealError as exc:
            self.quarantine(path, _reason(exc))
            return None
        return dict(header.get("progress") or {})

    def check_checkpoint(self, unit: Unit) -> dict | None:
        """Check a unit's checkpoint in full (seal and metadata) before it is loaded; a bad one is moved aside and
        None returned (the unit then starts from scratch); else its progress record."""
        path = self.checkpoint_path(unit)
        if not path.exists():
            return None
        try:
            header, _ = read_sealed(path, "checkpoint", expect=self.checkpoint_meta(unit))
        except SealError as exc:
            self.quarantine(path, _reason(exc))
            return None
        return dict(header.get("progress") or {})

    # claims ----------------------------------------------------------------
    def claim(self, unit: Unit, wait: bool) -> Claim | None:
        """Claim ``unit`` (exclusive ``flock`` on its lock file): None if another process holds it and ``wait`` is
        False; with ``wait`` blocks until it is free. The lock file names the holder (host and pid)."""
        path = self.claim_path(unit)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        return Claim(path, fd)



def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "(" in text and text.endswith(")") and text.startswith("not a distmatch"):
        return text[text.index("(") + 1:-1]
    return text


# ----------------------------------------------------------------------------- planning
@dataclass
class Plan:
    """What a run of some variants × seeds will do with what the store holds.

    ``units`` : the units still to train (seed batches of the seeds no valid part holds), in variant order;
    ``parts`` : config key → valid parts read during planning (reused for the table);
    ``reused`` : (configuration, seed) runs already stored; ``resume`` : unit → progress of its checkpoint.
    """

    variants: list[Variant]
    seeds: list[int]
    units: list[Unit]
    parts: dict[str, list[Part]]
    reused: int
    resume: dict[Unit, dict]

    @property
    def requested(self) -> int:
        return sum(max(len(v.seed_list(self.seeds)), 1) for v in self.variants)

    @property
    def computed(self) -> int:
        return sum(max(len(u.seeds), 1) for u in self.units)

    def start_line(self, study: str) -> str:
        """The one line a run starts with: what is reused, what resumes from which checkpoint, what is new."""
        with_seeds = any(v.seed_list(self.seeds) for v in self.variants)
        what = "runs" if with_seeds else "units"
        resumed = [f"{u.describe()} from {_progress_text(p)}" for u, p in self.resume.items()]
        new = self.computed - sum(max(len(u.seeds), 1) for u in self.resume)
        per = {len(v.seed_list(self.seeds)) for v in self.variants}
        seeds_text = (f" × {per.pop()} seeds" if len(per) == 1 else " × their seeds") if with_seeds else ""
        text = (f"{study}: {self.requested} {what} ({len(self.variants)} configurations{seeds_text}): "
                f"{self.reused} reused, "
                f"{sum(max(len(u.seeds), 1) for u in self.resume)} resume")
        text += f" ({'; '.join(resumed)})" if resumed else ""
        return text + f", {new} new"


def _progress_text(progress: Mapping[str, Any]) -> str:
    if not progress:
        return "a checkpoint"
    return ", ".join(f"{k} {v}" for k, v in progress.items())


def plan(store: RunStore, variants: Sequence[Variant], seeds: Sequence[int], seed_batch: int) -> Plan:
    """The :class:`Plan` of ``variants`` × ``seeds`` (``seeds`` empty: one seedless unit per variant), cutting the
    seeds not yet stored into batches of ``seed_batch``."""
    if isinstance(seed_batch, bool) or not isinstance(seed_batch, int) or seed_batch < 1:
        raise ValueError(f"seed_batch must be a positive integer; got {seed_batch!r}")
    keys = [v.key for v in variants]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"two variants have the same configuration (config keys {dup}); give them distinct configs")
    seeds = [int(s) for s in seeds]
    units: list[Unit] = []
    parts: dict[str, list] = {}
    reused = 0
    for v in variants:
        parts[v.key] = store.parts(v.key)
        mine = v.seed_list(seeds)
        if not mine:
            if parts[v.key]:
                reused += 1
            else:
                units.append(Unit(v, ()))
            continue
        done = {s for part in parts[v.key] for s in part.seeds}
        rest = [s for s in mine if s not in done]
        reused += len(mine) - len(rest)
        units += [Unit(v, tuple(rest[i:i + seed_batch])) for i in range(0, len(rest), seed_batch)]
    resume = {}
    for u in units:
        progress = store.checkpoint_progress(u)
        if progress is not None:
            resume[u] = progress
    return Plan(list(variants), seeds, units, parts, reused, resume)


def assemble(variants: Sequence[Variant], seeds: Sequence[int], parts: Mapping[str, list[Part]],
             key_column: str | None, sort_columns: Sequence[str]) -> pd.DataFrame:
    """The study's long table from the valid parts of each variant (:meth:`RunStore.parts`, keyed by config key).

    Variants in order; within a variant, the requested seeds only (a seed that two parts hold is taken from the first),
    sorted by (seed, *sort_columns), stable; then the variant's labels as leading columns and, if ``key_column`` is
    set, its config key."""
    frames = []
    for v in variants:
        wanted = v.seed_list(seeds)
        got = []
        seen: set[int] = set()
        for part in parts.get(v.key, []):
            df = part.rows
            if wanted:
                df = df[df.seed.isin(wanted) & ~df.seed.isin(seen)]
                seen |= set(df.seed.astype(int))
            got.append(df)
        if not got:
            continue
        df = pd.concat(got, ignore_index=True)
        if wanted:
            df = df.sort_values(["seed", *sort_columns], kind="stable")
        if key_column:
            df.insert(0, key_column, v.key)
        for i, (k, val) in enumerate(v.labels.items()):
            df.insert(i, k, val)
        frames.append(df)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def gather_arrays(variants: Sequence[Variant], seeds: Sequence[int], parts: Mapping[str, list[Part]]) -> dict:
    """The arrays of the requested variants' parts as ``{"<config key>/<name>": array}``; an array named
    ``seed<k>/...`` is kept only if seed k is requested."""
    out: dict[str, np.ndarray] = {}
    for v in variants:
        wanted = {f"seed{s}/" for s in v.seed_list(seeds)}
        for part in parts.get(v.key, []):
            for name, arr in part.arrays.items():
                if name.startswith("seed") and "/" in name and wanted and name[:name.index("/") + 1] not in wanted:
                    continue
                out.setdefault(f"{v.key}/{name}", arr)
    return out
