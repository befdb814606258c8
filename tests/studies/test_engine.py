"""The study engine: executors give the serial table cell for cell (Ray, --jobs, mixed), killed workers and drivers
resume, two drivers share one output directory, damaged store files are moved aside and recomputed, Ray stays on the
loopback address, and command-line errors come before any work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from gan.fileio import read_sealed_header
from studies import engine, image_gan, loss_comparison, mode_coverage
from studies.store import RunStore, Unit, Variant

REPO = Path(__file__).resolve().parents[2]

MC = ["--seeds", "2", "--losses", "ns", "--beta2s", "0.99", "0.999", "--epochs", "2", "--eval-every", "1",
      "--n-train", "1280", "--g-width", "16", "--d-width", "16", "--depth", "2", "--n-eval", "500"]
LC = ["--seeds", "2", "--problems", "ring", "toy1d", "--losses", "ns", "hinge", "--regularizers", "none",
      "--lrs", "1e-3", "--adam-betas", "0.5/0.999", "--n-dis", "1", "--epochs", "2", "--n-train", "1280",
      "--width", "16", "--depth", "2", "--n-eval", "500", "--n-fit", "500"]
IMG = ["--steps", "4", "--batch-size", "8", "--g-channels", "8", "--d-channels", "8", "--eval-every", "2",
       "--n-eval", "200", "--log-every", "2", "--dpi", "30"]


def _table(out: Path, study) -> pd.DataFrame:
    return pd.read_csv(out / study.TABLE)


def _one_thread(main, argv) -> int:
    """Run a study in this process with one torch thread (the arithmetic of a Ray task or pool worker)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return main(argv)
    finally:
        torch.set_num_threads(before)


