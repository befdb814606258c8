"""Image GAN trainer: one config dataclass, one trainer class (its command line is ``python -m studies.train_gan``).

Algorithm (one iteration = ``n_dis`` D steps, then one G step; Goodfellow et al. 2014, Alg. 1):

    D step: x ~ data minibatch (labels y), z ~ p_z, ỹ ~ U{0..K−1}, x̃ = G(z, ỹ) (no grad)
            A(·) = DiffAugment or ADA, then instance noise (each optional)
            L_D = mean d_real(D(A(x), y)) + mean d_fake(D(A(x̃), ỹ))           # gan.losses
                  + penalty(D(·, y) at A(x), A(x̃))  [lazy: every k-th D step, weight × k]   # gan.regularizers
                  + λ_r ‖D(A(x)) − D(T(A(x)))‖² + λ_f ‖D(A(x̃)) − D(T(A(x̃)))‖²   # CR / bCR
                  + w·[CE(c(A(x)), y) + CE(c(A(x̃)), ỹ)]                          # ACGAN head only
            Adam step on D; weight clipping if set; ADA: accumulate sign(D(A(x))), adjust p every 4 D steps
    G step: L_G = mean g_fake(D(A(G(z, ỹ)), ỹ)) [+ w·CE(c(A(G(z, ỹ))), ỹ)]
                  + β Σ_W ‖WWᵀ ⊙ (1 − I)‖²  (orthogonal regularization, BigGAN)
                  + 4·w_pl (‖J_wᵀ y‖ − a)² every 4th G step on B/2 samples (path length, StyleGAN2)
            Adam step on G; EMA update

A style-based G (StyleGAN2) draws its per-pixel noise and its style-mixing latents from the "style"
stream. Every option above is a field of ``TrainOptions`` (``gan.regularizers``) except the augmentations
(``diffaugment``, ``ada_*`` here); the architecture's record (``gan.nets.ARCHS``) supplies the paper's values.

Real and fake batches go through D separately (separate batch-norm statistics, as in DCGAN).
Penalties see the discriminator's inputs after augmentation and use the real labels y (for the
interpolates of WGAN-GP too); with DCGAN's batch-norm D the per-sample gradient norms are only
approximate (samples interact through the batch statistics; Gulrajani et al. drop BN in the
critic for that reason; see :mod:`gan.regularizers`). The G step runs D unwrapped (no DDP), with
its parameters frozen.

Performance (DESIGN.md, "Image training"): bf16 autocast on CUDA (losses in float32),
channels_last, optional ``torch.compile`` of the forward passes (penalties, which need double
backward, use the eager D), fused Adam on CUDA, the whole uint8 data set resident on the device
when it fits (``resident_max_bytes``; pinned host memory otherwise), minibatches drawn there with
a ``torch.Generator`` and converted to float [−1, 1] on the fly (x/127.5 − 1), and no host sync in
the loop: losses are summed on the device and read (one ``.tolist()``) only every ``log_every``
iterations. Minibatches are i.i.d. uniform draws with replacement (no epochs).

Randomness: named streams (``STREAMS``), each a ``torch.Generator`` seeded from (seed, stream,
rank) with numpy's ``SeedSequence``: "init" (weights, on the CPU, the same on every rank), "data",
"latent", "augment" (DiffAugment, ADA, the CR transforms), "penalty", "noise" (instance noise), "style"
(StyleGAN2's noise inputs and style mixing). Nothing is drawn from torch's global generators.

Checkpoints (:meth:`ImageTrainer.save_checkpoint`, every ``checkpoint_every`` iterations and at
the end of :meth:`~ImageTrainer.train`) hold G, D, EMA, both optimizers, the state of every
stream on every rank, the iteration and D/G step counters, ADA's p and sign sums, the path-length
running mean and the log; :func:`gan.checkpoint.save_checkpoint`
writes them to a temporary file in the destination directory, fsyncs and renames it
(``os.replace``), so a killed run leaves the previous checkpoint intact. Resuming
(``load_checkpoint``) continues **bit for bit** on the CPU: N iterations straight equal k
iterations, save, a fresh trainer, load, N − k iterations (tested with ``torch.equal``). On GPUs
the same holds up to the nondeterminism of cuDNN/atomics (and ``torch.compile``'s kernels).

Multi-GPU: under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the trainer joins the
process group (NCCL on CUDA, gloo on CPU), uses ``cuda:LOCAL_RANK``, wraps G and D in DDP and
splits ``batch_size`` evenly across ranks; each rank draws its own minibatches. Without those
variables nothing of ``torch.distributed`` is touched.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import load_checkpoint as load_checkpoint_file, save_checkpoint as save_checkpoint_file
from .device import resolve_device
from .losses import LOSSES, AdversarialLoss, get_loss
from .nets import (EMA, LATENTS, AdaptiveAugment, ArchSpec, DiffAugment, build_models, consistency_transform,
                   get_arch, spectral_norm_, truncated_latents)
from .nets.diffaugment import parse_policy, parse_transforms
from .nets.registry import CONDITIONAL_HEADS
from .regularizers import (TrainOptions, clip_weights_, consistency_penalty, orthogonal_penalty,
                           path_length_penalty)
from .seeding import make_adam, named_stream_seed

STREAMS = {"init": 0, "data": 1, "latent": 2, "augment": 3, "penalty": 4, "noise": 5, "grid": 6, "style": 7}
"""Random streams of a run (see the module docstring)."""

ADAM_IMPLS = ("auto", "fused", "foreach", "for")
CHECKPOINT_FORMAT = 1
# Config fields that define the experiment: a checkpoint only resumes a run that agrees on all of them.
_RUN_FIELDS = ("arch", "loss", "loss_params", "options", "batch_size", "latent_dim", "latent", "g_channels",
               "d_channels", "conditional", "cond_head", "aux_weight", "ema_decay", "ema_warmup", "ema_ramp",
               "diffaugment", "seed", "preset", "ada_target", "ada_interval", "ada_kimg", "ada_policy")


def stream_seed(seed: int, stream: str, rank: int = 0) -> int:
    """63-bit seed of ``stream`` on ``rank``: ``gan.seeding.derive_seed(seed, stream id, rank)``.

    >>> stream_seed(0, "data") != stream_seed(0, "latent") != stream_seed(0, "data", rank=1)
    True
    """
    return named_stream_seed(STREAMS, seed, stream, int(rank))


# ----------------------------------------------------------------------------- config
def _check_int(name: str, value: Any, lo: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        more = "None or " if allow_none else ""
        raise ValueError(f"{name} must be {more}an integer ≥ {lo}; got {value!r}")


def _check_bool(name: str, value: Any, allow_none: bool = False) -> None:
    if not (isinstance(value, bool) or (allow_none and value is None)):
        raise ValueError(f"{name} must be {'None, ' if allow_none else ''}True or False; got {value!r}")


@dataclass(frozen=True)
class ImageTrainConfig:
    """One image GAN run. ``None`` means "the architecture's default" (:data:`gan.nets.ARCHS`).

    arch : a key of ``ARCHS`` ("dcgan", "resnet", "sagan", "biggan", "stylegan2").
    loss, loss_params : ``gan.losses.get_loss(loss, **loss_params)`` (None: the architecture's, e.g. dcgan "ns",
        resnet/sagan/biggan "hinge", stylegan2 "ns").
    options : ``gan.regularizers.TrainOptions`` (n_dis, lr_d/lr_g — TTUR —, Adam β, penalty and its lazy interval,
        clipping, spectral norm, label smoothing, instance noise, CR/bCR, orthogonal regularization, path length,
        style mixing); None: the paper's settings of the architecture.
    batch_size : global minibatch B (split across DDP ranks; None: the architecture's, e.g. 128 dcgan, 64 resnet).
    latent_dim, latent : z's dimension and distribution (a key of ``LATENTS``); g_channels, d_channels : widths.
    preset : a width preset of the architecture (``ArchSpec.presets``, e.g. "small"); explicit widths override it.
    conditional, cond_head : class-conditional G with a "projection" or "acgan" D; aux_weight : the ACGAN
        cross-entropy weight w.
    ema_decay, ema_warmup, ema_ramp : generator EMA (:class:`gan.nets.EMA`; ema_decay None: no EMA).
    diffaugment : DiffAugment policy ("" off; e.g. "color,translation,cutout").
    ada_target, ada_interval, ada_kimg, ada_policy : adaptive discriminator augmentation (:class:`gan.nets.AdaptiveAugment`;
        ada_target None: off, the paper's 0.6; p adjusted every 4 D steps by B·4/(500·1000)); not with diffaugment.
    amp, channels_last : bf16 autocast / channels_last memory format (None: on CUDA only).
    compile : ``torch.compile`` the forward passes. adam : Adam implementation (auto: fused on CUDA).
    seed : root of all random streams. log_every : iterations between loss logs (the only host syncs).
    checkpoint_every, checkpoint_path : periodic atomic checkpoints (0: only at the end of ``train``).
    tensorboard_dir, sample_every : TensorBoard scalars and sample grids (skipped if tensorboard is absent).
    progress : show a tqdm bar. resident_max_bytes : largest uint8 data set kept on the GPU.
    """

    arch: str = "dcgan"
    loss: str | None = None
    loss_params: Mapping[str, Any] = field(default_factory=dict)
    options: TrainOptions | None = None
    batch_size: int | None = None
    latent_dim: int | None = None
    latent: str | None = None
    g_channels: int | None = None
    d_channels: int | None = None
    conditional: bool = False
    cond_head: str = "projection"
    aux_weight: float = 1.0
    ema_decay: float | None = 0.999
    ema_warmup: int = 0
    ema_ramp: bool = True
    diffaugment: str = ""
    amp: bool | None = None
    channels_last: bool | None = None
    compile: bool = False
    adam: str = "auto"
    seed: int = 0
    log_every: int = 100
    checkpoint_every: int = 0
    checkpoint_path: str | None = None
    tensorboard_dir: str | None = None
    sample_every: int = 0
    progress: bool = True
    resident_max_bytes: int = 8 << 30
    preset: str | None = None
    ada_target: float | None = None
    ada_interval: int = 4
    ada_kimg: float = 500.0
    ada_policy: str = "bgc"

    def __post_init__(self) -> None:
        spec = get_arch(self.arch)  # validates the name
        if self.loss is not None and self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; known: {', '.join(LOSSES)}")
        if not isinstance(self.loss_params, Mapping):
            raise TypeError(f"loss_params must be a mapping; got {type(self.loss_params).__name__}")
        self.build_loss()  # validates the loss parameters
        if self.options is not None and not isinstance(self.options, TrainOptions):
            raise TypeError(f"options must be a gan.regularizers.TrainOptions or None; got {type(self.options).__name__}")
        for name in ("batch_size", "latent_dim", "g_channels", "d_channels"):
            _check_int(name, getattr(self, name), 1, allow_none=True)
        if self.latent is not None and self.latent not in LATENTS:
            raise ValueError(f"unknown latent distribution {self.latent!r}; known: {', '.join(LATENTS)}")
        _check_bool("conditional", self.conditional)
        if self.cond_head not in CONDITIONAL_HEADS:
            raise ValueError(f"cond_head must be one of {CONDITIONAL_HEADS}; got {self.cond_head!r}")
        if isinstance(self.aux_weight, bool) or not isinstance(self.aux_weight, (int, float)) or \
                not (math.isfinite(self.aux_weight) and self.aux_weight >= 0):
            raise ValueError(f"aux_weight must be finite and ≥ 0; got {self.aux_weight!r}")
        if self.ema_decay is not None and (isinstance(self.ema_decay, bool) or not isinstance(self.ema_decay, (int, float))
                                           or not 0.0 <= self.ema_decay < 1.0):
            raise ValueError(f"ema_decay must be None or lie in [0, 1); got {self.ema_decay!r}")
        _check_int("ema_warmup", self.ema_warmup, 0)
        _check_bool("ema_ramp", self.ema_ramp)
        if not isinstance(self.diffaugment, str):
            raise ValueError(f"diffaugment must be a policy string such as 'color,translation,cutout'; got {self.diffaugment!r}")
        parse_policy(self.diffaugment)
        parse_transforms(self.train_options().cr_transform)
        for name in ("amp", "channels_last"):
            _check_bool(name, getattr(self, name), allow_none=True)
        _check_bool("compile", self.compile)
        _check_bool("progress", self.progress)
        if self.adam not in ADAM_IMPLS:
            raise ValueError(f"adam must be one of {ADAM_IMPLS}; got {self.adam!r}")
        _check_int("seed", self.seed, 0)
        _check_int("log_every", self.log_every, 1)
        _check_int("checkpoint_every", self.checkpoint_every, 0)
        _check_int("sample_every", self.sample_every, 0)
        _check_int("resident_max_bytes", self.resident_max_bytes, 0)
        if self.checkpoint_every > 0 and self.checkpoint_path is None:
            raise ValueError(f"checkpoint_every={self.checkpoint_every} needs a checkpoint_path")
        if self.preset is not None and not isinstance(self.preset, str):
            raise ValueError(f"preset must be None or a preset name; got {self.preset!r}")
        spec.widths(self.preset)  # validates the preset name
        ada_target = 0.6 if self.ada_target is None else self.ada_target
        AdaptiveAugment(ada_target, self.ada_interval, self.ada_kimg, self.ada_policy)  # validates the ADA fields
        if self.ada_target is not None and self.diffaugment:
            raise ValueError(f"ADA (ada_target={self.ada_target}) and DiffAugment (diffaugment={self.diffaugment!r}) "
                             f"are two augmentation pipelines; choose one")
        opts = self.train_options()
        if opts.lr_schedule != "constant":
            raise ValueError(f"options.lr_schedule={opts.lr_schedule!r}: the image trainer runs on a constant rate (it "
                             f"trains in calls of unknown total length); the schedules are the toy trainer's")
        if not spec.style:
            for name in ("pl_weight", "style_mixing"):
                if getattr(opts, name) != 0:
                    raise ValueError(f"{name}={getattr(opts, name)} needs a style-based generator (arch 'stylegan2'); "
                                     f"arch {self.arch!r} has none")

    # resolved values (architecture defaults filled in)
    @property
    def spec(self) -> ArchSpec:
        """The architecture's registry record."""
        return get_arch(self.arch)

    def build_loss(self) -> AdversarialLoss:
        """The adversarial objective (before label smoothing, which ``options`` adds)."""
        return get_loss(self.loss or self.spec.loss, **dict(self.loss_params))

    def train_options(self) -> TrainOptions:
        """``options``, or the architecture's defaults."""
        return self.options if self.options is not None else self.spec.options

    def global_batch_size(self) -> int:
        """``batch_size``, or the architecture's default."""
        return self.batch_size if self.batch_size is not None else self.spec.batch_size

    def latent_name(self) -> str:
        """``latent``, or the architecture's latent distribution."""
        return self.latent if self.latent is not None else self.spec.latent

    def widths(self) -> dict[str, int]:
        """{latent_dim, g_channels, d_channels}: explicit values, else the preset's, else the paper's."""
        given = {"latent_dim": self.latent_dim, "g_channels": self.g_channels, "d_channels": self.d_channels}
        return self.spec.widths(self.preset) | {k: v for k, v in given.items() if v is not None}

    def run_fields(self) -> dict:
        """The experiment-defining fields (``_RUN_FIELDS``) with defaults resolved, as plain data."""
        out = {}
        for name in _RUN_FIELDS:
            v = getattr(self, name)
            if name == "options":
                v = dataclasses.asdict(self.train_options())
            elif name == "loss":
                v = self.loss or self.spec.loss
            elif name == "loss_params":
                v = {k: float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x
                     for k, x in dict(v).items()}
            elif name == "batch_size":
                v = self.global_batch_size()
            elif name == "latent":
                v = self.latent_name()
            out[name] = v
        return out


def _with_defaults(run: Mapping[str, Any]) -> dict:
    """A checkpoint's run fields with those added to ``_RUN_FIELDS`` (or to ``TrainOptions``) after it was
    written filled in with their defaults: such a run used the behaviour the defaults describe."""
    out = {f.name: f.default for f in dataclasses.fields(ImageTrainConfig)
           if f.name in _RUN_FIELDS and f.default is not dataclasses.MISSING} | dict(run)
    if isinstance(out.get("options"), Mapping):
        out["options"] = dataclasses.asdict(TrainOptions()) | dict(out["options"])
    return out


# ----------------------------------------------------------------------------- distributed set-up
@dataclass(frozen=True)
class DistInfo:
    """World size and ranks from torchrun's environment variables (1, 0, 0 when they are absent)."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "DistInfo":
        env = os.environ if env is None else env
        try:
            ws = int(env.get("WORLD_SIZE", "1"))
            rank, local = int(env.get("RANK", "0")), int(env.get("LOCAL_RANK", "0"))
        except ValueError:
            raise ValueError(f"WORLD_SIZE/RANK/LOCAL_RANK must be integers; got {env.get('WORLD_SIZE')!r}, "
                             f"{env.get('RANK')!r}, {env.get('LOCAL_RANK')!r}") from None
        if ws < 1 or not (0 <= rank < ws) or local < 0:
            raise ValueError(f"inconsistent torchrun environment: WORLD_SIZE={ws}, RANK={rank}, LOCAL_RANK={local}")
        return cls(ws, rank, local)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _init_distributed(info: DistInfo, device: torch.device) -> None:
    """Join torchrun's process group (NCCL on CUDA, gloo on CPU); on CUDA make ``device`` this process's
    current device, which NCCL's collectives (barrier, all_gather_object) use."""
    import torch.distributed as dist

    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")


# ----------------------------------------------------------------------------- data pipeline
def uint8_to_float(images: torch.Tensor) -> torch.Tensor:
    """x/127.5 − 1: uint8 [0, 255] → float32 [−1, 1] (the convention of ``gan.data.to_float``)."""
    return images.to(torch.float32).div_(127.5).sub_(1.0)


class ImageBatcher:
    """A uint8 image set (N, C, H, W) with labels, kept where minibatches are cheapest to draw.

    Resident (CPU runs, or when the bytes fit ``resident_max_bytes``): the tensors live on the
    device and indices are drawn there. Otherwise they stay in pinned host memory, indices are
    drawn on the host and each minibatch is copied asynchronously. ``sample(n, generator)``
    returns (float images in [−1, 1] on the device, int64 labels); i.i.d. uniform indices.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, device: torch.device, channels_last: bool,
                 resident_max_bytes: int):
        self.device, self.channels_last = device, channels_last
        self.resident = device.type == "cpu" or images.numel() <= resident_max_bytes
        if self.resident:
            self.images, self.labels = images.to(device), labels.to(device)
        else:
            self.images, self.labels = images.pin_memory(), labels.pin_memory()
        self.n = images.shape[0]

    @property
    def index_device(self) -> torch.device:
        return self.device if self.resident else torch.device("cpu")

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(self.n, (n,), generator=generator, device=self.index_device)
        x, y = self.images[idx], self.labels[idx]
        if not self.resident:
            x, y = x.pin_memory().to(self.device, non_blocking=True), y.pin_memory().to(self.device, non_blocking=True)
        x = uint8_to_float(x)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y


# ----------------------------------------------------------------------------- sample grids
def image_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> torch.Tensor:
    """Tile float images (N, C, H, W) in [−1, 1] into one uint8 image (C, rows·(H+p)+p, nrow·(W+p)+p).

    >>> image_grid(torch.zeros(3, 1, 4, 4), nrow=2).shape
    torch.Size([1, 14, 14])
    """
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W); got {tuple(images.shape)}")
    _check_int("nrow", nrow, 1)
    _check_int("padding", padding, 0)
    n, c, h, w = images.shape
    ncol = min(nrow, n)
    rows = math.ceil(n / ncol)
    x = ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).cpu()
    grid = torch.zeros((c, rows * (h + padding) + padding, ncol * (w + padding) + padding), dtype=torch.uint8)
    for i in range(n):
        r, col = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = x[i]
    return grid


def _tensorboard_writer(log_dir: str | None):
    """A ``SummaryWriter`` or None (no directory, or tensorboard not installed: warn and go on)."""
    if log_dir is None:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        warnings.warn("tensorboard is not installed; TensorBoard logging is skipped", RuntimeWarning, stacklevel=3)
        return None
    return SummaryWriter(log_dir)


def _split(out) -> tuple[torch.Tensor, torch.Tensor | None]:
    """D's output → (logits, class logits or None)."""
    return (out[0], out[1]) if isinstance(out, tuple) else (out, None)


# ----------------------------------------------------------------------------- trainer
class ImageTrainer:
    """Train an image GAN on uint8 images (N, C, r, r) with int64 labels (N,) (see the module docstring).

    ``d_step()`` / ``g_step()`` run one update and return the (detached) loss; ``train(steps)``
    runs ``steps`` more iterations with logging and checkpoints; ``sample(n, generator)`` draws
    images from the EMA generator (or G); ``state_dict`` / ``load_state_dict`` and
    ``save_checkpoint`` / ``load_checkpoint`` resume a run exactly. ``num_classes`` K is the
    label range (needed for conditional models; 0 for unlabelled data). ``device``: a ``torch.device`` or
    a :mod:`gan.device` option (``auto``/None: CUDA when available, ``cuda:LOCAL_RANK`` under torchrun, else
    the CPU; ``cpu``, ``cuda``, ``cuda:N``; anything else, or CUDA where there is none, is a ``ValueError``).
    """

    def __init__(self, config: ImageTrainConfig, images: torch.Tensor, labels: torch.Tensor | None = None,
                 num_classes: int = 0, device: torch.device | str | None = None):
        if not isinstance(config, ImageTrainConfig):
            raise TypeError(f"config must be an ImageTrainConfig; got {type(config).__name__}")
        self.cfg = cfg = config
        self.spec = spec = config.spec
        images, labels = self._check_data(images, labels, num_classes, cfg.conditional)
        self.num_classes = num_classes
        self.image_shape = tuple(images.shape[1:])
        channels, resolution = images.shape[1], images.shape[2]
        if resolution not in spec.resolutions:
            raise ValueError(f"architecture {cfg.arch!r} trains on resolutions {spec.resolutions}; the images are "
                             f"{resolution}×{resolution} (resize them first, e.g. gan.data.resize)")
        self.dist = DistInfo.from_env()
        gb = cfg.global_batch_size()
        if gb % self.dist.world_size:
            raise ValueError(f"batch_size {gb} is not divisible by the world size {self.dist.world_size}")
        self.batch_size = gb // self.dist.world_size
        self.device = self._resolve_device(device)
        if self.dist.distributed:
            _init_distributed(self.dist, self.device)
        cuda = self.device.type == "cuda"
        self.amp = cuda if cfg.amp is None else cfg.amp
        self.channels_last = cuda if cfg.channels_last is None else cfg.channels_last
        self.options = opts = cfg.train_options()
        self.loss = opts.wrap_loss(cfg.build_loss())
        self.noise = opts.noise()
        self.augment = DiffAugment(cfg.diffaugment) if cfg.diffaugment else None
        self.ada = None if cfg.ada_target is None else AdaptiveAugment(
            cfg.ada_target, cfg.ada_interval, cfg.ada_kimg, cfg.ada_policy, device=self.device)
        self.cr_transform = consistency_transform(opts.cr_transform) if (opts.cr_real or opts.cr_fake) else None
        self.sample_latent = LATENTS[cfg.latent_name()]
        self.acgan = cfg.conditional and cfg.cond_head == "acgan"
        self.style = spec.style

        init_gen = torch.Generator().manual_seed(stream_seed(cfg.seed, "init"))
        G, D = build_models(cfg.arch, resolution, channels, num_classes, cfg.conditional, head=cfg.cond_head,
                            generator=init_gen, **cfg.widths())
        if opts.spectral_norm:
            spectral_norm_(D, init_gen)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.G: nn.Module = G.to(self.device, memory_format=fmt)
        self.D: nn.Module = D.to(self.device, memory_format=fmt)
        self.latent_dim = G.latent_dim
        self.ema = EMA(self.G, cfg.ema_decay, cfg.ema_warmup, cfg.ema_ramp) if cfg.ema_decay is not None else None
        betas = (float(opts.beta1), float(opts.beta2))  # an int β (0) next to a float one is rejected by Adam
        self.opt_g = make_adam(self.G.parameters(), opts.lr_g, betas, cfg.adam, self.device)
        self.opt_d = make_adam(self.D.parameters(), opts.lr_d, betas, cfg.adam, self.device)
        G_train, D_train = self.G, self.D
        if self.dist.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if cuda else None
            G_train, D_train = DDP(self.G, device_ids=ids), DDP(self.D, device_ids=ids)
        self._G_fwd, self._D_fwd, self._D_gstep = G_train, D_train, self.D
        if cfg.compile:
            self._G_fwd, self._D_fwd = torch.compile(G_train), torch.compile(D_train)
            self._D_gstep = self._D_fwd if D_train is self.D else torch.compile(self.D)

        self.data = ImageBatcher(images, labels, self.device, self.channels_last, cfg.resident_max_bytes)
        rank = self.dist.rank
        self.gens: dict[str, torch.Generator] = {
            name: torch.Generator(device=self.data.index_device if name == "data" else self.device).manual_seed(
                stream_seed(cfg.seed, name, rank))
            for name in ("data", "latent", "augment", "penalty", "noise", "style")
        }
        self.step = 0
        self.d_steps = 0  # D updates so far (lazy regularization, ADA adjustments)
        self.g_steps = 0  # G updates so far (lazy path-length regularization)
        self.pl_mean = torch.zeros((), device=self.device)  # running mean a of the path lengths
        self.history: list[dict] = []
        self._tb = _tensorboard_writer(cfg.tensorboard_dir) if rank == 0 else None

    @classmethod
    def from_data(cls, config: ImageTrainConfig, data, device: torch.device | str | None = None) -> "ImageTrainer":
        """Build from an ``ImageData``-like object (``.images`` uint8, ``.labels`` int64, ``.num_classes``)."""
        return cls(config, data.images, data.labels, int(getattr(data, "num_classes", 0)), device)

    # ------------------------------------------------------------------ validation / set-up
    @staticmethod
    def _check_data(images, labels, num_classes: int, conditional: bool) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4:
            got = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"images must be a uint8 tensor (N, C, H, W); got {got}")
        n, _, h, w = images.shape
        if h != w or n == 0:
            raise ValueError(f"images must be square and non-empty; got shape {tuple(images.shape)}")
        _check_int("num_classes", num_classes, 0)
        if labels is None:
            if conditional:
                raise ValueError("a conditional model needs labels")
            labels = torch.zeros(n, dtype=torch.int64)
        if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64 or tuple(labels.shape) != (n,):
            got = f"{labels.dtype} {tuple(labels.shape)}" if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise ValueError(f"labels must be an int64 tensor of shape ({n},); got {got}")
        if conditional:
            if num_classes < 2:
                raise ValueError(f"a conditional model needs num_classes ≥ 2; got {num_classes}")
            lo, hi = int(labels.min()), int(labels.max())
            if lo < 0 or hi >= num_classes:
                raise ValueError(f"labels must lie in [0, {num_classes}); got range [{lo}, {hi}]")
        return images, labels

    def _resolve_device(self, device) -> torch.device:
        if isinstance(device, torch.device):
            return device
        return resolve_device(device, local_rank=self.dist.local_rank)  # None/"auto": cuda:LOCAL_RANK or cpu

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16) if self.amp else nullcontext()

    # ------------------------------------------------------------------ one update each
    def latents(self, n: int, generator: torch.Generator, truncation: float | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """z ~ p_z (n, latent_dim) and, for conditional models, labels ỹ ~ U{0..K−1} (n,), on the generator's device;
        with ``truncation`` t, z is drawn from p_z restricted to |z_i| ≤ t (:func:`gan.nets.truncated_latents`)."""
        if truncation is None:
            z = self.sample_latent((n, self.latent_dim), generator, generator.device)
        else:
            z = truncated_latents(self.cfg.latent_name(), (n, self.latent_dim), truncation, generator)
        y = None
        if self.cfg.conditional:
            y = torch.randint(self.num_classes, (n,), generator=generator, device=generator.device)
        return z, y

    def _generate(self, net, z: torch.Tensor, y: torch.Tensor | None, **kw):
        """G(z, y); a style-based G also gets the "style" stream and the style-mixing probability."""
        if self.style:
            return net(z, y, generator=self.gens["style"], style_mixing=self.options.style_mixing, **kw)
        return net(z, y, **kw)

    def _d_input(self, x: torch.Tensor) -> torch.Tensor:
        if self.augment is not None:
            x = self.augment(x, self.gens["augment"])
        if self.ada is not None:
            x = self.ada(x, self.gens["augment"])
        if self.noise is not None:
            x = self.noise(x, self.gens["noise"], self.step)
        return x

    def _labels(self, y: torch.Tensor) -> torch.Tensor | None:
        return y if self.cfg.conditional and not self.acgan else None

    def d_step(self) -> torch.Tensor:
        """One discriminator update; returns its loss (detached, on the device; no host sync)."""
        opts, index = self.options, self.d_steps
        real, y_real = self.data.sample(self.batch_size, self.gens["data"])
        z, y_fake = self.latents(self.batch_size, self.gens["latent"])
        with torch.no_grad(), self._autocast():
            fake = self._generate(self._G_fwd, z, y_fake).float()
        real_in, fake_in = self._d_input(real), self._d_input(fake)
        yr = self._labels(y_real)
        yf = None if y_fake is None else self._labels(y_fake)
        with self._autocast():
            lr, cr = _split(self._D_fwd(real_in, yr))
            lf, cf = _split(self._D_fwd(fake_in, yf))
        loss = self.loss.d_loss(lr.float(), lf.float())
        critic = lambda x: _split(self.D(x, yr))[0].float()  # noqa: E731
        if opts.penalty is not None:
            with self._autocast():
                loss = loss + opts.d_penalty(critic, real_in, fake_in, self.gens["penalty"], step=index)
        if self.cr_transform is not None:  # CR on reals, bCR on fakes (Zhang et al. 2020; Zhao et al. 2021)
            with self._autocast():
                if opts.cr_real:
                    loss = loss + consistency_penalty(critic, real_in, self.cr_transform, self.gens["augment"],
                                                      opts.cr_real, logits=lr)
                if opts.cr_fake:
                    critic_f = lambda x: _split(self.D(x, yf))[0].float()  # noqa: E731
                    loss = loss + consistency_penalty(critic_f, fake_in, self.cr_transform, self.gens["augment"],
                                                      opts.cr_fake, logits=lf)
        if self.acgan:
            aux = F.cross_entropy(cr.float(), y_real) + F.cross_entropy(cf.float(), y_fake)
            loss = loss + self.cfg.aux_weight * aux
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if opts.clip is not None:
            clip_weights_(self.D, opts.clip)
        self.d_steps += 1
        if self.ada is not None:
            self.ada.accumulate(lr)
            if self.d_steps % self.ada.interval == 0:
                self._ada_adjust()
        return loss.detach()

    def _ada_adjust(self) -> None:
        """ADA's p update from the sign sums of all ranks (all-reduced under DDP; on the device, no host sync)."""
        signs = self.ada.signs
        if self.dist.distributed:
            import torch.distributed as dist

            signs = signs.clone()
            dist.all_reduce(signs)
        self.ada.adjust(self.cfg.global_batch_size(), signs)

    def _path_length(self) -> torch.Tensor:
        """The path-length penalty on batch/pl_batch_shrink fresh samples (updates ``pl_mean``)."""
        opts = self.options
        z, y = self.latents(max(1, self.batch_size // opts.pl_batch_shrink), self.gens["latent"])
        with self._autocast():
            img, ws = self._generate(self.G, z, y, return_ws=True)
        penalty, self.pl_mean = path_length_penalty(img.float(), ws, self.pl_mean, self.gens["style"], opts.pl_decay)
        return penalty

    def g_step(self) -> torch.Tensor:
        """One generator update (D frozen and unwrapped) plus the EMA update; returns the loss (detached)."""
        opts = self.options
        z, y = self.latents(self.batch_size, self.gens["latent"])
        self.D.requires_grad_(False)
        try:
            with self._autocast():
                fake = self._generate(self._G_fwd, z, y).float()
                logits, cls = _split(self._D_gstep(self._d_input(fake), None if y is None else self._labels(y)))
            loss = self.loss.g_loss(logits.float())
            if self.acgan:
                loss = loss + self.cfg.aux_weight * F.cross_entropy(cls.float(), y)
            if opts.ortho_weight:  # BigGAN, eq. 3
                loss = loss + orthogonal_penalty(self.G, opts.ortho_weight).to(loss.device)
            if opts.pl_weight and self.g_steps % opts.pl_interval == 0:  # lazy: every k-th G step, weight × k
                loss = loss + (opts.pl_weight * opts.pl_interval) * self._path_length()
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_g.step()
        finally:
            self.D.requires_grad_(True)
        self.g_steps += 1
        if self.ema is not None:
            self.ema.update()
        return loss.detach()

    def iteration(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``n_dis`` D steps and one G step; returns (mean D loss, G loss), detached; increments ``step``."""
        d = sum(self.d_step() for _ in range(self.options.n_dis)) / self.options.n_dis
        g = self.g_step()
        self.step += 1
        return d, g

    # ------------------------------------------------------------------ the loop
    def train(self, steps: int, bar: Any = None) -> list[dict]:
        """Run ``steps`` more iterations (the counter ``step`` goes on from where it is).

        Every ``log_every`` iterations (and at the last one) the mean losses since the previous log
        are read from the device (the loop's only host sync) into ``history`` (rows: step, d_loss,
        g_loss, seconds, images_per_s), the progress bar and TensorBoard. A checkpoint is written
        every ``checkpoint_every`` iterations and at the end when ``checkpoint_path`` is set.
        Returns ``history``.

        Progress: with ``cfg.progress`` (on rank 0) a tqdm bar of this call's ``steps`` (none for 0 steps);
        a caller that trains in several calls (evaluating in between) passes its own ``bar`` instead, one
        bar over the whole run, which this method advances by one per iteration and leaves open.
        """
        _check_int("steps", steps, 0)
        cfg = self.cfg
        from tqdm.auto import tqdm

        own_bar = bar is None
        if own_bar:
            bar = tqdm(total=steps, disable=not cfg.progress or self.dist.rank != 0 or steps == 0, unit="it",
                       dynamic_ncols=True, desc=f"{cfg.arch}/{self.loss.name}")
        sums = torch.zeros(2, device=self.device)
        count, t0, step0 = 0, time.perf_counter(), self.step
        try:
            for i in range(steps):
                d, g = self.iteration()
                sums[0] += d
                sums[1] += g
                count += 1
                bar.update(1)
                last = i == steps - 1
                if self.step % cfg.log_every == 0 or last:
                    self._log(sums, count, time.perf_counter() - t0, self.step - step0, bar)
                    sums.zero_()
                    count, t0, step0 = 0, time.perf_counter(), self.step
                if self._tb is not None and cfg.sample_every and self.step % cfg.sample_every == 0:
                    self._tb.add_image("samples", image_grid(self.grid_samples()), self.step)
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint(cfg.checkpoint_path)
        finally:
            if own_bar:
                bar.close()
        if cfg.checkpoint_path is not None and steps > 0 and not (cfg.checkpoint_every and
                                                                  self.step % cfg.checkpoint_every == 0):
            self.save_checkpoint(cfg.checkpoint_path)
        return self.history

    def _log(self, sums: torch.Tensor, count: int, seconds: float, iters: int, bar) -> None:
        values = sums / max(count, 1)
        if self.ada is not None:
            values = torch.cat([values, self.ada.p.reshape(1).to(values.dtype)])
        d, g, *rest = values.tolist()  # the one host sync
        ips = iters * self.cfg.global_batch_size() / seconds if seconds > 0 else math.nan
        row = {"step": self.step, "d_loss": d, "g_loss": g, "seconds": seconds, "images_per_s": ips}
        if self.ada is not None:
            row["ada_p"] = rest[0]
        self.history.append(row)
        bar.set_postfix(d_loss=f"{d:.4g}", g_loss=f"{g:.4g}", refresh=False)
        if self._tb is not None:
            for k in ("d_loss", "g_loss", "images_per_s", "ada_p"):
                if k in row:
                    self._tb.add_scalar(f"train/{k}", row[k], self.step)

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, labels: torch.Tensor | None = None, use_ema: bool = True,
               batch_size: int = 500, truncation: float | None = None) -> torch.Tensor:
        """n images (n, C, r, r), float32 in [−1, 1] on the trainer's device, from the EMA generator
        (``use_ema`` and EMA on) or G, in eval mode (batch norm with running statistics); clamped to
        [−1, 1] (a no-op for tanh generators; StyleGAN2's linear output is clamped as its evaluation code does).

        Latents (and, for conditional models without ``labels``, uniform labels) are drawn from
        ``generator`` (any device), and so is a style-based G's per-pixel noise; the training streams are
        not touched. ``truncation``: None (none); for z-space architectures a threshold t > 0, every latent
        entry with |z_i| > t redrawn (BigGAN's truncation trick, :func:`gan.nets.truncated_latents`); for
        StyleGAN2 ψ ∈ [0, 1], w ← w̄ + ψ (w − w̄). Sweeping it traces the fidelity/diversity (FID/IS) trade-off.
        """
        _check_int("n", n, 0)
        _check_int("batch_size", batch_size, 1)
        g_kw: dict[str, Any] = {}
        if truncation is not None and self.style:
            t = truncation
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not (0.0 <= t <= 1.0):
                raise ValueError(f"StyleGAN2 truncation ψ must lie in [0, 1]; got {truncation!r}")
            g_kw["truncation_psi"] = float(t)
        z, y = self.latents(n, generator, None if self.style else truncation)
        if labels is not None:
            if not self.cfg.conditional:
                raise ValueError("labels were given but the model is unconditional")
            if tuple(labels.shape) != (n,):
                raise ValueError(f"labels must have shape ({n},); got {tuple(labels.shape)}")
            y = labels
        net = self.ema.module if (use_ema and self.ema is not None) else self.G
        was_training = net.training
        net.eval()
        try:
            out = []
            for i in range(0, n, batch_size):
                zi = z[i:i + batch_size].to(self.device)
                yi = None if y is None else y[i:i + batch_size].to(self.device)
                with self._autocast():
                    if self.style:
                        out.append(net(zi, yi, generator=generator, **g_kw).float().clamp_(-1.0, 1.0))
                    else:
                        out.append(net(zi, yi).float())
        finally:
            net.train(was_training)
        if not out:
            return torch.zeros((0, *self.image_shape), device=self.device)
        return torch.cat(out).contiguous()

    def grid_samples(self, n: int = 64) -> torch.Tensor:
        """``sample(n)`` at fixed latents (the "grid" stream, reseeded each call): comparable across steps."""
        gen = torch.Generator(device=self.device).manual_seed(stream_seed(self.cfg.seed, "grid"))
        return self.sample(n, gen)

    # ------------------------------------------------------------------ checkpoints
    def _generator_states(self) -> list[dict[str, torch.Tensor]]:
        mine = {k: g.get_state() for k, g in self.gens.items()}
        if not self.dist.distributed:
            return [mine]
        import torch.distributed as dist

        every = [None] * self.dist.world_size
        dist.all_gather_object(every, mine)
        return every

    def state_dict(self) -> dict:
        """Everything a resumed run needs: networks, EMA, optimizers, every stream on every rank, step, log."""
        return {
            "format": CHECKPOINT_FORMAT,
            "run": self.cfg.run_fields(),
            "image_shape": list(self.image_shape),
            "num_classes": self.num_classes,
            "world_size": self.dist.world_size,
            "step": self.step,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "ema": None if self.ema is None else self.ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "generators": self._generator_states(),
            "history": [dict(r) for r in self.history],
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "pl_mean": self.pl_mean.detach().clone(),
            "ada": None if self.ada is None else self.ada.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` of a run with the same experiment fields, data shape and world size."""
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"unsupported checkpoint format {state.get('format')!r}; expected {CHECKPOINT_FORMAT}")
        mine = self.cfg.run_fields()
        theirs = _with_defaults(state["run"])
        diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        if diff:
            detail = ", ".join(f"{k}: checkpoint {state['run'].get(k)!r} vs config {mine.get(k)!r}" for k in diff)
            raise ValueError(f"checkpoint belongs to another run ({detail})")
        if list(state["image_shape"]) != list(self.image_shape) or state["num_classes"] != self.num_classes:
            raise ValueError(f"checkpoint data shape {state['image_shape']} with {state['num_classes']} classes; "
                             f"this trainer has {list(self.image_shape)} with {self.num_classes}")
        if state["world_size"] != self.dist.world_size:
            raise ValueError(f"checkpoint was written by {state['world_size']} ranks; this run has {self.dist.world_size}")
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if (state.get("ada") is None) != (self.ada is None):
            raise ValueError("checkpoint and config disagree on whether ADA is on")
        if (state["ema"] is None) != (self.ema is None):
            raise ValueError("checkpoint and config disagree on whether an EMA generator is kept")
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        for name, st in state["generators"][self.dist.rank].items():
            self.gens[name].set_state(st)
        self.step = int(state["step"])
        self.history = [dict(r) for r in state["history"]]
        # counters and states added after the first checkpoint format: a run without them had none to save
        self.d_steps = int(state.get("d_steps", self.step * self.options.n_dis))
        self.g_steps = int(state.get("g_steps", self.step))
        self.pl_mean = state.get("pl_mean", torch.zeros(())).to(self.device, torch.float32).clone()
        if self.ada is not None:
            self.ada.load_state_dict(state["ada"])

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write :meth:`state_dict` atomically to ``path`` (rank 0 writes; every rank takes part)."""
        state = self.state_dict()
        path = Path(path)
        if self.dist.rank == 0:
            save_checkpoint_file(state, path)  # temporary file, fsync, os.replace
        if self.dist.distributed:
            import torch.distributed as dist

            dist.barrier()
        return path

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Load a checkpoint written by :meth:`save_checkpoint` (tensors land on this trainer's device)."""
        self.load_state_dict(load_checkpoint_file(path, map_location="cpu"))


__all__ = ["ADAM_IMPLS", "STREAMS", "DistInfo", "ImageBatcher", "ImageTrainConfig", "ImageTrainer", "image_grid",
           "make_adam", "stream_seed", "uint8_to_float"]
