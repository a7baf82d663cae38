"""``sim/suite/test_prop_real_threads.py``, the shipped property suite (``--impl NAME``)."""

from sim.suite.test_prop_real_threads import (
    test_real_thread_histories_obey_the_spec,
)

__all__ = [
    "test_real_thread_histories_obey_the_spec",
]
