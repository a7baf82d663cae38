"""Droppable shutdown at any point of a run, from any thread, with handlers that send."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.generate import GenConfig, scenarios
from sim.properties import check_sim
from sim.scenario import Scenario
from sim.strategies.hypothesis_schedule import HypothesisSchedule
from sim.suite import SUITE

SHUTDOWN = GenConfig(weights=(60, 5, 5, 5, 5, 20), droppable_percent=50)


@pytest.mark.spec("S1", "S2", "S3", "S4", "S5", "S6", "D2")
@SUITE
@given(scenario=scenarios(SHUTDOWN), data=st.data())
def test_graceful_shutdown_delivers_what_it_must_and_reports_what_it_drops(
    chanspec_impl: str, scenario: Scenario, data: st.DataObject
) -> None:
    check_sim(chanspec_impl, scenario, HypothesisSchedule(data))
