"""Seed-parallel toy training vs one seed after another: seed-steps per second.

    python -m benchmarks.toy_speed [--device auto|cpu|cuda|cuda:N] [--steps N] [--repeats R] [--seeds 1 8 40]

Workload: the default 2D-ring networks of :class:`toy.train.ToyConfig` (G 2→400→400→400→400→2
ReLU, D 2→200→200→200→200→1 LeakyReLU(0.2)), NS loss, batch 128, float32, Adam; one seed-step is
one D step plus one G step of one seed (n_dis = 1). A second table repeats the measurement with
small networks (G and D 2→64→64→out), the dispatch-bound regime.

* batched: :class:`toy.train.ToyTrainer` with S seeds stacked (one ``baddbmm`` per layer for all
  seeds, one fused Adam over the stacked tensors, divergence bookkeeping on);
* sequential: the same S seeds one after another, each an ordinary ``nn.Sequential`` pair with
  its own ``torch.optim.Adam`` (:class:`toy.reference.PlainTrainer`, default for-loop Adam on the
  CPU: on this 2-core machine foreach and fused were not faster for it). Same per-seed data
  streams, same step order and the same FLOPs as batched (one D pass on the concatenated real and
  fake batch; D's weight gradients skipped in the G step), so the ratio measures batching only.

Page faults: the median over rounds of the process's minor page faults (``getrusage``) per batched
iteration (all S seeds) and per sequential seed-step; they show whether the allocator setting below holds.

Protocol: the batched trainer and the S plain trainers are built first (not timed); each runs one
warm-up epoch; then ``--repeats`` rounds alternate one timed epoch of ``--steps`` iterations
batched with one timed epoch of every seed sequentially (an epoch includes drawing its minibatch
order and latents). Reported: median rates over rounds, the median of the per-round ratios (paired
rounds), and the ratio of the best rounds (contention from other processes only slows a round
down, so best-of-rounds estimates the unloaded speeds). On CUDA the clock is read after
``torch.cuda.synchronize()``.

FLOPs per seed-step (matmuls only, biases and element-wise work ignored), with F = Σ_layers
fan_in·fan_out the multiply-accumulates of one forward pass per sample:

    FLOPs = 2·B·(F_G + 3·2F_D + 3F_G + 2F_D) = 2·B·(4·F_G + 8·F_D)

D step: G forward without grad (1×) + D forward and backward on the 2B real and fake samples
(3×: backward ≈ 2× forward); G step: G forward and backward (3×) + D forward and input-gradient
backward on B samples (2×; D's weight gradients are not computed). Default nets: F_G = 481 600,
F_D = 120 600, B = 128: 0.740 GFLOP per seed-step.

Memory: on the CPU, glibc's allocator is set to keep freed memory (:func:`gan.malloc.retain_freed_memory`,
which the study runner applies on CPU devices too) before anything is built, so both sides run with the same
process-wide setting; the header says whether it was in effect (``DISTMATCH_MALLOC=default`` turns it off).

Threads: ``torch.set_num_threads`` is set to the number of CPU cores available to the process
(``os.sched_getaffinity``) unless ``--threads`` says otherwise, and printed.

Options: ``--steps``, ``--repeats``, ``--threads`` and every ``--seeds`` value must be integers ≥ 1
(``--threads`` at most the available cores), and the largest S with ``--steps`` and ``--repeats``
must fit in half the device's memory by :func:`memory_needed`; anything else is an argparse error
(exit 2, one line naming the option, the value and what is allowed), checked before anything runs. The tables go to
``benchmarks/results/toy_speed_<device>.md`` (temporary file, then ``os.replace``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from benchmarks.common import device_name
from gan.device import DEVICE_HELP, device_option, resolve_device
from gan.malloc import retain_freed_memory
from studies.common import write_atomic
from toy.reference import PlainTrainer
from toy.train import ToyConfig, ToyTrainer, TrainHooks

RESULTS = Path(__file__).resolve().parent / "results"
SMALL_NETS = {"g_width": 64, "d_width": 64, "g_depth": 2, "d_depth": 2}
SMALL_LABEL = "G and D width 64, 2 hidden layers"


def flops_per_seed_step(cfg: ToyConfig) -> int:
    """2·B·(4·F_G + 8·F_D) (module docstring)."""
    return 2 * cfg.batch_size * (4 * cfg.g_spec().macs() + 8 * cfg.d_spec().macs())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _minor_faults() -> int:
    """Minor page faults of this process so far (``getrusage``; 0 where unavailable)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure(S: int, steps: int, repeats: int, device: torch.device, adam_batched: str, adam_seq: str,
            nets: dict | None = None) -> dict:
    """Interleaved timing of S seeds batched vs sequential; returns rates (seed-steps/s) per round.

    ``nets``: ToyConfig overrides of the network fields (default: the ring networks).
    """
    epochs = repeats + 1
    nets = nets or {}
    cfg_b = ToyConfig(n_train=128 * steps, epochs=epochs, adam=adam_batched, **nets)
    cfg_s = ToyConfig(n_train=128 * steps, epochs=epochs, adam=adam_seq, **nets)
    batched = ToyTrainer(cfg_b, list(range(S)), device, TrainHooks())
    plain = [PlainTrainer(cfg_s, s, device) for s in range(S)]
    batched.epoch(0)
    for p in plain:
        p.epoch()
    _sync(device)
    rb, rs, fb, fs = [], [], [], []
    for r in range(repeats):
        f0, t0 = _minor_faults(), time.perf_counter()
        batched.epoch(r + 1)
        _sync(device)
        f1, t1 = _minor_faults(), time.perf_counter()
        for p in plain:
            p.epoch()
        _sync(device)
        f2, t2 = _minor_faults(), time.perf_counter()
        rb.append(S * steps / (t1 - t0))
        rs.append(S * steps / (t2 - t1))
        fb.append((f1 - f0) / steps)
        fs.append((f2 - f1) / (S * steps))
    return {"batched": rb, "sequential": rs, "faults_batched": fb, "faults_sequential": fs}


