"""A catalogue of distribution pairs (P, Q) with exact divergences, and a scorer for divergence estimators.

Every exact value comes from :mod:`divergences` (adaptive cubature in 1D and 2D, with its conservative error
estimate; W1 exact in 1D and for translated copies, quantised OT with a rigorous bound otherwise). The pairs:

| name | P | Q | what it probes |
|---|---|---|---|
| toy1d_right | ½N(2, .3²) + ½N(5, .3²) | N(6, .3²) | the lecture notes' 1D toy, overlapping generator |
| toy1d_left | same | N(−.5, .3²) | the lecture notes' 1D toy, generator far from the data |
| overlap_1d | N(0, 1) | N(.5, 1.2²) | two broad overlapping Gaussians: every divergence small and finite |
| thin_far_1d | N(0, .1²) | N(2, .1²) | thin and far apart: KL = 200, χ² = e⁴⁰⁰ − 1 |
| ring_rotated | 8-ring (var 1e-4) | the ring rotated by π/16 | mode-to-mode disjoint-looking 2D pair |
| ring_dropped | 8-ring | the ring without its first mode (7 modes, 1/7 each) | a dropped mode: KL(Q‖P) = log 8/7, χ²(P‖Q) = ∞ in float64 |
| grid_shift | 5×5 grid (std .05) | the grid moved by (.1, .1) | a translation: W1 = ‖(.1, .1)‖ exactly |
| disjoint_looking | 5 Gaussians along the segment {0} × [0, 1] (std .02 across, .1 along) | moved by (.5, 0) | the disjoint-supports example, thinly smoothed |

Divergences (:data:`DIVERGENCES`; P data, Q generator, nats): ``kl`` KL(P‖Q), ``reverse_kl`` KL(Q‖P), ``js``,
``tv``, ``squared_hellinger``, ``pearson`` χ²(P‖Q), ``neyman``, ``arimoto2`` (D_{f_α}, α = 2), ``w1``,
``sliced_w1`` = E_u W1(u·P, u·Q) over directions u uniform on the circle (1D: W1), computed as the mean over
``SLICED_ANGLES`` equally spaced angles in [0, π) of the exact 1D W1 of the projected mixtures (the periodic
trapezoid rule; error estimate from the half grid, :func:`sliced_w1`: 4e-5 on the rotated ring, whose W1 varies
with the angle of projection wherever projected modes cross; POT's 200 random projections carry ~100× more).

Scoring a user's estimator: :func:`score_estimator` draws ``repeats`` independent sample sets of each size from
each pair (numpy ``Generator`` seeded from ``seed``, the pair and the size), calls ``estimator(x, y)`` (x ~ P,
y ~ Q, arrays (n, d)), and returns one row per call with the exact value and the error; :func:`summarize`
aggregates bias, standard deviation and RMSE per pair and size. Pairs whose exact value is infinite (or
overflows float64) are skipped, with the reason in ``skipped``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

import divergences
from divergences import GaussianMixture, grid, ring, seed_toy

SLICED_ANGLES = 256


@dataclass(frozen=True)
class Pair:
    """One catalogue pair: data P, generator Q, and a one-line description."""

    name: str
    P: GaussianMixture
    Q: GaussianMixture
    description: str

    @property
    def dim(self) -> int:
        return self.P.dim


def _segment(shift: float) -> GaussianMixture:
    ys = (np.arange(5) + 0.5) / 5
    means = np.stack([np.full(5, shift), ys], axis=1)
    covs = np.repeat(np.diag([0.02**2, 0.1**2])[None], 5, axis=0)
    return GaussianMixture(np.full(5, 0.2), means, covs)


def _pairs() -> dict[str, Pair]:
    toy = seed_toy()
    R = ring()
    R7 = GaussianMixture(np.full(7, 1 / 7), R.means[1:], R.covs[1:])
    G = grid()
    g = GaussianMixture.gaussian
    rows = [
        Pair("toy1d_right", toy.real, toy.gen_right, "lecture notes' 1D toy, generator N(6, .3²)"),
        Pair("toy1d_left", toy.real, toy.gen_left, "lecture notes' 1D toy, generator N(−.5, .3²)"),
        Pair("overlap_1d", g(0.0, 1.0), g(0.5, 1.44), "N(0, 1) vs N(.5, 1.2²)"),
        Pair("thin_far_1d", g(0.0, 0.01), g(2.0, 0.01), "N(0, .1²) vs N(2, .1²)"),
        Pair("ring_rotated", R, ring(phase=np.pi / 16), "8-ring vs the ring rotated by π/16"),
        Pair("ring_dropped", R, R7, "8-ring vs the ring with one mode dropped"),
        Pair("grid_shift", G, G.translate([0.1, 0.1]), "5×5 grid vs the grid moved by (.1, .1)"),
        Pair("disjoint_looking", _segment(0.0), _segment(0.5), "thin segment {0}×[0,1] vs the same at x = .5"),
    ]
    return {p.name: p for p in rows}


PAIRS: dict[str, Pair] = _pairs()
"""Name → :class:`Pair` (module docstring table)."""

_F = {"kl": "kl", "reverse_kl": "reverse_kl", "js": "js", "tv": "tv", "squared_hellinger": "squared_hellinger",
      "pearson": "pearson", "neyman": "neyman"}
DIVERGENCES = (*_F, "arimoto2", "w1", "sliced_w1")


def _project(M: GaussianMixture, u: np.ndarray) -> GaussianMixture:
    """The law of u·X for X ~ M (a 1D mixture)."""
    return GaussianMixture(M.weights, M.means @ u, np.einsum("i,kij,j->k", u, M.covs, u))


def sliced_w1(P: GaussianMixture, Q: GaussianMixture, n_angles: int = SLICED_ANGLES) -> tuple[float, float]:
    """Sliced W1 = (1/π) ∫_0^π W1(u_φ·P, u_φ·Q) dφ, u_φ = (cos φ, sin φ), by the periodic trapezoid rule on the
    angles φ_j = jπ/n (n = ``n_angles``, even) of the exact 1D W1 (``divergences.wasserstein1``); in 1D, W1 itself.

    Returns (value, error estimate): |S_n − S_{n/2}| (the half grid is every other angle, so it costs nothing; the
    rule's error is O(1/n²) where projected modes cross, so this over-estimates the error of S_n about threefold)
    plus the mean 1D cubature error.
    """
    if P.dim == 1:
        return divergences.wasserstein1(P, Q, error=True)
    if isinstance(n_angles, bool) or not isinstance(n_angles, int) or n_angles < 4 or n_angles % 2:
        raise ValueError(f"n_angles must be an even integer >= 4; got {n_angles!r}")
    phis = np.arange(n_angles) * np.pi / n_angles
    us = np.stack([np.cos(phis), np.sin(phis)], axis=1)
    vals, errs = divergences.wasserstein1([_project(P, u) for u in us], [_project(Q, u) for u in us], error=True)
    full, half = float(np.mean(vals)), float(np.mean(vals[::2]))
    return full, abs(full - half) + float(np.mean(errs))


@lru_cache(maxsize=None)
def exact(pair: str, divergence: str) -> tuple[float, float]:
    """(exact value, error estimate) of ``divergence`` for catalogue pair ``pair``, computed by :mod:`divergences`.

    A divergence beyond the float64 range is returned as inf (``divergences`` warns; the warning is absorbed here).
    """
    p = get_pair(pair)
    if divergence in _F:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            v, e = divergences.f_divergence(p.P, p.Q, _F[divergence], error=True)
    elif divergence == "arimoto2":
        v, e = divergences.arimoto(p.P, p.Q, 2.0, error=True)
    elif divergence == "w1":
        v, e = divergences.wasserstein1(p.P, p.Q, error=True)
    elif divergence == "sliced_w1":
        v, e = sliced_w1(p.P, p.Q)
    else:
        raise ValueError(f"unknown divergence {divergence!r}; known: {', '.join(DIVERGENCES)}")
    return float(v), float(e)


def exact_value(pair: str, divergence: str) -> float:
    """The exact value alone (see :func:`exact`)."""
    return exact(pair, divergence)[0]


def get_pair(name: str) -> Pair:
    """The catalogue pair ``name``; ValueError naming the known ones."""
    if name not in PAIRS:
        raise ValueError(f"unknown pair {name!r}; known: {', '.join(PAIRS)}")
    return PAIRS[name]


def sample_pair(pair: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): n samples of P and n of Q, each (n, d), drawn from ``rng`` (P first)."""
    p = get_pair(pair)
    return p.P.sample(n, rng), p.Q.sample(n, rng)


def draws(pair: str, n: int, repeats: int, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The ``repeats`` sample sets (x, y) of size n that :func:`score_estimator` uses for ``pair``: consecutive
    draws of ``numpy.random.default_rng([seed, index of the pair, n])``."""
    rng = np.random.default_rng([int(seed), list(PAIRS).index(get_pair(pair).name), int(n)])
    for _ in range(repeats):
        yield sample_pair(pair, n, rng)


def score_estimator(estimator: Callable[[np.ndarray, np.ndarray], float], divergence: str,
                    pairs: Iterable[str] | None = None, sizes: Sequence[int] = (1000,), repeats: int = 5,
                    seed: int = 0):
    """Score ``estimator(x, y) -> float`` (x ~ P, y ~ Q, arrays (n, d)) against the exact ``divergence``.

    For every pair (default: all, skipping those whose exact value is infinite), size n and repeat r, draws
    (x, y) with :func:`sample_pair` from ``numpy.random.default_rng([seed, pair index, n])`` (repeats are
    consecutive draws of that stream, so a repeat's samples do not depend on ``sizes`` or other pairs) and calls
    the estimator. Returns a pandas DataFrame with columns pair, dim, divergence, n, repeat, estimate, exact,
    exact_error, error (= estimate − exact); ``df.attrs["skipped"]`` maps skipped pairs to the reason.

    >>> import numpy as np
    >>> mean_gap = lambda x, y: float(abs(x.mean(0) - y.mean(0)).sum())  # W1 of a translation, in 1D
    >>> df = score_estimator(mean_gap, "w1", pairs=["overlap_1d"], sizes=[200], repeats=2)
    >>> list(df.columns)[:4], len(df)
    (['pair', 'dim', 'divergence', 'n'], 2)
    """
    import pandas as pd

    if not callable(estimator):
        raise TypeError(f"estimator must be callable (x, y) -> float; got {type(estimator).__name__}")
    if divergence not in DIVERGENCES:
        raise ValueError(f"unknown divergence {divergence!r}; known: {', '.join(DIVERGENCES)}")
    names = list(PAIRS) if pairs is None else list(pairs)
    for name in names:
        get_pair(name)
    sizes = [int(n) for n in sizes]
    if not sizes or any(n < 2 for n in sizes):
        raise ValueError(f"sizes must be integers >= 2; got {sizes!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer; got {repeats!r}")
    rows, skipped = [], {}
    for name in names:
        value, err = exact(name, divergence)
        if not math.isfinite(value):
            skipped[name] = f"exact {divergence} is {value} (infinite or beyond float64)"
            continue
        for n in sizes:
            for r, (x, y) in enumerate(draws(name, n, repeats, seed)):
                est = float(estimator(x, y))
                rows.append({"pair": name, "dim": PAIRS[name].dim, "divergence": divergence, "n": n, "repeat": r,
                             "estimate": est, "exact": value, "exact_error": err, "error": est - value})
    df = pd.DataFrame(rows, columns=["pair", "dim", "divergence", "n", "repeat", "estimate", "exact", "exact_error",
                                     "error"])
    df.attrs["skipped"] = skipped
    return df


def summarize(scores):
    """Per (pair, divergence, n): exact value, mean estimate, bias, standard deviation over repeats, RMSE and the
    relative RMSE (RMSE / |exact|)."""
    g = scores.groupby(["pair", "divergence", "n"], sort=False)
    out = g.agg(exact=("exact", "first"), mean=("estimate", "mean"), bias=("error", "mean"),
                sd=("estimate", "std"), rmse=("error", lambda e: float(np.sqrt(np.mean(np.square(e))))))
    out["relative_rmse"] = out["rmse"] / out["exact"].abs()
    return out.reset_index()


__all__ = ["DIVERGENCES", "PAIRS", "Pair", "draws", "exact", "exact_value", "get_pair", "sample_pair", "score_estimator",
           "sliced_w1", "summarize"]
