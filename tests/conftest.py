"""Shared test configuration: the ``spec`` marker and the Hypothesis profiles.

* ``ci`` (default, used by ``make test``): derandomised, so CI is reproducible; modest
  example counts so the suite finishes in a few minutes on 2 cores.
* ``thorough`` (``HYPOTHESIS_PROFILE=thorough``): fresh randomness, many more examples.
"""

from __future__ import annotations

import logging
import os
import sys
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
    config.addinivalue_line(
        "markers", "settrace: needs sys.settrace for line preemption (not under coverage)"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Line preemption owns ``sys.settrace``; under coverage (which holds it) it cannot run.

    ``make coverage`` therefore reports those tests as skipped, with this reason; ``make
    test`` runs them. (CPython 3.11 has one trace slot per thread; see README, Limitations.)
    """
    if item.get_closest_marker("settrace") is not None and sys.gettrace() is not None:
        pytest.skip("line preemption needs sys.settrace, which coverage (or a debugger) holds")


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
