"""Inception-v3 features (FID/KID/PR) and logits (IS) through torch-fidelity, from a weights file you point to.

The extractor wraps ``torch_fidelity.feature_extractor_inceptionv3.FeatureExtractorInceptionV3``
(Obukhov et al., torch-fidelity): the TensorFlow FID Inception-v3 (2015-12-05 graph of Heusel et al.
2017 and Salimans et al. 2016) ported to torch, with TensorFlow-1.x-compatible bilinear resizing to
299 × 299. Features are the 2,048 pool3 activations; ``probs`` is the softmax of the unbiased
1,008-way logits, the Inception Score's p(y|x) in torch-fidelity.

**Nothing is downloaded.** ``weights`` must name a local copy of torch-fidelity's
``weights-inception-2015-12-05-6726825d.pth``; without it, or if the file is missing, a
``ValueError`` / ``FileNotFoundError`` says so before anything is imported. The library is an
optional extra (``pip install -e '.[inception]'``) imported only when an extractor is built; it
depends on torchvision, whose wheel must match your torch: install with your torch pinned, e.g.
``pip install torch-fidelity "torch==$(python -c 'import torch; print(torch.__version__.split("+")[0])')"``,
and check that ``import torchvision`` works (a CPU-only torch with the default CUDA torchvision wheel
fails with "operator torchvision::nms does not exist").

Images in [−1, 1] are quantised to uint8 with :func:`gan.data.to_uint8` (what saving generated
samples as PNG does, and the input torch-fidelity expects); 1-channel images are repeated to RGB.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

INSTALL_HINT = ("pip install -e '.[inception]' (torch-fidelity; pin your torch: "
                "pip install torch-fidelity \"torch==<your torch version>\")")
WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"
FEATURE_DIM = 2048


def _load_library():
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except Exception as err:  # ImportError, or torchvision failing to load against this torch
        raise ModuleNotFoundError(f"the 'inception' extractor needs torch-fidelity (and a torchvision matching your "
                                  f"torch): {INSTALL_HINT}; importing it failed with {type(err).__name__}: {err}") \
            from err
    return FeatureExtractorInceptionV3


class InceptionExtractor:
    """Feature extractor "inception": 2,048 Inception-v3 pool features from local weights (module docstring)."""

    name = "inception"
    dim = FEATURE_DIM

    def __init__(self, weights: str | os.PathLike | None = None, device: torch.device | str = "cpu") -> None:
        if weights is None:
            raise ValueError(f"the 'inception' extractor needs weights=<path to {WEIGHTS_NAME}> (torch-fidelity's FID "
                             f"Inception-v3); nothing is downloaded")
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"Inception-v3 weights not found: expected a file at {str(path)!r} (a local copy "
                                    f"of {WEIGHTS_NAME}); nothing is downloaded")
        self.weights = path
        self.device = torch.device(device)
        cls = _load_library()
        self.net = cls("inception-v3-compat", ["2048", "logits_unbiased"],
                       feature_extractor_weights_path=str(path)).to(self.device).eval()

    def _uint8_rgb(self, images: torch.Tensor) -> torch.Tensor:
        from gan.data import to_uint8

        if not isinstance(images, torch.Tensor) or not images.is_floating_point():
            raise TypeError(f"inception expects float images in [-1, 1]; got {type(images).__name__} "
                            f"{getattr(images, 'dtype', '')} (use gan.data.to_float for uint8)")
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"inception expects images of shape (N, C, H, W) with C in {{1, 3}}; "
                             f"got {tuple(images.shape)}")
        x = to_uint8(images.to(self.device))
        return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> np.ndarray:
        feats, _ = self.net(self._uint8_rgb(images))
        return feats.double().cpu().numpy()

    @torch.no_grad()
    def probs(self, images: torch.Tensor) -> np.ndarray:
        """Softmax of the unbiased 1,008-way logits (N, 1008), float64: p(y|x) for the Inception Score."""
        _, logits = self.net(self._uint8_rgb(images))
        return torch.softmax(logits.double(), dim=1).cpu().numpy()
