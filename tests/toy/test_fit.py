"""toy.fit: EM fit of 1D Gaussian mixtures, checked against the generating parameters and the analytic JSD."""

from __future__ import annotations

import numpy as np
import pytest

from divergences import GaussianMixture, jsd, seed_toy
from toy.fit import fit_mixture_1d


def test_recovers_the_generating_mixture():
    P = GaussianMixture([0.3, 0.7], [[-1.0], [2.0]], [[[0.25]], [[0.5]]])
    x = P.sample(40_000, np.random.default_rng(1))[:, 0]
    (Q,) = fit_mixture_1d(x, k=2)
    order = np.argsort(Q.means[:, 0])
    # standard errors at n = 40,000: weight ≈ 0.0023, means ≈ 0.005, variances ≈ 0.004; 5 se tolerances
    assert np.allclose(Q.weights[order], [0.3, 0.7], atol=0.012)
    assert np.allclose(Q.means[order, 0], [-1.0, 2.0], atol=0.025)
    assert np.allclose(Q.covs[order, 0, 0], [0.25, 0.5], atol=0.02)


def test_fit_of_the_data_is_close_to_the_data_in_jsd():
    # the seeds' toy P fitted from its own samples: JSD(P, Q̂) is the estimation error only, O(1/n)
    P = seed_toy().real
    x = P.sample(60_000, np.random.default_rng(0)).reshape(3, 20_000)
    fits = fit_mixture_1d(x, k=2)
    assert len(fits) == 3
    assert (np.asarray(jsd(P, fits)) <= 1e-3).all()


def test_collapsed_samples_stay_finite_and_bad_input_raises():
    (Q,) = fit_mixture_1d(np.full(100, 3.0), k=2)
    assert np.isfinite(Q.covs).all() and (Q.covs > 0).all() and np.allclose(Q.means, 3.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        fit_mixture_1d(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="k must"):
        fit_mixture_1d(np.arange(5.0), k=0)
    with pytest.raises(ValueError, match="at least k"):
        fit_mixture_1d(np.arange(2.0), k=3)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7, 8, 12])
def test_log_sum_exp_is_scipys_bit_for_bit(k):
    # the EM loop's own log-sum-exp must give the same bits as scipy's (the fits, and every table built on them, were
    # made with scipy's), including ties at the maximum and -inf entries
    from scipy.special import logsumexp

    from toy.fit import _logsumexp_last

    rng = np.random.default_rng(k)
    a = rng.normal(0, 30, (3, 400, k))
    a[0, :50] = a[0, :50, :1]  # all k entries equal: m = k
    a[1, :50, 0] = -np.inf
    a[1, 60:70] = -np.inf  # a row of -inf: -inf
    a[2, :50] = np.round(a[2, :50])  # many ties
    ours, theirs = _logsumexp_last(a), logsumexp(a, axis=2, keepdims=True)
    if k < 8:  # numpy adds fewer than 8 terms in order: the same bits
        assert np.array_equal(ours, theirs)
    else:  # pairwise summation orders the terms differently: the last bits may differ
        assert np.array_equal(np.isneginf(ours), np.isneginf(theirs))
        np.testing.assert_allclose(ours, theirs, rtol=4 * np.finfo(float).eps, atol=0)
