"""Executors of the study engine: where the units of a study run.

Every executor runs :func:`execute` once per unit, in some process, and hands back an :class:`Outcome`:

* ``local`` (default): in this process one after another (``jobs = 1``), or in ``jobs`` worker processes
  (:func:`run_pool`, forked where each has one CPU thread, else spawned: :func:`start_method`; each with its share
  of the torch threads; on CUDA they share the GPU). Workers die with the
  driver, however the driver ends (Linux ``PR_SET_PDEATHSIG``, and a watchdog on the parent pid elsewhere).
* ``ray``: one Ray task per unit (:func:`run_ray`; Ray core tasks, https://docs.ray.io/en/latest/ray-core/tasks.html),
  with ``num_cpus``/``num_gpus`` per task (fractions of a GPU let several seed batches share one device). A worker
  that dies is retried (``max_retries``) and its unit resumes from its checkpoint; the first error, Ctrl-C or
  SIGTERM cancels the remaining tasks. Ray is imported only here, only when chosen. With no address a local Ray
  instance is started for the run and stopped at its end, bound to the loopback address (node IP 127.0.0.1: every
  Ray server listens on and connects to 127.0.0.1 only); ``auto`` or ``HOST:PORT`` joins a running cluster, whose
  workers must see the output directory (checked on every node before any work).

While units run (:func:`run_jobs`), SIGTERM stops the driver as Ctrl-C does, so ``kill PID`` (the one
way to stop a driver started in the background by a non-interactive shell, which ignores SIGINT) ends it with the
same clean message; pool workers keep SIGTERM's default action (the pool terminates them with it).

Whatever runs a unit claims it first (:meth:`studies.store.RunStore.claim`); a unit claimed by another driver comes
back ``busy`` and is run again at the end with a waiting claim, so two drivers share the work and never train a
unit twice.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import pandas as pd

from studies.store import RunStore, Unit, provenance

LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
"""Set before Ray is imported for a local instance: Ray then runs as a single node on 127.0.0.1 (its servers bind
to and connect over the loopback address only; without it they listen on every address of the machine)."""

RAY_MAX_RETRIES = 3


# ----------------------------------------------------------------------------- one unit
@dataclass(frozen=True)
class Job:
    """One unit of a study to run: the study module (imported where the job runs), the output directory, the unit,
    the device option (resolved where the job runs), torch threads, and whether to wait for another's claim."""

    study: str
    out: str
    unit: Unit
    device: str
    threads: int | None = None
    wait: bool = False


@dataclass
class Outcome:
    """What became of a job: ``done`` (trained and stored now), ``stored`` (another process had stored it),
    ``busy`` (claimed by another process; not waited for), with the notes to print and the wall time."""

    unit: Unit
    status: str
    notes: list[str] = field(default_factory=list)
    wall_time_s: float = 0.0
    resumed_from: dict | None = None


@dataclass
class UnitResult:
    """What a study's ``run_unit`` returns when it has arrays to keep besides its long rows (e.g. final samples):
    ``rows`` (list of dicts or a DataFrame) and ``arrays`` (name → numpy array; a name ``seed<k>/...`` belongs to
    seed k and is dropped from the study's arrays file when seed k is not requested)."""

    rows: Any
    arrays: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class UnitContext:
    """What a study's ``run_unit`` gets besides the unit: the resolved device, its checkpoint file and the metadata
    that file must carry (:class:`gan.checkpoint.CheckpointFile`), a progress callback ``progress(done, note)`` in
    the study's cost units, and ``notes`` for one-line messages to print at the end."""

    device: Any
    checkpoint_path: Path
    checkpoint_meta: dict
    progress: Callable[[float, str], None]
    notes: list[str] = field(default_factory=list)

    def checkpoint(self):
        """The unit's :class:`gan.checkpoint.CheckpointFile` (imports torch)."""
        from gan.checkpoint import CheckpointFile

        return CheckpointFile(self.checkpoint_path, self.checkpoint_meta)


def load_study(module: str):
    """The ``STUDY`` object of a study module (``studies.<name>``)."""
    return importlib.import_module(module).STUDY