def _default_sigint() -> None:
    """In the child before exec: Ctrl-C's default action, even where this test process ignores SIGINT (started in
    the background by a non-interactive shell), so that the child's Python turns SIGINT into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _subprocess(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint, **kw)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """Serial, one-thread reference tables of the tiny mode_coverage and loss_comparison runs."""
    root = tmp_path_factory.mktemp("serial")
    for name, mod, argv in (("mc", mode_coverage, MC), ("lc", loss_comparison, LC)):
        assert _one_thread(mod.main, [*argv, "--out", str(root / name)]) == 0
    return root


# ----------------------------------------------------------------------------- executors agree
@pytest.mark.parametrize("name, mod, argv", [("mc", mode_coverage, MC), ("lc", loss_comparison, LC)])
def test_ray_executor_writes_the_serial_table(ray_local, serial, tmp_path, name, mod, argv):
    assert mod.main([*argv, "--executor", "ray", "--out", str(tmp_path)]) == 0
    ref = _table(serial / name, mod)
    assert len(ref) > 0
    pd.testing.assert_frame_equal(_table(tmp_path, mod), ref, check_exact=True)
    meta = json.loads((tmp_path / "run.json").read_text())
    runs = meta["runs"]
    assert meta["run_options"]["executor"] == "ray" and runs["computed_in_this_invocation"] == runs["requested"] > 0
    prov = [read_sealed_header(p, "part")["provenance"] for p in tmp_path.glob("runs/*/part-*.part")]
    assert prov and all(p["pid"] != os.getpid() and p["threads"] == 1 for p in prov)  # ran in Ray workers


def test_jobs_parts_and_ray_parts_make_one_table(ray_local, tmp_path):
    """One β2 stored by --jobs 2 (two units in two workers), the other by Ray: the table equals the serial run's."""
    argv = [*MC, "--seed-batch", "1"]
    one_beta = [a for i, a in enumerate(argv) if not (a == "0.999" and argv[i - 1] == "0.99")]
    assert _one_thread(mode_coverage.main, [*argv, "--out", str(tmp_path / "serial")]) == 0
    assert _one_thread(mode_coverage.main, [*one_beta, "--jobs", "2", "--out", str(tmp_path / "mixed")]) == 0
    prov = [read_sealed_header(p, "part")["provenance"] for p in (tmp_path / "mixed").glob("runs/*/part-*.part")]
    assert len({p["pid"] for p in prov}) == 2 and os.getpid() not in {p["pid"] for p in prov}  # two workers
    assert mode_coverage.main([*argv, "--executor", "ray", "--out", str(tmp_path / "mixed")]) == 0
    pd.testing.assert_frame_equal(_table(tmp_path / "mixed", mode_coverage), _table(tmp_path / "serial", mode_coverage),
                                  check_exact=True)
    meta = json.loads((tmp_path / "mixed" / "run.json").read_text())
    assert meta["runs"]["reused_from_earlier_invocations"] == 2 and meta["runs"]["computed_in_this_invocation"] == 2


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_pool_workers_write_the_serial_table(serial, tmp_path, device):
    """--jobs 2 in a fresh driver, one torch thread per worker: forked workers (cpu) and spawned ones (auto; which
    is which: test_pool_workers_die_with_a_killed_driver) write the serial table, to the bit."""
    args = [sys.executable, "-m", "studies.mode_coverage", *MC, "--device", device, "--jobs", "2", "--out",
            str(tmp_path)]
    proc = subprocess.run(args, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    pd.testing.assert_frame_equal(_table(tmp_path, mode_coverage), _table(serial / "mc", mode_coverage),
                                  check_exact=True)
    prov = [read_sealed_header(p, "part")["provenance"] for p in tmp_path.glob("runs/*/part-*.part")]
    assert len({p["pid"] for p in prov}) == 2 and all(p["threads"] == 1 for p in prov)


def test_start_method_forks_only_one_thread_cpu_workers_of_a_single_threaded_driver():
    from studies.executors import Job, start_method

    def jobs(*devices):
        return [Job("studies.mode_coverage", "out", Unit(Variant({}, {"i": i})), d) for i, d in enumerate(devices)]

    assert start_method(jobs("cuda", "cuda:1"), 1) == "spawn"
    assert start_method(jobs("cpu", "auto"), 1) == "spawn"  # auto may resolve to CUDA in the worker
    assert start_method(jobs("cpu", "cpu"), 2) == "spawn"  # a forked child hangs in torch's OpenMP pool
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert start_method(jobs("cpu", "cpu"), 1) == "spawn"  # another thread could hold a lock at the fork
    finally:
        stop.set()
        other.join()


def test_image_seeds_run_as_ray_tasks(ray_local, tmp_path):
    assert _one_thread(image_gan.main, [*IMG, "--seeds", "2", "--out", str(tmp_path / "serial")]) == 0
    assert image_gan.main([*IMG, "--seeds", "2", "--executor", "ray", "--out", str(tmp_path / "ray")]) == 0
    pd.testing.assert_frame_equal(_table(tmp_path / "ray", image_gan), _table(tmp_path / "serial", image_gan),
                                  check_exact=True)
    # one unit (Ray task) per seed, and one per draw of the real-vs-real reference
    assert len(list((tmp_path / "ray").glob("runs/*/part-*.part"))) == 2 + len(image_gan.REFERENCE_DRAWS)
    assert (tmp_path / "ray" / "samples_seed1.png").exists()


# ----------------------------------------------------------------------------- Ray on the loopback address
def _socket_inodes(pid: int) -> set[str]:
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(link[8:-1])
    except OSError:
        pass
    return out


def _ray_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ray" in cmd and ("gcs_server" in cmd or "raylet" in cmd or "ray::" in cmd or "default_worker" in cmd
                             or "dashboard" in cmd or "runtime_env" in cmd or "log_monitor" in cmd):
            pids.append(int(entry))
    return pids + [os.getpid()]


def _addr(hex_addr: str) -> str:
    host, _ = hex_addr.split(":")
    if len(host) == 8:
        return ".".join(str(int(host[i:i + 2], 16)) for i in (6, 4, 2, 0))
    words = [host[i:i + 8] for i in range(0, 32, 8)]
    if words[:2] == ["00000000", "00000000"] and words[2] == "FFFF0000":
        return "::ffff:" + _addr(words[3] + ":0")
    return "::1" if host == "00000000000000000000000001000000" else host


