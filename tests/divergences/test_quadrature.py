"""divergences.quadrature: the per-cell log densities of the cubature engine (component pruning, batches).

The engine drops, per cell, the components of a mixture whose share of p is provably below
e^{-PRUNE_NATS} everywhere in the cell. These tests check the pruned densities against the
independent scipy densities of ``tests.reference`` and whole integrals against the same integrals
with pruning switched off.
"""

from __future__ import annotations

import numpy as np
import pytest

import divergences.quadrature as quad
from divergences import GaussianMixture, grid, jsd, kl, ring, total_variation
from tests.reference import logpdf_ref


def _random_mixture(rng: np.random.Generator, k: int, d: int) -> GaussianMixture:
    """k components with scales spread over three decades and, in 2D, rotated anisotropic covariances."""
    w = rng.dirichlet(np.ones(k))
    means = rng.uniform(-5.0, 5.0, size=(k, d))
    scales = 10.0 ** rng.uniform(-2.0, 0.5, size=(k, d))
    covs = []
    for s in scales:
        if d == 1:
            covs.append(np.array([[s[0] ** 2]]))
            continue
        t = rng.uniform(0.0, np.pi)
        R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        covs.append(R @ np.diag(s**2) @ R.T)
    return GaussianMixture(w, means, np.array(covs))


def _cells(rng: np.random.Generator, n: int, d: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n random cells (some tiny, some huge, some far out) and m random points inside each."""
    centre = rng.uniform(-30.0, 30.0, size=(n, d))
    half = 10.0 ** rng.uniform(-3.0, 1.0, size=(n, d))
    lo, hi = centre - half, centre + half
    x = lo[:, None, :] + (hi - lo)[:, None, :] * rng.uniform(size=(n, m, d))
    return lo, hi, x


@pytest.mark.parametrize("d", [1, 2])
def test_pruned_cell_logpdf_matches_scipy(d):
    # 12 components (above PRUNE_MIN_COMPONENTS, so pruning is on); the reference sums every component
    rng = np.random.default_rng(7 + d)
    M = _random_mixture(rng, 12, d)
    lo, hi, x = _cells(rng, 300, d, 9)
    stack = quad._Stack.of([M])
    got = stack.logpdf_cells(x, quad.Cells(np.zeros_like(lo), lo, hi, np.zeros(len(lo), dtype=int)))
    ref = logpdf_ref(M, x.reshape(-1, d)).reshape(x.shape[:2])
    # log densities down to ~-1e6: compare with a tolerance relative to |log p| (scipy's own rounding)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-11)


def test_pruning_leaves_out_components_on_a_grid(monkeypatch):
    # a 5x5 grid with std 0.05: a cell of 4 std around one mode keeps that mode alone
    stack = quad._Stack.of([grid()])
    kept = []
    evaluate = quad._Stack._logsumexp_terms
    monkeypatch.setattr(quad._Stack, "_logsumexp_terms",
                        lambda self, x, cells, comp: (kept.append(comp.tolist()), evaluate(self, x, cells, comp))[-1])
    centre = grid().means[12]
    lo, hi = (centre - 0.1)[None], (centre + 0.1)[None]
    x = (lo + 0.2 * np.random.default_rng(0).uniform(size=(1, 50, 2)))
    full = logpdf_ref(grid(), x[0])
    cells = quad.Cells(np.zeros_like(lo), lo, hi, np.zeros(1, dtype=int))
    np.testing.assert_allclose(stack.logpdf_cells(x, cells)[0], full, rtol=1e-13)
    assert kept == [[[12]]]  # one call, one cell, the centre mode alone
    only_mode = np.log(1 / 25) - np.log(2 * np.pi * 0.0025) - 0.5 * np.sum((x[0] - centre) ** 2, axis=1) / 0.0025
    np.testing.assert_allclose(full, only_mode, rtol=1e-13)  # the others' share is below e^{-50} here


@pytest.mark.parametrize("measure", [kl, jsd, total_variation])
@pytest.mark.parametrize("pair", ["ring_rot", "grid_shift"])
def test_integrals_equal_with_and_without_pruning(monkeypatch, measure, pair):
    P, Q = {"ring_rot": (ring(), ring(phase=0.05)),
            "grid_shift": (grid(n=3), grid(n=3).translate([0.03, 0.02]))}[pair]
    pruned, err = measure(P, Q, error=True)
    monkeypatch.setattr(quad, "PRUNE_NATS", np.inf)
    full, _ = measure(P, Q, error=True)
    assert abs(pruned - full) <= max(1e-14 * abs(full), err * 1e-3)


def test_batch_with_padded_components_equals_separate_calls():
    # pairs with 1, 5 and 12 components in one batch: padding components (weight 0) must not count
    rng = np.random.default_rng(3)
    Ps = [_random_mixture(rng, k, 2) for k in (1, 5, 12)]
    Qs = [_random_mixture(rng, k, 2) for k in (12, 1, 5)]
    batched = jsd(Ps, Qs)
    separate = [jsd(P, Q) for P, Q in zip(Ps, Qs)]
    np.testing.assert_allclose(batched, separate, rtol=1e-12, atol=0.0)


# ----------------------------------------------------------------------------- 1D cuts
def test_itp_finds_roots_to_a_few_ulps():
    # several brackets at once, with roots known in closed form; steep, flat and skewed functions
    roots = np.array([2.0 ** (1 / 3), 0.3, np.log(5.0), 1e-3, -7.25])
    f = lambda x: np.array([x[0] ** 3 - 2.0, np.tanh(50.0 * (x[1] - 0.3)), np.exp(x[2]) - 5.0,
                            (x[3] - 1e-3) ** 3, np.expm1(x[4] + 7.25)])
    lo = np.array([0.0, -1.0, 0.0, -1.0, -10.0])
    hi = np.array([2.0, 10.0, 3.0, 2.0, 0.0])
    got = quad._itp_roots(f, lo, hi, f(lo), f(hi))
    assert np.all(np.abs(got - roots) <= 8 * np.spacing(np.abs(roots)) + 1e-15 * (hi - lo))


def test_split_at_points_cuts_cells_and_keeps_their_union():
    cub = quad.PairCubature([GaussianMixture([1.0], [0.0], [1.0])], [GaussianMixture([1.0], [0.5], [2.0])])
    cells = cub.initial_cells()
    pts = np.array([-0.123456789, 0.0, 3.3, 1e6])  # the last is outside the mesh: ignored
    cut = cub.split_at_points(cells, pts)
    edges = np.concatenate([cut.org + cut.a, cut.org + cut.b])[:, 0]
    for p in pts[:3]:  # each cut point is an edge (to the rounding of anchor + local offset)
        assert np.min(np.abs(edges - p)) <= 4 * np.spacing(1.0 + abs(p))
    assert np.min(np.abs(edges - 1e6)) > 1.0
    assert np.isclose(np.sum(cut.b - cut.a), np.sum(cells.b - cells.a), rtol=1e-15)
    assert np.all(cut.b > cut.a) and np.all(cut.bid == 0)
