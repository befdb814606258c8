"""The feature-extractor protocol, its registry, and batched extraction."""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import numpy as np
import torch

from ._checks import check_images, check_int
from .inception import InceptionExtractor
from .mnist_net import MnistClassifierExtractor


@runtime_checkable
class FeatureExtractor(Protocol):
    """Maps float32 images in [−1, 1] of shape (N, C, H, W) (any device) to (N, dim) float64 features.

    ``name`` identifies it in :data:`EXTRACTORS`; ``dim`` is the feature dimension. The result may
    be a numpy array or a tensor; it must not depend on how the images are split into batches
    (eval-mode networks, no batch statistics).
    """

    name: str
    dim: int

    def __call__(self, images: torch.Tensor) -> torch.Tensor | np.ndarray: ...


EXTRACTORS: dict[str, Callable[..., FeatureExtractor]] = {
    "mnist_classifier": MnistClassifierExtractor,  # kwargs: device, channels (1, or 3 for Stacked MNIST)
    "inception": InceptionExtractor,  # kwargs: weights=PATH (required), device
}


def get_extractor(name: str, **kwargs) -> FeatureExtractor:
    """Build the extractor ``name`` of :data:`EXTRACTORS` with ``kwargs`` (e.g. ``"inception", weights=path``).

    >>> get_extractor("mnist_classifier").dim
    128
    """
    if not isinstance(name, str) or name not in EXTRACTORS:
        raise ValueError(f"unknown feature extractor {name!r}; known: {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name](**kwargs)


def extract_features(images: torch.Tensor, extractor: FeatureExtractor, batch_size: int = 500) -> np.ndarray:
    """(N, dim) float64 features of images (float in [−1, 1], or uint8 via ``to_float``), ``batch_size`` at a time.

    Float images that are not finite or lie outside [−1, 1] raise ``ValueError``
    (:func:`gan.metrics._checks.check_images`), and so do features that come back non-finite.

    >>> from gan.data import mnist5k
    >>> extract_features(mnist5k().images[:10], get_extractor("mnist_classifier"), batch_size=4).shape
    (10, 128)
    """
    from gan.data import to_float

    batch_size = check_int("batch_size", batch_size, 1)
    if isinstance(images, torch.Tensor) and images.dtype == torch.uint8:
        images = to_float(images)
    check_images(images, "extract_features")
    parts = []
    for start in range(0, images.shape[0], batch_size):
        out = extractor(images[start:start + batch_size])
        if isinstance(out, torch.Tensor):
            out = out.detach().to("cpu", torch.float64).numpy()
        parts.append(np.asarray(out, dtype=np.float64))
    feats = np.concatenate(parts)
    if feats.shape != (images.shape[0], extractor.dim):
        raise ValueError(f"extractor {extractor.name!r} returned features of shape {feats.shape}; expected "
                         f"({images.shape[0]}, {extractor.dim})")
    if not np.all(np.isfinite(feats)):
        raise ValueError(f"extractor {extractor.name!r} returned NaN or inf features for finite images")
    return feats
