"""Two slips an adapter written outside the project makes easily, and what the harness does.

* ``report("drop", message, ...)`` with the ``Message`` instead of its data dict: every drop
  was ignored, so a correct implementation was judged to lose messages silently (D2). The
  message's ``data`` dict is now used.
* ``send()`` returning the ``Message`` instead of its position: its repr, with a memory
  address, entered the history (a trace no longer byte-identical run to run) and O1 was
  quietly unchecked. Now no position, and a warning that says so.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import sim
from sim.driver import play_sim
from sim.runs import resolve
from sim.scenario import Advance, ChannelSpec, Scenario, Send, Subscribe, Unsubscribe
from sim.strategies.random_walk import RandomWalk
from tests.sim.impls.lazy_unsubscribe import Adapter


class Slips(Adapter):
    name = "lazy_unsubscribe-slips"

    def open(self, mods: Any, settings: Any, report: Any) -> Any:
        m = mods[self.modules[0]]
        bus = m.Bus(lambda data, ch, why: report("drop", SimpleNamespace(data=data), ch, why))
        return (m, bus)

    def send(self, system: Any, handle: Any, data: Any, *rest: Any) -> Any:
        return SimpleNamespace(seq=super().send(system, handle, data, *rest))


SCENARIO = Scenario(
    (ChannelSpec("a"),),
    (
        (Unsubscribe(0, direct=True),),
        (Advance(0.05), Send(0), Subscribe(0, direct=True), Send(0)),
    ),
    workers=1,
)


@pytest.mark.spec("D2", "W3")
def test_a_drop_reported_with_the_message_object_counts() -> None:
    with pytest.warns(RuntimeWarning, match="send\\(\\) returned a SimpleNamespace"):
        found = sim.explore(Slips(), [SCENARIO], budget=3, trace_dir=None)
    assert found.runs == 3 and not found.failures, found.failures[0].violations


@pytest.mark.spec("O1")
def test_a_send_that_returns_an_object_leaves_no_address_in_the_history() -> None:
    _, adapter = resolve(Slips())
    with pytest.warns(RuntimeWarning, match="O1 is not checked"):
        history, _ = play_sim(SCENARIO, adapter, RandomWalk(0))
    rets = [e.info for e in history.events if e.kind == "send_ret"]
    assert rets == ["", ""]
    drops = [e for e in history.events if e.kind == "drop"]
    assert [e.sub for e in drops] == [0, 0]  # both reported drops counted, for s0
