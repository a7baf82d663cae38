"""Expiry under virtual time: deadlines on the simulated clock, advanced by the scenario
and by slow handlers, so a message can expire between routing and running."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.generate import GenConfig, scenarios
from sim.properties import check_sim
from sim.scenario import Scenario
from sim.strategies.hypothesis_schedule import HypothesisSchedule
from sim.suite import SUITE

EXPIRY = GenConfig(
    weights=(60, 5, 5, 20, 10, 0), expiries=(0.5, 1.0, 0.0, None, 2.0, 3.0), droppable_percent=0
)


@pytest.mark.spec("E1", "E2", "E3", "E4", "D2")
@SUITE
@given(scenario=scenarios(EXPIRY), data=st.data())
def test_no_handler_starts_at_or_after_the_deadline_and_every_expiry_is_reported(
    chanspec_impl: str, scenario: Scenario, data: st.DataObject
) -> None:
    check_sim(chanspec_impl, scenario, HypothesisSchedule(data))
