"""Invalid input is rejected at the API edge with ValueError/TypeError and a message naming the problem."""

from __future__ import annotations

import math

import numpy as np
import pytest

from divergences import (GaussianMixture, alpha_loss, arimoto, f_divergence, gaussian_kl, get_f, jsd,
                         kantorovich_potential, kl, optimal_discriminator, value_function, wasserstein1)

G = GaussianMixture.gaussian
P1 = G(0.0, 1.0)
P2 = G([0.0, 0.0], np.eye(2))
HALF = lambda x: np.full(np.shape(x)[0], 0.5)


# ----------------------------------------------------------------------------- mixtures
def test_weights_not_summing_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        GaussianMixture([0.5, 0.4], [0.0, 1.0], [1.0, 1.0])


def test_negative_weight():
    with pytest.raises(ValueError, match="non-negative"):
        GaussianMixture([1.5, -0.5], [0.0, 1.0], [1.0, 1.0])


def test_empty_mixture():
    with pytest.raises(ValueError, match="at least one component"):
        GaussianMixture([], [], [])


def test_covariance_not_positive_definite():
    with pytest.raises(ValueError, match="positive definite"):
        GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]])


def test_negative_variance_1d():
    with pytest.raises(ValueError, match="positive definite"):
        GaussianMixture([1.0], [0.0], [-1.0])


def test_covariance_not_symmetric():
    with pytest.raises(ValueError, match="symmetric"):
        GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, 0.2], [0.1, 1.0]]])


def test_covs_shape_mismatch_2d():
    with pytest.raises(ValueError, match=r"covs must have shape \(k, d, d\)"):
        GaussianMixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], np.ones((2, 3, 3)))


def test_variances_shape_mismatch_1d():
    with pytest.raises(ValueError, match=r"variances must have shape \(k,\)"):
        GaussianMixture([0.5, 0.5], [0.0, 1.0], [1.0, 1.0, 1.0])


def test_means_shape_mismatch():
    with pytest.raises(ValueError, match="means must have shape"):
        GaussianMixture([0.5, 0.5], [0.0, 1.0, 2.0], [1.0, 1.0])


def test_nan_in_weights():
    with pytest.raises(ValueError, match="weights must be finite"):
        GaussianMixture([np.nan, 1.0], [0.0, 1.0], [1.0, 1.0])


def test_nan_in_means():
    with pytest.raises(ValueError, match="means must be finite"):
        GaussianMixture([1.0], [np.nan], [1.0])


def test_inf_in_means():
    with pytest.raises(ValueError, match="means must be finite"):
        GaussianMixture([1.0], [np.inf], [1.0])


def test_nan_in_covs():
    with pytest.raises(ValueError, match="covs must be finite"):
        GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, np.nan], [np.nan, 1.0]]])


def test_nan_in_points():
    with pytest.raises(ValueError, match="NaN"):
        P1.pdf([0.0, np.nan])
    with pytest.raises(ValueError, match="NaN"):
        P2.logpdf([[0.0, np.nan]])


# ----------------------------------------------------------------------------- divergences
def test_mismatched_dimensions_in_kl():
    with pytest.raises(ValueError, match="same dimension"):
        kl(P1, P2)


def test_mismatched_dimensions_in_batch():
    with pytest.raises(ValueError, match="same dimension"):
        jsd([P1, P2], P1)


def test_three_dimensions_not_integrated():
    with pytest.raises(ValueError, match="d = 1 or 2"):
        kl(G([0.0, 0.0, 0.0], np.eye(3)), G([0.0, 0.0, 0.0], np.eye(3)))


def test_empty_batch():
    with pytest.raises(ValueError, match="empty batch"):
        kl([], P1)


def test_unknown_f_name_in_get_f():
    with pytest.raises(ValueError, match="unknown f-divergence 'klx'"):
        get_f("klx")


def test_unknown_f_name_in_f_divergence():
    with pytest.raises(ValueError, match="unknown f-divergence 'nope'.*known:"):
        f_divergence(P1, P1, "nope")


def test_f_of_wrong_type():
    with pytest.raises(TypeError, match="registered name or an FDivergence"):
        get_f(3)


