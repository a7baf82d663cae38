"""The isolation check (R8) catches a runtime that delivers across runtimes."""

from __future__ import annotations

import pytest

from refimpl import Runtime
from sim.mutants.isolation import CrossingRuntime
from tests.refimpl.test_isolation import check_isolation, default  # noqa: F401 (fixture)


@pytest.mark.spec("R8")
def test_the_isolation_check_catches_crossing_runtimes(default: Runtime) -> None:  # noqa: F811
    with pytest.raises(AssertionError):
        check_isolation(CrossingRuntime, None, default)
