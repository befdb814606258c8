"""One seed at a time with ordinary modules: the reference the seed-parallel trainer is checked and timed against.

:class:`PlainTrainer` trains one seed of a :class:`~toy.train.ToyConfig` with plain
``nn.Sequential`` networks (:func:`toy.models.plain_mlp`) and ``torch.optim.Adam``, drawing the
same numbers from the same per-seed streams as :func:`toy.train.train_toy` and taking the same
steps in the same order (D on the concatenated real and fake batch; D's parameters excluded from
the G step's backward). It shares no model or optimiser code with the stacked trainer, so
agreement between the two (``tests/toy``) checks the batching; and it is the sequential baseline
of ``benchmarks/toy_speed.py``. A learning-rate schedule (``options.lr_schedule``) is applied with torch's own
schedulers (``LinearLR``, ``CosineAnnealingLR``), independent of :mod:`gan.schedules`. No divergence handling, no hooks, no metrics, no mode-collapse
remedies (PacGAN, minibatch std, feature matching, unrolled D: ValueError).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.optim import lr_scheduler

from .data import ToyData, seed_generators
from .generator_losses import DEFAULT_GENERATOR_LOSS
from .models import plain_mlp
from .train import DTYPES, ToyConfig, make_adam


TORCH_SCHEDULERS: dict[str, Callable[[torch.optim.Optimizer, int], lr_scheduler.LRScheduler] | None] = {
    "constant": None,
    "linear": lambda opt, total: lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=total),
    "cosine": lambda opt, total: lr_scheduler.CosineAnnealingLR(opt, T_max=total),
}
"""torch's scheduler for each ``gan.schedules`` name (stepped once per iteration, after the G step)."""


class PlainTrainer:
    """One seed, plain modules. ``epoch()`` runs one epoch; ``loss_d``/``loss_g`` keep per-iteration losses."""

    def __init__(self, config: ToyConfig, seed: int, device: torch.device | str = "cpu"):
        if config.fixed_generator is not None:
            raise ValueError("PlainTrainer trains a generator network; fixed_generator must be None")
        remedies = {"pack": config.pack != 1, "minibatch_std": config.minibatch_std,
                    f"g_objective {config.g_objective}": config.g_objective != DEFAULT_GENERATOR_LOSS}
        if any(remedies.values()):
            raise ValueError(f"PlainTrainer implements the plain GAN only; {[k for k, v in remedies.items() if v]} "
                             "must be off (use toy.train.train_toy)")
        self.cfg = config
        self.device = torch.device(device)
        dtype = DTYPES[config.dtype]
        self.data = ToyData(config.mixture, config.n_train, config.fresh, config.data_seed, config.latent_dim,
                            self.device, dtype)
        self.loss = config.build_loss()
        self.G = plain_mlp(config.g_spec(), seed_generators([seed], "g_init")[0], dtype).to(self.device)
        self.D = plain_mlp(config.d_spec(), seed_generators([seed], "d_init")[0], dtype).to(self.device)
        self.opt_g = make_adam(self.G.parameters(), config.options.lr_g, config.betas, config.adam, self.device)
        self.opt_d = make_adam(self.D.parameters(), config.options.lr_d, config.betas, config.adam, self.device)
        make = TORCH_SCHEDULERS[config.options.lr_schedule]
        total = self.data.steps_per_epoch(config.batch_size) // config.options.n_dis * config.epochs
        self.schedulers = [] if make is None else [make(self.opt_d, total), make(self.opt_g, total)]
        self.data_gen = seed_generators([seed], "data", self.device)
        self.latent_gen = seed_generators([seed], "latent", self.device)
        self.loss_d: list[torch.Tensor] = []
        self.loss_g: list[torch.Tensor] = []

    def epoch(self) -> None:
        """One epoch: N // B real minibatches, ``n_dis`` D steps then one G step per iteration."""
        B, n_dis = self.cfg.batch_size, self.cfg.options.n_dis
        real = self.data.real_epoch(self.data_gen, B)[:, 0]  # (steps, B, d)
        n_it = real.shape[0] // n_dis
        z_all = self.data.latents(self.latent_gen, n_it * (n_dis + 1), B)[:, 0]
        z_d, z_g = z_all[: n_it * n_dis], z_all[n_it * n_dis:]
        for i in range(n_it):
            for j in range(n_dis):
                k = i * n_dis + j
                with torch.no_grad():
                    fake = self.G(z_d[k])
                v = self.D(torch.cat([real[k], fake])).squeeze(-1)
                loss_d = self.loss.d_loss(v[:B], v[B:])
                self.opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                self.opt_d.step()
            self.D.requires_grad_(False)
            loss_g = self.loss.g_loss(self.D(self.G(z_g[i])).squeeze(-1))
            self.D.requires_grad_(True)
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            self.opt_g.step()
            for sched in self.schedulers:
                sched.step()
            self.loss_d.append(loss_d.detach())
            self.loss_g.append(loss_g.detach())
