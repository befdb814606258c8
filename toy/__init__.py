"""distmatch.toy: toy GANs on the analytic mixtures: data, seed-parallel MLPs and trainer, mode metrics.

Uses ``gan.losses`` for the objectives and ``divergences`` for the mixtures and the optimal
discriminators; knows nothing of ``studies``.
"""
from .data import STREAMS, TorchMixture, ToyData, seed_generators, stream_seed
from .metrics import (MODE_RULES, DStarProbe, ModeReference, ModeRule, ModeStats, get_mode_rule, mode_metrics,
                      mode_statistics)
from .models import ACTIVATIONS, MLPSpec, StackedMLP, discriminator_spec, generator_spec, plain_mlp
from .hooks import TrainHooks, regularization_hooks
from .generator_losses import GENERATOR_LOSSES, GeneratorStep, check_generator_loss, register_generator_loss
from .train import Divergence, ToyConfig, ToyResult, ToyTrainer, train_toy
from .reference import PlainTrainer

__all__ = ["ACTIVATIONS", "check_generator_loss", "discriminator_spec", "Divergence", "DStarProbe",
           "GENERATOR_LOSSES", "generator_spec", "GeneratorStep", "get_mode_rule", "MLPSpec", "mode_metrics",
           "MODE_RULES", "mode_statistics", "ModeReference", "ModeRule", "ModeStats", "plain_mlp", "PlainTrainer",
           "register_generator_loss", "regularization_hooks", "seed_generators", "StackedMLP", "stream_seed",
           "STREAMS", "TorchMixture", "ToyConfig", "ToyData", "ToyResult", "ToyTrainer", "train_toy", "TrainHooks"]