def execute(job: Job, progress: Callable[[float, str], None] | None = None) -> Outcome:
    """Run one unit here: claim it, skip it if it is stored meanwhile, check its checkpoint (a bad one is moved
    aside), train it through the study's ``run_unit`` and store its part."""
    study = load_study(job.study)
    store = RunStore(job.out)
    claim = store.claim(job.unit, wait=job.wait)
    if claim is None:
        return Outcome(job.unit, "busy")
    try:
        if store.part_path(job.unit).exists() and store.is_done(job.unit):
            return Outcome(job.unit, "stored", store.notes)
        resumed = store.check_checkpoint(job.unit)
        if job.threads is not None and study.uses_torch:
            import torch

            torch.set_num_threads(job.threads)
        device = study.resolve_device(job.device)
        ctx = UnitContext(device, store.checkpoint_path(job.unit), store.checkpoint_meta(job.unit),
                          progress or (lambda done, note: None))
        t0 = time.perf_counter()
        result = study.run_unit(job.unit, ctx)
        wall = time.perf_counter() - t0
        if not isinstance(result, UnitResult):
            result = UnitResult(result)
        rows = result.rows if isinstance(result.rows, pd.DataFrame) else pd.DataFrame(result.rows)
        store.save_part(job.unit, rows, provenance(str(device), wall, resumed), result.arrays)
        return Outcome(job.unit, "done", store.notes + ctx.notes, wall, resumed)
    finally:
        claim.release()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the driver's main thread while units run: handled as Ctrl-C is (units in progress keep
    their last checkpoint), and told apart from it by its type."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (a :class:`KeyboardInterrupt`) in this process instead of
    ending it at once; the previous handler comes back after. An interrupt that leaves the block as a plain
    :class:`KeyboardInterrupt` after a SIGTERM (Ray's ``ray.get`` turns any exception the handler raises into one)
    leaves it as :class:`Terminated`. Outside the main thread (where Python cannot set handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def on_sigterm(signum: int, frame: Any) -> None:
        received.append(signum)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    except KeyboardInterrupt as exc:
        if received and not isinstance(exc, Terminated):
            raise Terminated from exc
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_jobs(run_batch: Callable[[list[Job]], list[Outcome]], jobs: list[Job]) -> list[Outcome]:
    """Run ``jobs`` with ``run_batch``; the ones another process had claimed are run again at the end, waiting for
    the claim (the other process may finish them: they then come back ``stored``). Every executor runs through here,
    so here SIGTERM becomes :class:`Terminated` (:func:`_sigterm_interrupts`; for Ray, after ``ray.init`` has set its
    own handler)."""
    with _sigterm_interrupts():
        outcomes = run_batch(jobs)
        busy = [o.unit for o in outcomes if o.status == "busy"]
        if busy:
            again = [Job(j.study, j.out, j.unit, j.device, j.threads, wait=True) for j in jobs if j.unit in busy]
            outcomes = [o for o in outcomes if o.status != "busy"] + run_batch(again)
    return outcomes


# ----------------------------------------------------------------------------- local
def run_serial(jobs: Sequence[Job], on_progress: Callable[[int, float, str], None],
               on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
    """Each job in this process, in order."""
    out = []
    for i, job in enumerate(jobs):
        o = execute(job, lambda done, note, i=i: on_progress(i, done, note))
        on_outcome(o)
        out.append(o)
    return out


_WORKER: dict[str, Any] = {}


def _die_with_parent() -> None:
    """End this process when its parent (the driver) ends, however it ends (SIGKILL included)."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
        if os.getppid() != parent:  # the parent died before the call took effect
            os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()


def _init_worker(queue: Any) -> None:
    """Pool worker set-up: SIGTERM ends it (``Pool.terminate``), die with the driver, glibc keeps freed memory
    (:mod:`gan.malloc`; on the CPU it spares page faults, on CUDA it costs nothing), and the queue its progress goes
    to."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the driver's :func:`_sigterm_interrupts`
    _die_with_parent()
    from gan.malloc import retain_freed_memory

    retain_freed_memory()
    _WORKER["queue"] = queue


def _pool_job(index: int, job: Job) -> Outcome:
    queue = _WORKER["queue"]
    return execute(job, lambda done, note: queue.put((index, done, note)))


def start_method(jobs: Sequence[Job], threads: int) -> str:
    """How :func:`run_pool` starts its workers: ``fork`` on Linux where every job runs on the CPU with one torch
    thread and this process runs no other Python thread, so a worker starts at once with the modules the driver has
    imported; else ``spawn`` (a fresh interpreter per worker, which imports torch and the study again). Why the
    conditions: CUDA cannot be used in a forked child; a forked child that runs torch with several threads hangs
    once the parent has used torch's OpenMP pool (seen with this project's torch build; with one thread the pool is
    never entered); a lock held by another thread at the fork would be copied held."""
    on_cpu = all(str(j.device).startswith("cpu") for j in jobs)
    if on_cpu and threads == 1 and sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


def run_pool(jobs: Sequence[Job], n_workers: int, threads: int, on_progress: Callable[[int, float, str], None],
             on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
    """The jobs in ``n_workers`` worker processes (``threads`` torch threads each), started by
    :func:`start_method`. On the first error, or an interrupt here, the workers are terminated (units in progress
    keep their last checkpoint) and it is raised."""
    import multiprocessing as mp
    from queue import Empty

    ctx = mp.get_context(start_method(jobs, threads))
    queue = ctx.Queue()
    jobs = [Job(j.study, j.out, j.unit, j.device, threads, j.wait) for j in jobs]

    def drain(timeout: float) -> None:
        while True:
            try:
                i, done, note = queue.get(timeout=timeout)
            except Empty:
                return
            timeout = 0.0
            on_progress(i, done, note)

    pool = ctx.Pool(n_workers, initializer=_init_worker, initargs=(queue,))
    outcomes: list[Outcome] = []
    try:
        pending = [pool.apply_async(_pool_job, (i, j)) for i, j in enumerate(jobs)]
        while pending:
            drain(0.3)
            for r in [r for r in pending if r.ready()]:
                o = r.get()  # re-raises a worker's exception here
                pending.remove(r)
                on_outcome(o)
                outcomes.append(o)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    drain(0.0)
    return outcomes


# ----------------------------------------------------------------------------- ray
def _ray_job(job: Job) -> Outcome:
    """A Ray task: one unit on the worker that runs it (threads: the task's CPUs)."""
    return execute(job)


def _ray_probe(path: str, token: str) -> tuple[str, str | None]:
    """On a node: whether the driver's probe file is readable there and holds ``token``."""
    import socket

    try:
        text = Path(path).read_text()
    except OSError as exc:
        return socket.gethostname(), f"cannot read {path}: {exc.strerror or exc}"
    return socket.gethostname(), None if text == token else f"{path} holds other content"


class RayCluster:
    """A connection to Ray for one run: ``address`` None starts a local instance on 127.0.0.1 (stopped on exit);
    ``auto`` or ``HOST:PORT`` joins a running cluster. Already connected (``ray.is_initialized()``, e.g. a test
    session's instance): used as it is and left running."""

    def __init__(self, address: str | None, object_store_mb: int = 128):
        self.address = address
        self.object_store_mb = object_store_mb
        self.started = False

    def __enter__(self):
        if address_is_local(self.address):
            for k, v in LOOPBACK_ENV.items():
                os.environ.setdefault(k, v)
        import ray

        if not ray.is_initialized():
            repo = str(Path(__file__).resolve().parents[1])
            kwargs: dict[str, Any] = {"include_dashboard": False, "configure_logging": False, "log_to_driver": True,
                                      "runtime_env": {"env_vars": {"PYTHONPATH": repo}}}
            if address_is_local(self.address):
                kwargs.update(address="local", num_cpus=os.cpu_count() or 1,
                              object_store_memory=self.object_store_mb << 20, _node_ip_address="127.0.0.1")
            else:
                kwargs.update(address=self.address)
            ray.init(**kwargs)
            self.started = True
        return ray

    def __exit__(self, *exc: Any) -> None:
        if self.started:
            import ray

            ray.shutdown()


def address_is_local(address: str | None) -> bool:
    """Whether ``--ray-address`` asks for a local instance started for this run."""
    return address in (None, "", "local")


def check_shared_output(ray: Any, out: Path) -> None:
    """Every alive Ray node must see ``out``: a probe file written here is read back on each node (ValueError naming
    the nodes that cannot, and what to do)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from gan.fileio import write_atomic

    token = uuid.uuid4().hex
    probe = write_atomic(out / "runs" / f".probe-{token}", token)
    try:
        task = ray.remote(num_cpus=0)(_ray_probe)
        nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        refs = [task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False)).remote(
            str(probe.resolve()), token) for n in nodes]
        bad = [(host, err) for host, err in ray.get(refs, timeout=120) if err]
    finally:
        probe.unlink(missing_ok=True)
    if bad:
        raise ValueError("--executor ray: the output directory is not on a file system every Ray node sees ("
                         + "; ".join(f"{h}: {e}" for h, e in bad) + "); put --out on storage all workers mount")


def run_ray(ray: Any, jobs: Sequence[Job], cpus_per_job: float, gpus_per_job: float,
            on_outcome: Callable[[Outcome], None]) -> list[Outcome]:
    """One Ray task per job (``num_cpus``/``num_gpus`` per task, retried ``RAY_MAX_RETRIES`` times if its worker
    dies). The first task error, or an interrupt here, cancels the remaining tasks and is raised."""
    threads = max(1, int(cpus_per_job))
    task = ray.remote(num_cpus=cpus_per_job, num_gpus=gpus_per_job, max_retries=RAY_MAX_RETRIES,
                      retry_exceptions=False)(_ray_job)
    refs = {task.remote(Job(j.study, j.out, j.unit, j.device, threads, j.wait)): j for j in jobs}
    outcomes: list[Outcome] = []
    try:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
            for r in ready:
                o = ray.get(r)  # re-raises a task's error here
                del refs[r]
                on_outcome(o)
                outcomes.append(o)
    except BaseException:
        for r in refs:
            ray.cancel(r, force=True)
        raise
    return outcomes


__all__ = ["Job", "Outcome", "RayCluster", "Terminated", "UnitContext", "UnitResult", "address_is_local",
           "check_shared_output", "execute", "load_study", "run_jobs", "run_pool", "run_ray", "run_serial"]
