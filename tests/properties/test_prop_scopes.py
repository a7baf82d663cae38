"""Scoped subscriptions across interleavings (the analogue of Lona's ``View.subscribe``).

The reference implementation's ``Scope`` runs on the simulated seam with a Hypothesis
schedule: a sender thread sends while a closer thread closes the scope at a moment the
schedule picks. Scopes are a refimpl API (not part of the adapter protocol), so this
property drives refimpl directly.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl import Channel, Message, Runtime, Scope
from sim.primitives import SimPlatform
from sim.scheduler import Scheduler
from sim.strategies.hypothesis_schedule import HypothesisSchedule

TOPICS = ("s.a", "s.*", "s.?")


SCOPE_RUNS = {
    "data": st.data(),
    "raises": st.lists(st.booleans(), min_size=1, max_size=3),
    "sends": st.integers(1, 5),
    "waits": st.integers(0, 6),
    "workers": st.integers(1, 3),
}


@pytest.mark.spec("H2", "H3", "W1", "W2")
@given(**SCOPE_RUNS)
def test_a_scope_unsubscribes_on_error_and_on_close(
    data: Any, raises: list[bool], sends: int, waits: int, workers: int
) -> None:
    check_scope(Scope, data, raises, sends, waits, workers)


def check_scope(
    scope_class: type[Scope], data: Any, raises: list[bool], sends: int, waits: int, workers: int
) -> None:
    """One simulated run of a scope under a Hypothesis schedule; AssertionError if wrong."""
    sched = Scheduler(HypothesisSchedule(data), max_steps=50_000)
    platform = SimPlatform(sched)
    started: list[tuple[int, int]] = []  # (channel index, message index)
    errors: list[tuple[int, int]] = []
    begun = [0]  # sends begun so far
    closed_after: list[int] = []  # sends begun when close() returned
    scope_channels: list[Channel] = []

    def main() -> None:
        rt = Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": workers}, platform=platform)
        rt.start()

        def on_error(exc: BaseException, channel: Channel, message: Message) -> None:
            errors.append((scope_channels.index(channel), message.data["i"]))

        scope = scope_class(runtime=rt, on_error=on_error)
        for index, fails in enumerate(raises):

            def handler(message: Message, index: int = index, fails: bool = fails) -> None:
                if "i" not in message.data:
                    return  # an internal-topic message
                started.append((index, message.data["i"]))
                if fails:
                    raise RuntimeError("this handler fails, as told")

            scope_channels.append(scope.subscribe(TOPICS[index], handler))

        def closer() -> None:
            for _ in range(waits):
                platform.checkpoint("closer waits")
            scope.close()
            closed_after.append(begun[0])

        thread = platform.start_thread("closer", closer)
        sender = Channel("s.a", runtime=rt)
        for i in range(sends):
            begun[0] += 1
            sender.send({"i": i})
        thread.join()
        rt.join()
        rt.shutdown()

    sched.run(main)
    (boundary,) = closed_after
    assert all(c.handler is None for c in scope_channels)  # H3: all unsubscribed by close
    for index, fails in enumerate(raises):
        got = [i for c, i in started if c == index]
        assert all(i < boundary for i in got), (index, got, boundary)  # W2 after close
        assert got == sorted(set(got))  # once each, in order
        if fails:
            # H2: the first failure unsubscribes the channel: one invocation, one report
            assert len(got) <= 1 and errors.count((index, got[0] if got else -1)) == len(got)
        else:
            assert (index, index) not in errors
    assert len(errors) == sum(1 for c, _ in started if raises[c])
