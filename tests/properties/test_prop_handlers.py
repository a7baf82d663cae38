"""``sim/suite/test_prop_handlers.py``, the shipped property suite (``--impl NAME``)."""

from sim.suite.test_prop_handlers import (
    test_raising_handlers_and_internal_topics,
)

__all__ = [
    "test_raising_handlers_and_internal_topics",
]
