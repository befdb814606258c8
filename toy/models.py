"""Seed-parallel MLPs: S independent networks as one batched computation.

A :class:`StackedMLP` holds the parameters of S networks of the same architecture stacked on
a leading seed axis, weights ``(S, in, out)`` and biases ``(S, 1, out)``, and maps
``(S, B, in) → (S, B, out)`` with one ``torch.baddbmm`` per layer:

    h_{l+1}[s] = act(b_l[s] + h_l[s] @ W_l[s]),   s = 1..S   (no activation after the last layer).

Slice s is initialised exactly as the plain ``nn.Sequential`` of :func:`plain_mlp` built from the
same ``torch.Generator`` would be, which in turn draws exactly what ``nn.Linear``'s default
initialisation draws from the global RNG (``W ~ U(±1/√fan_in)`` via ``kaiming_uniform_(a=√5)``,
then ``b ~ U(±1/√fan_in)``, layer by layer; tested). Seeds share no parameter, so the gradient of
Σ_s loss_s with respect to slice s is the gradient of loss_s alone, and Adam (element-wise) on the
stacked tensors is Adam on every seed: training S seeds batched equals training each alone.

Implementation choice (measured on the 2-core CPU of development, default ring networks, S = 40,
B = 128, 2 threads, interleaved rounds in one process, median seed-steps/s): explicit ``baddbmm``
140 vs ``torch.func.vmap(functional_call)`` over the same stacked parameters 137 (vmap lowers
``F.linear`` to the same batched GEMMs), fused Adam 140 vs foreach Adam 106, and
``torch.compile`` of the forward passes 129 vs 145 eager (in a second session): the simplest
form, eager ``baddbmm`` with fused Adam, is used. With glibc keeping freed memory (:mod:`gan.malloc`, applied
by the study runner and the benchmark on the CPU; without it the per-step gradient tensors page-fault) the stacked step runs at
≈ 100-135 GFLOP/s there (``python -m benchmarks.toy_speed``), most of it in the batched GEMMs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

Activation = Callable[[torch.Tensor], torch.Tensor]

ACTIVATIONS: dict[str, tuple[Activation, Callable[[], nn.Module]]] = {
    "relu": (F.relu, nn.ReLU),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda: nn.LeakyReLU(0.2)),
    "tanh": (torch.tanh, nn.Tanh),
}
"""Name → (functional form, plain module factory). LeakyReLU has slope 0.2 (Radford et al. 2016)."""


@dataclass(frozen=True)
class MLPSpec:
    """Architecture of one MLP: ``depth`` hidden layers ``Linear + act`` of ``width`` units, then a Linear.

    Layers: ``in_dim → width``, (depth − 1) × ``width → width``, ``width → out_dim``
    (``depth = 0`` is a single affine map ``in_dim → out_dim``).
    """

    in_dim: int
    out_dim: int
    width: int
    depth: int
    activation: str = "relu"
    init: str = "default"
    init_gain: float = 1.0

    def __post_init__(self) -> None:
        for name in ("in_dim", "out_dim", "width"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if not isinstance(self.depth, int) or self.depth < 0:
            raise ValueError(f"depth must be a non-negative integer; got {self.depth!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got {self.activation!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {sorted(INITS)}; got {self.init!r}")
        if isinstance(self.init_gain, bool) or not isinstance(self.init_gain, (int, float)) or \
                not (math.isfinite(self.init_gain) and self.init_gain > 0):
            raise ValueError(f"init_gain must be a finite number > 0; got {self.init_gain!r}")

    def layer_dims(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every Linear layer, input to output."""
        if self.depth == 0:
            return [(self.in_dim, self.out_dim)]
        return [(self.in_dim, self.width)] + [(self.width, self.width)] * (self.depth - 1) + [(self.width, self.out_dim)]

    def macs(self) -> int:
        """Multiply-accumulates of one forward pass per sample, Σ_layers fan_in·fan_out (biases ignored)."""
        return sum(i * o for i, o in self.layer_dims())

    def n_params(self) -> int:
        """Parameters of one network, Σ_layers (fan_in + 1)·fan_out."""
        return sum((i + 1) * o for i, o in self.layer_dims())


