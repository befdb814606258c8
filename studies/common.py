"""Shared machinery of the studies and command lines: config dataclass -> options, ``run.json`` provenance, CSV/JSON
writers (through :func:`gan.fileio.write_atomic`, the project's one atomic writer), figure saving.

The study engine (:mod:`studies.engine`) builds every study's command line from its config dataclass with
:func:`add_config_options` (one option per field; see there for the types supported) and records every run with
:func:`write_run_json`. Everything a study writes goes through :func:`write_atomic` (temporary file in the
destination directory, fsync, ``os.replace``), so a reader never sees a half-written table, figure or
``run.json``, and an interrupted run leaves the previous result intact (``*.tmp`` is git-ignored).

This module imports neither torch nor pyplot; :func:`pyplot` selects the Agg backend first.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import multiprocessing as mp
import os
import platform
import socket
import subprocess
import sys
import time
import types
from datetime import datetime, timezone
from pathlib import Path
from typing import (Any, Callable, Literal, Mapping, NewType, NoReturn, Sequence, TypeVar, Union, get_args, get_origin,
                    get_type_hints)

from gan.fileio import write_atomic  # the project's one atomic writer (torch-free)

C = TypeVar("C")

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path("results")  # relative to the working directory: run studies from the repository root

# Packages whose versions every run.json records ("torch" only if installed; it is never imported here).
VERSIONED_PACKAGES = ("numpy", "scipy", "matplotlib", "pandas", "seaborn", "torch", "distmatch")


# ----------------------------------------------------------------------------- config -> CLI
Device = NewType("Device", str)
"""Type of a config field that is a torch device option (``device: Device = "auto"``): on the command line
``--device DEVICE``, one of :data:`DEVICE_HELP`, checked when parsed by :func:`gan.device.device_option` (a
misspelt device, or CUDA where there is none, is a command-line error, exit status 2). ``auto`` stays ``auto`` in
the config; the run resolves it (:func:`gan.device.resolve_device`) and records the resolved device in run.json."""

DEVICE_HELP = "auto (CUDA when available, else the CPU), cpu, cuda or cuda:N"
"""The allowed device spellings, for help texts (the same as ``gan.device.DEVICE_HELP``; not imported from there
because importing ``gan`` imports torch)."""


def _device_converter(text: str) -> str:
    from gan.device import device_option  # torch is imported only for configs with a device option

    return device_option(text)


_device_converter.__name__ = "device"

_SPECIAL_TYPES: dict[Any, Callable[[str], Any]] = {Device: _device_converter}
"""Config field types with their own command-line converter (argparse ``type``)."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` with each option's default shown once, as it would be typed.

    ``(default: X)`` is appended from the option's real default, except where the help text already
    places it (``%(default)s``, as booleans' ``--x/--no-x`` do) or the default is None: such an option's
    help says in words what leaving it out does (e.g. "default: the architecture's"). Tuples are shown
    space-separated (``ns minimax``), an empty tuple as ``none``. The description and epilog keep their
    line breaks (variant tables).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if default is None or default is argparse.SUPPRESS or "%(default)" in text or not action.option_strings:
            return text
        return f"{text} (default: {_show_default(default).replace('%', '%%')})".lstrip()

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        # paths and option values stay whole (a long default directory pattern may overrun the column)
        return textwrap.wrap(self._whitespace_matcher.sub(" ", text).strip(), width, break_long_words=False,
                             break_on_hyphens=False)


def _show_default(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return " ".join(_show_default(v) for v in value) if value else "none"
    if isinstance(value, str) and not value:
        return '""'
    return str(value)


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``X | None`` / ``Optional[X]`` -> (X, True); anything else -> (tp, False)."""
    origin = get_origin(tp)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _scalar_parser(tp: Any, optional: bool, where: str, allow_inf: bool = False):
    if tp in _SPECIAL_TYPES:
        return _SPECIAL_TYPES[tp]
    if tp is bool:
        raise TypeError(f"{where}: bool inside a tuple or Optional is not supported on the command line")
    if get_origin(tp) is Literal:
        choices = get_args(tp)
        kinds = {type(c) for c in choices}
        if len(kinds) != 1:
            raise TypeError(f"{where}: Literal choices must share one type; got {choices}")
        base = kinds.pop()
    elif tp in (int, float, str, Path):
        base = tp
    else:
        raise TypeError(f"{where}: field type {tp!r} has no command-line form (use int, float, str, Path, "
                        "Literal[...], tuple[X, ...] or X | None)")

    def convert(text: str):
        if optional and text.lower() == "none":
            return None
        try:
            value = base(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {base.__name__} value: {text!r}") from None
        if base is float and not (math.isfinite(value) or (allow_inf and value == math.inf)):
            allowed = "a finite number or inf" if allow_inf else "a finite number"
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: must be {allowed}")
        return value

    convert.__name__ = base.__name__  # argparse uses it in error messages
    return convert


def add_config_options(parser: Any, config_cls: type, suppress_defaults: bool = False) -> None:
    """Add one option per field of the frozen dataclass ``config_cls`` to ``parser`` (a parser or argument group).

    Field ``foo_bar`` becomes ``--foo-bar`` with the field's default; bools become ``--foo-bar/--no-foo-bar`` flags;
    ``tuple[X, ...]`` takes one or more values; ``X | None`` also accepts the word ``none``; ``Literal[...]``
    restricts the choices; :data:`Device` is a checked device option; floats must be finite unless the field's
    ``metadata["allow_inf"]`` is true. A field's ``metadata["help"]`` is its help text; the default is shown once
    (:class:`HelpFormatter`: a field whose default is None must say in its help what None means). A field may not be
    named ``out`` (reserved for ``--out``). With ``suppress_defaults`` the parsed namespace holds only the options
    given explicitly.
    """
    if not (dataclasses.is_dataclass(config_cls) and isinstance(config_cls, type)):
        raise TypeError(f"config_cls must be a dataclass type; got {config_cls!r}")
    hints = get_type_hints(config_cls)
    for fld in dataclasses.fields(config_cls):
        if not fld.init:
            continue
        if fld.name == "out":
            raise TypeError(f"{config_cls.__name__}: a config field may not be named 'out' (reserved for --out)")
        if fld.default is not dataclasses.MISSING:
            default = fld.default
        elif fld.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = fld.default_factory()  # type: ignore[misc]
        else:
            raise TypeError(f"{config_cls.__name__}.{fld.name} needs a default to be a command-line option")
        if suppress_defaults:
            default = argparse.SUPPRESS
        tp = hints[fld.name]
        where = f"{config_cls.__name__}.{fld.name}"
        help_text = fld.metadata.get("help") or fld.name.replace("_", " ")  # argparse shows no default without help
        allow_inf = bool(fld.metadata.get("allow_inf", False))
        opt = _option(fld.name)
        if tp is bool:
            parser.add_argument(opt, dest=fld.name, action=argparse.BooleanOptionalAction, default=default,
                                help=help_text)
            continue
        inner, optional = _unwrap_optional(tp)
        if get_origin(inner) is tuple:
            args = get_args(inner)
            if len(args) != 2 or args[1] is not Ellipsis:
                raise TypeError(f"{where}: only variadic tuples tuple[X, ...] are supported; got {tp!r}")
            conv = _scalar_parser(args[0], False, where, allow_inf)
            parser.add_argument(opt, dest=fld.name, type=conv, nargs="+", default=default, help=help_text,
                                metavar=conv.__name__.upper())
            continue
        conv = _scalar_parser(inner, optional, where, allow_inf)
        choices = list(get_args(inner)) if get_origin(inner) is Literal else None
        if inner is Device:
            extra = fld.metadata.get("help", "").strip()
            help_text = f"torch device: {DEVICE_HELP}" + (f"; {extra}" if extra else "")
        parser.add_argument(opt, dest=fld.name, type=conv, default=default, choices=choices, help=help_text,
                            metavar=None if choices else conv.__name__.upper())


def cli_error(study: str, message: str) -> NoReturn:
    """Stop a study's command line with an argparse-style error found after parsing (a data set that is not
    there, ...): ``usage: ...`` and ``python -m studies.<study>: error: <message>`` on stderr, exit status 2."""
    parser = argparse.ArgumentParser(prog=f"python -m studies.{study}", usage="%(prog)s [options] (see --help)")
    parser.error(message)


# ----------------------------------------------------------------------------- atomic writes
def write_csv_atomic(df, path: str | os.PathLike) -> Path:
    """Write a pandas DataFrame as CSV (no index, ``\\n`` line ends, floats round-trip exactly) atomically."""
    return write_atomic(path, df.to_csv(index=False, lineterminator="\n"))


def json_safe(obj: Any) -> Any:
    """Make ``obj`` strict-JSON serialisable: non-finite floats -> "inf"/"-inf"/"nan", tuples -> lists, Paths -> str."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float) or (hasattr(obj, "dtype") and getattr(obj, "ndim", 1) == 0):
        try:
            val = float(obj)
        except (TypeError, ValueError):
            return str(obj)
        if math.isfinite(val):
            return int(obj) if hasattr(obj, "dtype") and obj.dtype.kind in "iu" else val
        return "nan" if math.isnan(val) else ("inf" if val > 0 else "-inf")
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):
        return json_safe(obj.tolist())
    return str(obj)


