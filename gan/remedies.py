"""Mode-collapse remedies (torch): minibatch statistics for D, feature matching, unrolled D, PacGAN.

Shapes follow :mod:`gan.regularizers`: the first ``sample_ndim`` axes of a tensor index samples
(``(B, ...)``: 1; seed-parallel ``(S, B, ...)``: 2), the rest are features; batch statistics are
taken over the **last** sample axis (the batch) separately for every leading index, so S seeds
never see each other's samples.

| remedy | what it does | reference |
|---|---|---|
| :class:`MinibatchStdDev` | appends mean_features(std over the batch) as one more feature | Karras et al. 2018 |
| :class:`MinibatchDiscrimination` | appends o(x_i)_b = Σ_j exp(−‖M_{i,b} − M_{j,b}‖_1) | Salimans et al. 2016 |
| :func:`feature_matching_loss` | G minimises ‖E f(x) − E f(G(z))‖² on a D feature | Salimans et al. 2016 |
| :func:`unrolled_d_params` | G plays against D after k differentiable look-ahead steps | Metz et al. 2017 |
| :func:`pack` / :class:`Packed` | D judges m samples at once, (B, d) → (B/m, m·d) | Lin et al. 2018 |

Seed-parallel support: all of them, with these limits: :class:`MinibatchDiscrimination` takes
vector features only (flatten images first; its seed-parallel form needs ``n_seeds``), and
:func:`unrolled_d_params` works for any module whose parameters are per-seed stacked tensors
(each seed's loss depends only on its own slice, so the summed loss gives per-seed steps).
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import torch
from torch import nn
from torch.func import functional_call

from .losses import AdversarialLoss
from .regularizers import _check_positive, _check_sample_ndim, critic_outputs

Batch = torch.Tensor | Callable[[int], torch.Tensor]


def _check_int(name: str, value: int, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{name} must be an integer ≥ {lo}; got {value!r}")
    return value


# ----------------------------------------------------------------------------- minibatch standard deviation
def minibatch_stddev(x: torch.Tensor, sample_ndim: int = 1, group_size: int | None = None,
                     eps: float = 1e-8) -> torch.Tensor:
    """Append the minibatch standard-deviation statistic as one extra feature (Karras et al. 2018, §3).

    For each group of samples (the whole batch by default; else consecutive groups of
    ``group_size``), s = mean over all feature entries of sqrt(Var_batch(x) + eps), the variance
    being the population one (divide by the group size). s is appended along the first feature
    axis, broadcast over the others: (*lead, B, d) → (*lead, B, d + 1), images
    (*lead, B, C, H, W) → (*lead, B, C + 1, H, W). Every sample of a group gets the same s.

    ``eps`` ≥ 0 (ValueError otherwise); with eps = 0 the statistic is exact but its gradient is NaN where a
    feature is constant over a group (the default keeps the square root differentiable).

    >>> import torch
    >>> minibatch_stddev(torch.tensor([[0.0, 0.0], [2.0, 4.0]]), eps=0.0)
    tensor([[0.0000, 0.0000, 1.5000],
            [2.0000, 4.0000, 1.5000]])
    """
    _check_sample_ndim(x, sample_ndim)
    _check_positive("eps", eps, allow_zero=True)
    n = x.shape[sample_ndim - 1]
    g = n if group_size is None else _check_int("group_size", group_size, 1)
    if n % g:
        raise ValueError(f"batch size {n} is not divisible by group_size {g}")
    lead, feat = tuple(x.shape[: sample_ndim - 1]), tuple(x.shape[sample_ndim:])
    y = x.reshape(lead + (n // g, g) + feat)  # group k = samples k·g … k·g + g − 1
    var = y.var(dim=len(lead) + 1, correction=0, keepdim=True)
    s = (var + eps).sqrt().flatten(len(lead) + 2).mean(-1)  # (*lead, n/g, 1)
    s = s.expand(lead + (n // g, g)).reshape(lead + (n,))
    stat = s.reshape(lead + (n,) + (1,) * len(feat)).expand(lead + (n, 1) + feat[1:])
    return torch.cat([x, stat.to(x.dtype)], dim=sample_ndim)


class MinibatchStdDev(nn.Module):
    """Layer form of :func:`minibatch_stddev` (no parameters); place it near the end of D."""

    def __init__(self, sample_ndim: int = 1, group_size: int | None = None, eps: float = 1e-8):
        super().__init__()
        self.sample_ndim = _check_int("sample_ndim", sample_ndim, 1)
        self.group_size = None if group_size is None else _check_int("group_size", group_size, 1)
        self.eps = _check_positive("eps", eps, allow_zero=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return minibatch_stddev(x, self.sample_ndim, self.group_size, self.eps)


# ----------------------------------------------------------------------------- minibatch discrimination
def minibatch_features(x: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """o(x_i)_b = Σ_j exp(−‖M_{i,b} − M_{j,b}‖_{L1}) with M_i = x_i T (Salimans et al. 2016, §3.2).

    Shapes: T (*lead, A, B, C) with B kernels of dimension C, x (*lead, N, A) → o (*lead, N, B).
    The sum runs over all j including j = i (each o ≥ 1; o = N for a batch of identical samples,
    its maximum since every term is ≤ 1).
    """
    if T.ndim < 3:
        raise ValueError(f"T must have shape (*lead, A, B, C); got {tuple(T.shape)}")
    lead, a = tuple(T.shape[:-3]), T.shape[-3]
    if x.ndim != len(lead) + 2 or tuple(x.shape[: len(lead)]) != lead or x.shape[-1] != a:
        raise ValueError(f"x must have shape {lead + ('N', a)} for T of shape {tuple(T.shape)}; got {tuple(x.shape)}")
    m = torch.einsum("...na,...abc->...bnc", x, T)  # (*lead, B, N, C)
    dist = torch.cdist(m, m, p=1.0)  # (*lead, B, N, N)
    return torch.exp(-dist).sum(-1).transpose(-1, -2)  # (*lead, N, B)


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination layer: x (*lead, N, A) → [x, o(x)] (*lead, N, A + B) (Salimans et al. 2016).

    T has shape (A, B, C), or (S, A, B, C) with ``n_seeds=S`` for a seed-parallel D on inputs
    (S, N, A) (each seed its own T). T is initialised N(0, ``init_std``²) from ``generator``
    (torch's default generator when None).
    """

    def __init__(self, in_features: int, n_kernels: int, kernel_dim: int, n_seeds: int | None = None,
                 init_std: float = 0.1, generator: torch.Generator | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        a, b, c = (_check_int(n, v, 1) for n, v in (("in_features", in_features), ("n_kernels", n_kernels), ("kernel_dim", kernel_dim)))
        lead = () if n_seeds is None else (_check_int("n_seeds", n_seeds, 1),)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None; got {type(generator).__name__}")
        if not (math.isfinite(init_std) and init_std > 0):
            raise ValueError(f"init_std must be finite and > 0; got {init_std!r}")
        t = torch.randn(lead + (a, b, c), generator=generator, dtype=dtype) * init_std
        self.T = nn.Parameter(t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, minibatch_features(x, self.T)], dim=-1)


