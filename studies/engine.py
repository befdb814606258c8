"""The study engine: one way to write a study, one store, one set of executors, one long table.

A study is a short module that declares what is particular to it and nothing else::

    class MyStudy(Study):
        name = "my_study"                      # python -m studies.my_study; results/my_study[_<preset>]/
        description = "..."                    # first line of --help and of `python -m studies`
        config_cls = MyConfig                  # frozen dataclass: its fields are the command line
        table = "my_study.csv"                 # the long table
        presets = {"quick": {...}, "cpu": {...}, "paper": {}}   # field values; explicit options override them
        # default_preset = "paper" (inherited): the preset used when none is named

        def variants(self, cfg): ...           # the configurations (labels = leading table columns, config)
        def seeds(self, cfg): ...              # the run seeds ([] for work without seeds)
        def run_unit(self, unit, ctx): ...     # one (configuration, seed batch): long rows (+ arrays)
        def outputs(self, table, cfg, out, arrays): ...   # figures and summaries, from the saved table only

    STUDY = MyStudy()

    def main(argv=None):
        return run_study("studies.my_study", argv)

:func:`run_study` does the rest (DESIGN.md, "Data flow of a study"):

1. **Command line**: the config's fields, the preset (``--preset NAME``; ``--quick`` is ``--preset quick``), the run
   options of :class:`RunOptions` (executor, jobs, Ray address, CPUs/GPUs per job, device, ``--fresh``,
   ``--plot-only``, ``--progress``) and ``--out``. A bad value exits 2 with one line naming the option, the value
   and what is allowed. The output directory is checked to be writable before any work.
2. **Plan** (:func:`studies.store.plan`): the variants × seeds are checked against the store; stored parts are
   reused, units with a checkpoint resume, the rest is new; a part or checkpoint that fails its check is moved
   aside and its work redone. One line says so. With ``--adopt``, the runs of the table saved in the output
   directory (checked against its run.json) first become parts of the configurations the store lacks
   (:meth:`studies.store.RunStore.adopt`): how a fresh checkout, whose store is empty, extends committed results.
3. **Execute** (:mod:`studies.executors`): ``local`` (this process, or ``--jobs N`` worker processes) or ``ray``.
   Ctrl-C stops with one line ("interrupted: N units finished and stored; rerun the same command to resume");
   SIGTERM (``kill PID``) likewise ("terminated (SIGTERM): ..."; exit status 143).
4. **Table**: the parts of the requested variants and seeds, in order, written atomically, with its SHA-256 in
   ``run.json``; arrays that units saved (e.g. final samples) go to ``<study>_arrays.npz`` beside it.
5. **Outputs** from the table (and arrays) only, so ``--plot-only`` redraws them without training; it refuses a
   table or arrays file that does not match the checksums run.json records (truncated or edited).
6. ``run.json``: config, preset, run options, seeds, versions, git revision, device, wall time, what was reused.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import math
import os
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping, NoReturn, Sequence

import numpy as np
import pandas as pd

from gan.fileio import sha256_hex, write_atomic
from studies.common import (Device, HelpFormatter, RESULTS_DIR, RunTimer, _show_default, add_config_options,
                            device_name, json_safe, runs_record, write_csv_atomic, write_run_json)
from studies.executors import (Job, Outcome, RayCluster, Terminated, UnitContext, UnitResult, check_shared_output,
                               load_study, run_jobs, run_pool, run_ray, run_serial)
from studies.store import Plan, RunStore, Unit, Variant, assemble, gather_arrays, non_default_fields, plan

MAX_RUNS = 10_000_000
"""Most (configuration, seed) runs one invocation plans (a larger request is a command-line error)."""

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT)."""
EXIT_TERMINATED = 143
"""Exit status after SIGTERM while units ran (128 + SIGTERM): the same clean stop as Ctrl-C."""