def write_json_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``json_safe(obj)`` as indented strict JSON (no NaN/Infinity tokens) atomically."""
    text = json.dumps(json_safe(obj), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    return write_atomic(path, text)


def savefig_atomic(fig, path: str | os.PathLike, **savefig_kwargs) -> Path:
    """Render a matplotlib figure into memory (format from the suffix, e.g. .png) and write it atomically."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    buf = io.BytesIO()
    savefig_kwargs.setdefault("bbox_inches", "tight")
    fig.savefig(buf, format=fmt, **savefig_kwargs)
    return write_atomic(path, buf.getvalue())


_FIGURE_TASKS: list[Callable[[], Any]] = []
"""The tasks of the running :func:`draw_figures` (forked workers find them here, by index: closures do not pickle)."""


def _run_figure_task(index: int) -> None:
    _FIGURE_TASKS[index]()


def figure_task(draw: Callable[[], Any], path: Path, dpi: int, caption: str | None = None,
                style: Mapping[str, Any] | None = None) -> Callable[[], None]:
    """A :func:`draw_figures` task: ``draw()`` (under the matplotlib ``style``, if any) saved to ``path`` at ``dpi``,
    the figure closed, and ``caption`` (if any) written beside it as ``<path stem>.md``."""
    def run() -> None:
        plt = pyplot()
        with plt.rc_context(style or {}):
            fig = draw()
            savefig_atomic(fig, path, dpi=dpi)
        plt.close(fig)
        if caption is not None:
            write_atomic(Path(path).with_suffix(".md"), caption)
    return run


