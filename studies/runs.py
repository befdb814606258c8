"""Resumable seed-parallel toy runs for the studies: variants × seeds → one long table, skipping finished work.

A study names its *variants* (a :class:`toy.train.ToyConfig` plus the labels that become table
columns, e.g. ``loss``, ``beta2``) and a list of seeds. :func:`run_variants` trains, for every
variant, the seeds not yet finished, ``seed_batch`` of them at a time as one batched computation
(``toy.train.train_toy``), and stores each finished batch as a part table on disk:

    <out>/runs/<config key>/config.json             the variant's full ToyConfig
    <out>/runs/<config key>/part-<seeds hash>.csv   long rows of those seeds (written atomically)
    <out>/runs/<config key>/ckpt-<seeds hash>.pt    checkpoint of the batch in progress

The config key is a hash of the ToyConfig's fields that differ from their defaults (the mixture's
parameters included where it is not the default ring), so a changed setting never reuses old
results, and an option added later with a default that keeps the old behaviour leaves every
existing key, and the runs stored under it, valid. Re-running the same command skips every
(seed, config) pair already in a part table and resumes an interrupted batch from its last
checkpoint (epoch boundary, every random stream restored: the finished table equals an
uninterrupted run's). ``fresh=True`` deletes ``<out>/runs`` first. The table handed back holds
exactly the requested variants and seeds: columns ``[*labels, config_key, seed, epoch, metric, value]``.

Memory: on the CPU the runner (this process, or each worker) sets glibc to keep freed memory
(:func:`gan.malloc.retain_freed_memory`): the stacked per-step tensors are then reused rather than page-faulted
in anew at every step.

Parallel: ``jobs > 1`` trains the pending (variant, seed batch) pairs in that many spawned worker processes,
each storing its own part table and checkpoint exactly as above (so resuming and skipping work the same way).
On a GPU a single seed-parallel run is bound by kernel launches from one CPU thread, so several processes
sharing the device overlap their launches; on a CPU they split the cores.

Progress: one tqdm bar over seed-epochs of all the work still to do, with the variant in training
(with workers, the last one to report) and its current mean number of modes captured.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from studies.common import json_safe, write_csv_atomic, write_json_atomic

RUNS_DIR = "runs"
METRIC_COLUMNS = ["config_key", "seed", "epoch", "metric", "value"]


@dataclass(frozen=True)
class Variant:
    """One configuration of a study: its labels (table columns, e.g. ``{"loss": "ns", "beta2": 0.99}``) and config."""

    labels: Mapping[str, Any]
    config: Any  # toy.train.ToyConfig (not imported here: studies.common and this module stay torch-free)
    name: str = field(default="")

    def __post_init__(self) -> None:
        bad = set(self.labels) & set(METRIC_COLUMNS)
        if bad:
            raise ValueError(f"labels may not be named {sorted(bad)} (reserved table columns)")

    @property
    def key(self) -> str:
        """:func:`config_key` of the config."""
        return config_key(self.config)

    def title(self) -> str:
        """The name, or ``label=value`` pairs."""
        return self.name or ", ".join(f"{k}={v}" for k, v in self.labels.items())


def config_key(config: Any) -> str:
    """Hash identifying a configuration: ``sha256(json(non-default fields, sort_keys))[:16]``.

    For a dataclass, the fields whose JSON form equals that of their default (or default factory's
    value) are left out; any other object is hashed whole.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class C:
    ...     lr: float = 1e-3
    ...     new_option: bool = False
    >>> config_key(C()) == config_key({}) and config_key(C(lr=0.1)) == config_key({"lr": 0.1})
    True
    """
    text = json.dumps(_non_default_fields(config), sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _non_default_fields(config: Any) -> Any:
    if not (dataclasses.is_dataclass(config) and not isinstance(config, type)):
        return json_safe(config)
    out = {}
    for f in dataclasses.fields(config):
        value = json_safe(getattr(config, f.name))
        if f.default is not dataclasses.MISSING:
            default = json_safe(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = json_safe(f.default_factory())
        else:
            out[f.name] = value
            continue
        if value != default:
            out[f.name] = value
    return out


def _seeds_hash(seeds: Sequence[int]) -> str:
    return hashlib.sha256(",".join(str(s) for s in seeds).encode()).hexdigest()[:12]


class RunStore:
    """The finished part tables and checkpoints of a study under ``<out>/runs`` (see the module docstring)."""

    def __init__(self, out_dir: str | Path, fresh: bool = False):
        self.root = Path(out_dir) / RUNS_DIR
        if fresh and self.root.exists():
            shutil.rmtree(self.root)

    def _dir(self, key: str) -> Path:
        return self.root / key

    def parts(self, key: str) -> list[Path]:
        """Part tables of a config key."""
        d = self._dir(key)
        return sorted(d.glob("part-*.csv")) if d.is_dir() else []

    def done_seeds(self, key: str) -> set[int]:
        """Seeds with a finished part table for ``key``."""
        return {int(s) for p in self.parts(key) for s in pd.read_csv(p, usecols=["seed"])["seed"].unique()}

    def checkpoint(self, key: str, seeds: Sequence[int]) -> Path:
        """Checkpoint path of the batch ``seeds`` of ``key``."""
        return self._dir(key) / f"ckpt-{_seeds_hash(seeds)}.pt"

    def save(self, variant: Variant, seeds: Sequence[int], rows: list[dict]) -> Path:
        """Store a finished batch (rows ``{seed, epoch, metric, value}``) and drop its checkpoint (and any temporary
        checkpoint file a killed writer left)."""
        key = variant.key
        d = self._dir(key)
        write_json_atomic({"labels": dict(variant.labels), "config": variant.config}, d / "config.json")
        df = pd.DataFrame(rows, columns=["seed", "epoch", "metric", "value"])
        df.insert(0, "config_key", key)
        path = write_csv_atomic(df, d / f"part-{_seeds_hash(seeds)}.csv")
        ckpt = self.checkpoint(key, seeds)
        ckpt.unlink(missing_ok=True)
        for stale in d.glob(f".{ckpt.name}.*.tmp"):  # left by a writer killed mid-write (SIGKILL)
            stale.unlink(missing_ok=True)
        return path

    def table(self, variants: Sequence[Variant], seeds: Sequence[int]) -> pd.DataFrame:
        """Rows of the requested variants and seeds, labels first, sorted by (variant order, seed, epoch, metric)."""
        frames = []
        wanted = set(int(s) for s in seeds)
        for order, v in enumerate(variants):
            for p in self.parts(v.key):
                df = pd.read_csv(p)
                df = df[df.seed.isin(wanted)]
                for i, (k, val) in enumerate(v.labels.items()):
                    df.insert(i, k, val)
                df["_order"] = order
                frames.append(df)
        label_cols = list(dict.fromkeys(k for v in variants for k in v.labels))
        if not frames:
            return pd.DataFrame(columns=label_cols + METRIC_COLUMNS)
        out = pd.concat(frames, ignore_index=True).drop_duplicates(["config_key", "seed", "epoch", "metric"])
        out = out.sort_values(["_order", "seed", "epoch", "metric"], kind="stable").drop(columns="_order")
        return out[label_cols + METRIC_COLUMNS].reset_index(drop=True)


def pending(store: RunStore, variants: Sequence[Variant], seeds: Sequence[int],
            seed_batch: int) -> list[tuple[Variant, list[int]]]:
    """(variant, seed batch) pairs still to train: unfinished seeds in order, cut into batches of ``seed_batch``."""
    if not isinstance(seed_batch, int) or seed_batch < 1:
        raise ValueError(f"seed_batch must be a positive integer; got {seed_batch!r}")
    todo = []
    for v in variants:
        done = store.done_seeds(v.key)
        rest = [int(s) for s in seeds if int(s) not in done]
        todo += [(v, rest[i:i + seed_batch]) for i in range(0, len(rest), seed_batch)]
    return todo


def latest(rows: Sequence[dict], metric: str, n: int) -> list[float]:
    """The last ``n`` values of ``metric`` in long rows (one per seed of the latest evaluation)."""
    vals: list[float] = []
    for r in reversed(rows):
        if r["metric"] == metric:
            vals.append(r["value"])
            if len(vals) == n:
                break
    return vals


def _train_and_save(store: RunStore, v: Variant, batch: list[int], device: str, every: int,
                    post: Callable[[Variant, Any], list[dict]] | None, on_epoch: Callable[[Any], None]) -> None:
    """Train one (variant, seed batch), resuming from its checkpoint, and store its part table."""
    from toy.train import train_toy  # torch is imported only when there is training to do

    res = train_toy(v.config, batch, device, checkpoint=store.checkpoint(v.key, batch), checkpoint_every=every,
                    on_epoch=on_epoch)
    store.save(v, batch, res.rows + (post(v, res) if post is not None else []))


def _modes_note(v: Variant, trainer: Any, n: int) -> str:
    last = latest(trainer.rows, "modes_captured", n)
    return f"{v.title()} | modes {sum(last) / max(len(last), 1):.2f}/{v.config.mixture.n_components}"


_WORKER: dict[str, Any] = {}


def _init_worker(queue: Any, threads: int) -> None:
    """Worker process set-up: glibc keeps freed memory (:mod:`gan.malloc`; it matters on the CPU and costs
    nothing on CUDA), its torch intra-op threads, and the queue its progress goes to."""
    import torch

    from gan.malloc import retain_freed_memory

    retain_freed_memory()
    torch.set_num_threads(threads)
    _WORKER["queue"] = queue


def _worker_batch(index: int, out_dir: str, v: Variant, batch: list[int], device: str, every: int,
                  post: Callable[[Variant, Any], list[dict]] | None) -> int:
    """One (variant, seed batch) in a worker process; reports ``(index, epochs done, note)`` after every epoch."""
    queue = _WORKER["queue"]

    def on_epoch(trainer: Any) -> None:
        queue.put((index, trainer.epochs_done, _modes_note(v, trainer, len(batch))))

    _train_and_save(RunStore(out_dir), v, batch, device, every, post, on_epoch)
    return index


def _run_parallel(todo: list[tuple[Variant, list[int]]], out_dir: str | Path, device: str, every: Callable[[Variant], int],
                  post: Callable[[Variant, Any], list[dict]] | None, jobs: int, threads: int, bar: Any) -> None:
    """The pending batches in a pool of ``jobs`` spawned worker processes (``threads`` torch threads each); the bar
    advances from their per-epoch reports. On the first worker error, or an interrupt here, the pool is
    terminated (batches in progress stop; their last checkpoints stay for a resume) and the error is raised."""
    import multiprocessing as mp
    from queue import Empty

    ctx = mp.get_context("spawn")  # CUDA cannot be used in forked children
    queue = ctx.Queue()
    seen = [0] * len(todo)

    def drain(timeout: float) -> None:
        while True:
            try:
                i, done, note = queue.get(timeout=timeout)
            except Empty:
                return
            timeout = 0.0
            if bar is not None:
                bar.update(len(todo[i][1]) * (done - seen[i]))
                bar.set_postfix_str(note)
            seen[i] = done

    pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(queue, threads))
    try:
        results = [pool.apply_async(_worker_batch, (i, str(out_dir), v, batch, device, every(v), post))
                   for i, (v, batch) in enumerate(todo)]
        while results:
            drain(0.5)
            for r in [r for r in results if r.ready()]:
                r.get()  # re-raises a worker's exception here
                results.remove(r)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    drain(0.0)


def run_variants(variants: Sequence[Variant], seeds: Sequence[int], out_dir: str | Path, *, device: str = "cpu",
                 seed_batch: int = 40, fresh: bool = False, checkpoint_every: int = 0, progress: bool = True,
                 post: Callable[[Variant, Any], list[dict]] | None = None, jobs: int = 1,
                 threads_per_job: int | None = None) -> pd.DataFrame:
    """Train what is missing of ``variants`` × ``seeds`` (module docstring) and return the whole table.

    checkpoint_every : epochs between checkpoints of a batch in progress; 0 picks max(1, epochs // 10).
    post(variant, result) : extra rows ``{seed, epoch, metric, value}`` computed from a finished batch's
        :class:`toy.train.ToyResult` (its trained G and D), stored with the batch (picklable when ``jobs > 1``:
        a module-level function or a ``functools.partial`` of one).
    jobs : number of worker processes, each training one pending (variant, seed batch) at a time (spawned; on
        CUDA they share the GPU, which pays off when single runs leave it idle between kernel launches). 1 trains
        in this process. A batch's numbers do not depend on ``jobs`` (every random stream is per seed), given the
        same number of torch threads.
    threads_per_job : torch intra-op threads of each worker (default: this process's count divided by ``jobs``,
        at least 1).
    """
    for name, value in (("jobs", jobs), ("threads_per_job", 1 if threads_per_job is None else threads_per_job)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    store = RunStore(out_dir, fresh)
    todo = pending(store, variants, seeds, seed_batch)
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        total = sum(len(batch) * v.config.epochs for v, batch in todo)
        bar = tqdm(total=total, unit="seed-epoch", desc="training" + (f" ({jobs} jobs)" if jobs > 1 else ""),
                   dynamic_ncols=True)

    def every(v: Variant) -> int:
        return checkpoint_every or max(1, v.config.epochs // 10)

    try:
        if jobs > 1 and len(todo) > 1:
            import torch

            jobs = min(jobs, len(todo))
            threads = threads_per_job or max(1, torch.get_num_threads() // jobs)
            _run_parallel(todo, out_dir, device, every, post, jobs, threads, bar)
        else:
            if str(device).startswith("cpu"):
                from gan.malloc import retain_freed_memory

                retain_freed_memory()
            for v, batch in todo:
                seen = [0]

                def on_epoch(trainer, v=v, batch=batch, seen=seen):
                    if bar is None:
                        return
                    bar.update(len(batch) * (trainer.epochs_done - seen[0]))
                    seen[0] = trainer.epochs_done
                    bar.set_postfix_str(_modes_note(v, trainer, len(batch)))

                _train_and_save(store, v, batch, device, every(v), post, on_epoch)
    finally:
        if bar is not None:
            bar.close()
    return store.table(variants, seeds)


def device_name(device: Any) -> str:
    """A resolved ``device`` for run.json, with the GPU model for CUDA (e.g. ``cuda (NVIDIA H100 80GB HBM3)``)."""
    device = str(device)
    if device.startswith("cuda"):
        import torch

        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return device


def work_counts(store: RunStore, variants: Sequence[Variant], seeds: Sequence[int], seed_batch: int) -> dict[str, int]:
    """What a run of ``variants`` × ``seeds`` will do with what ``store`` holds, in (configuration, seed) runs:
    ``requested``, ``computed`` (not finished yet, :func:`pending`) and ``resumed`` (of those, the ones whose batch
    has a checkpoint on disk), for :func:`studies.common.runs_record`."""
    todo = pending(store, variants, seeds, seed_batch)
    return {"requested": len(variants) * len(seeds), "computed": sum(len(batch) for _, batch in todo),
            "resumed": sum(len(batch) for v, batch in todo if store.checkpoint(v.key, batch).exists())}


def run_toy_study(cfg: Any, out: Path, study: str, table_name: str,
                  write_outputs: Callable[[pd.DataFrame, Any, Path], pd.DataFrame],
                  report: Callable[[pd.DataFrame], str],
                  post: Callable[[Variant, Any], list[dict]] | None = None) -> int:
    """The ``main`` of a toy study: train what is missing (:func:`run_variants`), save the long table
    ``table_name``, draw figures and summaries from it (``write_outputs(table, cfg, out)`` returns the
    summary frame, also stored in run.json), write ``run.json`` and print ``report(summary)``.
    With ``cfg.plot_only`` only the outputs are redrawn from the saved table.

    ``cfg`` must provide ``variants()``, ``seed_list()`` and the fields ``device`` (a :mod:`gan.device` option:
    ``auto`` is resolved here, and run.json records the resolved device), ``seed_batch``, ``fresh``, ``progress``,
    ``plot_only`` (``checkpoint_every`` and ``jobs`` optional). run.json's ``runs`` says how many (configuration,
    seed) runs this invocation trained and how many it reused from earlier ones (:func:`work_counts`).
    """
    from studies.common import RunTimer, runs_record, saved_table, write_run_json

    if cfg.plot_only:
        table = saved_table(out / table_name)
        if table is None:
            return 1
        print(report(write_outputs(table, cfg, out)))
        return 0
    from gan.device import resolve_device

    timer = RunTimer()
    device = resolve_device(cfg.device)  # "auto" -> cuda or cpu; recorded resolved
    variants = cfg.variants()
    store = RunStore(out, fresh=cfg.fresh)  # --fresh empties the stored parts here, before counting and training
    counts = work_counts(store, variants, cfg.seed_list(), cfg.seed_batch)
    table = run_variants(variants, cfg.seed_list(), out, device=str(device), seed_batch=cfg.seed_batch,
                         checkpoint_every=getattr(cfg, "checkpoint_every", 0), progress=cfg.progress, post=post,
                         jobs=getattr(cfg, "jobs", 1))
    write_csv_atomic(table, out / table_name)
    summary = write_outputs(table, cfg, out)
    wall = timer.stop()
    write_run_json(out, cfg, cfg.seed_list(), wall, study=study, device=device_name(device), timer=timer,
                   runs=runs_record(**counts), extra={"configurations": {v.title(): v.key for v in variants},
                                                      "summary": summary.to_dict(orient="records")})
    print(report(summary))
    reused = counts["requested"] - counts["computed"]
    print(f"wrote {out}/ ({len(variants)} configurations; {counts['computed']} of {counts['requested']} "
          f"(configuration, seed) runs trained now on {device}"
          f"{f', {reused} reused from earlier runs' if reused else ''}; {wall:.1f} s)")
    return 0
