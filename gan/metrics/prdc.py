"""k-NN manifold metrics: precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020).

Real features X = {x_1..x_N}, generated Y = {y_1..y_M}, Euclidean distances. NND_k(x) is the
distance from x to its k-th nearest neighbour in its own set, x itself excluded; B(x, r) is the
closed ball of radius r around x. The k-NN manifold of a set is the union of B(x, NND_k(x)).

* precision = (1/M) Σ_j 1[y_j ∈ ∪_i B(x_i, NND_k(x_i))]  fraction of generated samples on the real manifold;
* recall    = (1/N) Σ_i 1[x_i ∈ ∪_j B(y_j, NND_k(y_j))]  fraction of real samples on the generated manifold
  (Kynkäänniemi et al. 2019, eqs. 1–2; k = 3, and 50,000 samples each with VGG-16 features in the paper);
* density   = 1/(kM) Σ_j Σ_i 1[y_j ∈ B(x_i, NND_k(x_i))]  how many real balls hold each generated sample, /k;
  1 in expectation for identical distributions, unbounded above;
* coverage  = (1/N) Σ_i 1[∃ j: y_j ∈ B(x_i, NND_k(x_i))]  fraction of real balls holding a generated sample
  (Naeem et al. 2020, eqs. 3–4; k = 5, and 10,000 samples each in the paper).

Balls are closed (≤), as in Kynkäänniemi et al.'s definition; the NAVER ``prdc`` code uses a strict
< for all four, which differs only on exact ties (measure zero for continuous features). Distances
are computed in float64 by blocks (peak memory ~64 MiB whatever N and M), never as a full N × M matrix.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ._checks import as_features, check_int, feature_pair

_BLOCK_ELEMENTS = 1 << 23  # 8M float64 distances per block = 64 MiB


def _distance_blocks(a: np.ndarray, b: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """(rows, D) with D[i, j] = ‖a[rows][i] − b[j]‖₂, row blocks of ``a`` sized to the memory budget."""
    rows = max(1, _BLOCK_ELEMENTS // max(1, b.shape[0]))
    b_sq = np.einsum("ij,ij->i", b, b)
    for start in range(0, a.shape[0], rows):
        block = a[start:start + rows]
        sq = np.einsum("ij,ij->i", block, block)[:, None] + b_sq[None, :] - 2.0 * block @ b.T
        yield slice(start, start + block.shape[0]), np.sqrt(np.maximum(sq, 0.0))


def _scale_exponent(*arrays: np.ndarray) -> int:
    """e with 2^(e−1) ≤ max |value| < 2^e (0 for all-zero input): dividing by 2^e is exact in binary floating point.

    Every metric here compares distances with distances, so it is unchanged by a common scale;
    scaled to |value| < 1, the squared distances (< 4d) neither overflow (features ~1e160 gave
    inf − inf = NaN distances) nor underflow to 0 (features ~1e-170 made every point a neighbour).
    """
    biggest = max(float(np.max(np.abs(a))) for a in arrays)
    return int(np.frexp(biggest)[1]) if biggest > 0.0 else 0


def _common_scale(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets divided by 2^e, e = :func:`_scale_exponent` of both."""
    e = _scale_exponent(x, y)
    return np.ldexp(x, -e), np.ldexp(y, -e)


def _radii(x: np.ndarray, k: int) -> np.ndarray:
    out = np.empty(x.shape[0])
    for rows, d in _distance_blocks(x, x):
        # column k of the sorted row: column 0 is the point itself (distance 0, or a duplicate of it)
        out[rows] = np.partition(d, k, axis=1)[:, k]
    return out


def knn_radii(x: Any, k: int) -> np.ndarray:
    """NND_k(x_i): distance from each row of x to its k-th nearest other row (the point itself excluded).

    ``x``: (n, d) finite features with n > k; computed on x scaled to |value| ≤ 1 and scaled back.
    """
    x = as_features(x, "x")
    k = check_int("k", k, 1)
    if len(x) <= k:
        raise ValueError(f"knn_radii with k={k} needs more than k samples; got {len(x)}")
    e = _scale_exponent(x)
    return np.ldexp(_radii(np.ldexp(x, -e), k), e)


def _check_k(k: Any, x: np.ndarray, y: np.ndarray, who: str) -> int:
    k = check_int("k", k, 1)
    smallest = min(len(x), len(y)) if who == "precision_recall" else len(x)
    if smallest <= k:
        raise ValueError(f"{who} with k={k} needs more than k samples in each set whose radii are used; "
                         f"got real {len(x)}, fake {len(y)}")
    return k


def _in_manifold(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Boolean (len(points),): does each point lie in some closed ball B(centres_i, radii_i)?"""
    inside = np.zeros(points.shape[0], dtype=bool)
    for rows, d in _distance_blocks(points, centres):
        inside[rows] = np.any(d <= radii[None, :], axis=1)
    return inside


def precision_recall(real_features: Any, fake_features: Any, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of Kynkäänniemi et al. 2019 with k-NN radii (module docstring; k = 3 in the paper).

    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([[0.5], [10.0]])
    >>> precision_recall(x, y, k=1)    # 0.5 is inside the real manifold, 10 is not; the fake balls have radius 9.5
    (0.5, 1.0)
    """
    x, y = _common_scale(*feature_pair(real_features, fake_features))
    k = _check_k(k, x, y, "precision_recall")
    precision = _in_manifold(y, x, _radii(x, k)).mean()
    recall = _in_manifold(x, y, _radii(y, k)).mean()
    return float(precision), float(recall)


def density_coverage(real_features: Any, fake_features: Any, k: int = 5) -> tuple[float, float]:
    """(density, coverage) of Naeem et al. 2020 with the real samples' k-NN radii (module docstring; k = 5 in the paper).

    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([[0.5], [10.0]])
    >>> density_coverage(x, y, k=1)    # 0.5 lies in the balls of 0 and 1 (radius 1): density 2/(1·2), coverage 2/4
    (1.0, 0.5)
    """
    x, y = _common_scale(*feature_pair(real_features, fake_features))
    k = _check_k(k, x, y, "density_coverage")
    radii = _radii(x, k)
    hits = 0
    covered = np.zeros(x.shape[0], dtype=bool)
    for rows, d in _distance_blocks(y, x):
        inside = d <= radii[None, :]  # (block of fakes, N)
        hits += int(inside.sum())
        covered |= inside.any(axis=0)
    return float(hits / (k * y.shape[0])), float(covered.mean())
