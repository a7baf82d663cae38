"""R7's check bites: a runtime that does not drain at interpreter exit loses messages.

The check (``tests.robustness.helpers.handled_at_exit``) runs a script that sends to a
slow handler on the default runtime and ends. ``NoExitDrainRuntime`` (``sim.mutants.exit``)
must fail it, and the reference implementation, on the same script, must pass it.
"""

from __future__ import annotations

import pytest

from refimpl import Runtime
from sim.mutants.exit import NoExitDrainRuntime
from tests.robustness.helpers import handled_at_exit

N = 2000


@pytest.mark.spec("R7", "D2")
def test_the_exit_check_catches_a_runtime_that_does_not_drain_at_exit() -> None:
    assert handled_at_exit(NoExitDrainRuntime, N) < N


@pytest.mark.spec("R7")
def test_the_exit_check_passes_the_reference_implementation() -> None:
    assert handled_at_exit(Runtime, N) == N
