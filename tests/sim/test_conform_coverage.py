"""What conform counts as exercised (sim.conform.coverage), on a real simulated run.

A clause the run put to the test must not be reported "not exercised": a clean candidate
would then look untested on exactly the clauses it handled well. Regression: subscribe
notices were all counted as I2 (the ``internal`` event's info is "topic\\ndata topic",
and its end was taken for the notice kind), and bad input (V1) and re-subscriptions of
one channel object (A2) were never counted at all.
"""

from __future__ import annotations

import pytest

from sim.adapters.refimpl_adapter import RefimplAdapter
from sim.conform.coverage import exercise
from sim.driver import play_sim
from sim.oracle import check
from sim.scenario import Bad, ChannelSpec, Scenario, Send, Settle, Subscribe, Unsubscribe
from sim.strategies.random_walk import RandomWalk


def _exercised(scenario: Scenario) -> dict[str, int]:
    history, _ = play_sim(scenario, RefimplAdapter(), RandomWalk(0))
    verdict = check(history)
    assert verdict.ok, verdict.summary()
    return dict(exercise(history, verdict))


@pytest.mark.spec("I1", "I2")
def test_subscribe_and_unsubscribe_notices_count_for_their_own_clause() -> None:
    listener = ChannelSpec("lona.channels.*")
    other = ChannelSpec("a.b", subscribed=False)
    ops = (Subscribe(1), Settle(), Unsubscribe(1), Settle())
    got = _exercised(Scenario((listener, other), (ops,), shutdown=True))
    assert got.get("I1", 0) >= 2  # its own notice and a.b's
    assert got.get("I2", 0) >= 1  # a.b's unsubscribe notice


@pytest.mark.spec("I1")
def test_only_subscribe_notices_is_not_counted_as_unsubscribe() -> None:
    got = _exercised(Scenario((ChannelSpec("*"),), ((Settle(),),), shutdown=True))
    assert got.get("I1", 0) >= 1
    assert got.get("I2", 0) == 0


@pytest.mark.spec("V1")
def test_bad_input_counts_for_v1() -> None:
    ops = (Bad(0, "data-list"), Bad(0, "expiry-str"), Send(0), Settle())
    got = _exercised(Scenario((ChannelSpec("a"),), (ops,), shutdown=True))
    assert got.get("V1", 0) == 2


@pytest.mark.spec("A2")
def test_resubscribing_one_object_counts_for_a2() -> None:
    again = Subscribe(0, direct=True)
    ops = (Unsubscribe(0, direct=True), again, again, Settle())
    got = _exercised(Scenario((ChannelSpec("a"),), (ops,), shutdown=True))
    assert got.get("A2", 0) >= 2  # the re-subscription, and the rejected second subscribe()


@pytest.mark.spec("A2", "V1", "I1")
def test_a_plain_run_exercises_none_of_them() -> None:
    got = _exercised(Scenario((ChannelSpec("a"),), ((Send(0), Settle()),), shutdown=True))
    assert got.get("A2", 0) == got.get("V1", 0) == got.get("I1", 0) == 0
