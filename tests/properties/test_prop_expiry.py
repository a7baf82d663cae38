"""``sim/suite/test_prop_expiry.py``, the shipped property suite (``--impl NAME``)."""

from sim.suite.test_prop_expiry import (
    test_no_handler_starts_at_or_after_the_deadline_and_every_expiry_is_reported,
)

__all__ = [
    "test_no_handler_starts_at_or_after_the_deadline_and_every_expiry_is_reported",
]
