"""Seed-parallel toy GAN training: S seeds of one configuration as one batched computation.

Algorithm (per iteration ``it``; ``n_dis`` D steps, then one G step; Goodfellow et al. 2014, Alg. 1):

    D step (×n_dis): x ~ minibatch of P (per-seed order), z ~ N(0, I_k), x̃ = G(z) (no grad)
        L_D[s] = mean_b d_real(D_s(x)) + mean_b d_fake(D_s(x̃)) (+ penalty[s])    # gan.losses
        backward of Σ_s L_D[s]; Adam step on D's stacked parameters
    G step: z ~ N(0, I_k), L_G[s] = mean_b g_fake(D_s(G_s(z))); backward of Σ_s L_G[s]; Adam on G
        (or, with ``g_objective`` feature_matching / unrolled, another objective on the same z and the real
        batch x of the last D step: :mod:`toy.generator_losses`)

Seeds share no parameter, so ∂(Σ_s L[s])/∂θ_s = ∂L[s]/∂θ_s, and Adam is element-wise: the batched
run is S independent runs (tested against one-at-a-time runs to 1e-5). With ``fixed_generator``
(a GaussianMixture Q) there is no G network: fakes are samples of Q and only D is trained, the
setting in which D* is known in closed form (:class:`toy.metrics.DStarProbe`).

Divergence (NaN/inf, or a finite blow-up): after every loss evaluation the per-seed losses are checked (device-side,
no host sync). A seed whose D or G loss is non-finite or beyond ``LOSS_BOUND`` (1e8) in absolute value is marked
diverged at that iteration and frozen (a finite blow-up, e.g. NS at lr 1000 reaching a D loss of 2.5e14, is as
diverged as a NaN; no objective of ``gan.losses`` reaches 1e8 on the toy data while it trains: the toy objectives are
O(1) at the scale of the mixtures, and a critic's loss grows with its weights, which are checked too): its gradients are zeroed and its Adam moments set to 0, which makes Adam's
update exactly 0 (m = 0 ⇒ Δθ = −lr·0/(0 + ε) = 0), so its G and D keep the parameters that
produced the first non-finite loss while the other seeds go on. Non-finite parameters always
reach the loss (NaN·0 = NaN in a matmul), so they are caught at the next loss; parameters are also
re-checked at every evaluation (non-finite, or beyond ``PARAM_BOUND`` = 1e6 in absolute value). The evaluation rows
carry ``diverged`` (0/1) and ``diverged_at`` (the iteration, NaN while the seed is alive). On the CPU the masking is skipped while no seed has diverged
(a free host check); on accelerators it always runs (no sync); the numbers are the same.

Regularizers: the config's regularizer fields (``penalty``, ``clip``, ``spectral_norm``, ``real_target``,
``instance_noise``) become hooks (:func:`toy.hooks.regularization_hooks`, spectral normalization of the
stacked D) with per-seed random streams; further hooks can be passed in. Hooks (:class:`TrainHooks`):
the trainer knows nothing about specific regularizers; ``gan.regularizers`` plugs in through callables
that act on whole seed batches:
``d_penalty(D_forward, real, fake) -> (S,)`` (added to L_D, e.g. gradient penalty, R1, DRAGAN),
``d_inputs(real, fake, it) -> (real, fake)`` (instance noise), ``after_d_step(D)`` (weight clipping),
``wrap_loss(loss) -> loss`` (label smoothing) and ``after_iteration(it, G, D)`` (inspection; tests
use it to inject a NaN). Hooks that draw random numbers should draw them per seed
(``trainer.hook_gens``, the seeds' ``hook`` streams) to keep batched ≡ one-at-a-time.

Memory: on the CPU, large stacks of seeds free and reallocate tens of MB per step, which glibc returns to the
kernel and page-faults back in; :func:`gan.malloc.retain_freed_memory` (a process-wide setting, applied by the
study engine :mod:`studies.executors` and by ``benchmarks.toy_speed``, not by the trainer) avoids that: 143.7 →
153.7 seed-steps/s at S = 40 on the 2-core CPU of development (``python -m benchmarks.toy_speed --seeds 40
--repeats 5 --no-small --no-write`` with and without ``DISTMATCH_MALLOC=default``).

Checkpoints (:meth:`ToyTrainer.state_dict`, ``train_toy(checkpoint=...)``): networks, Adam states,
every per-seed random stream, masks, loss history and metric rows, saved at epoch boundaries; a
resumed run reproduces an uninterrupted one exactly (same device and versions). The generator
objectives (:mod:`toy.generator_losses`) draw no random numbers and hold no state, so they add nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Sequence
from pathlib import Path

import numpy as np
import torch

from divergences import GaussianMixture, ring
from gan.checkpoint import CheckpointFile
from gan.losses import AdversarialLoss, get_loss
from gan.regularizers import TrainOptions
from gan.remedies import minibatch_stddev, pack
from gan.schedules import lr_factor, set_lr
from gan.seeding import ADAM_IMPLS, make_adam

from .data import ToyData, TorchMixture, check_seeds, per_seed, seed_generators
from .generator_losses import DEFAULT_GENERATOR_LOSS, GeneratorStep, build_generator_loss, check_generator_loss
from .hooks import TrainHooks, regularization_hooks
from .metrics import PACGAN_N_SAMPLES, DStarProbe, ModeReference, get_mode_rule, mode_statistics
from .models import MLPSpec, StackedMLP

DTYPES = {"float32": torch.float32, "float64": torch.float64}
UPDATES = ("alternating", "simultaneous")
N_KEPT_SAMPLES = 2500  # final samples per seed a ToyResult keeps (for figures)
LATENT_BLOCK_ELEMENTS = 1 << 23  # a seed's latents drawn at once (32 MiB in float32); see ToyTrainer.epoch
LOSS_BOUND = 1e8  # |loss| beyond this marks a seed diverged (module docstring)
PARAM_BOUND = 1e6  # |parameter| beyond this marks a seed diverged at the next evaluation


def _is_int(v: Any) -> bool:
    """An integer (numpy integers included), not a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v: Any) -> bool:
    """A real number (numpy floating and integer scalars included), not a bool."""
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


