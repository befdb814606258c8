"""Shared pytest configuration: hypothesis profiles.

Select a profile with the environment variable ``HYPOTHESIS_PROFILE`` (default ``dev``):

* ``ci``       derandomized (same examples on every run), ~30 examples per property,
               an explicit 5 s per-example deadline; what ``make test`` runs.
* ``dev``      like ``ci`` but randomized, so local runs explore new examples.
* ``thorough`` many examples, no deadline: run before a release or after touching the
               numerics of ``divergences/``.

Every profile prints the reproduction blob of a failure (``print_blob``); pin what it finds
with ``@example`` next to the property.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

# Drawing GaussianMixture objects through composite strategies is slower than drawing plain
# floats; hypothesis' "too_slow" and "data_too_large" checks would flag that, not a test bug.
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    max_examples=30,
    derandomize=True,
    deadline=timedelta(seconds=5),
    suppress_health_check=_SUPPRESS,
    print_blob=True,
    database=None,  # derandomized runs gain nothing from the example database
)
settings.register_profile(
    "dev",
    max_examples=30,
    deadline=timedelta(seconds=5),
    suppress_health_check=_SUPPRESS,
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=_SUPPRESS,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
