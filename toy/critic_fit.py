"""Discriminators trained alone, many independent problems at once: slice s of a stacked MLP sees its own pair.

``toy.train``'s ``fixed_generator`` mode trains D against one fixed Q shared by every seed. Here every slice s
of a :class:`toy.models.StackedMLP` has its own data: real samples ``real[s]`` (from P_s) and fake samples
``fake[s]`` (from Q_s), e.g. one slice per (pair, sample size, seed) of a divergence-estimation study or per
generator position θ of the disjoint-supports example. One step (Adam on the stacked parameters, D loss of
``gan.losses``, regularizers of ``gan.regularizers`` through :func:`toy.hooks.regularization_hooks`):

    x ~ B rows of real[s] and x̃ ~ B rows of fake[s], drawn with replacement, per slice
    L[s] = mean_b d_real(D_s(x)) + mean_b d_fake(D_s(x̃)) (+ penalty[s]);  backward of Σ_s L[s]; Adam step
    (then weight clipping, if set)

Slices share no parameter, so this is S independent trainings (Adam is element-wise). Each slice draws its
minibatch indices from its own ``data`` (real) and ``fake`` streams and its regularizer randomness from its
``hook`` stream, and its initialisation from ``d_init`` (:data:`toy.data.STREAMS`, keyed by the slice's seed),
so a slice's numbers do not depend on the other slices. A slice whose loss becomes non-finite is frozen (its
gradients and Adam moments set to 0, as in ``toy.train``) and reported in ``CriticFit.diverged``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch

from gan.losses import AdversarialLoss, get_loss
from gan.regularizers import TrainOptions
from gan.seeding import ADAM_IMPLS, make_adam

from .data import check_seeds, seed_generators
from .hooks import regularization_hooks
from .models import MLPSpec, StackedMLP

DTYPES = {"float32": torch.float32, "float64": torch.float64}
INDEX_CHUNK = 64  # minibatch index draws per slice are made this many steps at a time


@dataclass(frozen=True)
class CriticSpec:
    """What to train: the D loss (``gan.losses`` name and parameters), the network, the schedule, regularizers.

    width, depth, activation : :class:`toy.models.MLPSpec` of D (input dimension from the data, one output).
    steps, batch_size : Adam steps and the per-side minibatch size B. lr, betas, adam : Adam of D.
    penalty, penalty_weight, clip, instance_noise : as :class:`gan.regularizers.TrainOptions` (validated there).
    dtype : "float32" or "float64".
    """

    loss: str = "ns"
    loss_params: Mapping = field(default_factory=dict)
    width: int = 64
    depth: int = 2
    activation: str = "leaky_relu"
    steps: int = 1000
    batch_size: int = 128
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    adam: str = "auto"
    penalty: str | None = None
    penalty_weight: float = 10.0
    clip: float | None = None
    instance_noise: float = 0.0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        object.__setattr__(self, "loss_params", dict(self.loss_params))
        for name in ("steps", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}; got {self.dtype!r}")
        if self.adam not in ADAM_IMPLS:
            raise ValueError(f"adam must be one of {ADAM_IMPLS}; got {self.adam!r}")
        self.options()  # validates the optimiser settings and the regularizers
        self.build_loss()
        self.mlp(1)

    def build_loss(self) -> AdversarialLoss:
        """``gan.losses.get_loss(loss, **loss_params)``."""
        return get_loss(self.loss, **self.loss_params)

    def options(self) -> TrainOptions:
        """The regularizers (and D's Adam settings) as :class:`gan.regularizers.TrainOptions`."""
        return TrainOptions(lr_d=self.lr, beta1=self.betas[0], beta2=self.betas[1], penalty=self.penalty,
                            penalty_weight=self.penalty_weight, clip=self.clip, instance_noise=self.instance_noise)

    def mlp(self, in_dim: int) -> MLPSpec:
        """D's architecture for inputs of dimension ``in_dim``: one output (logit / critic value)."""
        return MLPSpec(in_dim, 1, self.width, self.depth, self.activation)


@dataclass
class CriticFit:
    """Result of :func:`fit_critics`: the trained stacked D, the loss of every slice at the last step, and which
    slices were frozen after a non-finite loss (and at which step; −1 if never)."""

    D: StackedMLP
    last_loss: torch.Tensor
    diverged_at: torch.Tensor

    @property
    def diverged(self) -> torch.Tensor:
        """(S,) bool."""
        return self.diverged_at >= 0


def _check_data(real: torch.Tensor, fake: torch.Tensor, n_slices: int) -> None:
    for name, x in (("real", real), ("fake", fake)):
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[0] != n_slices or x.shape[1] < 1:
            raise ValueError(f"{name} must be a tensor (S, n, d) with S = {n_slices} slices (one per seed) and n >= 1; "
                             f"got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if real.shape[2] != fake.shape[2]:
        raise ValueError(f"real and fake must have the same dimension; got {real.shape[2]} and {fake.shape[2]}")


def _indices(gens: Sequence[torch.Generator], sizes: Sequence[int], steps: int, batch: int, device) -> torch.Tensor:
    """(steps, S, B) uniform indices, slice s into its first sizes[s] rows, drawn from generator s."""
    return torch.stack([torch.randint(int(n), (steps, batch), generator=g, device=device)
                        for g, n in zip(gens, sizes)], dim=1)


def fit_critics(spec: CriticSpec, real: torch.Tensor, fake: torch.Tensor, seeds: Sequence[int],
                device: torch.device | str = "cpu", sizes: Sequence[int] | None = None) -> CriticFit:
    """Train S discriminators (S = len(seeds)), slice s on ``real[s]`` (S, n_r, d) against ``fake[s]`` (S, n_f, d).

    The data are moved to ``device`` in the spec's dtype; the slices' random streams are keyed by ``seeds``
    (distinct non-negative integers). ``sizes``: slice s uses only the first sizes[s] rows of ``real[s]`` and
    ``fake[s]`` (training sets of different sizes padded to one tensor); default: all rows. Returns the trained
    network (module docstring).

    >>> import torch
    >>> real, fake = torch.zeros(2, 64, 1), torch.ones(2, 64, 1)
    >>> fit = fit_critics(CriticSpec(loss="ns", width=8, depth=1, steps=50, batch_size=16), real, fake, [0, 1])
    >>> bool((fit.D(torch.zeros(2, 1, 1)) > fit.D(torch.ones(2, 1, 1))).all())  # real at 0 scores higher
    True
    """
    seeds = check_seeds(seeds)
    S = len(seeds)
    _check_data(real, fake, S)
    if sizes is None:
        sizes_r, sizes_f = [real.shape[1]] * S, [fake.shape[1]] * S
    else:
        sizes = [int(n) for n in sizes]
        if len(sizes) != S or any(n < 1 or n > min(real.shape[1], fake.shape[1]) for n in sizes):
            raise ValueError(f"sizes must hold one integer in [1, {min(real.shape[1], fake.shape[1])}] per slice; "
                             f"got {sizes!r}")
        sizes_r = sizes_f = sizes
    device = torch.device(device)
    dtype = DTYPES[spec.dtype]
    real, fake = real.to(device, dtype), fake.to(device, dtype)
    d = real.shape[2]
    loss_fn = spec.build_loss()
    hook_gens = seed_generators(seeds, "hook", device)
    hooks = regularization_hooks(spec.options(), hook_gens)
    if hooks.wrap_loss is not None:
        loss_fn = hooks.wrap_loss(loss_fn)
    D = StackedMLP.from_generators(spec.mlp(d), seed_generators(seeds, "d_init"), device, dtype)
    opt = make_adam(D.parameters(), spec.lr, tuple(spec.betas), spec.adam, device)
    real_gens, fake_gens = seed_generators(seeds, "data", device), seed_generators(seeds, "fake", device)
    alive = torch.ones(S, dtype=torch.bool, device=device)
    diverged_at = torch.full((S,), -1, dtype=torch.long, device=device)
    B = spec.batch_size
    rows = torch.arange(S, device=device)[:, None]
    forward = lambda x: D(x).squeeze(-1)
    loss = torch.zeros(S, dtype=dtype, device=device)
    for start in range(0, spec.steps, INDEX_CHUNK):
        k = min(INDEX_CHUNK, spec.steps - start)
        idx_r = _indices(real_gens, sizes_r, k, B, device)
        idx_f = _indices(fake_gens, sizes_f, k, B, device)
        for j in range(k):
            it = start + j
            x, x_fake = real[rows, idx_r[j]], fake[rows, idx_f[j]]  # (S, B, d)
            if hooks.d_inputs is not None:
                x, x_fake = hooks.d_inputs(x, x_fake, it)
            v = forward(torch.cat([x, x_fake], dim=1))
            loss = loss_fn.d_loss(v[:, :B], v[:, B:])
            if hooks.d_penalty is not None:
                loss = loss + hooks.d_penalty(forward, x, x_fake)
            bad = ~torch.isfinite(loss.detach()) & alive
            if bool(bad.any()):
                diverged_at[bad] = it
                alive &= ~bad
            loss.masked_fill(~alive, 0.0).sum().backward()
            if not bool(alive.all()):
                _freeze(D, opt, ~alive)
            opt.step()
            opt.zero_grad(set_to_none=True)
            if hooks.after_d_step is not None:
                with torch.no_grad():
                    hooks.after_d_step(D)
    return CriticFit(D, loss.detach(), diverged_at)


def _freeze(D: StackedMLP, opt: torch.optim.Optimizer, dead: torch.Tensor) -> None:
    """Zero the gradients and Adam moments of the dead slices: Adam's update is then exactly 0 for them."""
    for p in D.parameters():
        mask = dead.view(-1, *([1] * (p.ndim - 1)))
        if p.grad is not None:
            p.grad.masked_fill_(mask, 0.0)
        state = opt.state.get(p)
        if state:
            state["exp_avg"].masked_fill_(mask, 0.0)
            state["exp_avg_sq"].masked_fill_(mask, 0.0)


def outputs(D: StackedMLP, x: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """D's raw outputs (S, n) at points x (S, n, d) (or (n, d), shared by all slices), without gradients."""
    S = D.n_seeds
    if x.ndim == 2:
        x = x.expand(S, *x.shape)
    dtype = D.weights[0].dtype
    with torch.no_grad():
        return torch.cat([D(x[:, i:i + chunk].to(dtype)).squeeze(-1) for i in range(0, x.shape[1], chunk)], dim=1)


__all__ = ["CriticFit", "CriticSpec", "fit_critics", "outputs"]