# ----------------------------------------------------------------------------- run options
@dataclass(frozen=True)
class RunOptions:
    """How a study is executed; none of these change its numbers (run.json records them as ``run_options``)."""

    executor: Literal["local", "ray"] = field(default="local", metadata={
        "help": "where units run: local (this process, or --jobs worker processes) or ray (one Ray task per unit)"})
    jobs: int = field(default=1, metadata={
        "help": "local executor: worker processes training units side by side (each with its share of the torch "
                "threads; on CUDA they share the GPU)"})
    ray_address: str | None = field(default=None, metadata={
        "help": "ray executor: none starts a local Ray instance on 127.0.0.1 for this run; auto joins the running "
                "cluster (e.g. one started with `ray start` in a Slurm allocation); or HOST:PORT"})
    cpus_per_job: float = field(default=1.0, metadata={
        "help": "ray executor: CPUs per task (its torch threads: the integer part, at least 1)"})
    gpus_per_job: float = field(default=0.0, metadata={
        "help": "ray executor: GPUs per task; fractions let several units share one GPU"})
    device: Device = field(default="auto", metadata={"help": "resolved where each unit runs"})
    fresh: bool = field(default=False, metadata={"help": "discard the stored parts and checkpoints of this output "
                                                         "directory and start over"})
    plot_only: bool = field(default=False, metadata={"help": "redraw figures and summaries from the saved table "
                                                             "(checked against run.json), no training"})
    partial: bool = field(default=False, metadata={
        "help": "train nothing: write the table, figures and run.json from the runs stored so far (with --adopt, also "
                "the saved table's), e.g. to commit a long run between sessions; run.json records how many of the "
                "requested runs the table holds, and a later run (--adopt on a fresh checkout) completes it"})
    adopt: bool = field(default=False, metadata={
        "help": "reuse the runs of the table saved in the output directory (checked against its run.json) for the "
                "configurations the store holds no part of: a fresh checkout extends committed results (more seeds, "
                "more methods) without recomputing them; run.json records what was adopted"})

    def __post_init__(self) -> None:
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1:
            raise ValueError(f"--jobs must be a positive integer; got {self.jobs!r}")
        if not (math.isfinite(self.cpus_per_job) and self.cpus_per_job > 0):
            raise ValueError(f"--cpus-per-job must be a positive number; got {self.cpus_per_job!r}")
        if not (math.isfinite(self.gpus_per_job) and self.gpus_per_job >= 0):
            raise ValueError(f"--gpus-per-job must be a non-negative number; got {self.gpus_per_job!r}")
        if self.executor != "ray":
            for name, default in (("ray_address", None), ("cpus_per_job", 1.0), ("gpus_per_job", 0.0)):
                if getattr(self, name) != default:
                    raise ValueError(f"--{name.replace('_', '-')} applies to --executor ray only")
        if self.partial and (self.fresh or self.plot_only):
            raise ValueError(f"--partial writes the table of the stored runs; it cannot be combined with "
                             f"{'--fresh' if self.fresh else '--plot-only'}")
        if self.adopt and (self.fresh or self.plot_only):
            raise ValueError(f"--adopt reuses a saved table's runs; it cannot be combined with "
                             f"{'--fresh' if self.fresh else '--plot-only'}")
        if self.executor == "ray" and self.jobs != 1:
            raise ValueError("--jobs applies to --executor local; with ray, tasks run as Ray schedules them "
                             "(--cpus-per-job / --gpus-per-job size them)")


