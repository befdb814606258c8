"""Stacked MNIST mode counting (Metz et al. 2017; Srivastava et al. 2017; Lin et al. 2018).

Each generated 3-channel image is read as three digits: every channel, as its own grayscale
image, is classified by the MNIST classifier (default: the in-repo one, :func:`mnist_classifier`;
argmax of the logits), giving the mode 100·d₁ + 10·d₂ + d₃ ∈ {0, …, 999}. With c_m the number of
samples in mode m and Q̂_m = c_m / n:

* ``modes`` = #{m : c_m ≥ 1}, the number of modes covered (out of 1,000);
* ``kl`` = KL(Q̂ ‖ U) = Σ_m Q̂_m log(1000 Q̂_m) in nats (0 log 0 = 0), U uniform over the 1,000
  modes: the generator's histogram first (the reverse KL in this package's P = data, Q = model
  convention), as reported by VEEGAN and PacGAN. Range [0, log 1000]; log(1000/K) for a
  generator spread evenly over K modes.

Protocol in VEEGAN and PacGAN: 26,000 generated samples. Even a perfect generator covers only
1000·(1 − (1 − 1/1000)^n) modes in expectation from n samples (≈ 999.99995 at n = 26,000,
≈ 993 at n = 5,000), and its KL is ≈ 999/(2n) from sampling alone (0.019 at n = 26,000), so
compare counts only at equal n.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ._checks import check_images, check_int
from .mnist_net import INPUT_SIZE, NUM_CLASSES, mnist_classifier, to_classifier_input

N_MODES = 1000


@torch.no_grad()
def stacked_mnist_modes(images_float: torch.Tensor, classifier: Callable[[torch.Tensor], torch.Tensor] | None = None,
                        batch_size: int = 2000) -> dict:
    """Modes covered and KL(Q̂ ‖ uniform) of (n, 3, H, W) images in [−1, 1] (module docstring).

    ``classifier`` maps (B, 1, 28, 28) images in [−1, 1] to (B, 10) logits or probabilities
    (default: the in-repo MNIST classifier on the images' device). Images of another size are
    brought to 28 × 28 as in :func:`gan.metrics.mnist_net.to_classifier_input`. Returns
    ``{"modes": int, "kl": float, "counts": int64 array (1000,), "n": int}``. Images that are not
    finite or lie outside [−1, 1] (beyond :data:`gan.metrics._checks.IMAGE_RANGE_TOL`), and
    classifier scores that are not finite, raise ``ValueError``: the argmax of NaN scores is class
    0, so a diverged generator would otherwise be reported as covering mode 0.

    >>> from gan.data import stacked_mnist, to_float
    >>> real = stacked_mnist(n=200, seed=0)
    >>> r = stacked_mnist_modes(to_float(real.images))
    >>> r["n"], int(r["counts"].sum()), 150 <= r["modes"] <= 200
    (200, 200, True)
    """
    x = check_images(images_float, "stacked_mnist_modes")
    if x.shape[1] != 3:
        raise ValueError(f"stacked_mnist_modes expects images of shape (n, 3, H, W), n >= 1; got {tuple(x.shape)}")
    batch_size = check_int("batch_size", batch_size, 1)
    net = mnist_classifier(x.device) if classifier is None else classifier
    digits = []
    for start in range(0, x.shape[0], batch_size):
        batch = to_classifier_input(x[start:start + batch_size].float())
        out = net(batch.reshape(-1, 1, INPUT_SIZE, INPUT_SIZE))
        if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] != NUM_CLASSES:
            raise ValueError(f"the classifier must return (B, {NUM_CLASSES}) scores as a torch.Tensor; got "
                             f"{type(out).__name__} {tuple(getattr(out, 'shape', ()))}")
        if out.is_floating_point() and not bool(torch.isfinite(out).all()):  # argmax of NaN scores would be class 0
            raise ValueError("the classifier returned NaN or inf scores")
        digits.append(out.argmax(dim=1).reshape(-1, 3).cpu())
    d = torch.cat(digits).numpy().astype(np.int64)
    modes = 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]
    counts = np.bincount(modes, minlength=N_MODES)
    q = counts[counts > 0] / len(modes)
    return {"modes": int((counts > 0).sum()), "kl": float(np.sum(q * np.log(q * N_MODES))),
            "counts": counts, "n": int(len(modes))}
