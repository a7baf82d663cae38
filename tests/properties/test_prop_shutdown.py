"""``sim/suite/test_prop_shutdown.py``, the shipped property suite (``--impl NAME``)."""

from sim.suite.test_prop_shutdown import (
    test_graceful_shutdown_delivers_what_it_must_and_reports_what_it_drops,
)

__all__ = [
    "test_graceful_shutdown_delivers_what_it_must_and_reports_what_it_drops",
]