def test_arimoto_name_without_alpha():
    with pytest.raises(ValueError, match="needs alpha"):
        f_divergence(P1, P1, "arimoto")


@pytest.mark.parametrize("alpha", [0, -1])
def test_arimoto_alpha_not_positive(alpha):
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, inf\]"):
        arimoto(P1, P1, alpha)


def test_arimoto_alpha_nan():
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, inf\]; got nan"):
        arimoto(P1, P1, math.nan)


def test_arimoto_alpha_not_a_number():
    with pytest.raises(TypeError, match="alpha must be a real number"):
        arimoto(P1, P1, "abc")


def test_non_mixture_argument():
    # regression: used to fail inside list(Q) with "'float' object is not iterable"
    with pytest.raises(TypeError, match="GaussianMixture"):
        kl(P1, 3.0)


def test_non_mixture_in_batch():
    with pytest.raises(TypeError, match="expected GaussianMixture"):
        kl(P1, [P1, "not a mixture"])


# ----------------------------------------------------------------------------- α-loss and objectives
@pytest.mark.parametrize("alpha", [0, -1])
def test_alpha_loss_alpha_not_positive(alpha):
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, inf\]"):
        alpha_loss(1.0, 0.5, alpha)


def test_alpha_loss_prediction_out_of_range():
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        alpha_loss(1.0, 1.5, 2.0)


def test_alpha_loss_label_out_of_range():
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        alpha_loss(2.0, 0.5, 2.0)


def test_alpha_loss_nan_prediction():
    with pytest.raises(ValueError, match="no NaN"):
        alpha_loss(1.0, np.nan, 2.0)


@pytest.mark.parametrize("alpha", [0, -1])
def test_optimal_discriminator_alpha_not_positive(alpha):
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, inf\]"):
        optimal_discriminator(P1, P1, "alpha", alpha=alpha)


def test_value_function_alpha_not_positive():
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, inf\]"):
        value_function(P1, P1, HALF, "alpha", alpha=0)


def test_alpha_objective_without_alpha():
    with pytest.raises(ValueError, match="bad parameters for loss 'alpha'"):
        optimal_discriminator(P1, P1, "alpha")


def test_unexpected_objective_parameter():
    with pytest.raises(ValueError, match="bad parameters for loss 'vanilla'"):
        optimal_discriminator(P1, P1, "vanilla", alpha=2.0)


def test_unknown_loss_in_optimal_discriminator():
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        optimal_discriminator(P1, P1, "nope")


def test_unknown_loss_in_value_function():
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        value_function(P1, P1, HALF, "nope")


def test_loss_of_wrong_type():
    with pytest.raises(TypeError, match="loss must be a string"):
        optimal_discriminator(P1, P1, 3)


def test_lsgan_equal_targets():
    with pytest.raises(ValueError, match="distinct targets"):
        optimal_discriminator(P1, P1, "lsgan", a=1.0, b=1.0)


def test_value_function_needs_a_callable():
    with pytest.raises(TypeError, match="callable"):
        value_function(P1, P1, 0.5)


def test_value_function_rejects_batches():
    with pytest.raises(TypeError, match="single pair"):
        value_function([P1, P1], P1, HALF)


def test_wgan_critic_for_2d_raises():
    with pytest.raises(ValueError, match="1D mixtures only"):
        optimal_discriminator(P2, P2, "wgan")
    with pytest.raises(ValueError, match="1D mixtures only"):
        kantorovich_potential(P2, P2)


def test_t_star_negative_ratio():
    with pytest.raises(ValueError, match="non-negative"):
        get_f("kl").t_star([-1.0])


# ----------------------------------------------------------------------------- Wasserstein and standard examples
@pytest.mark.parametrize("rtol", [0.0, -1e-3, math.inf, True])
def test_w1_bad_rtol(rtol):
    with pytest.raises(ValueError, match=r"rtol must be a finite number > 0"):
        wasserstein1(P2, G([1.0, 0.0], 2.0 * np.eye(2)), rtol=rtol)


def test_translate_wrong_length():
    with pytest.raises(ValueError, match="shift must have 2 entries"):
        P2.translate([1.0])


