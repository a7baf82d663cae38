"""Shared test configuration: the ``spec`` marker and the Hypothesis profiles.

* ``ci`` (default, used by ``make test``): derandomised, so CI is reproducible; modest
  example counts so the suite finishes in a few minutes on 2 cores.
* ``thorough`` (``HYPOTHESIS_PROFILE=thorough``): fresh randomness, many more examples.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=1000,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "spec(*clauses): the spec clauses (specs/channels.md) a test checks"
    )


@pytest.fixture(autouse=True)
def _quiet_handler_errors() -> Iterator[None]:
    """Scenario handlers raise on purpose; keep their logged tracebacks out of the output.

    Tests that assert on log records set the level of ``refimpl.channels`` themselves.
    """
    logger = logging.getLogger("refimpl")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)
