"""A small MNIST CNN, trained in this repository on the embedded digits: features for FID/KID/PR, labels for mode counts.

The network (:class:`MnistNet`, 98,554 parameters) reads 1 × 28 × 28 images in [−1, 1]:

    3 × [conv 3×3 (16, 32, 64 channels) → batch norm → ReLU → max-pool 2]  → 64 × 3 × 3
    → flatten (576) → linear 128 → ReLU   = the 128 features (penultimate layer)
    → linear 10                           = class logits

Training protocol (``python -m gan.metrics.train_mnist``; writes ``assets/mnist_classifier.pt``
and ``assets/mnist_classifier.json``): the 5,000 embedded digits of :func:`gan.data.mnist5k` are
split by :func:`heldout_split` (seed 0) into 4,000 training digits and 1,000 held-out digits (100
per class); 20 epochs of Adam (one-cycle learning rate, peak 3e-3) on minibatches of 64 with
random shifts of up to ±2 pixels (background filled), plain cross-entropy (no label smoothing: the
softmax then stays confident, so real digits score an Inception Score near 10); weights initialised
and batches drawn from explicit ``torch.Generator`` streams of ``seed`` 0 (nothing touches the
global random state). The held-out accuracy of the final epoch (no model selection on the held-out
digits) is stored in the JSON together with the SHA-256 of the weights and of the held-out indices;
:func:`mnist_classifier` refuses weights whose hash does not match. The committed asset: 98.7 %
held-out accuracy (987 / 1,000), ~40 s of training on one CPU thread, 393 KiB; a re-run with the
same torch on the same kind of CPU reproduces the weights bit for bit.

Inputs of other sizes are mapped to 28 × 28 before classification (:func:`to_classifier_input`):
32 × 32 by cropping the 2-pixel border (the inverse of the zero padding of
:func:`gan.data.resize`), anything else by antialiased bilinear resizing.
"""

from __future__ import annotations

import importlib.resources
import io
import json
import math
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..fileio import sha256_hex, write_atomic

ASSET_DIR = Path(__file__).resolve().parent / "assets"
WEIGHTS_FILE = "mnist_classifier.pt"
REPORT_FILE = "mnist_classifier.json"
FEATURE_DIM = 128
NUM_CLASSES = 10
INPUT_SIZE = 28


class MnistNet(nn.Module):
    """The classifier of the module docstring: ``features(x)`` (N, 128) and ``forward(x)`` logits (N, 10)."""

    def __init__(self, width: int = 16, device: torch.device | str | None = None) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for c_out in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False, device=device),
                       nn.BatchNorm2d(c_out, device=device), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.Flatten(),
                                  nn.Linear(4 * width * 9, FEATURE_DIM, device=device), nn.ReLU())
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES, device=device)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features (N, 128) of images (N, 1, 28, 28) in [−1, 1]."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, 10)."""
        return self.head(self.body(x))


def init_parameters_(net: nn.Module, generator: torch.Generator) -> nn.Module:
    """torch's default initialisation (Kaiming-uniform weights, fan-in-uniform biases, BN 1/0) from ``generator``."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                bound = 1.0 / math.sqrt(nn.init._calculate_fan_in_and_fan_out(module.weight)[0])
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_parameters()
    return net


def heldout_split(labels: torch.Tensor | np.ndarray, per_class: int = 100,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices): ``per_class`` held-out digits per class, drawn with ``default_rng(seed)``.

    Both index arrays are sorted. For the 5,000 embedded digits and the defaults: 4,000 / 1,000.

    >>> tr, te = heldout_split(np.repeat(np.arange(10), 5), per_class=2)
    >>> len(tr), len(te), np.bincount(np.repeat(np.arange(10), 5)[te]).tolist()
    (30, 20, [2, 2, 2, 2, 2, 2, 2, 2, 2, 2])
    """
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if len(members) <= per_class:
            raise ValueError(f"class {c} has {len(members)} examples; need more than per_class={per_class}")
        test.append(rng.permutation(members)[:per_class])
    test_idx = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(y)), test_idx), test_idx