def test_sample_negative_n():
    with pytest.raises(ValueError, match="non-negative integer"):
        P1.sample(-3, rng=0)


def test_sample_bad_rng():
    with pytest.raises(TypeError, match="rng must be"):
        P1.sample(3, rng=1.5)


# ----------------------------------------------------------------------------- found by review (each passed silently)
@pytest.mark.parametrize("alpha", [True, "2", [2.0]])
def test_alpha_must_be_a_real_number(alpha):
    with pytest.raises(TypeError, match="alpha must be a real number"):
        arimoto(P1, G(1.0, 1.0), alpha)


def test_alpha_given_to_an_f_without_one():
    with pytest.raises(ValueError, match="takes no alpha"):
        f_divergence(P1, G(1.0, 1.0), "kl", alpha=2.0)
    with pytest.raises(ValueError, match="takes no alpha"):
        optimal_discriminator(P1, G(1.0, 1.0), "kl", alpha=2.0)
    with pytest.raises(ValueError, match="only selects an 'arimoto'"):
        get_f(get_f("kl"), alpha=2.0)


def test_arimoto_name_and_alpha_disagree():
    with pytest.raises(ValueError, match="names alpha = 2 but alpha=3"):
        get_f("arimoto(2)", alpha=3.0)
    assert get_f("arimoto(2)", alpha=2.0).name == "arimoto(2)"


@pytest.mark.parametrize("rtol", [-1e-8, math.nan, math.inf])
def test_bad_rtol(rtol):
    with pytest.raises(ValueError, match="rtol must be a finite number >= 0"):
        kl(P1, G(1.0, 2.0), rtol=rtol)


def test_value_function_of_a_probability_outside_0_1():
    with pytest.raises(ValueError, match="outside the domain"):
        value_function(P1, G(1.0, 1.0), lambda x: np.full(np.shape(x)[0], 1.2))


@pytest.mark.parametrize("args,match", [
    ((0.0, -1.0, 0.0, 1.0), "positive definite"),
    (([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], [0.0, 0.0], np.eye(2)), "positive definite"),
    ((0.0, 0.0, 0.0, 1.0), "positive definite"),
    (([0.0, 0.0], np.eye(2), 0.0, 1.0), "same dimension"),
    ((0.0, math.nan, 0.0, 1.0), "finite"),
])
def test_gaussian_kl_checks_its_gaussians(args, match):
    with pytest.raises(ValueError, match=match):
        gaussian_kl(*args)


def test_w1_in_three_dimensions():
    A = GaussianMixture([1.0], [[0.0, 0.0, 0.0]], [np.eye(3)])
    with pytest.raises(ValueError, match="1D and 2D"):
        wasserstein1(A, GaussianMixture([1.0], [[0.0, 0.0, 0.0]], [2.0 * np.eye(3)]))


# ----------------------------------------------------------------------------- issue 14: rough inputs at the API edge
# Each of these was accepted silently (a bool or a string read as a number) or failed inside numpy with a message
# that named no argument.
def test_sample_n_given_as_a_bool():
    with pytest.raises(TypeError, match="n must be a non-negative integer; got True"):
        P1.sample(True, rng=0)


@pytest.mark.parametrize("rng,error", [(-1, ValueError), (True, TypeError)])
def test_sample_rng_negative_or_bool(rng, error):
    with pytest.raises(error, match=r"rng must be a numpy.random.Generator, a non-negative int seed or None; got"):
        P1.sample(3, rng=rng)


def test_sample_accepts_numpy_integers():
    assert P1.sample(np.int64(3), rng=np.int32(0)).shape == (3, 1)


@pytest.mark.parametrize("field", ["weights", "means", "covs"])
def test_mixture_parameter_given_as_bools(field):
    args = {"weights": [1.0], "means": [0.0], "covs": [1.0]}
    args[field] = [True]
    with pytest.raises(TypeError, match=f"{field} must hold real numbers, not bools"):
        GaussianMixture(**args)


