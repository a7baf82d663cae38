"""The interleaving-sensitive properties on real threads: the oracle checks real histories.

Virtual seconds are scaled to 10 ms of real time; expiry times are kept far from the
races (0 s or far ahead) and the oracle gets a tolerance for clock skew, so these runs
check order, window, exactly-once and shutdown rather than timing.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from sim.generate import GenConfig, scenarios
from sim.properties import check_real
from sim.scenario import Scenario
from sim.suite import SUITE

REAL = GenConfig(weights=(65, 10, 10, 0, 10, 5), expiries=(None, 0.0), droppable_percent=30)


@pytest.mark.spec("D1", "D2", "O2", "O3", "W1", "W2", "S1", "S2", "S4", "S5", "S6")
@settings(SUITE, max_examples=25)
@given(scenario=scenarios(REAL))
def test_real_thread_histories_obey_the_spec(chanspec_impl: str, scenario: Scenario) -> None:
    check_real(chanspec_impl, scenario)
