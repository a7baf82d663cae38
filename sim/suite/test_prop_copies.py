"""Shallow-copy isolation across interleavings: the sender changes its dict right after
send(), every handler changes its own copy, and every handler checks what it got."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.generate import GenConfig, scenarios
from sim.properties import check_sim
from sim.scenario import Scenario
from sim.strategies.hypothesis_schedule import HypothesisSchedule
from sim.suite import SUITE

COPIES = GenConfig(weights=(85, 5, 5, 0, 5, 0), expiries=(None,), droppable_percent=0)


@pytest.mark.spec("C1", "C2", "C3", "C4")
@SUITE
@given(scenario=scenarios(COPIES), data=st.data())
def test_no_holder_sees_another_holders_change_and_nested_objects_are_shared(
    chanspec_impl: str, scenario: Scenario, data: st.DataObject
) -> None:
    check_sim(chanspec_impl, scenario, HypothesisSchedule(data))
