"""The seam: the only place in ``refimpl`` that touches threads, locks, queues and time.

Everything the runtime needs from the operating system goes through a ``Platform``:
locks and conditions, an unbounded FIFO queue, a clock, starting a thread, the
identity of the calling thread, and named checkpoints. ``RealPlatform`` maps them to
``threading``, ``queue.SimpleQueue`` and ``datetime``; the deterministic simulator
(``sim.primitives.SimPlatform``) maps them to virtual threads and a virtual clock.

Why a seam rather than monkeypatching: the simulator runs the *unchanged* runtime
code, and there is not a single simulation-only branch in ``refimpl``. Every point
where the simulator may switch threads is a call into this interface:

* ``Lock.acquire`` / ``Lock.release`` (and ``with lock``),
* ``Condition.wait`` / ``notify`` / ``notify_all``,
* ``Queue.put`` / ``Queue.get``,
* ``Platform.now`` (a clock read),
* ``Platform.start_thread`` and a thread's exit,
* ``Platform.checkpoint`` (named points such as ``handler_start`` and ``handler_end``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

__all__ = [
    "Condition",
    "Empty",
    "Lock",
    "Platform",
    "Queue",
    "RealPlatform",
    "ThreadHandle",
]

#: Raised by ``Queue.get`` when no item arrived before the timeout.
Empty = queue.Empty


class Lock(Protocol):
    """A non-reentrant mutual-exclusion lock."""

    def acquire(self) -> bool: ...

    def release(self) -> None: ...

    def __enter__(self) -> bool: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


class Condition(Protocol):
    """A condition variable bound to a ``Lock``; the lock must be held to wait or notify."""

    def wait(self, timeout: float | None = None) -> bool: ...

    def notify(self, n: int = 1) -> None: ...

    def notify_all(self) -> None: ...

    def __enter__(self) -> bool: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


class Queue(Protocol):
    """An unbounded FIFO queue.

    ``get(timeout=None)`` blocks until an item arrives; with a timeout it raises
    ``Empty`` when none arrived in time; ``timeout=0`` never blocks.
    """

    def put(self, item: Any) -> None: ...

    def get(self, timeout: float | None = None) -> Any: ...


class ThreadHandle(Protocol):
    """A started thread."""

    @property
    def name(self) -> str: ...

    def join(self, timeout: float | None = None) -> None: ...

    def is_alive(self) -> bool: ...


class Platform(Protocol):
    """What the runtime needs from the operating system, and nothing more."""

    #: exceptions that end a thread from outside (the simulator's teardown); a worker
    #: lets them through, while it survives every other ``BaseException`` (spec R4, H1)
    thread_exit: tuple[type[BaseException], ...]

    def lock(self) -> Lock: ...

    def condition(self, lock: Lock) -> Condition: ...

    def queue(self) -> Queue: ...

    def now(self) -> datetime:
        """The current time as a timezone-aware UTC ``datetime``."""
        ...

    def to_aware(self, moment: datetime) -> datetime:
        """Interpret a naive ``datetime`` as this platform's local time, in UTC."""
        ...

    def start_thread(self, name: str, target: Callable[[], None]) -> ThreadHandle: ...

    def ident(self) -> int:
        """An integer that identifies the calling thread while it lives."""
        ...

    def checkpoint(self, name: str) -> None:
        """A named point where the simulator may switch threads; a no-op on real threads."""
        ...


class _SimpleQueue:
    """``queue.SimpleQueue`` with the ``Queue`` protocol's ``get(timeout)`` signature."""

    __slots__ = ("_get", "put")

    def __init__(self) -> None:
        q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.put = q.put
        self._get = q.get

    def get(self, timeout: float | None = None) -> Any:
        if timeout is not None and timeout <= 0:
            return self._get(block=False)
        return self._get(timeout=timeout)


class RealPlatform:
    """The seam mapped onto real OS threads and the wall clock (UTC)."""

    thread_exit: tuple[type[BaseException], ...] = ()

    def lock(self) -> Lock:
        return threading.Lock()

    def condition(self, lock: Lock) -> Condition:
        return threading.Condition(lock)  # type: ignore[arg-type]

    def queue(self) -> Queue:
        return _SimpleQueue()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def to_aware(self, moment: datetime) -> datetime:
        # A naive datetime means local time, as in Lona (which compares with datetime.now()).
        return moment.astimezone(UTC)

    def start_thread(self, name: str, target: Callable[[], None]) -> ThreadHandle:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread

    def ident(self) -> int:
        return threading.get_ident()

    def checkpoint(self, name: str) -> None:
        return None