def _random_shifts(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Every image translated by its own integer (dy, dx) ∈ [−max_shift, max_shift]², background −1 filled in."""
    n, _, h, w = x.shape
    padded = F.pad(x[:, 0], (max_shift,) * 4, value=-1.0)
    shift = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    rows = (shift[:, 0, None] + torch.arange(h))[:, :, None]
    cols = (shift[:, 1, None] + torch.arange(w))[:, None, :]
    return padded[torch.arange(n)[:, None, None], rows, cols][:, None]


def _indices_sha256(idx: np.ndarray) -> str:
    return sha256_hex(np.ascontiguousarray(idx, dtype="<i8").tobytes())


def train_classifier(epochs: int = 20, seed: int = 0, batch_size: int = 64, lr: float = 3e-3, max_shift: int = 2,
                     label_smoothing: float = 0.0, verbose: bool = True) -> tuple[MnistNet, dict]:
    """Train :class:`MnistNet` by the protocol of the module docstring; returns (network in eval mode, report dict)."""
    from gan.data import mnist5k, to_float

    data = mnist5k()
    x, y = to_float(data.images), data.labels
    train_idx, test_idx = heldout_split(y, per_class=100, seed=0)
    x_tr, y_tr = x[torch.from_numpy(train_idx)], y[torch.from_numpy(train_idx)]
    x_te, y_te = x[torch.from_numpy(test_idx)], y[torch.from_numpy(test_idx)]
    init_seed, data_seed = np.random.SeedSequence(seed).generate_state(2)
    # built on the meta device and initialised from the generator: the global random state is not touched
    net = init_parameters_(MnistNet(device="meta").to_empty(device="cpu"),
                           torch.Generator().manual_seed(int(init_seed)))
    g = torch.Generator().manual_seed(int(data_seed))
    steps_per_epoch = len(train_idx) // batch_size
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    start = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        x_aug = _random_shifts(x_tr, max_shift, g)
        order = torch.randperm(len(train_idx), generator=g)
        for b in range(steps_per_epoch):
            i = order[b * batch_size:(b + 1) * batch_size]
            loss = F.cross_entropy(net(x_aug[i]), y_tr[i], label_smoothing=label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if verbose:
            acc = _accuracy(net, x_te, y_te)
            print(f"epoch {epoch + 1:2d}/{epochs}  loss {loss.item():.4f}  held-out accuracy {acc:.4f}  "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
    seconds = time.perf_counter() - start
    net.eval().requires_grad_(False)
    n_correct = int(round(_accuracy(net, x_te, y_te) * len(test_idx)))
    report = {
        "heldout_accuracy": n_correct / len(test_idx),
        "heldout_correct": n_correct,
        "n_heldout": int(len(test_idx)),
        "n_train": int(len(train_idx)),
        "heldout_indices_sha256": _indices_sha256(test_idx),
        "split": "gan.metrics.mnist_net.heldout_split(mnist5k labels, per_class=100, seed=0)",
        "seed": seed, "epochs": epochs, "batch_size": batch_size, "lr": lr, "max_shift": max_shift,
        "label_smoothing": label_smoothing, "train_seconds": round(seconds, 1),
        "threads": torch.get_num_threads(), "torch": torch.__version__, "python": sys.version.split()[0],
        "parameters": sum(p.numel() for p in net.parameters()),
        "command": "python -m gan.metrics.train_mnist",
    }
    return net, report


@torch.no_grad()
def _accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    was_training = net.training
    net.eval()
    acc = (net(x).argmax(1) == y).double().mean().item()
    net.train(was_training)
    return acc


def save_assets(net: MnistNet, report: dict, directory: Path = ASSET_DIR) -> tuple[Path, Path]:
    """Write the weights (float32 state dict) and the JSON report (with the weights' SHA-256), each atomically
    (:func:`gan.fileio.write_atomic`)."""
    weights, report_path = directory / WEIGHTS_FILE, directory / REPORT_FILE
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}, buf)
    report = dict(report, weights_sha256=sha256_hex(buf.getvalue()))
    write_atomic(weights, buf.getvalue())
    write_atomic(report_path, json.dumps(report, indent=2) + "\n")
    return weights, report_path


def _asset_bytes(name: str) -> bytes:
    resource = importlib.resources.files("gan.metrics").joinpath("assets", name)
    try:
        return resource.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"the MNIST classifier asset gan/metrics/assets/{name} is missing; regenerate it with "
                                f"`python -m gan.metrics.train_mnist`") from None


def classifier_report() -> dict:
    """The JSON report written with the weights (held-out accuracy, protocol, hashes)."""
    return json.loads(_asset_bytes(REPORT_FILE))


@lru_cache(maxsize=None)
def _cached_classifier(device: str) -> MnistNet:
    import io

    report = classifier_report()
    raw = _asset_bytes(WEIGHTS_FILE)
    if sha256_hex(raw) != report.get("weights_sha256"):
        raise ValueError("gan/metrics/assets/mnist_classifier.pt does not match the SHA-256 recorded in "
                         "mnist_classifier.json; regenerate both with `python -m gan.metrics.train_mnist`")
    state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    net = MnistNet(device="meta")
    net.load_state_dict(state, assign=True)
    return net.to(device).eval().requires_grad_(False)


def mnist_classifier(device: torch.device | str = "cpu") -> MnistNet:
    """The trained classifier from the package asset, in eval mode, parameters frozen; one shared instance per device.

    Do not modify the returned module (it is cached); ``copy.deepcopy`` it to fine-tune.

    >>> net = mnist_classifier()
    >>> net.features(torch.zeros(2, 1, 28, 28)).shape, net(torch.zeros(2, 1, 28, 28)).shape
    (torch.Size([2, 128]), torch.Size([2, 10]))
    """
    return _cached_classifier(str(torch.device(device)))


def to_classifier_input(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images in [−1, 1] → (N, C, 28, 28): 32 → 28 by cropping the 2-pixel border, else bilinear."""
    h, w = images.shape[-2:]
    if (h, w) == (INPUT_SIZE, INPUT_SIZE):
        return images
    if (h, w) == (32, 32):
        return images[..., 2:30, 2:30]
    return F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                         antialias=max(h, w) > INPUT_SIZE)


def _check_images(images: torch.Tensor, channels: int, who: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise TypeError(f"{who} expects float images in [-1, 1] (a floating-point torch.Tensor; use "
                        f"gan.data.to_float for uint8); got {type(images).__name__} {getattr(images, 'dtype', '')}")
    if images.ndim != 4 or images.shape[1] != channels:
        raise ValueError(f"{who} expects images of shape (N, {channels}, H, W); got {tuple(images.shape)}")
    return images


class MnistClassifierExtractor:
    """Feature extractor "mnist_classifier": the 128 penultimate-layer features of :func:`mnist_classifier`.

    ``channels`` (1 for MNIST; 3 for Stacked MNIST) is the number of digit channels per image;
    each channel is classified as its own digit and the features are concatenated, so ``dim``
    = 128 · channels. ``__call__`` returns float64 numpy features (N, dim); ``probs`` the softmax
    class probabilities (N, 10) for one channel (the Inception Score's p(y|x) on MNIST).
    Images may live on any device; they are moved to ``device`` batch by batch by the caller's
    batching (:func:`gan.metrics.extract_features`) and the features come back on the CPU.
    """

    name = "mnist_classifier"

    def __init__(self, device: torch.device | str = "cpu", channels: int = 1) -> None:
        if isinstance(channels, bool) or channels not in (1, 3):
            raise ValueError(f"channels must be 1 (MNIST) or 3 (Stacked MNIST); got {channels!r}")
        self.device = torch.device(device)
        self.channels = channels
        self.dim = FEATURE_DIM * channels
        self.net = mnist_classifier(self.device)

    def _per_channel(self, images: torch.Tensor) -> torch.Tensor:
        x = _check_images(images, self.channels, self.name).to(self.device, torch.float32)
        x = to_classifier_input(x)
        return x.reshape(-1, 1, INPUT_SIZE, INPUT_SIZE)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> np.ndarray:
        n = images.shape[0]
        feats = self.net.features(self._per_channel(images))
        return feats.reshape(n, self.dim).double().cpu().numpy()

    @torch.no_grad()
    def probs(self, images: torch.Tensor) -> np.ndarray:
        """Class probabilities: (N, 10) for one channel, (N, channels, 10) otherwise (float64)."""
        n = images.shape[0]
        p = torch.softmax(self.net(self._per_channel(images)).double(), dim=1).cpu().numpy()
        return p if self.channels == 1 else p.reshape(n, self.channels, NUM_CLASSES)
