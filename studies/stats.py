"""Confidence intervals the studies report: exact binomial (rates over seeds) and Student-t (means over seeds)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats


def binomial_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson interval for a success probability from k successes in n trials.

    [B(α/2; k, n−k+1), B(1−α/2; k+1, n−k)] with B the beta quantile, α = 1 − level
    (Clopper & Pearson 1934); exact coverage ≥ level for every p. (0, 1) when n = 0.

    >>> [round(x, 4) for x in binomial_ci(0, 40)]
    [0.0, 0.0881]
    """
    if not (isinstance(k, (int, np.integer)) and isinstance(n, (int, np.integer)) and 0 <= k <= n):
        raise ValueError(f"need integers 0 <= k <= n; got k={k!r}, n={n!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1); got {level!r}")
    if n == 0:
        return 0.0, 1.0
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): x̄ ± t_{(1+level)/2, n−1} s/√n (Student t; NaN half-width for n < 2). NaNs are dropped."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if x.size < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf((1 + level) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return m, m - half, m + half
