"""A mutant of interpreter exit (spec R7): the default runtime is not drained.

It cannot be caught in simulation (the process does not end there); the check that
catches it runs a script in a subprocess, as ``tests/robustness`` does for refimpl:
``tests/mutants/test_exit_mutant.py``.
"""

from __future__ import annotations

from refimpl.runtime import Runtime

__all__ = ["NoExitDrainRuntime"]


class NoExitDrainRuntime(Runtime):
    """Bug (R7, D2): at interpreter exit the daemon worker threads are left to die with
    the process, so whatever is still queued is lost, silently, with exit status 0."""

    def _drain_at_exit(self) -> None:
        return None  # the bug: nothing drains, nothing is reported
