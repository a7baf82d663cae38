"""Mutants whose bug is a race between two lines that nothing synchronises.

No lock, queue or sleep lies between the racing lines, so exploration at synchronisation
points never separates them: only a scheduling point before a line (``sim.lines``) does.
Each mutant's ``preempt_lines`` names this module, as an adapter's would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from refimpl import Message, Runtime
from refimpl.channel import Channel

__all__ = ["CheckThenRegisterRuntime"]


class CheckThenRegisterRuntime(Runtime):
    """Bug (A2): ``subscribe()`` asks "already subscribed?" and marks the channel object taken
    with no lock around the two (a fast path before the lock, as Lona 1.16.2's
    ``Channel.subscribe`` has), and the registration under the lock does not ask again. Two
    threads subscribing one channel object can both pass the check: both calls return and
    the object is registered twice."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._taken: set[Channel] = set()  #: channel objects subscribe() has marked

    def _subscribe(self, channel: Channel, handler: Callable[[Message], Any]) -> None:
        if channel in self._taken:  # the check ...
            raise RuntimeError("channel is already subscribed")
        self._taken.add(channel)  # ... and the act, with no lock around both (the bug)
        try:
            super()._subscribe(channel, handler)
        except BaseException:
            self._taken.discard(channel)  # a bad handler (TypeError): the object stays free
            raise

    def _claim(self, channel: Channel) -> None:
        """Under the lock nothing is asked again: the fast path already did."""

    def _unsubscribe(self, channel: Channel) -> None:
        super()._unsubscribe(channel)
        self._taken.discard(channel)
