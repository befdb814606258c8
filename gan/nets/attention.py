"""The self-attention block of SAGAN (Zhang, Goodfellow, Metaxas & Odena 2019), as used in BigGAN.

For a feature map x (B, C, H, W) with N = H·W positions (Zhang et al. 2019, §3, eqs. 1–3):

    f(x) = W_f x,  g(x) = W_g x   (query, key: C → C̄ = C/8, 1×1 convs without bias)
    h(x) = W_h x                  (value: C → C/2)
    s_{ij} = f(x_i)ᵀ g(x_j),      β_{i,j} = exp(s_{ij}) / Σ_j exp(s_{ij})     (softmax over key positions j)
    o_i = W_v Σ_j β_{i,j} h(x_j)  (W_v: C/2 → C, 1×1 conv)
    y = x + γ o,                  γ a learned scalar initialised at 0 (so the block starts as the identity)

Keys and values are max-pooled 2×2 (``pool=True``), as in the authors' TensorFlow code and BigGAN's
``layers.Attention``: M = N/4 key positions. The value width C/2 and the pooling are those codes'
choices (the paper writes C̄ = C/8 for f, g and full width for h). Narrow test networks keep at least
one channel (C̄ = max(1, C/8)). Spectral normalisation and initialisation come from the architecture
(every 1×1 conv here is an ordinary ``nn.Conv2d``; γ is left at 0 by every initialiser).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import check_int


class SelfAttention(nn.Module):
    """SAGAN self-attention block y = x + γ·o (module docstring); ``attention(x)`` returns β (B, N, M)."""

    def __init__(self, channels: int, pool: bool = True):
        super().__init__()
        c = self.channels = check_int("channels", channels, 1)
        self.pool = bool(pool)
        ck, cv = max(1, c // 8), max(1, c // 2)
        self.query = nn.Conv2d(c, ck, 1, bias=False)
        self.key = nn.Conv2d(c, ck, 1, bias=False)
        self.value = nn.Conv2d(c, cv, 1, bias=False)
        self.out = nn.Conv2d(cv, c, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def _pooled(self, t: torch.Tensor) -> torch.Tensor:
        if self.pool and t.shape[2] % 2 == 0 and t.shape[3] % 2 == 0:
            t = F.max_pool2d(t, 2)
        return t.flatten(2)  # (B, C', M)

    def _weights(self, x: torch.Tensor) -> torch.Tensor:
        q = self.query(x).flatten(2)  # (B, C̄, N)
        k = self._pooled(self.key(x))  # (B, C̄, M)
        return torch.softmax(torch.bmm(q.transpose(1, 2), k), dim=-1)  # (B, N, M), rows sum to 1

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The attention weights β (B, N, M): query position i (row-major over H×W) over key positions j."""
        return self._weights(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, _, H, W = x.shape
        beta = self._weights(x)
        v = self._pooled(self.value(x))  # (B, C/2, M)
        o = torch.bmm(v, beta.transpose(1, 2)).view(B, v.shape[1], H, W)
        return x + self.gamma * self.out(o)


__all__ = ["SelfAttention"]
