"""benchmarks.quick_studies: paired whole-command timing and its report; bad options are one-line errors."""

from __future__ import annotations

import sys

import pytest

from benchmarks import quick_studies as qs


def test_paired_runs_alternate_and_time_each_command(tmp_path):
    seen = []
    cmd = lambda label: [sys.executable, "-c", f"import time; time.sleep(0.05); print({label!r})"]
    out = qs.paired({"A": (cmd("A"), tmp_path), "B": (cmd("B"), tmp_path)}, pairs=2, log=seen.append)
    assert [len(out["A"]), len(out["B"])] == [2, 2]
    assert [s.split(",")[1].strip().split(":")[0] for s in seen] == ["A", "B", "A", "B"]  # in turn
    assert all(t.wall_s >= 0.05 and t.cpu_s > 0 for ts in out.values() for t in ts)


def test_a_failing_command_names_itself_its_status_and_its_last_line(tmp_path):
    with pytest.raises(RuntimeError, match=r"exited 3: no table"):
        qs.run_timed([sys.executable, "-c", "import sys; print('no table', file=sys.stderr); sys.exit(3)"], tmp_path)


def test_report_gives_medians_and_pairwise_ratios():
    t = lambda w, c: qs.Timing(w, c)
    results = {"mode_coverage": {"A": [t(10, 20), t(12, 22), t(11, 21)], "B": [t(10, 20), t(10, 20), t(10, 20)]}}
    text = qs.report(results, "a" * 40, "b" * 40, 2, (0.5, 1.0))
    row = next(line for line in text.splitlines() if line.startswith("| mode_coverage"))
    assert "| 11.0 s | 10.0 s | 1.100 (1.000–1.200) | 21.0 s | 20.0 s | 1.050 (1.000–1.100) |" in row
    assert "--baseline bbbbbbb --pairs 3 --jobs 2" in text and "at start 0.50, at end 1.00" in text


@pytest.mark.parametrize("argv, words", [
    (["--baseline", "no-such-revision-xyz"], "git does not know the revision 'no-such-revision-xyz'"),
    (["--baseline", "HEAD", "--pairs", "0"], "must be a positive integer; got 0"),
    (["--baseline", "HEAD", "--studies", "alpha_sweep"], "invalid choice: 'alpha_sweep'")])
def test_bad_options_exit_2_with_one_line(capsys, argv, words):
    with pytest.raises(SystemExit) as exc:
        qs.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert words in err[-1] and "Traceback" not in "\n".join(err)
