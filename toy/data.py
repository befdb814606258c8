"""Toy data for seed-parallel training: a Gaussian-mixture training set on the device, latents, per-seed streams.

Randomness (DESIGN.md: passed explicitly, never global). Every seed s owns independent
``torch.Generator`` streams, one per purpose, seeded from ``numpy.random.SeedSequence([s, id])``
(:data:`STREAMS`): the initialisation of G and of D, the minibatch order (or the fresh real
samples), the latents, the samples of a fixed generator distribution, the evaluation latents,
a stream for regulariser hooks, and one for the initial spectral-norm vectors. A seed's numbers therefore never depend on which other
seeds share its batch, which is what makes "S seeds batched" equal "each seed alone".

Two data regimes (``fresh``):

* fixed training set (the papers' setting): N samples drawn once from P with ``data_seed``
  (numpy, float64, then cast), shared by all seeds and stored on the device; every seed walks
  through it in its own random order, one permutation per epoch, dropping the last partial batch;
* fresh samples: every minibatch is a new draw from P (from the seed's ``data`` stream); an
  "epoch" is then N // B minibatches, as in the fixed regime.

Per-seed work (one ``randperm``/``randn`` call per seed) happens once per epoch, never per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from divergences import GaussianMixture
from gan.seeding import named_stream_seed

STREAMS: dict[str, int] = {"g_init": 0, "d_init": 1, "data": 2, "latent": 3, "fake": 4, "eval": 5, "hook": 6,
                           "spectral_norm": 7}
"""Named random streams of a seed; the id is the second word of its ``SeedSequence`` entropy."""


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """Validate a non-empty sequence of distinct non-negative integer seeds."""
    out = [int(s) for s in seeds]
    if not out:
        raise ValueError("need at least one seed")
    if any(s < 0 or s != t for s, t in zip(out, seeds)):
        raise ValueError(f"seeds must be non-negative integers; got {list(seeds)!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct; got {out}")
    return out


def stream_seed(seed: int, stream: str) -> int:
    """63-bit integer seed of ``stream`` for ``seed``: ``gan.seeding.derive_seed(seed, STREAMS[stream])``."""
    return named_stream_seed(STREAMS, seed, stream)


def seed_generators(seeds: Sequence[int], stream: str, device: torch.device | str = "cpu") -> list[torch.Generator]:
    """One ``torch.Generator`` per seed for ``stream``, on ``device``.

    >>> g0 = seed_generators([0, 1], "latent")[0]
    >>> bool(torch.equal(torch.randn(3, generator=g0), torch.randn(3, generator=seed_generators([0], "latent")[0])))
    True
    """
    return [torch.Generator(device=device).manual_seed(stream_seed(s, stream)) for s in check_seeds(seeds)]


@dataclass(frozen=True)
class TorchMixture:
    """A :class:`~divergences.GaussianMixture` as torch tensors on a device, for sampling.

    x = μ_c + L_c ε with c ~ Categorical(w), ε ~ N(0, I_d), L_c the Cholesky factor of Σ_c.
    """

    weights: torch.Tensor  # (K,)
    means: torch.Tensor  # (K, d)
    chol: torch.Tensor  # (K, d, d)

    @classmethod
    def from_mixture(cls, mixture: GaussianMixture, device: torch.device | str = "cpu",
                     dtype: torch.dtype = torch.float32) -> "TorchMixture":
        """Convert (float64 parameters cast to ``dtype``)."""
        chol = np.linalg.cholesky(mixture.covs)
        conv = lambda a: torch.tensor(np.asarray(a), dtype=dtype, device=device)
        return cls(conv(mixture.weights), conv(mixture.means), conv(chol))

    @property
    def dim(self) -> int:
        """Dimension d."""
        return int(self.means.shape[1])

    def sample(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Samples of shape ``(*shape, d)`` from ``generator`` (component draws first, then the noise)."""
        n = int(np.prod(shape)) if shape else 1
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, self.dim, 1, generator=generator, device=self.means.device, dtype=self.means.dtype)
        x = self.means[comp] + (self.chol[comp] @ eps)[..., 0]
        return x.reshape(*shape, self.dim)