@dataclass(frozen=True)
class ToyConfig:
    """One toy GAN configuration (every seed of a run shares it).

    Defaults are the 2D-ring networks of Welfert et al. (2024) / the ISIT 2025 tutorial
    (G 2→400→400→400→400→2 ReLU, D 2→200→200→200→200→1 LeakyReLU(0.2), logit out); the
    optimiser and schedule defaults are generic (studies pin their paper's values).

    mixture : data distribution P. n_train, fresh, data_seed : see :class:`toy.data.ToyData`.
    latent_dim : k. g_*/d_* : width, number of hidden layers, activation of G and D.
    loss, loss_params : the adversarial objective, ``gan.losses.get_loss(loss, **loss_params)``.
    options : the update schedule and the regularizers, :class:`gan.regularizers.TrainOptions` (the one declaration
        shared with the image trainer): Adam learning rates ``lr_d``/``lr_g`` and betas (β1, β2) of both networks,
        ``n_dis`` D steps per G step, the D penalty (gp / r1 / dragan) and its weight, weight clipping, spectral
        norm, one-sided label smoothing, instance noise; applied through :func:`toy.hooks.regularization_hooks` and
        :meth:`toy.models.StackedMLP.enable_spectral_norm` (on D; random draws per seed).
    g_objective, g_objective_params : the generator's objective by name (:mod:`toy.generator_losses`, like ``loss``
        and ``loss_params``): ``adversarial`` (the loss's own G term), ``feature_matching`` (Salimans et al. 2016;
        needs ``d_depth ≥ 1``) or ``unrolled`` (Metz et al. 2017; params ``steps`` ≥ 1 and ``lr``, the look-ahead's
        SGD rate, default ``options.lr_d``).
    adam : ``"fused"``, ``"foreach"``, ``"for"`` or ``"auto"`` (``gan.seeding.make_adam``).
    batch_size : B (real, fake and G-step batches).
    epochs : passes over the N // B real minibatches (n_dis of them per iteration).
    eval_every : evaluate after every this many epochs (and at epoch 0 and at the end).
    n_eval : generated samples per seed for the mode metrics (2500 as VEEGAN/PacGAN).
    mode_rule, mode_rule_params, kl_eps : :func:`toy.metrics.get_mode_rule`, histogram pseudo-count.
    fixed_generator : if set, no G network; fakes are samples of this Q (D-only training).
    n_probe : Monte Carlo points of the D* probe (only with ``fixed_generator``).
    dtype : ``"float32"`` or ``"float64"``.
    pack : PacGAN degree m (Lin et al. 2018): D sees m samples concatenated, B/m packs per batch
        (``gan.remedies.pack``; B must be divisible by m); 1 = off. D is then a function of packs, and
        gradient penalties (gp, r1, dragan) act on the packed inputs (one interpolate per pack for gp).
    minibatch_std : append the minibatch standard deviation (Karras et al. 2018;
        ``gan.remedies.minibatch_stddev``) as one more input of D, computed over the real and the
        fake batch separately. Both change what D sees, so there is no pointwise D* to probe with them.
    init, init_gain : initialisation of G's and D's layers (:data:`toy.models.INITS`): ``default`` (``nn.Linear``'s)
        or ``orthogonal`` with that gain and zero biases (the unrolled-GAN / VEEGAN / GDPP toy code: gain 1.4).
    update : ``alternating`` (n_dis D steps, then a G step against the updated D; Goodfellow et al. 2014, Alg. 1) or
        ``simultaneous`` (one D and one G gradient at the same parameters, on the same real batch and latents, then
        both updates: what running both train ops in one ``session.run`` does in the TensorFlow toy code of Metz et
        al. 2017, VEEGAN and GDPP; n_dis must be 1).
    latents : ``fresh`` (new z ~ N(0, I_k) for every minibatch) or ``fixed`` (each seed draws n_train latents once,
        paired with the training samples and reshuffled with them every epoch: the authors' code of Welfert et al.
        2023; needs a fixed training set and ``g_latents="reuse"``).
    g_latents : ``fresh`` (the G step draws its own z) or ``reuse`` (the G step reuses the z of the iteration's last D
        step, against the just-updated D, as Welfert et al.'s code does).

    Every field is checked here (ValueError/TypeError naming it): integers must be integers (numpy integers
    included, bools not), real numbers real (numpy scalars included, bools and strings not).
    """

    mixture: GaussianMixture = field(default_factory=ring)
    n_train: int = 50_000
    fresh: bool = False
    data_seed: int = 0
    latent_dim: int = 2
    g_width: int = 400
    g_depth: int = 4
    g_activation: str = "relu"
    d_width: int = 200
    d_depth: int = 4
    d_activation: str = "leaky_relu"
    loss: str = "ns"
    loss_params: Mapping[str, Any] = field(default_factory=dict)
    options: TrainOptions = field(default_factory=TrainOptions)
    g_objective: str = DEFAULT_GENERATOR_LOSS
    g_objective_params: Mapping[str, Any] = field(default_factory=dict)
    adam: str = "fused"
    batch_size: int = 128
    epochs: int = 1
    eval_every: int = 1
    n_eval: int = PACGAN_N_SAMPLES
    mode_rule: str = "welfert"
    mode_rule_params: Mapping[str, Any] = field(default_factory=dict)
    kl_eps: float = 0.0
    fixed_generator: GaussianMixture | None = None
    n_probe: int = 20_000
    dtype: str = "float32"
    pack: int = 1
    minibatch_std: bool = False
    init: str = "default"
    init_gain: float = 1.0
    update: str = "alternating"
    latents: str = "fresh"
    g_latents: str = "fresh"

    def __post_init__(self) -> None:
        if not isinstance(self.mixture, GaussianMixture):
            raise TypeError(f"mixture must be a divergences.GaussianMixture; got {type(self.mixture).__name__}")
        for name in ("n_train", "latent_dim", "g_width", "d_width", "batch_size", "epochs", "eval_every", "n_eval",
                     "n_probe", "pack"):
            v = getattr(self, name)
            if not _is_int(v) or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        for name in ("g_depth", "d_depth", "data_seed"):
            v = getattr(self, name)
            if not _is_int(v) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer; got {v!r}")
        for name in ("fresh", "minibatch_std"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False; got {getattr(self, name)!r}")
        if not isinstance(self.options, TrainOptions):
            raise TypeError(f"options must be a gan.regularizers.TrainOptions; got {type(self.options).__name__}")
        if not _is_real(self.kl_eps) or not (math.isfinite(self.kl_eps) and self.kl_eps >= 0):
            raise ValueError(f"kl_eps must be a finite number >= 0; got {self.kl_eps!r}")
        if self.n_train // self.batch_size < self.options.n_dis:
            raise ValueError(f"an epoch of n_train // batch_size = {self.n_train // self.batch_size} minibatches "
                             f"must hold at least n_dis = {self.options.n_dis}")
        if self.adam not in ADAM_IMPLS:
            raise ValueError(f"adam must be one of {ADAM_IMPLS}; got {self.adam!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}; got {self.dtype!r}")
        if self.fixed_generator is not None and self.fixed_generator.dim != self.mixture.dim:
            raise ValueError(f"fixed_generator has dimension {self.fixed_generator.dim}, the data {self.mixture.dim}")
        self.options.wrap_loss(self.build_loss())  # the regularizers fit the loss (label smoothing)
        unsupported = self.options.image_only() + (("penalty_interval",) if self.options.penalty_interval != 1 else ())
        if unsupported:
            raise ValueError(f"options {list(unsupported)} are image-trainer regularizers (gan.train); the toy trainer "
                             "does not implement them")
        if self.batch_size % self.pack:
            raise ValueError(f"batch_size {self.batch_size} must be divisible by pack {self.pack}")
        check_generator_loss(self.g_objective, self.g_objective_params, self.options)
        if self.g_objective != DEFAULT_GENERATOR_LOSS and self.fixed_generator is not None:
            raise ValueError(f"g_objective {self.g_objective!r} changes the generator's loss, but with "
                             "fixed_generator there is no generator network to train")
        for name, allowed in (("update", UPDATES), ("latents", ("fresh", "fixed")), ("g_latents", ("fresh", "reuse"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}; got {getattr(self, name)!r}")
        if self.update == "simultaneous" and (self.options.n_dis != 1 or self.g_latents != "reuse"):
            raise ValueError("update='simultaneous' takes one D and one G gradient on the same batch: it needs "
                             f"n_dis = 1 and g_latents='reuse'; got n_dis={self.options.n_dis}, "
                             f"g_latents={self.g_latents!r}")
        if self.latents == "fixed" and (self.fresh or self.g_latents != "reuse" or self.fixed_generator is not None):
            raise ValueError("latents='fixed' pairs one latent with each training sample: it needs a fixed training "
                             "set (fresh=False), g_latents='reuse' and a generator network")
        self.g_spec()  # validates init and init_gain
        if self.g_objective == "feature_matching" and self.d_depth < 1:
            raise ValueError(f"feature_matching needs a hidden layer of D (d_depth >= 1); got d_depth={self.d_depth!r}")

    def g_spec(self) -> MLPSpec:
        """Architecture of G: latent_dim → data dim."""
        return MLPSpec(self.latent_dim, self.mixture.dim, self.g_width, self.g_depth, self.g_activation, self.init,
                       self.init_gain)

    def d_spec(self) -> MLPSpec:
        """Architecture of D: data dim × pack (+ 1 minibatch-std feature) → 1 logit."""
        return MLPSpec(self.mixture.dim * self.pack + int(self.minibatch_std), 1, self.d_width, self.d_depth,
                       self.d_activation, self.init, self.init_gain)

    def build_loss(self) -> AdversarialLoss:
        """The registered loss with its parameters."""
        return get_loss(self.loss, **dict(self.loss_params))

    @property
    def betas(self) -> tuple[float, float]:
        """Adam (β1, β2) of G and D."""
        return (self.options.beta1, self.options.beta2)


class Divergence(NamedTuple):
    """Where a seed diverged: the iteration and what was non-finite (``d_loss``, ``g_loss`` or ``params``)."""

    iteration: int
    where: str


@dataclass
class ToyResult:
    """Output of :func:`train_toy`.

    rows : long-format metric rows ``{"seed", "epoch", "metric", "value"}``.
    diverged : seed → :class:`Divergence` or None.
    loss_d, loss_g : (iterations, S) per-seed loss of the last D step / the G step of every iteration
        (the G objective's value: the feature-matching distance with ``feature_matching``, the loss
        against the look-ahead D with ``unrolled``; NaN where not computed; float64 copies on the CPU).
    G, D : the trained stacked networks (G is None with a fixed generator).
    samples : (S, min(n_eval, 2500), d) float32 CPU tensor, the trained G at the first evaluation latents (the
        samples of the last evaluation); None with a fixed generator.
    """

    config: ToyConfig
    seeds: list[int]
    rows: list[dict]
    diverged: dict[int, Divergence | None]
    loss_d: torch.Tensor
    loss_g: torch.Tensor
    G: StackedMLP | None
    D: StackedMLP
    iterations: int
    wall_time: float
    samples: torch.Tensor | None = None

    def table(self):
        """The rows as a pandas DataFrame (columns seed, epoch, metric, value)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=["seed", "epoch", "metric", "value"])


_WHERE = ("", "d_loss", "g_loss", "params")


class ToyTrainer:
    """State of one batched run of ``seeds``: data, stacked G and D, optimisers, divergence masks.

    :func:`train_toy` is the entry point; the trainer is public for benchmarks and step-level use:
    ``epoch(e)`` runs the iterations of epoch e (``config.epochs`` bounds e: the loss history is
    preallocated), ``evaluate(epoch, iterations_done)`` appends metric rows to ``rows``.
    """

    def __init__(self, config: ToyConfig, seeds: list[int], device: torch.device, hooks: TrainHooks):
        self.cfg, self.seeds, self.device = config, seeds, device
        self.S = S = len(seeds)
        self.dtype = DTYPES[config.dtype]
        self.data = ToyData(config.mixture, config.n_train, config.fresh, config.data_seed, config.latent_dim,
                            device, self.dtype)
        self.hook_gens = seed_generators(seeds, "hook", device)
        self.hooks = hooks = regularization_hooks(config.options, self.hook_gens).combine(hooks)
        self.loss = config.build_loss()
        if hooks.wrap_loss is not None:
            self.loss = hooks.wrap_loss(self.loss)
        self.D = StackedMLP.from_generators(config.d_spec(), seed_generators(seeds, "d_init"), device, self.dtype)
        if config.options.spectral_norm:
            self.D.enable_spectral_norm(seed_generators(seeds, "spectral_norm"))
        self.opt_d = make_adam(self.D.parameters(), config.options.lr_d, config.betas, config.adam, device)
        self.data_gens = seed_generators(seeds, "data", device)
        self.latent_gens = seed_generators(seeds, "latent", device)
        if config.fixed_generator is None:
            self.G: StackedMLP | None = StackedMLP.from_generators(config.g_spec(), seed_generators(seeds, "g_init"),
                                                                   device, self.dtype)
            self.opt_g = make_adam(self.G.parameters(), config.options.lr_g, config.betas, config.adam, device)
            self.g_objective = build_generator_loss(config.g_objective, config.g_objective_params, config.options)
            self.Q = None
            self.z_eval = self.data.latents(seed_generators(seeds, "eval", device), 1, config.n_eval)[0]
            # the fixed training latents (latents="fixed"): drawn once, before any epoch, from the latent streams
            self.z_train = (self.data.latents(self.latent_gens, 1, config.n_train)[0] if config.latents == "fixed"
                            else None)
            self.probe = None
        else:
            self.G, self.opt_g = None, None
            self.Q = TorchMixture.from_mixture(config.fixed_generator, device, self.dtype)
            self.fake_gens = seed_generators(seeds, "fake", device)
            try:
                if config.pack > 1 or config.minibatch_std:
                    raise ValueError("D sees packs / batch statistics: no pointwise D*")
                self.probe = DStarProbe(config.mixture, config.fixed_generator, self.loss.analytic, config.n_probe,
                                        seed=config.data_seed, device=device, dtype=self.dtype)
            except ValueError:
                self.probe = None  # no pointwise D* to compare with for this objective
        self.modes = ModeReference.from_mixture(config.mixture, device)
        self.rule = get_mode_rule(config.mode_rule, **dict(config.mode_rule_params))
        self.alive = torch.ones(S, dtype=torch.bool, device=device)
        self.div_iter = torch.full((S,), -1, dtype=torch.long, device=device)
        self.div_where = torch.zeros(S, dtype=torch.long, device=device)
        self.mask_always = device.type != "cpu"
        self.steps = self.data.steps_per_epoch(config.batch_size)
        self.iters_per_epoch = self.steps // config.options.n_dis
        total = self.iters_per_epoch * config.epochs
        self.hist_d = torch.full((total, S), math.nan, dtype=self.dtype, device=device)
        self.hist_g = torch.full((total, S), math.nan, dtype=self.dtype, device=device)
        self.rows: list[dict] = []
        self.epochs_done = 0

    # ------------------------------------------------------------------ checkpoints
    def _generator_lists(self) -> dict[str, list[torch.Generator]]:
        gens = {"data": self.data_gens, "hook": self.hook_gens}
        if self.G is None:
            gens["fake"] = self.fake_gens
        else:
            gens["latent"] = self.latent_gens
        return gens

    def state_dict(self) -> dict:
        """Everything a resumed run needs to continue exactly: networks, Adam states, every random stream,
        divergence masks, loss history, metric rows and the number of finished epochs."""
        nets = {"D": self.D.state_dict(), "opt_d": self.opt_d.state_dict()}
        if self.G is not None:
            nets.update(G=self.G.state_dict(), opt_g=self.opt_g.state_dict())
        return {
            "seeds": list(self.seeds), "epochs_done": self.epochs_done, **nets,
            "generators": {k: [g.get_state() for g in v] for k, v in self._generator_lists().items()},
            "alive": self.alive, "div_iter": self.div_iter, "div_where": self.div_where,
            "hist_d": self.hist_d, "hist_g": self.hist_g, "rows": list(self.rows),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` of a trainer of the same config and seeds (ValueError otherwise)."""
        if list(state["seeds"]) != self.seeds:
            raise ValueError(f"checkpoint is for seeds {state['seeds']}, this trainer has {self.seeds}")
        if tuple(state["hist_d"].shape) != tuple(self.hist_d.shape):
            raise ValueError(f"checkpoint loss history has shape {tuple(state['hist_d'].shape)}, "
                             f"this config {tuple(self.hist_d.shape)} (different epochs or batch size?)")
        self.D.load_state_dict(state["D"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.G is not None:
            self.G.load_state_dict(state["G"])
            self.opt_g.load_state_dict(state["opt_g"])
        for k, gens in self._generator_lists().items():
            for g, st in zip(gens, state["generators"][k]):
                g.set_state(st)
        for name in ("alive", "div_iter", "div_where", "hist_d", "hist_g"):
            getattr(self, name).copy_(state[name])
        self.rows = list(state["rows"])
        self.epochs_done = int(state["epochs_done"])

    # ------------------------------------------------------------------ divergence bookkeeping
    def _check(self, loss: torch.Tensor, it: int, where: int) -> None:
        bad = ~(loss.detach().abs() <= LOSS_BOUND)  # NaN compares false: non-finite or beyond the bound
        new = bad & self.alive
        self.div_iter = torch.where(new, it, self.div_iter)
        self.div_where = torch.where(new, where, self.div_where)
        self.alive = self.alive & ~bad

    def _freeze_dead(self, params: list[torch.Tensor], opt: torch.optim.Optimizer) -> None:
        if not self.mask_always and bool(self.alive.all()):
            return
        dead = (~self.alive).view(-1, 1, 1)
        for p in params:
            if p.grad is not None:
                p.grad.masked_fill_(dead, 0.0)
            state = opt.state.get(p)
            if state:
                state["exp_avg"].masked_fill_(dead, 0.0)
                state["exp_avg_sq"].masked_fill_(dead, 0.0)

    # ------------------------------------------------------------------ steps
    def _packs(self, x: torch.Tensor) -> torch.Tensor:
        """Samples (S, n, d) → PacGAN packs (S, n/m, m·d) (unchanged with m = 1)."""
        return pack(x, self.cfg.pack, sample_ndim=2) if self.cfg.pack > 1 else x

    def _with_std(self, rows: torch.Tensor) -> torch.Tensor:
        """Packs (S, n/m, m·d) → D's input rows, with the minibatch-std feature per group of B/m packs
        (one group per real or fake batch) if the config asks for it."""
        if self.cfg.minibatch_std:
            return minibatch_stddev(rows, sample_ndim=2, group_size=self.cfg.batch_size // self.cfg.pack)
        return rows

    def _d_input(self, x: torch.Tensor) -> torch.Tensor:
        """D's input rows (S, n/m, m·d [+1]) for samples (S, n, d): packed, then the minibatch-std feature."""
        return self._with_std(self._packs(x))

    def _d_on_packs(self, rows: torch.Tensor) -> torch.Tensor:
        """D's logits (S, n/m) for packs (S, n/m, m·d): D seen as a function of its packed inputs."""
        return self.D(self._with_std(rows)).squeeze(-1)

    def _d_logits(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits (S, n/m) for samples (S, n, d) (inputs as :meth:`_d_input`)."""
        return self._d_on_packs(self._packs(x))

    def _backward(self, loss: torch.Tensor, net: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
        """Backward of the summed per-seed losses into ``net``'s gradients, diverged seeds frozen."""
        loss.sum().backward()
        self._freeze_dead(list(net.parameters()), opt)

    @staticmethod
    def _apply(opt: torch.optim.Optimizer) -> None:
        """One optimizer step on the stored gradients, then clear them."""
        opt.step()
        opt.zero_grad(set_to_none=True)

    def _update(self, loss: torch.Tensor, net: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
        """Backward of the summed per-seed losses, diverged seeds frozen, one optimizer step."""
        self._backward(loss, net, opt)
        self._apply(opt)

    def d_step(self, real: torch.Tensor, fake: torch.Tensor, it: int) -> None:
        if self.hooks.d_inputs is not None:
            real, fake = self.hooks.d_inputs(real, fake, it)
        n_real = real.shape[1] // self.cfg.pack  # logits of the real batch (packs of m samples)
        v = self._d_logits(torch.cat([real, fake], dim=1))
        loss = self.loss.d_loss(v[:, :n_real], v[:, n_real:])
        if self.hooks.d_penalty is not None:  # on D's packed inputs: with PacGAN, D is a function of packs
            loss = loss + self.hooks.d_penalty(self._d_on_packs, self._packs(real), self._packs(fake))
        self._check(loss, it, 1)
        self._update(loss, self.D, self.opt_d)
        if self.hooks.after_d_step is not None:
            with torch.no_grad():
                self.hooks.after_d_step(self.D)
        self.hist_d[it] = loss.detach()

    def g_loss(self, z: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Per-seed G objective (S,) of the config (:mod:`toy.generator_losses`) at latents z (S, B, k) and real
        samples (S, B, d), differentiable in G's parameters; D's parameters receive no gradient."""
        return self._g_objective(self.G(z), real)

    def _g_objective(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """The G objective (S,) of generated samples ``fake`` (attached to G's graph); D frozen."""
        for p in self.D.parameters():
            p.requires_grad_(False)
        try:
            return self.g_objective(GeneratorStep(self.D, self._d_input, self._d_logits, self.loss, real, fake,
                                                  self.opt_d))
        finally:
            for p in self.D.parameters():
                p.requires_grad_(True)

    def g_step(self, z: torch.Tensor, real: torch.Tensor, it: int, apply: bool = True) -> torch.Tensor:
        """G's gradient at the current D; with ``apply`` its update too (else the caller applies it later:
        ``update="simultaneous"``). Returns G(z) before the update, detached."""
        fake = self.G(z)
        loss = self._g_objective(fake, real)
        self._check(loss, it, 2)
        self._backward(loss, self.G, self.opt_g)
        if apply:
            self._apply(self.opt_g)
        self.hist_g[it] = loss.detach()
        return fake.detach()

    def _schedule_rates(self, it: int) -> None:
        """Both optimisers' rates at iteration ``it``: base rate × :func:`gan.schedules.lr_factor`."""
        opts = self.cfg.options
        factor = lr_factor(opts.lr_schedule, it, self.hist_d.shape[0])
        set_lr(self.opt_d, opts.lr_d * factor)
        if self.opt_g is not None:
            set_lr(self.opt_g, opts.lr_g * factor)

    def epoch(self, epoch: int, bar=None) -> None:
        """The iterations of epoch ``epoch``. Latents are drawn per block of iterations: the D latents of the block,
        then its G latents (``g_latents="fresh"``), one draw each per seed. A block is the whole epoch unless a seed's
        latents for it would exceed ``LATENT_BLOCK_ELEMENTS`` (large latent dimensions), so the draws depend on the
        config only, never on the number of seeds trained together."""
        cfg = self.cfg
        n_dis, B = cfg.options.n_dis, cfg.batch_size
        n_it = self.iters_per_epoch
        if cfg.latents == "fixed":  # latents paired with the samples, reshuffled with them
            real, z_fixed = self.data.real_epoch(self.data_gens, B, paired=self.z_train)
        else:
            real = self.data.real_epoch(self.data_gens, B)  # (steps, S, B, d)
        if self.G is None:
            fakes = per_seed(lambda g: self.Q.sample((n_it * n_dis, B), g), self.fake_gens)
        n_g = 1 if cfg.g_latents == "fresh" else 0
        block = n_it if self.G is None or cfg.latents == "fixed" else \
            max(1, min(n_it, LATENT_BLOCK_ELEMENTS // ((n_dis + n_g) * B * cfg.latent_dim)))
        base = epoch * n_it
        for start in range(0, n_it, block):
            stop = min(start + block, n_it)
            if self.G is not None:
                if cfg.latents == "fixed":
                    z_d, z_g = z_fixed[start * n_dis: stop * n_dis], None
                else:
                    z_all = self.data.latents(self.latent_gens, (stop - start) * (n_dis + n_g), B)
                    z_d, z_g = z_all[: (stop - start) * n_dis], z_all[(stop - start) * n_dis:]
            for i in range(start, stop):
                it, b = base + i, i - start  # b: the iteration within the block
                if cfg.options.lr_schedule != "constant":
                    self._schedule_rates(it)
                last = (i + 1) * n_dis - 1  # the iteration's last D step: its real batch (and z, with reuse) feed G
                if cfg.update == "simultaneous":  # both gradients at the same parameters, then both updates
                    fake = self.g_step(z_d[b], real[i], it, apply=False)
                    self.d_step(real[i], fake, it)
                    self._apply(self.opt_g)
                else:
                    for j in range(n_dis):
                        k = i * n_dis + j
                        if self.G is None:
                            fake = fakes[k]
                        else:
                            with torch.no_grad():
                                fake = self.G(z_d[b * n_dis + j])
                        self.d_step(real[k], fake, it)
                    if self.G is not None:
                        z = z_g[b] if cfg.g_latents == "fresh" else z_d[(b + 1) * n_dis - 1]
                        self.g_step(z, real[last], it)
                if self.hooks.after_iteration is not None:
                    with torch.no_grad():
                        self.hooks.after_iteration(it, self.G, self.D)
                if bar is not None:
                    bar.update(1)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, epoch: int, it_done: int) -> None:
        """Metrics of every seed after ``epoch`` epochs; the one host sync of the run happens here."""
        names: list[str] = []
        vals: list[torch.Tensor] = []
        with torch.no_grad():
            ok = self.D.finite_mask(PARAM_BOUND)
            if self.G is not None:
                ok &= self.G.finite_mask(PARAM_BOUND)
            new = ~ok & self.alive
            self.div_iter = torch.where(new, max(it_done - 1, 0), self.div_iter)
            self.div_where = torch.where(new, 3, self.div_where)
            self.alive &= ok
            if self.G is not None:
                st = mode_statistics(self.G(self.z_eval), self.modes, self.rule, self.cfg.kl_eps)
                names += ["modes_captured", "hq_fraction", "mode_reverse_kl"]
                vals += [st.modes_captured, st.hq_fraction, st.reverse_kl]
            if self.probe is not None:
                l2, se = self.probe(self.D)
                names += ["d_star_l2", "d_star_l2_se"]
                vals += [l2, se]
            last = it_done - 1
            nan = torch.full((self.S,), math.nan, dtype=self.dtype, device=self.device)
            names += ["loss_d", "loss_g", "diverged", "diverged_at"]
            vals += [self.hist_d[last] if last >= 0 else nan,
                     self.hist_g[last] if last >= 0 and self.G is not None else nan, (~self.alive),
                     torch.where(self.alive, math.nan, self.div_iter.to(torch.float64))]
            table = torch.stack([v.to(torch.float64) for v in vals]).cpu().tolist()
        for name, row in zip(names, table):
            for seed, value in zip(self.seeds, row):
                self.rows.append({"seed": seed, "epoch": epoch, "metric": name, "value": float(value)})


def train_toy(config: ToyConfig, seeds: Sequence[int], device: torch.device | str = "cpu",
              hooks: TrainHooks | None = None, progress: bool = False,
              checkpoint: str | Path | CheckpointFile | None = None,
              checkpoint_every: int = 1, on_epoch: Callable[[ToyTrainer], None] | None = None) -> ToyResult:
    """Train the seeds ``seeds`` of ``config`` as one batched computation and evaluate them.

    Evaluates at epoch 0 (the initialisation), after every ``eval_every`` epochs and after the last.
    Metrics per seed: ``modes_captured``, ``hq_fraction``, ``mode_reverse_kl`` (trained G; see
    :mod:`toy.metrics`), ``d_star_l2`` and ``d_star_l2_se`` (fixed generator with a pointwise D*),
    ``loss_d``/``loss_g`` (last iteration) and ``diverged`` (0/1). Never raises on NaN/inf in training:
    diverged seeds are frozen and reported (module docstring).

    checkpoint : path of a checkpoint file, or a :class:`gan.checkpoint.CheckpointFile` naming the metadata the
        checkpoint must carry (a run store's configuration key and seeds). If it exists, training resumes from it
        (same config and seeds; every random stream restored, so the result equals an uninterrupted run bit for
        bit); otherwise it is written (sealed and atomically, :func:`gan.checkpoint.save_checkpoint`, with the
        progress ``{"epoch": e}`` in its header) after every ``checkpoint_every`` epochs. It is left in place at the end (the caller removes it once the
        results are stored).
    on_epoch(trainer) : called after every epoch (and its evaluation); ``trainer.epochs_done`` and
        ``trainer.rows`` tell the progress (studies drive their progress bars with it).

    >>> from divergences import ring
    >>> cfg = ToyConfig(mixture=ring(4), n_train=256, batch_size=64, g_width=16, d_width=16, g_depth=1, d_depth=1)
    >>> res = train_toy(cfg, seeds=[0, 1])
    >>> sorted({r["metric"] for r in res.rows})[:4], res.iterations
    (['diverged', 'diverged_at', 'hq_fraction', 'loss_d'], 4)
    """
    seeds = check_seeds(seeds)
    if not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be a positive integer; got {checkpoint_every!r}")
    device = torch.device(device)
    hooks = hooks or TrainHooks()
    t0 = time.perf_counter()
    tr = ToyTrainer(config, seeds, device, hooks)
    ckpt = CheckpointFile.of(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.exists():
        tr.load_state_dict(ckpt.load(map_location=device))
    else:
        tr.evaluate(0, 0)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=tr.iters_per_epoch * config.epochs, initial=tr.iters_per_epoch * tr.epochs_done,
                   desc=f"toy {config.loss} S={len(seeds)}", unit="it")
    try:
        for e in range(tr.epochs_done, config.epochs):
            tr.epoch(e, bar)
            if (e + 1) % config.eval_every == 0 or e + 1 == config.epochs:
                tr.evaluate(e + 1, (e + 1) * tr.iters_per_epoch)
            tr.epochs_done = e + 1
            if ckpt is not None and (e + 1) % checkpoint_every == 0 and e + 1 < config.epochs:
                ckpt.save(tr.state_dict(), progress={"epoch": f"{e + 1}/{config.epochs}"})
            if on_epoch is not None:
                on_epoch(tr)
    finally:
        if bar is not None:
            bar.close()
    div_iter, div_where = tr.div_iter.cpu().tolist(), tr.div_where.cpu().tolist()
    diverged = {s: (Divergence(i, _WHERE[w]) if i >= 0 else None) for s, i, w in zip(seeds, div_iter, div_where)}
    samples = None
    if tr.G is not None:
        with torch.no_grad():
            samples = tr.G(tr.z_eval[:, :N_KEPT_SAMPLES]).float().cpu()
    return ToyResult(config, seeds, tr.rows, diverged, tr.hist_d.double().cpu(), tr.hist_g.double().cpu(), tr.G, tr.D,
                     tr.iters_per_epoch * config.epochs, time.perf_counter() - t0, samples)