# ----------------------------------------------------------------------------- feature matching
def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor, sample_ndim: int = 1) -> torch.Tensor:
    """‖E f(x_real) − E f(G(z))‖₂² on an intermediate discriminator feature f (Salimans et al. 2016, §3.1).

    Shapes: (*lead, B, *features) for both (batch sizes may differ) → (*lead,). Expectations are
    batch means, the squared norm is over all feature entries. The real features are detached
    (they are the target); gradients reach G through ``fake_features``.
    """
    _check_sample_ndim(real_features, sample_ndim, "real_features")
    _check_sample_ndim(fake_features, sample_ndim, "fake_features")
    if real_features.shape[: sample_ndim - 1] != fake_features.shape[: sample_ndim - 1] or \
            real_features.shape[sample_ndim:] != fake_features.shape[sample_ndim:]:
        raise ValueError(f"feature shapes differ beyond the batch axis: {tuple(real_features.shape)} vs {tuple(fake_features.shape)}")
    diff = real_features.detach().mean(sample_ndim - 1) - fake_features.mean(sample_ndim - 1)
    return diff.pow(2).flatten(sample_ndim - 1).sum(-1)


# ----------------------------------------------------------------------------- unrolled discriminator
def _batch(b: Batch, i: int) -> torch.Tensor:
    return b(i) if callable(b) else b