def draw_figures(tasks: Sequence[Callable[[], Any]], jobs: int = 1) -> None:
    """Run independent figure tasks, each drawing one figure and writing its files: ``jobs`` at a time in forked worker
    processes (a study's ``--jobs``), else in order in this process (also for one task, or where ``fork`` is not
    available). Rendering is deterministic, so the files are byte-identical either way (tested); an error in a task
    is raised here."""
    if jobs <= 1 or len(tasks) <= 1 or "fork" not in mp.get_all_start_methods():
        for task in tasks:
            task()
        return
    _FIGURE_TASKS[:] = tasks
    try:
        with mp.get_context("fork").Pool(min(jobs, len(tasks))) as pool:
            pool.map(_run_figure_task, range(len(tasks)), chunksize=1)
    finally:
        _FIGURE_TASKS.clear()


def pyplot():
    """``matplotlib.pyplot`` with the non-interactive Agg backend selected (studies never open windows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ----------------------------------------------------------------------------- provenance
def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RunTimer:
    """Wall clock of a run: ``started_at``/``ended_at`` (UTC ISO 8601) and ``wall_time_s`` (perf_counter)."""

    def __init__(self) -> None:
        self.started_at = _now_iso()
        self._t0 = time.perf_counter()
        self.ended_at: str | None = None
        self.wall_time_s: float | None = None

    def stop(self) -> float:
        """Stop the clock (idempotent) and return the wall time in seconds."""
        if self.wall_time_s is None:
            self.wall_time_s = time.perf_counter() - self._t0
            self.ended_at = _now_iso()
        return self.wall_time_s


def package_versions(names: Sequence[str] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Installed versions (``importlib.metadata``; a module already imported reports its ``__version__``).

    Packages that are not installed are left out, so torch appears only where it is importable;
    nothing is imported here (importing torch would cost an analytic study a few seconds).
    """
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in names:
        mod = sys.modules.get(name)
        version = getattr(mod, "__version__", None) if mod is not None else None
        if version is None:
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        out[name] = str(version)
    return out


def git_revision(repo_dir: str | os.PathLike | None = None) -> tuple[str, bool | None]:
    """``(commit, dirty)`` of the checkout holding the code; ``("unknown", None)`` outside a git checkout.

    ``dirty`` is True when tracked files differ from HEAD or untracked, non-ignored files exist
    (new code that produced the result is not in the commit), ignoring ``results/`` (a study's own output).
    """
    cwd = Path(repo_dir) if repo_dir is not None else REPO_ROOT

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout if res.returncode == 0 else None

    rev = git("rev-parse", "HEAD")
    if rev is None or not rev.strip():
        return "unknown", None
    status = git("status", "--porcelain", "--", ".", ":(exclude)results")
    return rev.strip(), (None if status is None else bool(status.strip()))


def _module_name(config: Any, study: str | None) -> str:
    mod = type(config).__module__
    return f"studies.{study}" if mod == "__main__" and study else mod


