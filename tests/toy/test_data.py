"""Toy data: fixed training set, per-seed minibatch order and latents, torch mixture sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from divergences import GaussianMixture, ring
from toy.data import TorchMixture, ToyData, seed_generators, stream_seed


def test_streams_are_distinct_and_reproducible():
    assert stream_seed(0, "data") == stream_seed(0, "data")
    assert len({stream_seed(s, n) for s in range(3) for n in ("data", "latent", "g_init", "d_init")}) == 12
    with pytest.raises(ValueError, match="unknown stream"):
        stream_seed(0, "nope")
    with pytest.raises(ValueError, match="distinct"):
        seed_generators([1, 1], "data")
    with pytest.raises(ValueError, match="non-negative"):
        seed_generators([-1], "data")


def test_fixed_training_set_is_shared_and_each_epoch_is_a_permutation():
    data = ToyData(ring(4), n_train=1000, data_seed=3)
    again = ToyData(ring(4), n_train=1000, data_seed=3)
    assert torch.equal(data.train, again.train)
    assert data.train.shape == (1000, 2) and data.train.dtype == torch.float32
    real = data.real_epoch(seed_generators([0, 1], "data"), batch_size=64)
    assert real.shape == (15, 2, 64, 2) and real.is_contiguous()
    for s in range(2):  # 960 distinct rows of the training set, no repeats within an epoch
        rows = real[:, s].reshape(-1, 2)
        assert torch.unique(rows, dim=0).shape[0] == 960
        assert torch.isin(rows[:, 0], data.train[:, 0]).all()
    assert not torch.equal(real[:, 0], real[:, 1])  # seeds walk in different orders


def test_a_seeds_minibatches_do_not_depend_on_its_batch_mates():
    data = ToyData(ring(4), n_train=512)
    both = data.real_epoch(seed_generators([5, 9], "data"), 32)
    alone = data.real_epoch(seed_generators([9], "data"), 32)
    assert torch.equal(both[:, 1], alone[:, 0])
    z_both = data.latents(seed_generators([5, 9], "latent"), 4, 32)
    z_alone = data.latents(seed_generators([9], "latent"), 4, 32)
    assert z_both.shape == (4, 2, 32, 2) and torch.equal(z_both[:, 1], z_alone[:, 0])


def test_fresh_samples_follow_the_mixture():
    # 1D two-component mixture: mean 0.25·(−2) + 0.75·3 = 1.75, var = Σ w (σ² + μ²) − mean²
    P = GaussianMixture([0.25, 0.75], [-2.0, 3.0], [0.5, 0.2])
    data = ToyData(P, n_train=20_000, fresh=True, latent_dim=3)
    assert data.train is None
    x = data.real_epoch(seed_generators([0], "data"), 100).reshape(-1).double()
    mean, var = float(P.mean()[0]), float(P.cov()[0, 0])
    # n = 20 000: the standard error of the mean is sqrt(var/n) ≈ 0.016; 5 se
    assert abs(float(x.mean()) - mean) <= 5 * math.sqrt(var / x.numel())
    # sample variance: se ≈ var·sqrt(2/n) for a near-Gaussian; the bimodal kurtosis is smaller, 5 se is safe
    assert abs(float(x.var()) - var) <= 5 * var * math.sqrt(2 / x.numel())
    assert data.latents(seed_generators([0], "latent"), 2, 8).shape == (2, 1, 8, 3)


def test_torch_mixture_anisotropic_covariance():
    cov = np.array([[[1.0, 0.6], [0.6, 0.5]]])
    tm = TorchMixture.from_mixture(GaussianMixture([1.0], [[1.0, -1.0]], cov), dtype=torch.float64)
    x = tm.sample((40_000,), torch.Generator().manual_seed(0))
    emp = torch.cov(x.T).numpy()
    # entries of the sample covariance have se ≤ sqrt((σ_i²σ_j² + σ_ij²)/n) ≤ 0.008 here; 5 se
    assert np.abs(emp - cov[0]).max() <= 0.04
    assert np.abs(x.mean(0).numpy() - [1.0, -1.0]).max() <= 5 * math.sqrt(1.0 / 40_000)


def test_validation():
    with pytest.raises(TypeError, match="GaussianMixture"):
        ToyData("ring")
    with pytest.raises(ValueError, match="n_train"):
        ToyData(ring(4), n_train=0)