def test_bool_inside_a_list_of_floats():
    # np.asarray([True, 0.5]) is the float array [1.0, 0.5]: the bool must be caught before numpy converts it
    with pytest.raises(TypeError, match="weights must hold real numbers, not bools"):
        GaussianMixture([True, 0.0], [0.0, 1.0], [1.0, 1.0])


@pytest.mark.parametrize("field,value", [("weights", ["a"]), ("means", ["0.0"]), ("covs", ["1"])])
def test_mixture_parameter_given_as_strings(field, value):
    # numpy parses "1" as 1.0 and "a" fails with "could not convert string to float": both name the argument now
    args = {"weights": [1.0], "means": [0.0], "covs": [1.0]}
    args[field] = value
    with pytest.raises(TypeError, match=f"{field} must hold real numbers, not strings"):
        GaussianMixture(**args)


@pytest.mark.parametrize("field,value", [("means", [[0.0, 1.0], [1.0]]), ("covs", [[1.0], [1.0, 2.0]])])
def test_ragged_mixture_parameter_names_it(field, value):
    args = {"weights": [0.5, 0.5], "means": [0.0, 1.0], "covs": [1.0, 1.0]}
    args[field] = value
    with pytest.raises(ValueError, match=f"{field} must be a rectangular array of real numbers"):
        GaussianMixture(**args)


@pytest.mark.parametrize("field", ["weights", "means", "covs"])
def test_missing_mixture_parameter(field):
    args = {"weights": [1.0], "means": [0.0], "covs": [1.0]}
    args[field] = None
    with pytest.raises(TypeError, match=f"{field} is missing"):
        GaussianMixture(**args)


@pytest.mark.parametrize("kwargs", [{"y": "1"}, {"y": True}, {"yhat": "0.5"}, {"yhat": [True]}])
def test_alpha_loss_numbers_given_as_strings_or_bools(kwargs):
    args = {"y": 1.0, "yhat": 0.5} | kwargs
    name = next(iter(kwargs))
    with pytest.raises(TypeError, match=f"{name} must hold real numbers"):
        alpha_loss(args["y"], args["yhat"], 2.0)


def test_lsgan_target_given_as_a_bool():
    with pytest.raises(ValueError, match="a must hold real numbers, not bools"):
        optimal_discriminator(P1, P1, "lsgan", a=True)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"radius": math.inf}, ValueError, "radius must be a finite positive number; got inf"),
    ({"radius": True}, TypeError, "radius must be a real number; got True"),
    ({"var": math.nan}, ValueError, "var must be a finite positive number"),
    ({"phase": math.inf}, ValueError, "phase must be a finite number; got inf"),
    ({"k": True}, TypeError, "k must be a positive integer; got True"),
])
def test_ring_parameters(kwargs, error, match):
    from divergences import ring
    with pytest.raises(error, match=match):
        ring(**kwargs)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"spacing": math.inf}, ValueError, "spacing must be a finite positive number; got inf"),
    ({"n": True}, TypeError, "n must be a positive integer; got True"),
])
def test_grid_parameters(kwargs, error, match):
    from divergences import grid
    with pytest.raises(error, match=match):
        grid(**kwargs)


def test_value_function_of_a_discriminator_with_two_outputs():
    two = lambda x: np.full((np.shape(x)[0], 2), 0.5)
    with pytest.raises(ValueError, match=r"D must return one value per point, shape \(\d+,\) or \(\d+, 1\)"):
        value_function(P1, G(1.0, 1.0), two, "vanilla")


def test_value_function_accepts_a_column_of_outputs():
    # (n, 1) is what a network returns: the same value as the (n,) form (exactly: the same numbers are integrated)
    col = lambda x: np.full((np.shape(x)[0], 1), 0.5)
    assert value_function(P1, G(1.0, 1.0), col, "vanilla") == value_function(P1, G(1.0, 1.0), HALF, "vanilla")


def test_gaussian_kl_names_a_string_argument():
    with pytest.raises(TypeError, match="mean_p must hold real numbers"):
        gaussian_kl("a", 1.0, 0.0, 1.0)


def test_points_given_as_strings():
    with pytest.raises(TypeError, match="x must hold real numbers"):
        P1.pdf("0.5")