def runs_record(requested: int, computed: int, resumed: int = 0) -> dict[str, int]:
    """The ``runs`` entry of run.json: how much of a study's table this invocation computed.

    ``requested``: (configuration, seed) runs in the table; ``computed``: those trained in this invocation
    (``resumed`` of them continued from a checkpoint an earlier, interrupted invocation left); the rest were
    ``reused`` as finished by earlier invocations. ``wall_time_s`` of run.json covers this invocation only.
    """
    for name, value in (("requested", requested), ("computed", computed), ("resumed", resumed)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
    if not resumed <= computed <= requested:
        raise ValueError(f"need resumed <= computed <= requested; got {resumed}, {computed}, {requested}")
    return {"requested": requested, "computed_in_this_invocation": computed,
            "reused_from_earlier_invocations": requested - computed, "resumed_from_checkpoint": resumed}


def run_metadata(config: Any, seeds: Sequence[int], wall_time: float, extra: dict | None = None, *,
                 study: str | None = None, device: str = "cpu", timer: RunTimer | None = None,
                 runs: Mapping[str, Any] | None = None, preset: str | None = None,
                 run_options: Mapping[str, Any] | None = None, files: Mapping[str, Any] | None = None) -> dict:
    """The ``run.json`` record (see :func:`write_run_json`) as a dict."""
    if not (dataclasses.is_dataclass(config) and not isinstance(config, type)):
        raise TypeError(f"config must be a dataclass instance; got {type(config).__name__}")
    rev, dirty = git_revision()
    if timer is not None:
        started, ended = timer.started_at, timer.ended_at or _now_iso()
    else:
        now = datetime.now(timezone.utc)
        started = datetime.fromtimestamp(now.timestamp() - float(wall_time), timezone.utc).isoformat(
            timespec="milliseconds")
        ended = now.isoformat(timespec="milliseconds")
    return {
        "study": study or _module_name(config, None).rsplit(".", 1)[-1],
        "config_class": f"{_module_name(config, study)}.{type(config).__qualname__}",
        "preset": preset,
        "config": dataclasses.asdict(config),
        **({"run_options": dict(run_options)} if run_options is not None else {}),
        "seeds": [int(s) for s in seeds],
        "versions": package_versions(),
        "git_revision": rev,
        "git_dirty": dirty,
        "device": device,
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "command": [sys.executable, *sys.argv],
        "started_at": started,
        "ended_at": ended,
        "wall_time_s": float(wall_time),
        **({"runs": dict(runs)} if runs is not None else {}),
        **({"files": dict(files)} if files is not None else {}),
        "extra": dict(extra or {}),
    }


def write_run_json(out_dir: str | os.PathLike, config: Any, seeds: Sequence[int], wall_time: float,
                   extra: dict | None = None, *, study: str | None = None, device: str = "cpu",
                   timer: RunTimer | None = None, runs: Mapping[str, Any] | None = None, preset: str | None = None,
                   run_options: Mapping[str, Any] | None = None, files: Mapping[str, Any] | None = None) -> Path:
    """Write ``out_dir/run.json``: full config (``dataclasses.asdict``), seeds, package versions,
    git revision and dirty flag, device, hostname, start/end timestamps (UTC), wall time (of this
    invocation), ``runs`` (for resumable studies, :func:`runs_record`: how many (configuration, seed)
    runs this invocation computed and how many it reused from earlier ones), ``preset`` (the named preset the
    config was resolved from), ``run_options`` (how it was executed: executor, jobs, ...; they do not change the
    numbers), ``files`` (name → size and SHA-256 of the table and arrays written, checked by ``--plot-only``) and
    ``extra``.

    Non-finite floats are stored as the strings "inf"/"-inf"/"nan" (strict JSON). Pass the run's
    :class:`RunTimer` for exact start/end stamps; without it the start is ``now − wall_time``.
    """
    meta = run_metadata(config, seeds, wall_time, extra, study=study, device=device, timer=timer, runs=runs,
                        preset=preset, run_options=run_options, files=files)
    return write_json_atomic(meta, Path(out_dir) / "run.json")


def device_name(device: Any) -> str:
    """A resolved ``device`` for run.json, with the GPU model for CUDA (e.g. ``cuda (NVIDIA H100 80GB HBM3)``)."""
    device = str(device)
    if device.startswith("cuda"):
        import torch

        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return device


__all__ = [
    "DEVICE_HELP", "Device", "HelpFormatter", "RESULTS_DIR", "RunTimer", "add_config_options", "cli_error",
    "device_name", "git_revision", "json_safe", "package_versions", "pyplot", "run_metadata", "runs_record",
    "savefig_atomic", "write_atomic", "write_csv_atomic", "write_json_atomic", "write_run_json",
]