# ----------------------------------------------------------------------------- the study skeleton
class Study:
    """What a study declares (see the module docstring); every method has the default a simple study needs."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    config_cls: ClassVar[type]
    table: ClassVar[str] = ""
    presets: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    default_preset: ClassVar[str | None] = "paper"
    """The preset used when none is named (studies without presets ignore it)."""
    key_column: ClassVar[str | None] = "config_key"
    """Column holding each row's configuration key (None: no such column, e.g. an analytic sweep)."""
    sort_columns: ClassVar[tuple[str, ...]] = ()
    """Within a variant, rows are sorted by (seed, *sort_columns)."""
    uses_torch: ClassVar[bool] = True
    """Whether units train with torch: adds ``--device``; False keeps the run torch-free."""
    epilog: ClassVar[str | None] = None
    run_name_help: ClassVar[str] = "<run name>"
    """How ``--help`` shows :meth:`run_name` in the default output directory."""
    figure_jobs: int = 1
    """Processes that draw the figures (:func:`studies.common.draw_figures`): the engine sets it from ``--jobs``
    before it calls :meth:`outputs`."""
    cost_unit: ClassVar[str] = "unit"
    """What :meth:`cost` counts (the progress bar's unit)."""

    @property
    def module(self) -> str:
        """The module that defines this study (its command line is ``python -m <module>``)."""
        mod = type(self).__module__
        return mod if mod != "__main__" else f"studies.{self.name}"

    # declared by each study
    def check(self, cfg: Any) -> None:
        """Checks that need more than the config (e.g. that its data set loads); ValueError ends the command line
        with exit status 2 before any work."""

    def variants(self, cfg: Any) -> list[Variant]:
        raise NotImplementedError

    def followup(self, cfg: Any, table: pd.DataFrame) -> list[Variant]:
        """Variants to run once those run so far are in ``table`` (default: none). A study with stages (e.g. a
        hyper-parameter search, then the best setting on new seeds) returns the next stage's variants; the engine
        runs them and calls it again with the grown table, until it returns no new configuration."""
        return []

    def seeds(self, cfg: Any) -> Sequence[int]:
        """The run seeds (default: none; each variant is one unit). A ``range`` is best: the engine checks the size
        of the request before it lists them."""
        return []

    def seed_batch(self, cfg: Any) -> int:
        """Seeds trained together as one unit (default 1)."""
        return 1

    def cost(self, unit: Unit) -> float:
        """Progress units of a unit (default: its seeds, or 1); ``ctx.progress`` counts in them."""
        return float(max(len(unit.seeds), 1))

    def run_unit(self, unit: Unit, ctx: UnitContext) -> Any:
        """Compute one unit: long rows (list of dicts, DataFrame) or a :class:`UnitResult`."""
        raise NotImplementedError

    def outputs(self, table: pd.DataFrame, cfg: Any, out: Path, arrays: Mapping[str, np.ndarray]) -> Any:
        """Figures and summaries from the table (and arrays); returns a JSON-able summary for run.json."""
        return None

    def report(self, summary: Any, cfg: Any) -> str:
        """What to print at the end."""
        return ""

    def run_name(self, cfg: Any) -> str | None:
        """Middle part of the default output directory ``results/<study>[_<run name>][_<preset>]`` (default none)."""
        return None

    def extra(self, cfg: Any, variants: Sequence[Variant]) -> dict:
        """Study-specific entries of run.json's ``extra``."""
        return {"configurations": {v.title(): v.key for v in variants}}

    def resolve_device(self, option: str) -> Any:
        """The device a unit runs on (``auto`` resolved where the unit runs)."""
        if not self.uses_torch:
            return "cpu"
        from gan.device import resolve_device

        return resolve_device(option)

    # file names
    @property
    def arrays_file(self) -> str:
        return f"{Path(self.table).stem}_arrays.npz"


# ----------------------------------------------------------------------------- command line
def presets_help(study: Study) -> str:
    """Each preset's values for ``--help``."""
    if not study.presets:
        return ""
    lines = ["presets (--preset NAME; explicit options override a preset's values):"]
    for name, values in study.presets.items():
        shown = ", ".join(f"{k}={_show_default(v)}" for k, v in values.items()) or "the values shown above"
        lines.append(f"  {name}: {shown}" + ("  [used when no preset is named]" if name == study.default_preset else ""))
    return "\n".join(lines)


