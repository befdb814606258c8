"""Whether two runs of a study wrote the same long table apart from renamed keys.

    python -m benchmarks.table_diff OLD_DIR NEW_DIR [--table mode_coverage.csv ...] [--label loss]

A refactoring may rename what a table calls things (its configuration keys, the spelling of a loss) without changing
a single number. For each table file present in both directories this says, cell for cell:

* the ``config_key`` column is dropped (it hashes the configuration's field names and defaults, which a refactoring
  renames); columns and metrics only one side has are listed and left out;
* the rows are grouped by the ``--label`` column (default ``loss``); an old label matches a new one when their rows,
  label aside, are equal exactly (same rows, same values, bit for bit), a new label not yet matched preferred. The
  mapping is printed, so a reader can check that each old name went to its new spelling;
* verdict ``equal apart from renamed keys`` when every old label matches and both sides have the same number of
  rows, else the old labels without an exact match.

Exit status 0 when every table is equal apart from renamed keys, 1 otherwise, 2 for a bad argument.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

DROPPED = ("config_key",)
"""Columns that name a configuration rather than measure it."""


@dataclass
class TableDiff:
    """The comparison of one table: columns and metrics only one side has, the label mapping, and the verdict."""

    name: str
    shapes: tuple[tuple[int, int], tuple[int, int]]
    only_old: list[str] = field(default_factory=list)
    only_new: list[str] = field(default_factory=list)
    metrics_only_old: list[str] = field(default_factory=list)
    metrics_only_new: list[str] = field(default_factory=list)
    mapping: dict[str, str | None] = field(default_factory=dict)
    rows_compared: tuple[int, int] = (0, 0)

    @property
    def equal(self) -> bool:
        """Every old label matched a new one exactly, and the compared rows are as many on both sides."""
        return all(v is not None for v in self.mapping.values()) and self.rows_compared[0] == self.rows_compared[1]

    def text(self) -> str:
        """A few lines for a terminal or a note."""
        (ro, co), (rn, cn) = self.shapes
        lines = [f"{self.name}: old {ro} rows × {co} columns, new {rn} × {cn}; compared {self.rows_compared[0]} "
                 f"old rows against {self.rows_compared[1]} new ones"]
        for what, old, new in (("columns", self.only_old, self.only_new),
                               ("metrics", self.metrics_only_old, self.metrics_only_new)):
            if old or new:
                lines.append(f"  {what} only old: {old or '-'}; only new: {new or '-'} (left out)")
        for old, new in self.mapping.items():
            lines.append(f"  {old} -> {new if new is not None else 'NO EXACT MATCH'}")
        lines.append("  " + ("equal apart from renamed keys" if self.equal else
                             f"differs: {sum(v is None for v in self.mapping.values())} of {len(self.mapping)} "
                             "labels have no exact match" + ("" if self.rows_compared[0] == self.rows_compared[1]
                                                             else ", and the row counts differ")))
        return "\n".join(lines)


def _rows(frame: pd.DataFrame, label: str, value, keys: list[str]) -> pd.DataFrame:
    part = frame[frame[label] == value].drop(columns=label)
    return part.sort_values(keys, kind="mergesort").reset_index(drop=True)


def compare(old: pd.DataFrame, new: pd.DataFrame, name: str = "table", label: str = "loss") -> TableDiff:
    """Compare two long tables apart from renamed keys (module docstring). ``label`` must be a column of both."""
    for side, frame in (("old", old), ("new", new)):
        if label not in frame.columns:
            raise ValueError(f"label: the {side} table {name} has no column {label!r}; columns are "
                             f"{list(frame.columns)}")
    diff = TableDiff(name, (old.shape, new.shape))
    old, new = old.drop(columns=[c for c in DROPPED if c in old]), new.drop(columns=[c for c in DROPPED if c in new])
    diff.only_old = sorted(set(old.columns) - set(new.columns))
    diff.only_new = sorted(set(new.columns) - set(old.columns))
    common = [c for c in old.columns if c in new.columns]
    old, new = old[common], new[common]
    if "metric" in old.columns:
        mo, mn = set(old.metric), set(new.metric)
        diff.metrics_only_old, diff.metrics_only_new = sorted(mo - mn), sorted(mn - mo)
        old, new = old[old.metric.isin(mo & mn)], new[new.metric.isin(mo & mn)]
    diff.rows_compared = (len(old), len(new))
    keys = [c for c in old.columns if c != label]
    candidates = {v: _rows(new, label, v, keys) for v in dict.fromkeys(new[label])}
    used: set = set()
    for value in dict.fromkeys(old[label]):
        mine = _rows(old, label, value, keys)
        same = [v for v, rows in candidates.items() if rows.shape == mine.shape and rows.equals(mine)]
        match = next((v for v in same if v not in used), same[0] if same else None)
        diff.mapping[str(value)] = None if match is None else str(match)
        used.add(match)
    return diff


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.table_diff", description=__doc__.split("\n")[0])
    ap.add_argument("old", type=Path, help="the output directory of the earlier run")
    ap.add_argument("new", type=Path, help="the output directory of the later run")
    ap.add_argument("--table", nargs="+", default=None,
                    help="table files to compare (default: every *.csv with a --label column present in both)")
    ap.add_argument("--label", default="loss", help="the column whose values may have been renamed (default loss)")
    args = ap.parse_args(argv)
    for d in (args.old, args.new):
        if not d.is_dir():
            ap.error(f"{d}: not a directory")
    names = args.table or sorted(p.name for p in args.old.glob("*.csv") if (args.new / p.name).exists())
    diffs = []
    for table in names:
        paths = [args.old / table, args.new / table]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            ap.error(f"--table {table}: not found: {', '.join(missing)}")
        old, new = (pd.read_csv(p) for p in paths)
        if args.table is None and not (args.label in old.columns and args.label in new.columns):
            continue
        try:
            diffs.append(compare(old, new, table, args.label))
        except ValueError as exc:
            ap.error(str(exc))
    if not diffs:
        ap.error(f"no table with a {args.label!r} column is in both {args.old} and {args.new}")
    print("\n".join(d.text() for d in diffs))
    return 0 if all(d.equal for d in diffs) else 1


if __name__ == "__main__":
    sys.exit(main())
