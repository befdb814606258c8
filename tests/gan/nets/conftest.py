"""Shared fixtures of the image-network tests (``tests/gan/nets/`` mirrors ``gan/nets/``)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def gen():
    """A fresh explicitly seeded CPU generator."""
    return torch.Generator().manual_seed(1234)
