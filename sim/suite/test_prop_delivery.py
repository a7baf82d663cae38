"""Exactly-once, in-order delivery inside the subscription window, across interleavings.

Scenarios and schedules both come from Hypothesis, so a failure shrinks to a small
scenario with few preemptions, and prints the command that replays it.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.generate import GenConfig, scenarios
from sim.properties import check_sim
from sim.scenario import Scenario
from sim.strategies.hypothesis_schedule import HypothesisSchedule
from sim.suite import SUITE

#: Sends, subscribes and unsubscribes only: no expiry, no droppable, shutdown only at the end.
DELIVERY = GenConfig(
    weights=(70, 15, 15, 0, 0, 0), expiries=(None,), droppable_percent=0, raises_percent=0
)
#: The same with settles and wildcard senders racing several threads.
RACES = GenConfig(
    max_threads=3, max_ops=6, weights=(60, 15, 15, 0, 10, 0), expiries=(None,), droppable_percent=0
)


@pytest.mark.spec("D1", "D2", "O1", "O2", "O3", "T6")
@SUITE
@given(scenario=scenarios(DELIVERY), data=st.data())
def test_every_subscriber_gets_each_message_once_in_send_order(
    chanspec_impl: str, scenario: Scenario, data: st.DataObject
) -> None:
    check_sim(chanspec_impl, scenario, HypothesisSchedule(data))


@pytest.mark.spec("W1", "W2", "W3", "W4", "T4")
@SUITE
@given(scenario=scenarios(RACES), data=st.data())
def test_subscription_window_with_racing_subscribes_and_unsubscribes(
    chanspec_impl: str, scenario: Scenario, data: st.DataObject
) -> None:
    check_sim(chanspec_impl, scenario, HypothesisSchedule(data))


@pytest.mark.spec("O2", "O3", "R1")
@pytest.mark.parametrize(("brokers", "workers"), [(1, 4), (3, 1), (3, 4)])
@SUITE
@given(data=st.data())
def test_order_holds_for_every_thread_configuration(
    chanspec_impl: str, brokers: int, workers: int, data: st.DataObject
) -> None:
    scenario = data.draw(
        scenarios(GenConfig(brokers, workers, weights=(80, 10, 10, 0, 0, 0), expiries=(None,)))
    )
    check_sim(chanspec_impl, scenario, HypothesisSchedule(data))
