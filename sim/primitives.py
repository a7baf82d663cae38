"""The seam's simulated twins: locks, conditions, queues, clock and threads on a ``Scheduler``.

``SimPlatform`` implements ``refimpl._seam.Platform``. Each operation is one
scheduling point (named after the operation) followed by the operation itself, which
runs atomically; an operation that cannot proceed blocks the virtual thread until
another one makes it possible. Waiters are woken in FIFO order; a woken thread
re-checks its condition when it runs again, as with real condition variables.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import greenlet

from refimpl._seam import Empty
from sim.scheduler import Scheduler, VThread

__all__ = ["EPOCH", "SimCondition", "SimLock", "SimPlatform", "SimQueue", "SimThread"]

#: Virtual time 0.0. Fixed, so traces are the same on every machine.
EPOCH = datetime(2030, 1, 1, tzinfo=UTC)


class SimLock:
    """A non-reentrant lock."""

    __slots__ = ("_acquire", "_release_point", "_sched", "_waiters", "label", "owner")

    def __init__(self, sched: Scheduler, label: str) -> None:
        self._sched = sched
        self.label = label
        self.owner: VThread | None = None
        self._waiters: deque[VThread] = deque()
        self._acquire = "acquire " + label  # the points' names, made once
        self._release_point = "release " + label

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        sched = self._sched
        sched.point(self._acquire)
        me = sched.current
        assert me is not None
        if self.owner is me:
            raise RuntimeError(f"{self.label}: acquire by its owner (deadlock on a real thread)")
        while self.owner is not None:
            if not blocking:
                return False
            self._waiters.append(me)
            deadline = None if timeout is None or timeout < 0 else sched.time + timeout
            if not sched.block(self.label, deadline):
                if me in self._waiters:
                    self._waiters.remove(me)
                return False
        self.owner = me
        return True

    def release(self) -> None:
        self._release()
        self._sched.point(self._release_point)

    def _release(self) -> None:
        """Release without a scheduling point (``SimCondition.wait`` blocks right after)."""
        sched = self._sched
        if self.owner is not sched.current:
            raise RuntimeError(f"{self.label}: release by a thread that does not own it")
        self.owner = None
        if self._waiters:
            sched.wake(self._waiters.popleft())

    def locked(self) -> bool:
        return self.owner is not None

    __enter__ = acquire  # one Python call less per ``with lock``

    def __exit__(self, *exc: object) -> None:
        self._release()
        self._sched.point(self._release_point)


class SimCondition:
    """A condition variable bound to a ``SimLock``."""

    __slots__ = ("_lock", "_notify", "_sched", "_wait", "_waiters", "label")

    def __init__(self, sched: Scheduler, lock: SimLock, label: str) -> None:
        self._sched = sched
        self._lock = lock
        self.label = label
        self._waiters: deque[VThread] = deque()
        self._wait = "wait " + label
        self._notify = "notify " + label

    def wait(self, timeout: float | None = None) -> bool:
        sched = self._sched
        me = sched.current
        if self._lock.owner is not me:
            raise RuntimeError(f"{self.label}: wait without holding the lock")
        sched.point(self._wait)
        self._waiters.append(me)  # type: ignore[arg-type]
        self._lock._release()  # no point between joining the waiters and blocking
        deadline = None if timeout is None else sched.time + max(0.0, timeout)
        notified = sched.block(self.label, deadline)
        if not notified and me in self._waiters:
            self._waiters.remove(me)  # type: ignore[arg-type]
        self._lock.acquire()
        return notified

    def notify(self, n: int = 1) -> None:
        sched = self._sched
        if self._lock.owner is not sched.current:
            raise RuntimeError(f"{self.label}: notify without holding the lock")
        for _ in range(min(n, len(self._waiters))):
            sched.wake(self._waiters.popleft())
        sched.point(self._notify)

    def notify_all(self) -> None:
        self.notify(len(self._waiters))

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class SimQueue:
    """An unbounded FIFO queue with ``put`` and ``get(timeout)``."""

    __slots__ = ("_get", "_getters", "_items", "_put", "_sched", "label")

    def __init__(self, sched: Scheduler, label: str) -> None:
        self._sched = sched
        self.label = label
        self._items: deque[Any] = deque()
        self._getters: deque[VThread] = deque()
        self._put = "put " + label
        self._get = "get " + label

    def put(self, item: Any) -> None:
        sched = self._sched
        sched.point(self._put)
        self._items.append(item)
        if self._getters:
            sched.wake(self._getters.popleft())

    def get(self, timeout: float | None = None) -> Any:
        sched = self._sched
        sched.point(self._get)
        items = self._items
        if not items:  # wait (the deadline is worked out only then)
            me = sched.current
            assert me is not None
            deadline = None if timeout is None else sched.time + max(0.0, timeout)
            while not items:
                if timeout is not None and timeout <= 0:
                    raise Empty
                self._getters.append(me)
                if not sched.block(self.label, deadline):
                    if me in self._getters:
                        self._getters.remove(me)
                    if not items:
                        raise Empty
        item = items.popleft()
        if items and self._getters:  # pass the baton: more items, more getters
            sched.wake(self._getters.popleft())
        return item

    def qsize(self) -> int:
        return len(self._items)


class SimThread:
    """A started virtual thread, as the seam's ``ThreadHandle``."""

    __slots__ = ("_sched", "_thread")

    def __init__(self, sched: Scheduler, thread: VThread) -> None:
        self._sched = sched
        self._thread = thread

    @property
    def name(self) -> str:
        return self._thread.name

    def join(self, timeout: float | None = None) -> None:
        self._sched.join_thread(self._thread)

    def is_alive(self) -> bool:
        return self._thread.state != 2


class SimPlatform:
    """``refimpl._seam.Platform`` on a ``Scheduler``: every operation is a scheduling point."""

    #: the scheduler's teardown: a worker must not survive it
    thread_exit: tuple[type[BaseException], ...] = (greenlet.GreenletExit,)

    def __init__(self, sched: Scheduler) -> None:
        self.sched = sched
        self._count = 0
        self._time = 0.0  # the virtual time ``_moment`` is for
        self._moment = EPOCH
        # A named point is a scheduling point of that name: the scheduler's own method, so
        # that refimpl's two checkpoints per delivery cost no extra Python frame.
        self.checkpoint: Callable[[str], None] = sched.point

    def _label(self, kind: str) -> str:
        self._count += 1
        return f"{kind}{self._count}"

    def lock(self) -> SimLock:
        return SimLock(self.sched, self._label("lock"))

    def condition(self, lock: Any) -> SimCondition:
        return SimCondition(self.sched, lock, self._label("cond"))

    def queue(self) -> SimQueue:
        return SimQueue(self.sched, self._label("queue"))

    def now(self) -> datetime:
        sched = self.sched
        sched.point("clock")
        if sched.time != self._time:  # the clock moved: a new datetime (they are immutable)
            self._time = sched.time
            self._moment = EPOCH + timedelta(seconds=sched.time)
        return self._moment

    def to_aware(self, moment: datetime) -> datetime:
        # Deterministic on every machine: a naive datetime is read as UTC in simulation.
        return moment.replace(tzinfo=UTC)

    def start_thread(self, name: str, target: Callable[[], None]) -> SimThread:
        self.sched.point("start " + name)
        return SimThread(self.sched, self.sched.spawn(name, target))

    def ident(self) -> int:
        current = self.sched.current
        assert current is not None
        return current.id