def per_seed(fn, generators: Sequence[torch.Generator], dim: int = 1) -> torch.Tensor:
    """Stack ``fn(generator)`` over seeds along ``dim`` (the one Python loop over seeds, once per epoch)."""
    return torch.stack([fn(g) for g in generators], dim=dim)


class ToyData:
    """Real data source for S seeds plus latent sampling.

    Parameters
    ----------
    mixture : the data distribution P.
    n_train : size N of the fixed training set (also the epoch length N // B in the fresh regime).
    fresh : draw every minibatch anew from P instead of walking through a fixed training set.
    data_seed : numpy seed of the fixed training set (the same set for every training seed).
    latent_dim : k of the latent z ~ N(0, I_k).
    """

    def __init__(self, mixture: GaussianMixture, n_train: int = 50_000, fresh: bool = False, data_seed: int = 0,
                 latent_dim: int = 2, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        if not isinstance(mixture, GaussianMixture):
            raise TypeError(f"mixture must be a divergences.GaussianMixture; got {type(mixture).__name__}")
        if not isinstance(n_train, int) or n_train < 1:
            raise ValueError(f"n_train must be a positive integer; got {n_train!r}")
        if not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}")
        self.mixture = mixture
        self.n_train = n_train
        self.fresh = bool(fresh)
        self.latent_dim = latent_dim
        self.device = torch.device(device)
        self.dtype = dtype
        self.P = TorchMixture.from_mixture(mixture, self.device, dtype)
        self.train: torch.Tensor | None = None
        if not self.fresh:
            x = mixture.sample(n_train, rng=np.random.default_rng(data_seed))
            self.train = torch.as_tensor(x, dtype=dtype, device=self.device)

    @property
    def dim(self) -> int:
        """Data dimension d."""
        return self.mixture.dim

    def steps_per_epoch(self, batch_size: int) -> int:
        """Minibatches per epoch, N // B."""
        return self.n_train // batch_size

    def real_epoch(self, generators: Sequence[torch.Generator], batch_size: int, paired: torch.Tensor | None = None
                   ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """One epoch of real minibatches, shape (steps, S, B, d) (contiguous per step).

        Fixed set: seed s's batches are ``train[randperm_s(N)]`` cut into N // B batches.
        Fresh: N // B · B new draws from P per seed.
        ``paired`` (S, N, ...): per-seed values paired with the training samples (e.g. fixed latents), reshuffled with
        them; then ``(real, paired batches (steps, S, B, ...))`` is returned (fixed set only).
        """
        steps = self.steps_per_epoch(batch_size)
        if self.fresh:
            if paired is not None:
                raise ValueError("paired values need a fixed training set (fresh=False)")
            return per_seed(lambda g: self.P.sample((steps, batch_size), g), generators)
        idx = per_seed(lambda g: torch.randperm(self.n_train, generator=g, device=self.device)[: steps * batch_size],
                       generators, dim=0)  # (S, steps·B)
        S = len(generators)
        real = self.train[idx].reshape(S, steps, batch_size, self.dim).transpose(0, 1).contiguous()
        if paired is None:
            return real
        rows = torch.arange(S, device=idx.device)[:, None]
        other = paired[rows, idx].reshape(S, steps, batch_size, *paired.shape[2:]).transpose(0, 1).contiguous()
        return real, other

    def latents(self, generators: Sequence[torch.Generator], n_batches: int, batch_size: int) -> torch.Tensor:
        """Latents z ~ N(0, I_k), shape (n_batches, S, B, k); seed s's block is one ``randn`` from its generator."""
        shape = (n_batches, batch_size, self.latent_dim)
        return per_seed(lambda g: torch.randn(shape, generator=g, device=self.device, dtype=self.dtype), generators)