def build_parser(study: Study, suppress_defaults: bool = False) -> argparse.ArgumentParser:
    """The study's command line: its config's fields, ``--preset``/``--quick``, the run options and ``--out``."""
    epilog = "\n\n".join(t for t in (presets_help(study), study.epilog) if t) or None
    parser = argparse.ArgumentParser(prog=f"python -m {study.module}", description=study.description, epilog=epilog,
                                     formatter_class=HelpFormatter)
    add_config_options(parser, study.config_cls, suppress_defaults)
    if study.presets:
        group = parser.add_argument_group("preset")
        group.add_argument("--preset", choices=list(study.presets),
                           default=argparse.SUPPRESS if suppress_defaults else study.default_preset,
                           help="named settings (listed below); explicit options override them")
        if "quick" in study.presets:
            group.add_argument("--quick", dest="preset", action="store_const", const="quick",
                               default=argparse.SUPPRESS, help="same as --preset quick")
    group = parser.add_argument_group("run options (they do not change the numbers)")
    run_cls = RunOptions if study.uses_torch else _without_device()
    add_config_options(group, run_cls, suppress_defaults)
    group.add_argument("--progress", dest="progress", action=argparse.BooleanOptionalAction,
                       default=argparse.SUPPRESS if suppress_defaults else None,
                       help="progress bars (default: on when stderr is a terminal)")
    out_default = "_".join([str(RESULTS_DIR / study.name), *([study.run_name_help] if type(study).run_name is not
                                                             Study.run_name else [])])
    if study.presets:
        out_default += "[_<preset>, none for the default]"
    group.add_argument("--out", type=Path, default=argparse.SUPPRESS if suppress_defaults else None, metavar="DIR",
                       help=f"output directory, created if missing (default: {out_default})")
    return parser


def _without_device() -> type:
    """:class:`RunOptions` without ``device`` (torch-free studies)."""
    hints = typing.get_type_hints(RunOptions)
    fields = [(f.name, hints[f.name], f) for f in dataclasses.fields(RunOptions) if f.name != "device"]
    return dataclasses.make_dataclass("RunOptions", fields, frozen=True)


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: the study config, the preset it came from, the run options, progress, output dir."""

    config: Any
    preset: str | None
    options: RunOptions
    progress: bool | None
    out: Path


def parse(study: Study, argv: Sequence[str] | None) -> Invocation:
    """Parse ``argv`` for ``study``: defaults ← preset values ← explicit options. Errors exit 2 with one line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(study)
    ns = vars(parser.parse_args(argv))
    given = vars(build_parser(study, suppress_defaults=True).parse_args(argv))
    preset = ns.pop("preset", None)
    out = ns.pop("out")
    progress = ns.pop("progress")
    run_names = {f.name for f in dataclasses.fields(RunOptions)}
    run_kwargs = {k: ns.pop(k) for k in list(ns) if k in run_names}
    cfg_kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in ns.items()}
    if preset is not None:
        cfg_kwargs.update({k: v for k, v in study.presets[preset].items() if k not in given})
    try:
        options = RunOptions(**run_kwargs)
        cfg = study.config_cls(**cfg_kwargs)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    if out is None:
        parts = [study.name, study.run_name(cfg)]
        if preset is not None and preset != study.default_preset:
            parts.append(preset)
        out = RESULTS_DIR / "_".join(p for p in parts if p)
    return Invocation(cfg, preset, options, progress, Path(out))


def usage_error(study: Study, message: str) -> NoReturn:
    """End the command line with an argparse-style one-line error for ``study``: exit status 2, as argparse does for
    the errors it finds itself."""
    print(f"usage: python -m {study.module} [options] (see --help)\npython -m {study.module}: error: {message}",
          file=sys.stderr)
    raise SystemExit(2)


def check_output_dir(out: Path) -> str | None:
    """None if ``out`` can be created and written (checked by writing and removing a file), else why not; the
    directories it had to create for the check are removed again when the check fails."""
    created = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = write_atomic(out / f".distmatch-write-check-{os.getpid()}", b"")  # one per process: drivers share out
        probe.unlink()
    except OSError as exc:
        for p in created:
            with contextlib.suppress(OSError):
                p.rmdir()
        return f"--out {out}: cannot write there ({exc.strerror or exc})"
    return None