def positive_int(text: str) -> int:
    """``argparse`` type: an integer ≥ 1, else an argparse error naming the value and what is allowed (exit 2)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}")
    return value


BYTES_PER_SEED_SAMPLE = 64
"""Memory per seed and training sample of one epoch, rounded up: the batched trainer's minibatch index (8 B), its
randperm of the data set (8 B), the real batches and their gather (16 B), the latents of the D and G steps
(2·k·4 = 16 B at k = 2), and each sequential trainer's own copy of the data set (8 B)."""


def memory_needed(seeds: int, steps: int, repeats: int, cfg: ToyConfig | None = None) -> int:
    """Rough bytes the largest S needs, both sides together, per seed: steps·B·:data:`BYTES_PER_SEED_SAMPLE` for an
    epoch's data and latents; the float32 D and G loss histories, (repeats + 1)·steps·8 bytes per side; the networks,
    4 float32 copies (weights, gradients, two Adam moments) of the F_G + F_D weights per side; the activations kept
    for the backward pass, ~3 float32 values per hidden unit for 2B samples.

    At S = 8, 5 steps, 1 repeat (default networks) this gives 204 MiB where the process's peak RSS grew by 278 MiB
    (CPU, glibc keeping freed memory): :func:`main` therefore refuses anything over half the memory.
    """
    cfg = ToyConfig() if cfg is None else cfg
    weights = cfg.g_spec().macs() + cfg.d_spec().macs()
    hidden = cfg.g_width * cfg.g_depth + cfg.d_width * cfg.d_depth
    return seeds * (steps * cfg.batch_size * BYTES_PER_SEED_SAMPLE + 2 * (repeats + 1) * steps * 8 + 2 * 16 * weights
                    + 3 * 2 * cfg.batch_size * hidden * 4)


