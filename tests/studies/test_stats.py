"""studies.stats: Clopper–Pearson and Student-t intervals against closed forms and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from studies.stats import binomial_ci, mean_ci


@pytest.mark.parametrize("n", [1, 7, 40, 200])
def test_clopper_pearson_edge_cases_have_closed_forms(n):
    # k = 0: upper = 1 − (α/2)^(1/n); k = n: lower = (α/2)^(1/n)  (solve (1 − p)^n = α/2, p^n = α/2)
    assert binomial_ci(0, n)[0] == 0.0
    assert abs(binomial_ci(0, n)[1] - (1 - 0.025 ** (1 / n))) <= 1e-12
    assert abs(binomial_ci(n, n)[0] - 0.025 ** (1 / n)) <= 1e-12 and binomial_ci(n, n)[1] == 1.0


def test_clopper_pearson_coverage_by_simulation():
    # exact intervals cover p with probability ≥ 95% (here ≈ 97%); 4000 draws: se ≈ 0.3%
    rng = np.random.default_rng(0)
    p, n = 0.3, 40
    ks = rng.binomial(n, p, size=4000)
    cover = np.mean([lo <= p <= hi for lo, hi in (binomial_ci(int(k), n) for k in ks)])
    assert 0.95 - 0.01 <= cover <= 1.0


def test_mean_ci_matches_the_t_formula():
    x = [1.0, 2.0, 4.0, 7.0]
    m, lo, hi = mean_ci(x)
    # t_{0.975, 3} = 3.182446305284263 (tables); s = 2.6457513110645907
    half = 3.182446305284263 * math.sqrt(7.0) / 2
    assert abs(m - 3.5) <= 1e-15 and abs((hi - lo) / 2 - half) <= 1e-9
    assert math.isnan(mean_ci([2.0])[1]) and math.isnan(mean_ci([])[0])


def test_bad_counts_raise():
    with pytest.raises(ValueError, match="0 <= k <= n"):
        binomial_ci(5, 3)


def test_bootstrap_interval_of_a_normal_sample_is_close_to_the_t_interval():
    # n = 200 draws: the bootstrap distribution of the mean is close to normal with sd s/√n, so the percentile
    # interval's half-width is ≈ 1.96 s/√n (bootstrap sd uses s·√((n−1)/n)) against t's 1.972 s/√n; the 10,000
    # resamples add ≈ 1.5% Monte Carlo error to each bound. Allow 5% of the half-width.
    from studies.stats import bootstrap_mean_ci

    x = np.random.default_rng(1).normal(3.0, 2.0, size=200)
    m, lo, hi = bootstrap_mean_ci(x)
    tm, tlo, thi = mean_ci(x)
    half = (thi - tlo) / 2
    assert abs(m - tm) <= 1e-12
    assert abs(lo - tlo) <= 0.05 * half and abs(hi - thi) <= 0.05 * half


def test_bootstrap_interval_extremes_and_reproducibility():
    from studies.stats import bootstrap_mean_ci

    assert bootstrap_mean_ci([0.25] * 10) == (0.25, 0.25, 0.25)  # no spread: the interval is the point
    x = [0.0, 0.0, 0.0, 1.0, 1.0]  # bounded values: the interval stays in [0, 1]
    m, lo, hi = bootstrap_mean_ci(x)
    assert 0.0 <= lo <= m <= hi <= 1.0 and hi - lo > 0
    assert bootstrap_mean_ci(x, seed=3) == bootstrap_mean_ci(x, seed=3)  # seeded: reproducible
    assert math.isnan(bootstrap_mean_ci([2.0])[1]) and math.isnan(bootstrap_mean_ci([])[0])
    assert bootstrap_mean_ci([1.0, math.nan, 3.0])[0] == 2.0
    with pytest.raises(ValueError, match="level"):
        bootstrap_mean_ci(x, level=1.0)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_mean_ci(x, n_boot=True)
