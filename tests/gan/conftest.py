"""Fixtures for the gan tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def _single_intra_op_thread():
    """The tensors here are tiny to moderate (≤ 400k elements): intra-op threads only add
    overhead, and on a loaded machine they slowed the Monte Carlo checks tenfold. Restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