def _loopback(addr: str) -> bool:
    return addr.startswith("127.") or addr.startswith("::ffff:127.") or addr == "::1"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ray_listens_on_and_connects_to_the_loopback_address_only(ray_local):
    """Every TCP socket of the Ray processes (and of this driver) listens on, and connects to, 127.0.0.1 only."""
    ray_local.get(ray_local.remote(lambda: 1).remote())  # a worker is up
    inodes = set().union(*(_socket_inodes(p) for p in _ray_pids()))
    seen = bad = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[9] not in inodes:
                continue
            local, remote, state = _addr(f[1]), _addr(f[2]), f[3]
            seen += 1
            if state == "0A":  # LISTEN
                bad += not _loopback(local)
            elif state == "01":  # ESTABLISHED
                bad += not (_loopback(local) and _loopback(remote))
    assert seen >= 3, "found no Ray sockets to check"
    assert bad == 0


# ----------------------------------------------------------------------------- killed worker, killed driver
def test_killed_ray_worker_is_retried_and_resumes_from_its_checkpoint(ray_local, tmp_path):
    argv = [*MC[:MC.index("--epochs")], "--epochs", "40", "--eval-every", "10", "--checkpoint-every", "1",
            "--n-train", "2560", "--g-width", "16", "--d-width", "16", "--depth", "2", "--n-eval", "500"]
    argv = [a for i, a in enumerate(argv) if not (a == "0.999" and argv[i - 1] == "0.99")]  # one β2: one unit
    done = {}
    driver = threading.Thread(target=lambda: done.update(
        rc=mode_coverage.main([*argv, "--executor", "ray", "--out", str(tmp_path / "ray")])))
    driver.start()
    deadline, killed = time.monotonic() + 240, None
    while time.monotonic() < deadline and driver.is_alive() and killed is None:
        ckpts = list((tmp_path / "ray").glob("runs/*/ckpt-*.pt"))
        claims = list((tmp_path / "ray").glob("runs/*/claim-*.lock"))
        if ckpts and claims:
            holder = claims[0].read_text().split()
            if holder:
                killed = int(holder[1])
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.005)
    driver.join(timeout=600)
    assert killed is not None and killed != os.getpid(), "the unit finished before a checkpoint could be killed"
    assert done.get("rc") == 0
    [part] = list((tmp_path / "ray").glob("runs/*/part-*.part"))
    prov = read_sealed_header(part, "part")["provenance"]
    assert prov["resumed_from"] and prov["pid"] != killed  # the retried task resumed from the checkpoint
    assert _one_thread(mode_coverage.main, [*argv, "--out", str(tmp_path / "straight")]) == 0
    pd.testing.assert_frame_equal(_table(tmp_path / "ray", mode_coverage),
                                  _table(tmp_path / "straight", mode_coverage), check_exact=True)


@pytest.mark.slow
@pytest.mark.parametrize("device, method", [("cpu", "fork"), ("auto", "spawn")])
def test_pool_workers_die_with_a_killed_driver(tmp_path, device, method):
    """SIGKILL of a --jobs 2 driver ends its workers (they used to keep training and writing), forked (one CPU
    thread each, as ``make figures`` runs) or spawned (their command line says which)."""
    # 2,000 epochs: the run is interrupted at its first checkpoint, and must not be able to finish first (with 200 a
    # loaded machine once let the whole run end before the poll below saw a checkpoint)
    args = ["studies.mode_coverage", *MC[:MC.index("--epochs")], "--epochs", "2000", "--checkpoint-every", "1",
            "--n-train", "1280", "--g-width", "16", "--d-width", "16", "--depth", "2", "--n-eval", "200",
            "--jobs", "2", "--device", device, "--out", str(tmp_path)]
    proc = _subprocess(args)
    deadline, workers = time.monotonic() + 240, set()
    while time.monotonic() < deadline and len(workers) < 2 and proc.poll() is None:
        for claim in tmp_path.glob("runs/*/claim-*.lock"):
            holder = claim.read_text().split()
            if holder:
                workers.add(int(holder[1]))
        time.sleep(0.05)
    assert len(workers) == 2 and proc.pid not in workers, proc.stderr.read() if proc.poll() is not None else ""
    spawned = {w: b"spawn_main" in Path(f"/proc/{w}/cmdline").read_bytes() for w in workers}
    assert set(spawned.values()) == {method == "spawn"}, spawned
    proc.kill()
    proc.wait(timeout=60)
    deadline = time.monotonic() + 20
    alive = set(workers)
    while alive and time.monotonic() < deadline:
        alive = {w for w in alive if Path(f"/proc/{w}").exists() and "Z" not in _proc_state(w)}
        time.sleep(0.1)
    assert not alive, f"workers {alive} outlived their driver"


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "X"


