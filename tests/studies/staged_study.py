"""A tiny torch-free study with two stages, for the engine's tests (not a study of the project: it lives in tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from studies.engine import Study, run_study
from studies.store import Variant


@dataclass(frozen=True)
class StagedConfig:
    xs: tuple[int, ...] = field(default=(1, 2, 3), metadata={"help": "first-stage points"})


class Staged(Study):
    """Stage 1: f(x) = (x − 2)² at each x; stage 2: the best x re-run on seeds 100, 101 (rows carry the seed)."""

    name = "staged"
    description = "two-stage test study"
    config_cls = StagedConfig
    table = "staged.csv"
    key_column = "config_key"
    uses_torch = False

    def variants(self, cfg: StagedConfig) -> list[Variant]:
        return [Variant({"stage": "search", "x": x}, {"x": x}, seeds=(0,)) for x in cfg.xs]

    def followup(self, cfg: StagedConfig, table: pd.DataFrame) -> list[Variant]:
        search = table[table.stage == "search"]
        best = int(search.loc[search.value.idxmin(), "x"])
        return [Variant({"stage": "best", "x": best}, {"x": best, "stage": "best"}, seeds=(100, 101))]

    def run_unit(self, unit, ctx) -> list[dict]:
        x = unit.variant.config["x"]
        return [{"seed": s, "metric": "f", "value": float((x - 2) ** 2 + s / 1000)} for s in unit.seeds]


STUDY = Staged()


def main(argv=None) -> int:
    return run_study("tests.studies.staged_study", argv)
