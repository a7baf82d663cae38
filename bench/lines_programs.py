"""The programs of ``bench.lines``, in a module of their own so that it alone is traced.

* ``bump``: a read-modify-write counter, two lines per round: plain Python lines with no
  synchronisation, the case line-level preemption exists for (fine-grained points/s).
* ``subscribe_twice``: two threads call Lona 1.16.2's ``Channel.subscribe`` on one channel
  object; the bug is the object registered twice (``registered_once`` fails). Written once
  and run by both tools: here on a private copy of ``lona.channels`` over the virtual
  standard library, under frontrun on the real module with fresh class state per run.
"""

from __future__ import annotations

from contextlib import suppress
from types import SimpleNamespace
from typing import Any

__all__ = ["ROUNDS", "TOPIC", "bump", "counted", "lona_state", "registered_once", "subscriber"]

ROUNDS = 50
TOPIC = "bench.subscribe"


class Counter:
    def __init__(self) -> None:
        self.n = 0


def counted(rounds: int = ROUNDS) -> Counter:
    return Counter()


def bump(state: Counter, rounds: int = ROUNDS) -> None:
    for _ in range(rounds):
        seen = state.n
        state.n = seen + 1


def lona_state(channels: Any, fresh_state: bool) -> SimpleNamespace:
    """A channel object of *channels* (a ``lona.channels`` module) and its registry.

    *fresh_state*: give the class fresh registry, queues and lock first (the real module is
    shared by every frontrun execution; a private copy is fresh already).
    """
    if fresh_state:
        import queue
        import threading

        channels.Channel._channels = {}
        channels.Channel._messages = queue.Queue()
        channels.Channel._tasks = queue.Queue()
        channels.Channel._lock = threading.Lock()
    return SimpleNamespace(Channel=channels.Channel, channel=channels.Channel(TOPIC))


def _handler(message: Any) -> None:
    pass


def subscriber(state: SimpleNamespace) -> None:
    with suppress(RuntimeError):  # "channel is already subscribed": the correct outcome
        state.channel.subscribe(_handler)


def registered_once(state: SimpleNamespace) -> bool:
    return bool(state.Channel._channels.get(TOPIC, []).count(state.channel) <= 1)