@pytest.mark.slow
@pytest.mark.parametrize("sig, executor, running, status, words", [
    (signal.SIGINT, ["--jobs", "1"], 1, engine.EXIT_INTERRUPTED, "interrupted"),
    (signal.SIGTERM, ["--jobs", "1"], 1, engine.EXIT_TERMINATED, "terminated (SIGTERM)"),
    (signal.SIGTERM, ["--jobs", "2"], 2, engine.EXIT_TERMINATED, "terminated (SIGTERM)"),
    (signal.SIGTERM, ["--executor", "ray", "--cpus-per-job", "0.5"], 2, engine.EXIT_TERMINATED,
     "terminated (SIGTERM)")])
def test_a_stop_signal_ends_the_run_with_one_line(tmp_path, sig, executor, running, status, words):
    """Ctrl-C, or SIGTERM to the driver (``kill PID``: how a driver started in the background by a non-interactive
    shell is stopped, as SIGINT is ignored there), ends the run with one line and no traceback, whichever executor
    runs the units (in the driver, pool workers, Ray tasks); the processes that ran them end with it and the
    checkpoints stay (before, SIGTERM ended the driver without a word)."""
    args = ["studies.mode_coverage", *MC[:MC.index("--epochs")], "--epochs", "2000", "--checkpoint-every", "1",
            "--n-train", "1280", "--g-width", "16", "--d-width", "16", "--depth", "2", "--n-eval", "200",
            *executor, "--device", "cpu", "--out", str(tmp_path)]
    proc = _subprocess(args)
    deadline = time.monotonic() + 240
    while (time.monotonic() < deadline and proc.poll() is None
           and len(list(tmp_path.glob("runs/*/ckpt-*.pt"))) < running):
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    holders = {int(held[1]) for c in tmp_path.glob("runs/*/claim-*.lock") if (held := c.read_text().split())}
    assert len(holders) == running and (running == 1) == (holders == {proc.pid}), holders
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"{words}: 0 units finished and stored; rerun the same command to resume"
    assert len(list(tmp_path.glob("runs/*/ckpt-*.pt"))) == running
    deadline = time.monotonic() + 30  # they end with the pool or the Ray instance, at the latest with their parent
    while (alive := {w for w in holders if Path(f"/proc/{w}").exists() and "Z" not in _proc_state(w)}) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive


# ----------------------------------------------------------------------------- two drivers, one directory
@pytest.mark.slow
def test_two_drivers_share_the_work_and_write_the_same_table(tmp_path):
    args = ["studies.mode_coverage", *MC, "--seed-batch", "1", "--out", str(tmp_path / "two")]
    a, b = _subprocess(args), _subprocess(args)
    (out_a, err_a), (out_b, err_b) = a.communicate(timeout=600), b.communicate(timeout=600)
    assert a.returncode == 0 and b.returncode == 0, err_a + err_b
    trained = [int(o.split("configurations; ")[1].split()[0]) for o in (out_a, out_b)]
    assert sum(trained) == 4, (trained, out_a, out_b)  # 2 β2 × 2 seeds, each unit trained exactly once
    assert _one_thread(mode_coverage.main, [*MC, "--seed-batch", "1", "--out", str(tmp_path / "one")]) == 0
    pd.testing.assert_frame_equal(_table(tmp_path / "two", mode_coverage), _table(tmp_path / "one", mode_coverage),
                                  check_exact=True)


