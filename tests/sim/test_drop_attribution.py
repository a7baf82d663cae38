"""Which subscription of a re-subscribed channel object a reported drop is for (the driver).

Adapters report a drop with the channel object (the handle), which names no single
subscription once the object has been subscribed again. An implementation may free the
object in unsubscribe() before the old subscription has left its registry; a message
sent in that gap goes to both, and the old one's ``unsubscribed`` drop must not be pinned
on the new subscription (that made a correct implementation "violate" D1: its new
subscription "both started and dropped" the message). Found by conform on an
implementation written outside the project.
"""

from __future__ import annotations

import pytest

import sim
from sim.driver import play_sim
from sim.runs import resolve
from sim.scenario import Advance, ChannelSpec, Scenario, Send, Subscribe, Unsubscribe
from sim.strategies.random_walk import RandomWalk
from tests.sim.impls.lazy_unsubscribe import Adapter


def _scenario() -> Scenario:
    return Scenario(
        (ChannelSpec("a"),),
        (
            (Unsubscribe(0, direct=True),),
            (Advance(0.05), Send(0), Subscribe(0, direct=True), Send(0)),
        ),
        workers=1,
    )


@pytest.mark.spec("D1", "W3", "A2")
def test_an_unsubscribed_drop_goes_to_the_subscription_being_unsubscribed() -> None:
    found = sim.explore(Adapter(), [_scenario()], strategy="random", budget=6, trace_dir=None)
    assert found.runs == 6
    assert not found.failures, (found.failures[0].status, found.failures[0].violations)


@pytest.mark.spec("D1", "W3")
def test_the_gap_is_really_taken() -> None:
    """Both messages do go to the old subscription, and both its copies are dropped."""
    _, adapter = resolve(Adapter())
    history, _ = play_sim(_scenario(), adapter, RandomWalk(0))
    drops = [e for e in history.events if e.kind == "drop" and e.info == "unsubscribed"]
    assert [e.sub for e in drops] == [0, 0]
    assert [(e.msg, e.sub) for e in history.events if e.kind == "start"] == [(1, 1)]