def generator_spec(latent_dim: int = 2, data_dim: int = 2, width: int = 400, depth: int = 4,
                   activation: str = "relu") -> MLPSpec:
    """Default 2D-ring generator: Linear(2→400)+ReLU, 3×[Linear(400→400)+ReLU], Linear(400→2)."""
    return MLPSpec(latent_dim, data_dim, width, depth, activation)


def discriminator_spec(data_dim: int = 2, width: int = 200, depth: int = 4, activation: str = "leaky_relu") -> MLPSpec:
    """Default 2D-ring discriminator: as the generator with width 200 and LeakyReLU(0.2), one logit out."""
    return MLPSpec(data_dim, 1, width, depth, activation)


def init_linear_(weight: torch.Tensor, bias: torch.Tensor, generator: torch.Generator) -> None:
    """PyTorch's default ``nn.Linear`` initialisation drawn from ``generator`` (weight (out, in), then bias).

    ``kaiming_uniform_(a=√5)`` gives W ~ U(−1/√fan_in, 1/√fan_in); the bias is U(−1/√fan_in, 1/√fan_in).
    Same draws, in the same order, as ``nn.Linear.reset_parameters`` with the global RNG.
    """
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    fan_in = weight.shape[1]
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    nn.init.uniform_(bias, -bound, bound, generator=generator)


def init_orthogonal_(weight: torch.Tensor, bias: torch.Tensor, generator: torch.Generator, gain: float = 1.0) -> None:
    """Orthogonal weights scaled by ``gain`` (Saxe, McClelland & Ganguli 2014; ``nn.init.orthogonal_``), zero bias:
    the initialisation of the unrolled-GAN demo (Metz et al. 2017), VEEGAN and GDPP toy code (gain 1.4)."""
    nn.init.orthogonal_(weight, gain=gain, generator=generator)
    nn.init.zeros_(bias)


INITS = {"default": lambda w, b, g, gain: init_linear_(w, b, g), "orthogonal": init_orthogonal_}
"""Initialisation schemes of a layer (weight (out, in), bias, generator, gain): ``default`` is ``nn.Linear``'s own
(its gain is unused), ``orthogonal`` is :func:`init_orthogonal_`."""


def init_layer_(spec: MLPSpec, weight: torch.Tensor, bias: torch.Tensor, generator: torch.Generator) -> None:
    """Initialise one layer of ``spec`` with its scheme (:data:`INITS`)."""
    INITS[spec.init](weight, bias, generator, spec.init_gain)


