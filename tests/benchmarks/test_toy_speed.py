"""benchmarks.toy_speed's command line: every bad option is an argparse error (exit 2, one line), checked before
anything is built or timed."""

from __future__ import annotations

import os

import pytest
import torch

from benchmarks import toy_speed

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if the benchmark would start; keep torch's thread count as it was."""
    threads = torch.get_num_threads()

    def refuse(*args, **kwargs):
        raise AssertionError(f"the benchmark started with {args}")

    monkeypatch.setattr(toy_speed, "measure", refuse)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("argv,option,value", [
    (["--steps", "0"], "--steps", "'0'"),          # was: silently 10 steps (args.steps or 10)
    (["--threads", "0"], "--threads", "'0'"),      # was: silently every core (args.threads or cores)
    (["--threads", "-2"], "--threads", "'-2'"),    # was: a traceback from torch.set_num_threads
    (["--repeats", "0"], "--repeats", "'0'"),      # was: a StatisticsError traceback (median of no rounds)
    (["--seeds", "0"], "--seeds", "'0'"),          # was: a traceback ("need at least one seed") after the header
    (["--seeds", "1", "-3"], "--seeds", "'-3'"),
    (["--steps", "1.5"], "--steps", "'1.5'"),
    (["--repeats", "abc"], "--repeats", "'abc'"),
])
def test_values_below_one_exit_2_with_one_line(argv, option, value, no_run, capsys):
    with pytest.raises(SystemExit) as exc:
        toy_speed.main([*argv, "--device", "cpu", "--no-write"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].endswith(f": error: argument {option}: must be an integer >= 1; got {value}")


def test_more_threads_than_cores_is_refused(no_run, capsys):
    with pytest.raises(SystemExit) as exc:
        toy_speed.main(["--threads", str(CORES + 1), "--device", "cpu", "--no-write"])
    assert exc.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"argument --threads: at most the {CORES} cores available to this process" in last
    assert last.endswith(f"got {CORES + 1}")


@pytest.mark.parametrize("argv", [["--repeats", str(10**23)], ["--steps", str(10**14), "--seeds", "1"],
                                  ["--seeds", "8", "100000"]])
def test_runs_that_cannot_fit_in_memory_are_refused_before_starting(argv, no_run, capsys):
    """Was: a traceback from torch or numpy ("Unable to allocate 90.9 PiB") after the nets were built."""
    with pytest.raises(SystemExit) as exc:
        toy_speed.main([*argv, "--device", "cpu", "--no-write"])
    assert exc.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error: arguments --seeds" in last and "more than half the" in last and "GiB of cpu memory" in last


def test_memory_check_uses_the_machine_memory(no_run, monkeypatch, capsys):
    # S = 1000 default-network seeds need ~18 GiB by the estimate: refused with 16 GiB, not with 64 GiB
    need = toy_speed.memory_needed(1000, 10, 5)
    assert 16 * 2**30 < 2 * need < 64 * 2**30
    monkeypatch.setattr(toy_speed, "memory_available", lambda device: 16 * 2**30)
    with pytest.raises(SystemExit):
        toy_speed.main(["--seeds", "1000", "--device", "cpu", "--no-write"])
    assert "--seeds 1000 --steps 10 --repeats 5" in capsys.readouterr().err
    monkeypatch.setattr(toy_speed, "memory_available", lambda device: 64 * 2**30)
    with pytest.raises(AssertionError, match="the benchmark started"):
        toy_speed.main(["--seeds", "1000", "--device", "cpu", "--no-write"])


def test_memory_estimate_counts_each_term():
    cfg = toy_speed.ToyConfig()
    weights = cfg.g_spec().macs() + cfg.d_spec().macs()
    per_seed = toy_speed.memory_needed(1, 10, 5)
    # linear in S; the step term grows by B·64 bytes per step plus 2 histories of (repeats + 1) float32 pairs
    assert toy_speed.memory_needed(7, 10, 5) == 7 * per_seed
    assert toy_speed.memory_needed(1, 11, 5) - per_seed == cfg.batch_size * toy_speed.BYTES_PER_SEED_SAMPLE + 2 * 6 * 8
    assert toy_speed.memory_needed(1, 10, 6) - per_seed == 2 * 10 * 8
    assert per_seed > 2 * 16 * weights  # the networks' 4 float32 copies per side are included


def test_valid_options_reach_the_benchmark_with_their_values(monkeypatch, capsys):
    seen = []

    def fake_measure(S, steps, repeats, device, adam_b, adam_s, nets=None):
        seen.append((S, steps, repeats, torch.get_num_threads()))
        return {"batched": [2.0] * repeats, "sequential": [1.0] * repeats, "faults_batched": [0.0] * repeats,
                "faults_sequential": [0.0] * repeats}

    threads = torch.get_num_threads()
    monkeypatch.setattr(toy_speed, "measure", fake_measure)
    try:
        assert toy_speed.main(["--seeds", "1", "3", "--steps", "2", "--repeats", "1", "--threads", "1",
                               "--device", "cpu", "--no-small", "--no-write"]) == 0
        assert seen == [(1, 2, 1, 1), (3, 2, 1, 1)]
        seen.clear()
        toy_speed.main(["--seeds", "2", "--device", "cpu", "--no-small", "--no-write"])
        assert seen == [(2, 10, 5, CORES)]  # defaults: 10 steps on the CPU, 5 rounds, every available core
    finally:
        torch.set_num_threads(threads)
    assert "| 3 | 2.0 | 1.0 | 2.00 | 2.00 |" in capsys.readouterr().out  # the fake rates, medians and ratios
