"""Shared fixtures of the image-network tests.

This directory has no ``__init__.py`` on purpose: ``tests/gan/nets.py`` (the tiny MLP helpers
of the loss/regularizer tests) owns the module name ``tests.gan.nets``, and a package here would
shadow it. pytest imports these files by their (unique) basenames instead.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def gen():
    """A fresh explicitly seeded CPU generator."""
    return torch.Generator().manual_seed(1234)
