"""benchmarks.table_diff: equal apart from renamed keys, or which labels differ; bad arguments are one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks import table_diff as td


def _table(names: dict[str, str], keys: dict[str, str], seed: int = 0) -> pd.DataFrame:
    """A long table: per loss (renamed by ``names``) 2 seeds × 3 epochs × 2 metrics of random values."""
    rng = np.random.default_rng(seed)
    rows = []
    for loss in ("ns", "ad0.3-1", "fgan-kl"):
        values = rng.normal(size=12)
        rows += [{"loss": names.get(loss, loss), "config_key": keys.get(loss, loss * 2), "seed": s, "epoch": e,
                  "metric": m, "value": values[6 * s + 2 * e + i]}
                 for s in range(2) for e in range(3) for i, m in enumerate(("modes", "hq"))]
    return pd.DataFrame(rows)


RENAMED = {"ad0.3-1": "alpha_d_alpha_g:alpha_d=0.3,alpha_g=1", "fgan-kl": "fgan_kl"}


def test_renamed_labels_and_keys_in_another_row_order_are_equal():
    old = _table({}, {})
    new = _table(RENAMED, {"ns": "k1", "ad0.3-1": "k2", "fgan-kl": "k3"}).sample(frac=1.0, random_state=1)
    diff = td.compare(old, new, "t.csv")
    assert diff.equal and diff.mapping == {"ns": "ns", **RENAMED}
    assert "equal apart from renamed keys" in diff.text()


def test_one_changed_value_leaves_its_label_unmatched():
    old, new = _table({}, {}), _table(RENAMED, {})
    new.loc[(new.loss == "fgan_kl") & (new.seed == 1) & (new.epoch == 2) & (new.metric == "hq"), "value"] += 1e-15
    diff = td.compare(old, new)
    assert not diff.equal and diff.mapping["fgan-kl"] is None and diff.mapping["ns"] == "ns"
    assert "1 of 3 labels have no exact match" in diff.text()


def test_two_labels_with_the_same_rows_map_to_different_new_names():
    """The lecture notes' check (α_D, α_G) = (1, 1) is NS: each old name goes to its own new one where it can."""
    old = _table({}, {})
    old = pd.concat([old, old[old.loss == "ns"].assign(loss="ad1-1")])
    new = _table(RENAMED, {})
    new = pd.concat([new, new[new.loss == "ns"].assign(loss="alpha_d_alpha_g:alpha_d=1,alpha_g=1")])
    diff = td.compare(old, new)
    assert diff.equal and diff.mapping["ad1-1"] == "alpha_d_alpha_g:alpha_d=1,alpha_g=1"


def test_columns_and_metrics_of_one_side_are_left_out_and_listed():
    old = _table({}, {})
    new = _table(RENAMED, {}).assign(mode_rule="welfert")
    extra = new[new.metric == "hq"].assign(metric="diverged_at", value=-1.0)
    diff = td.compare(old, pd.concat([new, extra]))
    assert diff.equal and diff.only_new == ["mode_rule"] and diff.metrics_only_new == ["diverged_at"]
    assert "only new: ['mode_rule']" in diff.text()


def test_extra_rows_of_a_matched_label_are_a_difference():
    old, new = _table({}, {}), _table(RENAMED, {})
    more = new[(new.loss == "ns") & (new.epoch == 2)].assign(epoch=3)
    diff = td.compare(old, pd.concat([new, more]))
    assert not diff.equal and diff.mapping["ns"] is None


def test_command_line_exit_status_and_one_line_errors(tmp_path, capsys):
    for side, frame in (("a", _table({}, {})), ("b", _table(RENAMED, {}))):
        (tmp_path / side).mkdir()
        frame.to_csv(tmp_path / side / "study.csv", index=False)
    assert td.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "equal apart from renamed keys" in capsys.readouterr().out
    _table({}, {}, seed=1).to_csv(tmp_path / "b" / "study.csv", index=False)
    assert td.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    for argv, words in (([str(tmp_path / "nowhere"), str(tmp_path / "b")], "not a directory"),
                        ([str(tmp_path / "a"), str(tmp_path / "b"), "--table", "other.csv"], "not found"),
                        ([str(tmp_path / "a"), str(tmp_path / "b"), "--label", "problem"], "no table with a 'problem'"),
                        ([str(tmp_path / "a"), str(tmp_path / "b"), "--table", "study.csv", "--label", "problem"],
                         "has no column 'problem'")):
        with pytest.raises(SystemExit) as exc:
            td.main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert words in err[-1] and not any("Traceback" in line for line in err)
