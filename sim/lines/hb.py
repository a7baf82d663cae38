"""Happens-before and the race table: which pairs of lines conflict without being ordered.

Vector clocks, one per virtual thread (DJIT+/FastTrack style, kept simple). Edges come
from three places: the scheduler (a thread spawned by another starts with its parent's
clock; a thread woken by another learns the waker's clock), and the synchronisation the
recorder recognises in the implementation's own code (a ``release`` on an object --
a lock's release, a ``with`` block's exit, a queue ``put`` -- publishes the thread's
clock on that object; an ``acquire`` -- entering ``with lock``, ``lock.acquire()``, a
queue ``get`` -- takes it). Edges the recorder cannot see (synchronisation inside
libraries, or a lock taken without contention outside the traced files) are missing,
which can only make *more* pairs look unordered: extra preemption points, never fewer.

``RaceTable.access`` compares each access with the latest access of every other thread,
line and kind at the same location; a pair of accesses from different threads, at least
one a write, where the earlier is not ordered before the later, is a *race*: its two
lines are the ones race-directed mode preempts before.
"""

from __future__ import annotations

from collections.abc import Hashable

__all__ = ["HappensBefore", "RaceTable"]

Clock = dict[int, int]


def _join(into: Clock, other: Clock) -> None:
    for thread, time in other.items():
        if into.get(thread, 0) < time:
            into[thread] = time


class HappensBefore:
    """Vector clocks of threads and of synchronisation objects, for one execution."""

    def __init__(self) -> None:
        self._threads: dict[int, Clock] = {}
        self._objects: dict[Hashable, Clock] = {}

    def clock(self, thread: int) -> Clock:
        clock = self._threads.get(thread)
        if clock is None:
            clock = self._threads[thread] = {thread: 1}
        return clock

    def _tick(self, thread: int) -> None:
        clock = self.clock(thread)
        clock[thread] += 1

    def release(self, thread: int, obj: Hashable) -> None:
        _join(self._objects.setdefault(obj, {}), self.clock(thread))
        self._tick(thread)

    def acquire(self, thread: int, obj: Hashable) -> None:
        published = self._objects.get(obj)
        if published is not None:
            _join(self.clock(thread), published)

    def spawned(self, parent: int | None, child: int) -> None:
        clock: Clock = {} if parent is None else dict(self.clock(parent))
        clock[child] = 1
        self._threads[child] = clock
        if parent is not None:
            self._tick(parent)

    def woke(self, waker: int | None, wakee: int) -> None:
        if waker is None or waker == wakee:
            return
        _join(self.clock(wakee), self.clock(waker))
        self._tick(waker)

    def ordered(self, earlier: int, epoch: int, later: int) -> bool:
        """Is *earlier*'s access at *epoch* ordered before everything *later* does now?"""
        return epoch <= self.clock(later).get(earlier, 0)


class RaceTable:
    """Accesses per location; the racing pairs of lines found so far (over many executions)."""

    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()
        self._locations: dict[Hashable, dict[tuple[int, str, bool], int]] = {}
        self.hb = HappensBefore()

    def new_execution(self) -> None:
        """Clocks and locations start afresh; the pairs found so far are kept."""
        self._locations = {}
        self.hb = HappensBefore()

    def access(self, thread: int, location: Hashable, line: str, write: bool) -> None:
        hb = self.hb
        entries = self._locations.setdefault(location, {})
        for (other, other_line, other_write), epoch in entries.items():
            if other != thread and (write or other_write) and not hb.ordered(other, epoch, thread):
                pair = (line, other_line) if line <= other_line else (other_line, line)
                self.pairs.add(pair)
        entries[(thread, line, write)] = hb.clock(thread)[thread]

    def lines(self) -> list[str]:
        """Every line in some racing pair, in (module, line number) order."""
        found = {line for pair in self.pairs for line in pair}
        return sorted(found, key=lambda k: (k.rpartition(":")[0], int(k.rpartition(":")[2])))