def unrolled_d_params(d_module: nn.Module, params: Mapping[str, torch.Tensor] | None, loss: AdversarialLoss,
                      real: Batch, fake: Batch, k: int, lr: float, *, optimizer: str = "sgd",
                      betas: tuple[float, float] = (0.5, 0.999), eps: float = 1e-8,
                      adam_state: Mapping[str, tuple[torch.Tensor, torch.Tensor, float]] | None = None,
                      sample_ndim: int = 1) -> dict[str, torch.Tensor]:
    """θ_D^k: k look-ahead optimizer steps on the D loss, differentiable in the generator (Metz et al. 2017).

    Metz, Poole, Pfau & Sohl-Dickstein (2017), "Unrolled generative adversarial networks", eq. (5)-(7):

        θ^0 = θ_D,   θ^{i+1} = θ^i − lr · step(∇_θ L_D(θ^i; real_i, fake_i)),

    computed functionally (``torch.func.functional_call``) with ``create_graph=True``, so the
    returned tensors are functions of the generator's parameters through ``fake``; the G loss
    L_G(G(z); θ_D^k) (see :func:`unrolled_g_loss`) then differentiates through all k steps.
    ``params`` (None: ``d_module``'s named parameters) are detached at θ^0, so nothing flows
    into D's own ``.grad``; D is trained with its ordinary step. ``real`` and ``fake`` are
    tensors reused at every step or callables ``i ↦ batch`` (fresh samples per step).
    ``optimizer``: ``"sgd"`` (step = gradient) or ``"adam"`` (bias-corrected moments, denominator
    sqrt(v̂ + eps²) instead of sqrt(v̂) + eps so the step is twice differentiable at v = 0), starting from
    ``adam_state`` (name → (m, v, t): D's own optimizer moments and step count, as the authors' code unrolls
    D's Adam optimizer itself) or from zero moments at t = 0. ``k = 0`` returns θ_D (detached copies). Seed-parallel modules: the per-seed losses
    are summed, which gives every seed its own step (see the module docstring).
    """
    k = _check_int("k", k, 0)
    if not (isinstance(lr, (int, float)) and not isinstance(lr, bool) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be finite and > 0; got {lr!r}")
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam'; got {optimizer!r}")
    b1, b2 = betas
    if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
        raise ValueError(f"betas must lie in [0, 1); got {betas!r}")
    if params is None:
        params = dict(d_module.named_parameters())
    names = list(params)
    theta = {n: params[n].detach().requires_grad_(True) for n in names}
    if k == 0:
        return theta
    state = dict(adam_state or {})
    m = {n: state[n][0].detach().clone() if n in state else torch.zeros_like(theta[n]) for n in names}
    v = {n: state[n][1].detach().clone() if n in state else torch.zeros_like(theta[n]) for n in names}
    t0 = {n: float(state[n][2]) if n in state else 0.0 for n in names}
    for i in range(k):
        xr, xf = _batch(real, i), _batch(fake, i)
        out = lambda x: critic_outputs(lambda z: functional_call(d_module, theta, (z,)), x, sample_ndim)
        d_loss = loss.d_loss(out(xr), out(xf)).sum()
        grads = torch.autograd.grad(d_loss, [theta[n] for n in names], create_graph=True, allow_unused=True)
        new = {}
        for n, g in zip(names, grads):
            if g is None:
                g = torch.zeros_like(theta[n])
            if optimizer == "sgd":
                new[n] = theta[n] - lr * g
            else:
                m[n] = b1 * m[n] + (1.0 - b1) * g
                v[n] = b2 * v[n] + (1.0 - b2) * g * g
                t = t0[n] + i + 1
                m_hat = m[n] / (1.0 - b1 ** t)
                v_hat = v[n] / (1.0 - b2 ** t)
                new[n] = theta[n] - lr * m_hat / (v_hat + eps * eps).sqrt()
        theta = new
    return theta


def unrolled_g_loss(d_module: nn.Module, loss: AdversarialLoss, real: Batch, fake: torch.Tensor, k: int, lr: float,
                    *, fake_unroll: Batch | None = None, sample_ndim: int = 1, **unroll_kw) -> torch.Tensor:
    """Generator loss against the unrolled discriminator: L_G(D_{θ^k}(fake)), shape (*lead,).

    ``fake`` are the generator's samples (attached to its graph); the look-ahead steps use
    ``fake_unroll`` (default: the same ``fake``). Extra keywords go to :func:`unrolled_d_params`.
    """
    theta = unrolled_d_params(d_module, None, loss, real, fake if fake_unroll is None else fake_unroll, k, lr,
                              sample_ndim=sample_ndim, **unroll_kw)
    logits = critic_outputs(lambda z: functional_call(d_module, theta, (z,)), fake, sample_ndim)
    return loss.g_loss(logits)


# ----------------------------------------------------------------------------- PacGAN
def pack(x: torch.Tensor, m: int, sample_ndim: int = 1) -> torch.Tensor:
    """PacGAN packing (Lin, Khetan, Fanti & Oh 2018): m consecutive samples become one input of D.

    (*lead, B, d) → (*lead, B/m, m·d), row i being the concatenation x_{im}, …, x_{im+m−1};
    images (*lead, B, C, H, W) → (*lead, B/m, m·C, H, W) (concatenated along channels, as in the
    paper). The discriminator then takes m·d inputs. Raises ValueError when m does not divide B.
    Pack real and fake batches alike (never mix real and fake in a pack).

    >>> import torch
    >>> pack(torch.arange(8.0).reshape(4, 2), 2)
    tensor([[0., 1., 2., 3.],
            [4., 5., 6., 7.]])
    """
    m = _check_int("m", m, 1)
    _check_sample_ndim(x, sample_ndim)
    n = x.shape[sample_ndim - 1]
    if n % m:
        raise ValueError(f"batch size {n} is not divisible by the packing degree m={m}")
    lead, feat = tuple(x.shape[: sample_ndim - 1]), tuple(x.shape[sample_ndim:])
    return x.reshape(lead + (n // m, m * feat[0]) + feat[1:])


class Packed(nn.Module):
    """D ∘ pack: ``Packed(D, m)(x)`` packs x of shape (*lead, B, d) and returns D's outputs on the B/m packs.

    Losses then average over the B/m packs. For a gradient penalty on a packed D, pack the
    inputs first and penalise ``D`` itself on the packed tensors.
    """

    def __init__(self, discriminator: nn.Module, m: int, sample_ndim: int = 1):
        super().__init__()
        self.discriminator = discriminator
        self.m = _check_int("m", m, 1)
        self.sample_ndim = _check_int("sample_ndim", sample_ndim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(pack(x, self.m, self.sample_ndim))
