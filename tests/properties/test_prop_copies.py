"""``sim/suite/test_prop_copies.py``, the shipped property suite (``--impl NAME``)."""

from sim.suite.test_prop_copies import (
    test_no_holder_sees_another_holders_change_and_nested_objects_are_shared,
)

__all__ = [
    "test_no_holder_sees_another_holders_change_and_nested_objects_are_shared",
]