def memory_available(device: torch.device) -> int | None:
    """Total memory of the device (CUDA) or of the machine (CPU; ``None`` where the OS does not say)."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", type=device_option, default="auto", help=f"torch device: {DEVICE_HELP} (default: auto)")
    ap.add_argument("--steps", type=positive_int, default=None,
                    help="iterations per timed epoch, >= 1 (default 10 on CPU, 200 on CUDA)")
    ap.add_argument("--repeats", type=positive_int, default=5, help="timed rounds, >= 1 (default 5)")
    ap.add_argument("--seeds", type=positive_int, nargs="+", default=[1, 8, 40], help="numbers of seeds S, each >= 1")
    ap.add_argument("--threads", type=positive_int, default=None,
                    help="torch intra-op threads, >= 1 (default: available cores)")
    ap.add_argument("--adam", default="auto", choices=["auto", "fused", "foreach", "for"],
                    help="Adam implementation for both sides (auto: fused batched, for-loop sequential on CPU)")
    ap.add_argument("--no-small", action="store_true", help="skip the small-network table")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if args.threads is not None and args.threads > cores:
        ap.error(f"argument --threads: at most the {cores} cores available to this process (more threads measure "
                 f"oversubscription, not batching); got {args.threads}")
    steps = (10 if device.type == "cpu" else 200) if args.steps is None else args.steps
    need, have = memory_needed(max(args.seeds), steps, args.repeats), memory_available(device)
    if have is not None and need > have // 2:
        ap.error(f"arguments --seeds {max(args.seeds)} --steps {steps} --repeats {args.repeats}: need about "
                 f"{need / 2**30:.3g} GiB, more than half the {have / 2**30:.3g} GiB of {device.type} memory "
                 f"(estimate: benchmarks.toy_speed.memory_needed); lower them")
    threads = cores if args.threads is None else args.threads
    torch.set_num_threads(threads)
    malloc = "retained freed memory (gan.malloc)" if device.type == "cpu" and retain_freed_memory() else "default"
    if args.adam == "auto":
        adam_b, adam_s = ("fused", "for") if device.type == "cpu" else ("fused", "fused")
    else:
        adam_b = adam_s = args.adam
    fl = flops_per_seed_step(ToyConfig())
    name = device_name(device)
    head = (f"device: {device.type} ({name}); torch {torch.__version__}; threads {threads} of {cores} cores; "
            f"batch 128; float32; {steps} iterations per timed epoch, {args.repeats} interleaved rounds after 1 warm-up epoch; "
            f"Adam: batched {adam_b}, sequential {adam_s}; glibc malloc: {malloc}; {fl / 1e9:.3f} GFLOP per seed-step = 2·B·(4·F_G + 8·F_D)")
    print(head, flush=True)
    header = ["| S | batched seed-steps/s | sequential seed-steps/s | ratio batched/sequential | ratio of best rounds "
              "| batched GFLOP/s | sequential GFLOP/s | page faults per iteration, batched / per seed-step, sequential |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    t_start = time.perf_counter()
    tables = {}
    for title, nets in (("default ring networks", {}), (f"small networks ({SMALL_LABEL})", SMALL_NETS)):
        if title.startswith("small") and args.no_small:
            continue
        fl = flops_per_seed_step(ToyConfig(**nets))
        print(f"{title}: {fl / 1e9:.4f} GFLOP per seed-step", flush=True)
        lines = list(header)
        for S in args.seeds:
            res = measure(S, steps, args.repeats, device, adam_b, adam_s, nets)
            b, s = statistics.median(res["batched"]), statistics.median(res["sequential"])
            ratio = statistics.median([x / y for x, y in zip(res["batched"], res["sequential"])])
            best = max(res["batched"]) / max(res["sequential"])
            faults = f"{statistics.median(res['faults_batched']):.0f} / {statistics.median(res['faults_sequential']):.0f}"
            row = (f"| {S} | {b:.1f} | {s:.1f} | {ratio:.2f} | {best:.2f} | {b * fl / 1e9:.1f} | {s * fl / 1e9:.1f} "
                   f"| {faults} |")
            lines.append(row)
            print(row, " rounds:", [f"{x:.1f}/{y:.1f}" for x, y in zip(res["batched"], res["sequential"])], flush=True)
        tables[f"{title}, {fl / 1e9:.4f} GFLOP per seed-step"] = lines
    wall = time.perf_counter() - t_start
    try:
        load = " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        load = "n/a"
    text = "\n".join([
        f"# toy_speed ({device.type})", "",
        "Seed-parallel toy training (`toy.train.ToyTrainer`, S seeds stacked) vs the same S seeds one after another "
        "with plain `nn.Sequential` + `torch.optim.Adam` (`toy.reference.PlainTrainer`), measured in the same run. "
        "Protocol and FLOP count: `benchmarks/toy_speed.py` docstring.", "",
        head + f"; wall {wall:.0f} s; load average at the end {load}.", "",
        *[line for title, lines in tables.items() for line in (f"**{title}**", "", *lines, "")],
    ])
    print(f"wall {wall:.0f} s")
    if not args.no_write:
        out = write_atomic(RESULTS / f"toy_speed_{device.type}.md", text)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