# ----------------------------------------------------------------------------- progress
class Progress:
    """One tqdm bar over the cost of all units to run (``enabled`` None: on when stderr is a terminal), without
    tqdm's monitor thread, so that the driver runs no other Python thread and can fork its workers
    (:func:`studies.executors.start_method`)."""

    def __init__(self, units: Sequence[Unit], study: Study, enabled: bool | None, desc: str):
        self.costs = [study.cost(u) for u in units]
        self.seen = [0.0] * len(units)
        self.bar = None
        if units and enabled is not False:
            from tqdm.auto import tqdm

            total = sum(self.costs)
            bar = type("StudyBar", (tqdm,), {"monitor_interval": 0})  # no monitor thread: workers may be forked
            self.bar = bar(total=int(total) if float(total).is_integer() else total, desc=desc, dynamic_ncols=True,
                           disable=None if enabled is None else False, unit=f" {study.cost_unit}")

    def advance(self, index: int, done: float, note: str = "") -> None:
        if self.bar is None:
            return
        done = min(done, self.costs[index])
        step = done - self.seen[index]
        self.bar.update(int(step) if float(step).is_integer() else step)
        self.seen[index] = done
        if note:
            self.bar.set_postfix_str(note, refresh=False)

    def finish(self, index: int) -> None:
        self.advance(index, self.costs[index])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ----------------------------------------------------------------------------- the run
def _file_record(path: Path) -> dict:
    data = path.read_bytes()
    return {"bytes": len(data), "sha256": sha256_hex(data)}


def checked_file(out: Path, name: str, option: str = "--plot-only") -> bytes:
    """The bytes of ``out/name`` if they match the size and SHA-256 that ``out/run.json`` records (``--plot-only``,
    ``--adopt``); ValueError naming ``option`` and saying what is wrong otherwise."""
    run_json = out / "run.json"
    try:
        record = json.loads(run_json.read_text())["files"][name]
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError(f"{option}: {run_json} does not record {name} (no finished run in {out}?); run without "
                         f"{option} first") from None
    path = out / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{option}: cannot read {path} ({exc.strerror or exc}); run without {option}") from None
    if len(data) != record.get("bytes") or sha256_hex(data) != record.get("sha256"):
        raise ValueError(f"{option}: {path} is not the file run.json records ({len(data)} bytes, recorded "
                         f"{record.get('bytes')}; checksum differs: truncated or edited); rerun without {option} "
                         "to recompute it")
    return data


def saved_run(study: "Study", out: Path, option: str) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict]:
    """The table, arrays and run.json of the finished invocation saved in ``out``, each checked against the sizes
    and SHA-256 that run.json records (:func:`checked_file`; ValueError naming ``option`` otherwise)."""
    table = pd.read_csv(io.BytesIO(checked_file(out, study.table, option)))
    meta = json.loads((out / "run.json").read_text())
    arrays = _load_arrays(checked_file(out, study.arrays_file, option)) if study.arrays_file in meta["files"] else {}
    return table, arrays, meta


def _save_arrays(arrays: Mapping[str, np.ndarray], path: Path) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_atomic(path, buf.getvalue())


