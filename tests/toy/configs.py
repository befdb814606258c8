"""Building toy configs in tests: flat keyword arguments, as the tests write them, routed to ``ToyConfig`` fields and to
its ``options`` (:class:`gan.regularizers.TrainOptions`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from gan.regularizers import TrainOptions
from toy.train import ToyConfig

OPTION_FIELDS = {f.name for f in dataclasses.fields(TrainOptions)}


def toy_config(base: ToyConfig | None = None, **kw: Any) -> ToyConfig:
    """``base`` (or the default ToyConfig) with ``kw`` applied: TrainOptions field names (lr_d, n_dis, penalty, ...)
    go into ``options``, the rest are ToyConfig fields."""
    base = ToyConfig() if base is None else base
    opts = {k: kw.pop(k) for k in list(kw) if k in OPTION_FIELDS}
    if opts:
        kw["options"] = dataclasses.replace(base.options, **opts)
    return dataclasses.replace(base, **kw)


FEATURE_MATCHING = {"g_objective": "feature_matching"}
"""The config fields of the feature-matching generator objective."""


def unrolled(steps: int, lr: float | None = None) -> dict:
    """The config fields of an unrolled-D generator objective with ``steps`` look-ahead steps (rate ``lr``)."""
    return {"g_objective": "unrolled", "g_objective_params": {"steps": steps, **({"lr": lr} if lr else {})}}
