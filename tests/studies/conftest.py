"""Fixtures of the study tests: one local Ray instance per test session, bound to the loopback address only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ray_local():
    """Ray started once for the session: 2 CPUs, a small object store (80 MiB), no dashboard, node IP 127.0.0.1
    (:data:`studies.executors.LOOPBACK_ENV`: every Ray server binds to and connects over 127.0.0.1), workers with one
    torch thread each; stopped at the end of the session. The engine's ``--executor ray`` uses it as it is."""
    from studies.executors import LOOPBACK_ENV

    os.environ.update(LOOPBACK_ENV)
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=80 << 20,
             _node_ip_address="127.0.0.1", configure_logging=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}})
    try:
        yield ray
    finally:
        ray.shutdown()