def plain_mlp(spec: MLPSpec, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """The ordinary single-seed ``nn.Sequential`` of ``spec`` (on the CPU; move it with ``.to``).

    With ``generator`` its layers are re-initialised from it (:func:`init_linear_`); without, they
    keep ``nn.Linear``'s own initialisation from the global RNG (identical draws, tested).
    """
    act = ACTIVATIONS[spec.activation][1]
    layers: list[nn.Module] = []
    dims = spec.layer_dims()
    for k, (i, o) in enumerate(dims):
        if generator is None:
            lin = nn.Linear(i, o, dtype=dtype)
        else:  # no draw from the global RNG: construct uninitialised, then draw from ``generator``
            lin = torch.nn.utils.skip_init(nn.Linear, i, o, dtype=dtype)
            with torch.no_grad():
                init_layer_(spec, lin.weight, lin.bias, generator)
        layers.append(lin)
        if k < len(dims) - 1:
            layers.append(act())
    return nn.Sequential(*layers)


class StackedMLP(nn.Module):
    """S MLPs of one :class:`MLPSpec` with parameters stacked on a leading seed axis.

    ``weights[l]``: (S, fan_in, fan_out) (the transpose of ``nn.Linear.weight``), ``biases[l]``:
    (S, 1, fan_out). ``forward``: (S, B, in_dim) → (S, B, out_dim).
    """

    def __init__(self, spec: MLPSpec, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]):
        super().__init__()
        dims = spec.layer_dims()
        if len(weights) != len(dims) or len(biases) != len(dims):
            raise ValueError(f"spec has {len(dims)} layers; got {len(weights)} weights and {len(biases)} biases")
        S = weights[0].shape[0]
        for (i, o), w, b in zip(dims, weights, biases):
            if tuple(w.shape) != (S, i, o) or tuple(b.shape) != (S, 1, o):
                raise ValueError(f"layer ({i}→{o}) needs weight ({S}, {i}, {o}) and bias ({S}, 1, {o}); "
                                 f"got {tuple(w.shape)} and {tuple(b.shape)}")
        self.spec = spec
        self.weights = nn.ParameterList([nn.Parameter(w) for w in weights])
        self.biases = nn.ParameterList([nn.Parameter(b) for b in biases])
        self._act = ACTIVATIONS[spec.activation][0]
        self.sn_iterations = 0  # spectral normalization off (see enable_spectral_norm)
        self.sn_eps = 1e-12

    @classmethod
    def from_generators(cls, spec: MLPSpec, generators: Sequence[torch.Generator],
                        device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> "StackedMLP":
        """Slice s initialised as ``plain_mlp(spec, generators[s], dtype)`` (drawn on the CPU, then moved).

        Drawing on the CPU makes the initialisation independent of the device. One Python loop
        over seeds, at construction only.
        """
        if len(generators) == 0:
            raise ValueError("need at least one generator (one per seed)")
        dims = spec.layer_dims()
        ws = [torch.empty(len(generators), i, o, dtype=dtype) for i, o in dims]
        bs = [torch.empty(len(generators), 1, o, dtype=dtype) for _, o in dims]
        with torch.no_grad():
            for s, gen in enumerate(generators):
                for (i, o), w, b in zip(dims, ws, bs):
                    wt = torch.empty(o, i, dtype=dtype)
                    bt = torch.empty(o, dtype=dtype)
                    init_layer_(spec, wt, bt, gen)
                    w[s].copy_(wt.T)
                    b[s, 0].copy_(bt)
        return cls(spec, [w.to(device) for w in ws], [b.to(device) for b in bs])

    @classmethod
    def from_modules(cls, spec: MLPSpec, modules: Sequence[nn.Sequential]) -> "StackedMLP":
        """Stack plain ``nn.Sequential`` networks of ``spec`` (one per seed), copying their parameters."""
        lins = [[m for m in mod if isinstance(m, nn.Linear)] for mod in modules]
        with torch.no_grad():
            ws = [torch.stack([ls[k].weight.T for ls in lins]).clone() for k in range(len(spec.layer_dims()))]
            bs = [torch.stack([ls[k].bias[None] for ls in lins]).clone() for k in range(len(spec.layer_dims()))]
        return cls(spec, ws, bs)

    @property
    def n_seeds(self) -> int:
        """Number S of stacked networks."""
        return int(self.weights[0].shape[0])

    # ------------------------------------------------------------------ spectral normalization
    def enable_spectral_norm(self, generators: Sequence[torch.Generator], n_power_iterations: int = 1,
                             eps: float = 1e-12) -> "StackedMLP":
        """Spectral normalization of every layer of every seed: W_s ← W_s / σ_max(W_s) (Miyato et al. 2018).

        The per-seed version of ``torch.nn.utils.parametrizations.spectral_norm`` on the layers of
        :func:`plain_mlp` (whose weight is M = W_sᵀ, (out, in)): per layer and seed, vectors
        u ∈ R^out and v ∈ R^in (buffers ``sn_u{l}``/``sn_v{l}``, drawn u then v ~ N(0, I) from
        ``generators[s]`` and normalised, then 15 power iterations, as torch does at registration);
        in every forward pass in training mode with gradients enabled, ``n_power_iterations`` steps

            u ← normalize(M_s v),  v ← normalize(M_sᵀ u),   σ_s = uᵀ M_s v  (u, v constants for autograd),

        and the layer uses W_s / σ_s. In eval mode or under ``torch.no_grad`` the stored u, v are used
        without update (as torch). Seed s's numbers depend only on generator s. Returns ``self``.
        """
        if isinstance(n_power_iterations, bool) or not isinstance(n_power_iterations, int) or n_power_iterations < 1:
            raise ValueError(f"n_power_iterations must be an integer >= 1; got {n_power_iterations!r}")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps must be a positive number; got {eps!r}")
        if len(generators) != self.n_seeds:
            raise ValueError(f"need one generator per seed ({self.n_seeds}); got {len(generators)}")
        if self.sn_iterations:
            raise ValueError("spectral normalization is already enabled")
        self.sn_iterations, self.sn_eps = n_power_iterations, float(eps)
        for k, w in enumerate(self.weights):
            _, i, o = w.shape
            u = torch.stack([torch.randn(o, generator=g, dtype=w.dtype) for g in generators])
            v = torch.stack([torch.randn(i, generator=g, dtype=w.dtype) for g in generators])
            self.register_buffer(f"sn_u{k}", F.normalize(u, dim=-1, eps=self.sn_eps).to(w.device))
            self.register_buffer(f"sn_v{k}", F.normalize(v, dim=-1, eps=self.sn_eps).to(w.device))
            self._power_iterations(k, 15)
        return self

    @torch.no_grad()
    def _power_iterations(self, k: int, n: int) -> None:
        w, u, v = self.weights[k], getattr(self, f"sn_u{k}"), getattr(self, f"sn_v{k}")
        for _ in range(n):
            u.copy_(F.normalize(torch.bmm(v[:, None, :], w)[:, 0], dim=-1, eps=self.sn_eps))  # M v = Wᵀ v
            v.copy_(F.normalize(torch.bmm(w, u[..., None])[..., 0], dim=-1, eps=self.sn_eps))  # Mᵀ u = W u

    def layer_weights(self) -> list[torch.Tensor]:
        """The weights the forward pass uses: the parameters, or W_s / σ_s with spectral normalization."""
        if not self.sn_iterations:
            return list(self.weights)
        update = self.training and torch.is_grad_enabled()
        out = []
        for k, w in enumerate(self.weights):
            if update:
                self._power_iterations(k, self.sn_iterations)
            u, v = getattr(self, f"sn_u{k}").clone(), getattr(self, f"sn_v{k}").clone()
            sigma = torch.einsum("si,sio,so->s", v, w, u)
            out.append(w / sigma[:, None, None])
        return out

    def _hidden(self, x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        """The hidden layers ``h ← act(baddbmm(b, h, W))`` with the given weights (all layers but the last)."""
        h = x
        for w, b in zip(weights[:-1], self.biases):
            h = self._act(torch.baddbmm(b, h, w))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(S, B, in_dim) → (S, B, out_dim): ``h ← act(baddbmm(b, h, W))`` layer by layer, no activation last."""
        weights = self.layer_weights()
        return torch.baddbmm(self.biases[-1], self._hidden(x, weights), weights[-1])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(S, B, in_dim) → (S, B, width): the activations of the last hidden layer, h_depth in the module docstring.

        The input of the output layer (``forward(x)[s] = b_last[s] + features(x)[s] @ W_last[s]``), computed by
        the same code as :meth:`forward` (with spectral normalization, one power iteration per call in training
        mode, as a forward pass). ValueError for ``depth = 0`` (no hidden layer).
        """
        if self.spec.depth == 0:
            raise ValueError("features: this MLP has depth 0 (no hidden layer)")
        return self._hidden(x, self.layer_weights())

    def to_plain(self, seed_index: int) -> nn.Sequential:
        """Slice ``seed_index`` as an independent plain ``nn.Sequential`` (parameters copied; with spectral
        normalization, the normalised weights at the stored u, v)."""
        dtype = self.weights[0].dtype
        mod = plain_mlp(self.spec, torch.Generator().manual_seed(0), dtype).to(self.weights[0].device)
        lins = [m for m in mod if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, w, b in zip(lins, self.layer_weights(), self.biases):
                lin.weight.copy_(w[seed_index].T)
                lin.bias.copy_(b[seed_index, 0])
        return mod

    def finite_mask(self, bound: float = math.inf) -> torch.Tensor:
        """(S,) bool: True where every parameter of the seed is finite and at most ``bound`` in absolute value (a
        device tensor, no host sync)."""
        ok = torch.ones(self.n_seeds, dtype=torch.bool, device=self.weights[0].device)
        for p in self.parameters():
            a = p.detach().abs().flatten(1)
            ok &= (torch.isfinite(a) & (a <= bound)).all(1)
        return ok