# ----------------------------------------------------------------------------- damaged store files
def _flip(path: Path, offset_from_end: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0xFF
    path.write_bytes(bytes(data))


def _edit_a_value(path: Path) -> None:
    text = path.read_bytes().decode()
    head, _, rest = text.partition("\n")
    head2, _, body = rest.partition("\n")
    lines = body.splitlines()
    i = max(i for i, line in enumerate(lines) if line.rsplit(",", 1)[-1].strip())  # a row whose value is not empty
    fields = lines[i].split(",")
    fields[-1] = str(float(fields[-1]) + 1.0)
    lines[i] = ",".join(fields)
    path.write_text(head + "\n" + head2 + "\n" + "\n".join(lines) + "\n")


def _interrupt_after_first_checkpoint(monkeypatch, out: Path) -> None:
    """Train the tiny run until its first unit has a checkpoint, then stop it (Ctrl-C)."""
    import toy.train

    real = toy.train.ToyTrainer.epoch

    def epoch(self, e, bar=None):
        if e == 1 and self.seeds == [0, 1]:
            raise KeyboardInterrupt
        return real(self, e, bar)

    monkeypatch.setattr(toy.train.ToyTrainer, "epoch", epoch)
    assert _one_thread(mode_coverage.main, [*MC, "--epochs", "3", "--checkpoint-every", "1", "--out", str(out)]) \
        == engine.EXIT_INTERRUPTED
    monkeypatch.undo()
    assert len(list(out.glob("runs/*/ckpt-*.pt"))) == 1


@pytest.mark.parametrize("damage", ["truncated part", "edited value", "flipped checkpoint", "foreign checkpoint"])
def test_damaged_parts_and_checkpoints_are_moved_aside_and_recomputed(tmp_path, monkeypatch, capsys, damage):
    argv = [*MC, "--epochs", "3", "--checkpoint-every", "1"]
    clean = tmp_path / "clean"
    assert _one_thread(mode_coverage.main, [*argv, "--out", str(clean)]) == 0
    out = tmp_path / "damaged"
    if damage in ("truncated part", "edited value"):
        assert _one_thread(mode_coverage.main, [*argv, "--out", str(out)]) == 0
        victim = sorted(out.glob("runs/*/part-*.part"))[0]
        if damage == "truncated part":
            victim.write_bytes(victim.read_bytes()[:-200])
        else:
            _edit_a_value(victim)
        reason = "truncated" if damage == "truncated part" else "altered"
    else:
        _interrupt_after_first_checkpoint(monkeypatch, out)
        [victim] = list(out.glob("runs/*/ckpt-*.pt"))
        if damage == "flipped checkpoint":
            _flip(victim)
            reason = "altered"
        else:  # the checkpoint of another configuration under this unit's name
            keys = [v.key for v in engine.parse(mode_coverage.STUDY, argv).config.variants()]
            other = out / "runs" / next(k for k in keys if k != victim.parent.name)
            other.mkdir(parents=True, exist_ok=True)
            victim.rename(other / victim.name)
            victim = other / victim.name
            reason = "belongs to another run"
    capsys.readouterr()
    assert _one_thread(mode_coverage.main, [*argv, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    moved = [line for line in err.splitlines() if "moved aside" in line and "its part was moved aside" not in line]
    assert len(moved) == 1 and victim.name in moved[0] and reason in moved[0], err
    assert list((out / "runs" / "quarantine").iterdir())  # kept, not deleted
    pd.testing.assert_frame_equal(_table(out, mode_coverage), _table(clean, mode_coverage), check_exact=True)


# ----------------------------------------------------------------------------- command-line errors before any work
@pytest.mark.parametrize("where, words", [
    ("file", "cannot write there"), ("/proc/distmatch-out", "cannot write there")])
def test_unwritable_output_directories_are_refused_before_any_work(tmp_path, capsys, where, words):
    if where == "file":
        (tmp_path / "a-file").write_text("x")
        where = str(tmp_path / "a-file" / "out")
    with pytest.raises(SystemExit) as exc:
        mode_coverage.main([*MC, "--out", where])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert words in err.strip().splitlines()[-1] and "Traceback" not in err
    assert "runs (" not in err  # refused before planning: no start line


def test_a_request_too_large_to_plan_is_a_command_line_error(tmp_path, capsys):
    out = tmp_path / "results" / "never-written"
    with pytest.raises(SystemExit) as exc:
        mode_coverage.main([*MC, "--seeds", "1000000000", "--out", str(out)])
    assert exc.value.code == 2
    assert "split the seeds over several runs" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()  # a refused request leaves no empty output directory behind


def test_an_unwritable_output_directory_leaves_nothing_it_created(tmp_path, monkeypatch, capsys):
    def full_disk(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine, "write_atomic", full_disk)  # the probe file cannot be written
    with pytest.raises(SystemExit) as exc:
        mode_coverage.main([*MC, "--out", str(tmp_path / "a" / "b")])
    assert exc.value.code == 2 and "No space left on device" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()  # the directories made for the check are gone again


def test_store_units_hash_by_key_and_seeds():
    cfg = engine.parse(mode_coverage.STUDY, MC).config
    v = cfg.variants()
    from studies.store import Unit

    assert Unit(v[0], (0, 1)) == Unit(v[0], [0, 1]) != Unit(v[1], (0, 1))
    assert len({Unit(v[0], (0, 1)), Unit(v[0], (0, 1)), Unit(v[0], (2,))}) == 2
    assert RunStore("x").part_path(Unit(v[0], (0, 1))).name.startswith("part-")


def test_a_study_with_stages_runs_the_followup_and_reuses_both(tmp_path, capsys):
    from tests.studies import staged_study

    assert staged_study.main(["--out", str(tmp_path)]) == 0
    t = pd.read_csv(tmp_path / "staged.csv")
    assert list(t.stage) == ["search"] * 3 + ["best"] * 2
    best = t[t.stage == "best"]
    assert set(best.x) == {2} and list(best.seed) == [100, 101]  # the search's best point, on new seeds
    runs = json.loads((tmp_path / "run.json").read_text())["runs"]
    assert runs["requested"] == 5 and runs["computed_in_this_invocation"] == 5
    capsys.readouterr()
    meta = (tmp_path / "run.json").read_text()
    assert staged_study.main(["--out", str(tmp_path)]) == 0  # both stages reused
    err = capsys.readouterr().err
    assert "3 reused, 0 resume, 0 new" in err and "2 reused, 0 resume, 0 new" in err  # one line per stage
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "staged.csv"), t)
    assert (tmp_path / "run.json").read_text() == meta  # identical numbers: the original provenance is kept


def test_a_rerun_with_identical_numbers_keeps_run_json_and_the_figures(tmp_path, capsys):
    """Regenerating a result that comes out bit for bit the same (from the store, or recomputed) leaves every file
    as it was, so regenerating committed results leaves the checkout clean; a different table gets a new run.json."""
    from studies import alpha_sweep

    argv = ["--out", str(tmp_path), "--n-alpha", "5", "--dpi", "30"]
    assert alpha_sweep.main(argv) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    import shutil

    shutil.rmtree(tmp_path / "runs")  # recomputed from scratch
    assert alpha_sweep.main(argv) == 0
    assert "identical to those run.json records: kept run.json" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert alpha_sweep.main(["--out", str(tmp_path), "--n-alpha", "6", "--dpi", "30"]) == 0
    assert (tmp_path / "run.json").read_bytes() != before["run.json"]


def test_a_training_study_regenerated_from_scratch_leaves_every_file_as_it_was(tmp_path, capsys):
    """`make figures` on the machine that made the committed results must leave the checkout clean: a training study
    recomputed from an empty store (same seeds, same thread count) writes the same table, arrays, figures, captions
    and run.json, byte for byte."""
    import shutil

    argv = [*MC, "--out", str(tmp_path)]
    assert _one_thread(mode_coverage.main, argv) == 0
    files = lambda: {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*")
                     if p.is_file() and "runs" not in p.relative_to(tmp_path).parts}
    before = files()
    assert any(p.suffix == ".png" for p in before) and any(p.suffix == ".md" for p in before)
    shutil.rmtree(tmp_path / "runs")
    capsys.readouterr()
    assert _one_thread(mode_coverage.main, argv) == 0
    assert "0 reused, 0 resume" in capsys.readouterr().err  # really recomputed
    assert files() == before


def test_a_record_without_a_later_default_field_is_still_the_same_config(tmp_path):
    """A run.json written before an option existed records no value for it: with the option at its default the
    numbers are the same config's (kept); at another value they are not."""
    import dataclasses
    import json

    from studies.engine import _recorded

    @dataclasses.dataclass(frozen=True)
    class Cfg:
        lr: float = 1e-3
        schedule: str = "constant"

    files = {"t.csv": {"bytes": 1, "sha256": "x"}}
    (tmp_path / "run.json").write_text(json.dumps({"files": files, "config": {"lr": 1e-3}}))
    assert _recorded(tmp_path, files, Cfg())
    assert not _recorded(tmp_path, files, Cfg(schedule="cosine"))
    assert not _recorded(tmp_path, files, Cfg(lr=2e-3))
    assert not _recorded(tmp_path, {"t.csv": {"bytes": 2, "sha256": "y"}}, Cfg())
    (tmp_path / "run.json").write_text(json.dumps({"files": files, "config": {"lr": 1e-3, "gone": 1}}))
    assert not _recorded(tmp_path, files, Cfg())  # a field the config no longer has: another config


def test_adopt_extends_a_saved_table_whose_store_is_gone(tmp_path, capsys):
    """A fresh checkout holds a study's committed table, arrays and run.json but no store: ``--adopt`` turns the saved
    runs into parts (none of them is trained again), trains only the new seeds, and writes the table and arrays that
    extending the study with its store intact writes; run.json and each adopted part name the run they came from."""
    import shutil

    import numpy as np

    a, b = tmp_path / "a", tmp_path / "b"
    more = [*MC, "--seeds", "3"]
    for out in (a, b):
        assert _one_thread(mode_coverage.main, [*MC, "--out", str(out)]) == 0
    revision = json.loads((a / "run.json").read_text())["git_revision"]
    shutil.rmtree(a / "runs")
    capsys.readouterr()
    assert _one_thread(mode_coverage.main, [*more, "--adopt", "--out", str(a)]) == 0
    err = capsys.readouterr().err
    assert "adopted 4 runs from the saved" in err and "4 reused, 0 resume, 2 new" in err
    assert _one_thread(mode_coverage.main, [*more, "--out", str(b)]) == 0  # the same extension, store intact
    pd.testing.assert_frame_equal(_table(a, mode_coverage), _table(b, mode_coverage), check_exact=True)
    with np.load(a / mode_coverage.STUDY.arrays_file) as za, np.load(b / mode_coverage.STUDY.arrays_file) as zb:
        assert sorted(za.files) == sorted(zb.files) and all(np.array_equal(za[k], zb[k]) for k in za.files)
    meta = json.loads((a / "run.json").read_text())
    assert meta["runs"]["computed_in_this_invocation"] == 2 and meta["runs"]["reused_from_earlier_invocations"] == 4
    assert meta["extra"]["adopted"]["runs"] == 4 and meta["extra"]["adopted"]["from"]["git_revision"] == revision
    origins = [read_sealed_header(p, "part").get("provenance", {}).get("adopted_from") for p in a.glob("runs/*/part-*.part")]
    assert sum(o is not None for o in origins) == 2  # one adopted part per configuration, beside the 2 new ones
    compute = meta["extra"]["compute"]  # per configuration: the new part trained here, the adopted one named
    assert len(compute) == 2 and all(c["parts"] == 2 and c["adopted_from"] == [revision] and c["wall_time_s"] > 0
                                     and c["devices"] == ["cpu"] for c in compute.values())
    # a second generation: the extended table adopted in turn keeps the cost recorded so far, plus the new seed's
    shutil.rmtree(a / "runs")
    assert _one_thread(mode_coverage.main, [*MC, "--seeds", "4", "--adopt", "--out", str(a)]) == 0
    walls = {}
    for part in a.glob("runs/*/part-*.part"):
        head = read_sealed_header(part, "part")
        if "adopted_from" not in head["provenance"]:
            walls[head["config_key"]] = head["provenance"]["wall_time_s"]
    later = json.loads((a / "run.json").read_text())["extra"]["compute"]
    assert len(walls) == 2 and later.keys() == compute.keys()
    assert sorted(round(later[t]["wall_time_s"] - compute[t]["wall_time_s"], 3) for t in later) == \
        pytest.approx(sorted(walls.values()), abs=2e-3)
    assert all(c["adopted_from"] == [revision] and c["parts"] == 2 and c["devices"] == ["cpu"] for c in later.values())


@pytest.mark.parametrize("damage, words", [
    ("edit", "is not the file run.json records"), ("fresh", "cannot be combined with --fresh"),
    ("none", "does not record")])
def test_adopt_refuses_a_saved_table_it_cannot_trust(tmp_path, capsys, damage, words):
    """--adopt exits 2 with one line when the saved table is not the one run.json records, when there is no saved
    run, and together with --fresh; nothing is trained."""
    out = tmp_path / "o"
    if damage != "none":
        assert _one_thread(mode_coverage.main, [*MC, "--out", str(out)]) == 0
    if damage == "edit":
        _edit_a_value(out / mode_coverage.TABLE)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        mode_coverage.main([*MC, "--adopt", "--out", str(out), *(["--fresh"] if damage == "fresh" else [])])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert words in err[-1] and "Traceback" not in "\n".join(err)


def test_partial_writes_the_stored_runs_and_a_later_adopt_completes_them(tmp_path, capsys):
    """A long run committed between sessions: --partial trains nothing and writes the table of the runs stored so
    far, run.json saying how many of the requested ones it holds; on a fresh checkout (no store), --adopt takes
    them over and trains only the rest, and the table equals the one the whole request writes with its store."""
    import shutil

    a, b = tmp_path / "a", tmp_path / "b"
    more = [*MC, "--seeds", "3"]
    for out in (a, b):
        assert _one_thread(mode_coverage.main, [*MC, "--out", str(out)]) == 0
    capsys.readouterr()
    assert _one_thread(mode_coverage.main, [*more, "--partial", "--out", str(a)]) == 0
    captured = capsys.readouterr()
    assert "none is trained now" in captured.err and "the table holds 4 of the 6 requested runs" in captured.out
    assert set(_table(a, mode_coverage).seed) == {0, 1}
    meta = json.loads((a / "run.json").read_text())
    assert meta["extra"]["partial"] == {"requested": 6, "in_table": 4} and meta["runs"]["requested"] == 4
    assert meta["runs"]["computed_in_this_invocation"] == 0
    shutil.rmtree(a / "runs")  # a fresh checkout
    assert _one_thread(mode_coverage.main, [*more, "--adopt", "--out", str(a)]) == 0
    assert "2 new" in capsys.readouterr().err
    assert _one_thread(mode_coverage.main, [*more, "--out", str(b)]) == 0
    pd.testing.assert_frame_equal(_table(a, mode_coverage), _table(b, mode_coverage), check_exact=True)
    assert "partial" not in json.loads((a / "run.json").read_text())["extra"]
    with pytest.raises(SystemExit) as exc:
        mode_coverage.main([*MC, "--partial", "--fresh", "--out", str(a)])
    assert exc.value.code == 2
    assert _one_thread(mode_coverage.main, [*MC, "--partial", "--out", str(tmp_path / "empty")]) == 1
    assert "no run of this request is stored" in capsys.readouterr().err
