"""A study killed with SIGKILL mid-run and restarted finishes with the same table as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
ARGS = ["-m", "studies.mode_coverage", "--seeds", "2", "--losses", "ns", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2", "--beta2s", "0.99",
        "--epochs", "4", "--eval-every", "2", "--checkpoint-every", "1", "--n-train", "1280", "--g-width", "32",
        "--d-width", "32", "--depth", "2", "--n-eval", "500", "--no-progress"]


def _run(out: Path, **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, *ARGS, "--out", str(out)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_sigkill_then_restart_gives_the_uninterrupted_table(tmp_path):
    killed = tmp_path / "killed"
    proc = _run(killed)
    deadline = time.monotonic() + 240
    ckpts: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        ckpts = list(killed.glob("runs/*/ckpt-*.pt"))
        if ckpts:
            break
        time.sleep(0.02)
    assert ckpts, f"no checkpoint appeared before the run ended: {proc.poll()} {proc.stderr.read()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "mode_coverage.csv").exists()  # really interrupted mid-way

    restarted = _run(killed)
    assert restarted.wait(timeout=600) == 0, restarted.stderr.read()
    straight = _run(tmp_path / "straight")
    assert straight.wait(timeout=600) == 0, straight.stderr.read()
    a = pd.read_csv(killed / "mode_coverage.csv")
    b = pd.read_csv(tmp_path / "straight" / "mode_coverage.csv")
    assert {"modes_captured", "diverged", "diverged_at"} <= set(a["metric"])
    assert len(a) == 2 * 2 * 3 * a["metric"].nunique()  # variants × seeds × evaluations (0, 2, 4) × metrics
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # run.json of the restart says its table was partly computed before: the killed batch resumed from its checkpoint
    runs = json.loads((killed / "run.json").read_text())["runs"]
    assert runs["requested"] == 4 and runs["resumed_from_checkpoint"] >= 2
    assert runs["computed_in_this_invocation"] + runs["reused_from_earlier_invocations"] == 4
    assert not list(killed.rglob("ckpt-*.pt")) and not list(killed.rglob("*.tmp"))