def _load_arrays(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _execute(module: str, study: Study, inv: Invocation, plan_: Plan, bar: Progress) -> list[Outcome]:
    """Run the plan's units with the chosen executor (workers import ``module`` for its ``STUDY``); prints each
    unit's notes as it finishes."""
    opts = inv.options
    index = {u: i for i, u in enumerate(plan_.units)}
    jobs = [Job(module, str(inv.out), u, opts.device) for u in plan_.units]

    def on_outcome(o: Outcome) -> None:
        bar.finish(index[o.unit])
        for note in o.notes:
            print(f"{study.name}: {note}", file=sys.stderr)

    def on_progress(i: int, done: float, note: str) -> None:
        bar.advance(i, done, note)

    if opts.executor == "ray":
        with RayCluster(opts.ray_address) as ray:
            check_shared_output(ray, inv.out)
            return run_jobs(lambda js: run_ray(ray, js, opts.cpus_per_job, opts.gpus_per_job, on_outcome), jobs)
    if opts.jobs > 1 and len(jobs) > 1:
        n = min(opts.jobs, len(jobs))
        threads = 1
        if study.uses_torch:
            import torch

            threads = max(1, torch.get_num_threads() // n)
        return run_jobs(lambda js: run_pool(js, n, threads, lambda i, d, note: on_progress(
            index[js[i].unit], d, note), on_outcome), jobs)
    if study.uses_torch and str(opts.device).startswith(("cpu", "auto")):
        from gan.malloc import retain_freed_memory

        retain_freed_memory()
    return run_jobs(lambda js: run_serial(js, lambda i, d, note: on_progress(index[js[i].unit], d, note),
                                          on_outcome), jobs)


def run_study(module: str, argv: Sequence[str] | None = None) -> int:
    """The ``main`` of every study (module docstring): ``module`` is the importable name of the module that
    defines ``STUDY`` (workers import it); returns the exit status."""
    study: Study = load_study(module)
    inv = parse(study, argv)
    cfg, opts, out = inv.config, inv.options, inv.out
    arrays_path = out / study.arrays_file
    if opts.plot_only:
        try:
            table, arrays, _ = saved_run(study, out, "--plot-only")
        except ValueError as exc:
            usage_error(study, str(exc))
        study.figure_jobs = opts.jobs
        summary = study.outputs(table, cfg, out, arrays)
        print(study.report(summary, cfg))
        print(f"redrew the figures of {out}/ from {study.table}")
        return 0
    try:  # a request that cannot run is refused before the output directory is made
        study.check(cfg)
        variants = study.variants(cfg)
        seeds = study.seeds(cfg)
        if sum(max(len(v.seeds if v.seeds is not None else seeds), 1) for v in variants) > MAX_RUNS:  # before listing
            raise ValueError(f"{len(variants)} configurations × {len(seeds)} seeds is more than the {MAX_RUNS:,} "
                             "(configuration, seed) runs one invocation plans; split the seeds over several runs "
                             "(--first-seed)")
    except ValueError as exc:
        usage_error(study, str(exc))
    problem = check_output_dir(out)
    if problem:
        usage_error(study, problem)
    timer = RunTimer()
    store = RunStore(out)
    if opts.fresh:
        store.clear()
    saved = None
    if opts.adopt:
        try:
            saved = saved_run(study, out, "--adopt")
        except ValueError as exc:
            usage_error(study, str(exc))
        if study.key_column is None:
            usage_error(study, f"--adopt: the table of {study.name} has no configuration key column to split by")
    adopted = {"runs": 0}
    seeds = [int(s) for s in seeds]
    done_variants: list[Variant] = []
    totals = {"requested": 0, "computed": 0, "resumed": 0, "reused": 0, "finished": 0, "missing": 0}
    while variants:  # a study may add variants once earlier ones are in the table (Study.followup)
        if saved is not None:
            adopted = _adopt(study, store, variants, saved, adopted)
        plan_ = plan(store, variants, seeds, study.seed_batch(cfg))
        for note in store.notes:
            print(f"{study.name}: {note}", file=sys.stderr)
        store.notes.clear()
        print(plan_.start_line(study.name) + ("; --partial: none is trained now" if opts.partial else ""),
              file=sys.stderr)
        bar = Progress(plan_.units, study, inv.progress, desc=f"{study.name} ({opts.executor}"
                       + (f", {opts.jobs} jobs" if opts.jobs > 1 else "") + ")")
        try:
            outcomes = [] if opts.partial else _execute(module, study, inv, plan_, bar)
        except KeyboardInterrupt as exc:
            bar.close()
            done_now = sum(1 for u in plan_.units if store.part_path(u).exists())
            how, status = (("terminated (SIGTERM)", EXIT_TERMINATED) if isinstance(exc, Terminated)
                           else ("interrupted", EXIT_INTERRUPTED))
            print(f"{how}: {done_now} units finished and stored; rerun the same command to resume", file=sys.stderr)
            return status
        except Exception as exc:  # a unit failed: the others were stopped; say which and why
            bar.close()
            text = str(exc).strip().splitlines()
            print(f"{study.name}: error: a unit failed ({type(exc).__name__}: {text[-1] if text else ''}); the other "
                  "units were stopped; finished units are stored, rerun to resume", file=sys.stderr)
            raise
        bar.close()
        totals["finished"] += sum(o.status == "done" for o in outcomes)
        for k, v in (("requested", plan_.requested), ("computed", 0 if opts.partial else plan_.computed),
                     ("reused", plan_.reused),
                     ("resumed", 0 if opts.partial else sum(max(len(u.seeds), 1) for u in plan_.resume))):
            totals[k] += v
        done_variants += variants
        final = RunStore(out)
        parts = {v.key: final.parts(v.key) for v in done_variants}
        for note in final.notes:
            print(f"{study.name}: {note}", file=sys.stderr)
        table = assemble(done_variants, seeds, parts, study.key_column, study.sort_columns)
        missing = sum(max(len(v.seed_list(seeds)), 1) for v in done_variants) - \
            _units_present(parts, done_variants, seeds)
        if missing and not opts.partial:
            print(f"{study.name}: error: {missing} runs are missing from the store after execution", file=sys.stderr)
            return 1
        totals["missing"] = missing
        if missing:  # --partial: a later stage would be chosen from an incomplete one
            break
        known = {v.key for v in done_variants}
        variants = [v for v in study.followup(cfg, table) if v.key not in known]
    variants = done_variants
    if table.empty:
        print(f"{study.name}: error: --partial: no run of this request is stored in {out} yet", file=sys.stderr)
        return 1
    write_csv_atomic(table, out / study.table)
    files = {study.table: _file_record(out / study.table)}
    arrays = gather_arrays(variants, seeds, parts)
    if arrays:
        _save_arrays(arrays, arrays_path)
        files[study.arrays_file] = _file_record(arrays_path)
    study.figure_jobs = opts.jobs
    summary = study.outputs(table, cfg, out, arrays)
    wall = timer.stop()
    device = _device_record(study, opts.device)
    kept = _recorded(out, files, cfg)
    if not kept:  # identical numbers keep the provenance of the run that made them (regenerating changes nothing)
        in_table = totals["requested"] - totals["missing"]
        write_run_json(out, cfg, seeds, wall, study=study.name, device=device, timer=timer,
                       runs=runs_record(in_table, totals["computed"], totals["resumed"]),
                       preset=inv.preset, run_options=dataclasses.asdict(opts), files=files,
                       extra={**study.extra(cfg, variants), "summary": _summary_json(summary),
                              "compute": _compute_record(variants, parts),
                              **({"adopted": adopted} if adopted["runs"] else {}),
                              **({"partial": {"requested": totals["requested"], "in_table": in_table}}
                                 if opts.partial else {})})
    text = study.report(summary, cfg)
    if text:
        print(text)
    kept_note = "; the table and arrays are identical to those run.json records: kept run.json" if kept else ""
    if opts.partial:
        kept_note += (f"; --partial: the table holds {totals['requested'] - totals['missing']} of the "
                      f"{totals['requested']} requested runs")
    print(f"wrote {out}/ ({len(variants)} configurations; {totals['finished']} units trained now on {device}; "
          f"{totals['reused']} runs reused from earlier invocations; {wall:.1f} s){kept_note}")
    return 0


def _adopt(study: Study, store: RunStore, variants: Sequence[Variant], saved: tuple, adopted: dict) -> dict:
    """Store the saved table's runs of ``variants`` as parts (:meth:`RunStore.adopt`), say so in one line, and return
    the running record for run.json: how many runs were adopted, from which invocation (git revision, start, host)."""
    table, arrays, meta = saved
    origin = {k: meta.get(k) for k in ("git_revision", "git_dirty", "started_at", "hostname", "device",
                                       "wall_time_s")}
    origin["table_sha256"] = meta["files"][study.table]["sha256"]
    n = store.adopt(variants, table, arrays, study.key_column, origin, (meta.get("extra") or {}).get("compute"))
    if n:
        print(f"{study.name}: adopted {n} runs from the saved {study.table} (run of git "
              f"{str(origin['git_revision'])[:7]}, {origin['started_at']}) as stored parts", file=sys.stderr)
    return {"runs": adopted["runs"] + n, "from": origin} if n else adopted


def _compute_record(variants: Sequence[Variant], parts: Mapping[str, list]) -> dict:
    """Per configuration (its title), where the parts of its table rows were computed, from their provenance: the
    number of parts in this store, the summed wall time, hosts, devices and torch thread counts, and the git
    revisions of the runs any were adopted from (``--adopt``). An adopted part carries the record of the run it came
    from (:meth:`studies.store.RunStore.adopt`), which is added in, so a table assembled over several invocations,
    adopted again and again, keeps the cost of all of them."""
    out = {}
    for v in variants:
        provs = [p.header.get("provenance") or {} for p in parts.get(v.key, [])]
        trained = [q for q in provs if "adopted_from" not in q]
        carried = [q["compute"] for q in provs if "adopted_from" in q and isinstance(q.get("compute"), Mapping)]

        def union(field: str, record_field: str) -> list[str]:
            return sorted({str(q.get(field)) for q in trained}
                          | {str(x) for c in carried for x in c.get(record_field) or []})

        wall = sum(float(q.get("wall_time_s") or 0.0) for q in trained) + \
            sum(float(c.get("wall_time_s") or 0.0) for c in carried)
        out[v.title()] = {"parts": len(provs), "wall_time_s": round(wall, 3), "hosts": union("host", "hosts"),
                          "devices": union("device", "devices"), "threads": union("threads", "threads"),
                          "adopted_from": sorted({str(q["adopted_from"].get("git_revision"))
                                                  for q in provs if "adopted_from" in q}
                                                 | {str(x) for c in carried for x in c.get("adopted_from") or []})}
    return out


def _recorded(out: Path, files: Mapping[str, Any], cfg: Any) -> bool:
    """Whether ``out/run.json`` already records exactly these files (size and SHA-256) for this config. A field the
    record lacks counts as equal when the config holds its default (an option added later that keeps the old
    behaviour: :func:`studies.store.non_default_fields`, as the config keys use it)."""
    try:
        meta = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        return False
    recorded = meta.get("config")
    if meta.get("files") != dict(files) or not isinstance(recorded, dict):
        return False
    current = json.loads(json.dumps(json_safe(dataclasses.asdict(cfg))))
    # every field the record has must hold the recorded value; the ones it lacks must be at their defaults
    return (all(k in current and current[k] == v for k, v in recorded.items())
            and set(non_default_fields(cfg)) <= set(recorded))


def _summary_json(summary: Any) -> Any:
    """A study's summary for run.json (a DataFrame as a list of records)."""
    if isinstance(summary, pd.DataFrame):
        summary = summary.to_dict(orient="records")
    return json_safe(summary)


def _units_present(parts: Mapping[str, list], variants: Sequence[Variant], seeds: Sequence[int]) -> int:
    n = 0
    for v in variants:
        held = {s for part in parts.get(v.key, []) for s in part.seeds}
        mine = v.seed_list(seeds)
        n += len(set(mine) & held) if mine else int(bool(parts.get(v.key)))
    return n


def _device_record(study: Study, option: str) -> str:
    """The device for run.json: the option resolved here (workers resolve ``auto`` themselves)."""
    if not study.uses_torch:
        return "cpu"
    return device_name(study.resolve_device(option))


__all__ = ["EXIT_INTERRUPTED", "EXIT_TERMINATED", "Invocation", "RunOptions", "Study", "UnitResult", "Variant",
           "build_parser", "checked_file", "parse", "run_study"]
