"""The quick studies at this checkout against an earlier revision: whole-command wall and CPU time, run in turn.

    python -m benchmarks.quick_studies --baseline REV [--pairs 3] [--jobs 2] [--studies mode_coverage loss_comparison]

Each study's quick command, ``python -m studies.<study> --quick --jobs J --device cpu --fresh --out DIR`` (the
command ``make figures`` runs, recomputing everything), is run ``--pairs`` times at this checkout (A) and at
``--baseline`` (B, a temporary ``git worktree`` removed at the end), alternately A B A B ..., with this interpreter
and its packages. Per run: the wall time (a monotonic clock around the child) and its CPU time, user + system of the
command and of every process it waited for (``getrusage(RUSAGE_CHILDREN)``). Reported per study: the median of
each side and the ratio A/B taken pair by pair (median, min and max): pairing keeps the ratio meaningful when the
machine's speed drifts, and the spread says how noisy the machine was. The load average at start and end is
printed, since other processes slow both sides but not always alike.

The report goes to ``benchmarks/results/quick_studies_cpu.md`` (temporary file, then rename); a baseline that git
does not know, or a study command that fails, ends the run with one line (exit 2 for a bad option, 1 for a failed
command) and removes the worktree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from gan.fileio import write_atomic

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
STUDIES = ("mode_coverage", "loss_comparison")
"""The training studies with a ``--quick`` preset that ``make figures`` runs."""


@dataclass(frozen=True)
class Timing:
    """One finished command: wall and CPU (user + system of it and its waited-for children) seconds."""

    wall_s: float
    cpu_s: float


def run_timed(command: Sequence[str], cwd: Path) -> Timing:
    """Run ``command`` in ``cwd`` (output discarded) and time it; RuntimeError naming it if it fails."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(list(command), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{' '.join(command)} (in {cwd}) exited {proc.returncode}: {last}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu)


def paired(commands: dict[str, tuple[Sequence[str], Path]], pairs: int, log=None) -> dict[str, list[Timing]]:
    """Run the commands (label → (argv, cwd)) in turn, ``pairs`` rounds of each in the given order; their timings."""
    out: dict[str, list[Timing]] = {label: [] for label in commands}
    for i in range(pairs):
        for label, (argv, cwd) in commands.items():
            t = run_timed(argv, cwd)
            out[label].append(t)
            if log is not None:
                log(f"pair {i + 1}/{pairs}, {label}: wall {t.wall_s:.1f} s, cpu {t.cpu_s:.1f} s")
    return out


def ratio_text(a: Sequence[float], b: Sequence[float]) -> str:
    """Median of the pairwise ratios a_i / b_i, with their min and max."""
    r = [x / y for x, y in zip(a, b)]
    return f"{statistics.median(r):.3f} ({min(r):.3f}–{max(r):.3f})"


def report(results: dict[str, dict[str, list[Timing]]], head: str, base: str, jobs: int, loads: tuple) -> str:
    """The markdown report of :func:`paired` timings per study (labels ``A`` this checkout, ``B`` the baseline)."""
    lines = ["# Quick studies: this checkout (A) against a baseline revision (B)", "",
             f"Run: `python -m benchmarks.quick_studies --baseline {base[:7]} --pairs "
             f"{len(next(iter(results.values()))['A'])} --jobs {jobs}` "
             f"({datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC), {os.cpu_count()} CPUs; A = git "
             f"{head[:7]}, B = git {base[:7]}; each command `python -m studies.<study> --quick --jobs {jobs} "
             "--device cpu --fresh`, A and B in turn; CPU = user + system of the command and its workers. Load "
             f"average (1 min) at start {loads[0]:.2f}, at end {loads[1]:.2f}.", "",
             "| study | A wall (median) | B wall (median) | A/B wall, pairwise | A cpu (median) | B cpu (median) | "
             "A/B cpu, pairwise |", "|---|---|---|---|---|---|---|"]
    for study, t in results.items():
        wa, wb = [x.wall_s for x in t["A"]], [x.wall_s for x in t["B"]]
        ca, cb = [x.cpu_s for x in t["A"]], [x.cpu_s for x in t["B"]]
        lines.append(f"| {study} | {statistics.median(wa):.1f} s | {statistics.median(wb):.1f} s | "
                     f"{ratio_text(wa, wb)} | {statistics.median(ca):.1f} s | {statistics.median(cb):.1f} s | "
                     f"{ratio_text(ca, cb)} |")
    return "\n".join(lines) + "\n"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {v}")
    return v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.quick_studies", description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", required=True, help="git revision to compare against (e.g. a commit or tag)")
    ap.add_argument("--pairs", type=_positive, default=3, help="runs of each side, in turn (default 3)")
    ap.add_argument("--jobs", type=_positive, default=2, help="--jobs of the study commands (default 2)")
    ap.add_argument("--studies", nargs="+", choices=STUDIES, default=list(STUDIES), help="the quick studies to time")
    ap.add_argument("--out", type=Path, default=RESULTS / "quick_studies_cpu.md", help="the report (markdown)")
    args = ap.parse_args(argv)
    try:
        base = _git("rev-parse", "--verify", f"{args.baseline}^{{commit}}")
        head = _git("rev-parse", "HEAD")
    except (subprocess.CalledProcessError, OSError):
        ap.error(f"argument --baseline: git does not know the revision {args.baseline!r} in {ROOT}")
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="quick-studies-") as tmp:
        tree = Path(tmp) / "baseline"
        _git("worktree", "add", "--detach", str(tree), base)
        try:
            results = {}
            for study in args.studies:
                cmd = lambda side: [sys.executable, "-m", f"studies.{study}", "--quick", "--jobs", str(args.jobs),
                                    "--device", "cpu", "--fresh", "--no-progress", "--out", str(Path(tmp) / side)]
                results[study] = paired({"A": (cmd("A"), ROOT), "B": (cmd("B"), tree)}, args.pairs,
                                        log=lambda text, s=study: print(f"{s}: {text}", file=sys.stderr))
        except RuntimeError as exc:
            print(f"quick_studies: error: {exc}", file=sys.stderr)
            return 1
        finally:
            _git("worktree", "remove", "--force", str(tree))
    loads.append(os.getloadavg()[0])
    text = report(results, head, base, args.jobs, tuple(loads))
    write_atomic(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
