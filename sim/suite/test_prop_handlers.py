"""Handler errors and internal topics across interleavings: a raising handler never stops
delivery to anyone, and internal-topic messages reach exactly the matching channels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.generate import TOPICS, GenConfig, scenarios
from sim.properties import check_sim
from sim.scenario import Scenario
from sim.strategies.hypothesis_schedule import HypothesisSchedule
from sim.suite import SUITE

HANDLERS = GenConfig(
    weights=(60, 15, 15, 0, 10, 0),
    raises_percent=50,
    expiries=(None,),
    topics=("*", "lona.channels.*", "lona.channels.subscribe", *TOPICS),
)


@pytest.mark.spec("H1", "I1", "I2", "T4")
@SUITE
@given(scenario=scenarios(HANDLERS), data=st.data())
def test_raising_handlers_and_internal_topics(
    chanspec_impl: str, scenario: Scenario, data: st.DataObject
) -> None:
    check_sim(chanspec_impl, scenario, HypothesisSchedule(data))
