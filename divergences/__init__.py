"""distmatch.divergences: exact divergences, optimal discriminators and value functions for Gaussian mixtures.

Conventions: P is the data distribution, Q the generator's; D_f(P||Q) = ∫ q f(p/q) dx, in nats.
numpy/scipy only (never imports torch).
"""
from .fdiv import F_DIVERGENCES, FDivergence, Interval, arimoto_f, get_f
from .measures import (arimoto, chi2_is_finite, f_divergence, gan_divergence, gaussian_kl, jsd, kl,
                       neyman_chi2, pearson_chi2, reverse_kl, squared_hellinger, total_variation)
from .mixture import GaussianMixture, SeedToy, grid, ring, seed_toy
from .quadrature import IntegrationWarning
from .objectives import (OBJECTIVES, Objective, OptimalDiscriminator, alpha_loss, get_objective,
                         optimal_discriminator, value_function)
from .wasserstein import kantorovich_potential, wasserstein1
from .dirac import DIRAC_LOSSES, DiracGAN, dirac_loss_terms
from .dirac import REGULARIZERS as DIRAC_REGULARIZERS

__all__ = ["alpha_loss", "arimoto", "arimoto_f", "chi2_is_finite", "dirac_loss_terms", "DIRAC_LOSSES",
           "DIRAC_REGULARIZERS", "DiracGAN", "f_divergence", "F_DIVERGENCES", "FDivergence", "gan_divergence",
           "gaussian_kl", "GaussianMixture", "get_f", "get_objective", "grid", "IntegrationWarning", "Interval",
           "jsd", "kantorovich_potential", "kl", "neyman_chi2", "Objective", "OBJECTIVES", "optimal_discriminator",
           "OptimalDiscriminator", "pearson_chi2", "reverse_kl", "ring", "seed_toy", "SeedToy",
           "squared_hellinger", "total_variation", "value_function", "wasserstein1"]
