"""The registry of two-sample feature metrics and :func:`compute_metrics`.

Every entry of :data:`METRICS` is a callable ``metric(real_features, fake_features, **options) -> float``.
Metrics that come out of one computation (precision and recall; density and coverage; KID's mean
and std) share a ``group``, which :func:`compute_metrics` evaluates once.

| name | group (function) | default protocol |
|---|---|---|
| fid | :func:`fid` | Heusel et al. 2017 |
| kid, kid_std | :func:`kid` | 100 subsets of 1,000 (Bińkowski et al. 2018) |
| precision, recall | :func:`precision_recall` | k = 3 (Kynkäänniemi et al. 2019) |
| density, coverage | :func:`density_coverage` | k = 5 (Naeem et al. 2020) |

The Inception Score needs class probabilities, not two feature sets: see :func:`inception_score`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import torch

from .features import FeatureExtractor, extract_features, get_extractor  # get_extractor: used by the doctest
from .frechet import fid
from .kid import kid
from .prdc import density_coverage, precision_recall

GROUPS: dict[str, Callable[..., Any]] = {
    "fid": fid,
    "kid": kid,
    "precision_recall": precision_recall,
    "density_coverage": density_coverage,
}


@dataclass(frozen=True)
class Metric:
    """One named number: entry ``index`` of ``GROUPS[group](real, fake, **options)`` (the whole value if None)."""

    name: str
    group: str
    index: int | None = None

    def pick(self, value: Any) -> float:
        """This metric's number from the group's result."""
        return float(value if self.index is None else value[self.index])

    def __call__(self, real_features: Any, fake_features: Any, **options) -> float:
        return self.pick(GROUPS[self.group](real_features, fake_features, **options))


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("fid", "fid"),
    Metric("kid", "kid", 0),
    Metric("kid_std", "kid", 1),
    Metric("precision", "precision_recall", 0),
    Metric("recall", "precision_recall", 1),
    Metric("density", "density_coverage", 0),
    Metric("coverage", "density_coverage", 1),
)}

DEFAULT_METRICS = ("fid", "kid", "precision", "recall", "density", "coverage")


def compute_metrics(real_images: torch.Tensor, fake_images: torch.Tensor, extractor: FeatureExtractor,
                    names: Sequence[str] = DEFAULT_METRICS, batch_size: int = 500,
                    options: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, float]:
    """Extract features of both image sets (float in [−1, 1] or uint8; any device) and compute ``names``.

    ``names`` is a sequence of metric names (or one name). ``options`` maps a group name to keyword arguments of its
    function, e.g.
    ``{"kid": {"subset_size": 500}, "precision_recall": {"k": 5}}``; each group is computed once.
    KID's default subsets of 1,000 need at least 1,000 images in each set.

    >>> from gan.data import mnist5k
    >>> d = mnist5k().images
    >>> r = compute_metrics(d[0::2][:300], d[1::2][:300], get_extractor("mnist_classifier"),
    ...                     names=("fid", "kid", "precision"), options={"kid": {"subset_size": 300, "n_subsets": 2}})
    >>> sorted(r), r["precision"] > 0.5
    (['fid', 'kid', 'precision'], True)
    """
    names = (names,) if isinstance(names, str) else tuple(names)  # one name, not its characters
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise ValueError(f"unknown metric(s) {unknown or names!r}; known: {', '.join(METRICS)}")
    options = dict(options or {})
    bad = [g for g in options if g not in GROUPS]
    if bad:
        raise ValueError(f"options for unknown group(s) {bad}; groups: {', '.join(GROUPS)}")
    not_maps = {g: v for g, v in options.items() if not isinstance(v, Mapping)}
    if not_maps:
        raise TypeError(f"options maps each group to a mapping of keyword arguments, e.g. {{'kid': {{'subset_size': "
                        f"500}}}}; got {not_maps}")
    real = extract_features(real_images, extractor, batch_size)
    fake = extract_features(fake_images, extractor, batch_size)
    results: dict[str, Any] = {}
    out: dict[str, float] = {}
    for name in names:
        metric = METRICS[name]
        if metric.group not in results:
            results[metric.group] = GROUPS[metric.group](real, fake, **options.get(metric.group, {}))
        out[name] = metric.pick(results[metric.group])
    return out

