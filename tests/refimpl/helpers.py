"""Scaffolding shared by the refimpl tests: recording handlers, a recording observer, a
gate that occupies a task worker, a settable clock, and a few small waits.

Each helper is the one version of what the test files used to define for themselves;
the variants some files need are keyword arguments with defaults, so that a plain
``Inbox()`` or ``Events()`` behaves as it always did.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from refimpl import Channel, Message, RealPlatform, Runtime

SUB, UNSUB = "lona.channels.subscribe", "lona.channels.unsubscribe"
INTERNAL = (SUB, UNSUB)
"""The internal topics (I1, I2): the runtime's own subscribe and unsubscribe notices."""

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
"""Where a :class:`FakeClockPlatform` starts unless told otherwise."""


# --- recording handlers -------------------------------------------------------------------


class Inbox:
    """A thread-safe handler that records the messages it receives, in the order it ran.

    By default it records everything, the internal notices included; ``user()`` and
    ``seqs()`` leave those out, ``internal()`` keeps only them. The variants:

    * ``tag`` and ``log``: append ``tag`` to the shared list ``log`` on every recorded
      message, so that several inboxes can record the order in which they ran;
    * ``skip_internal``: ignore the internal notices altogether (not recorded, counted,
      logged or slept on), as a handler on a user topic would;
    * ``mutate``: scribble over the top level of the message's own copy of the data
      (change ``"k"``, add ``"added"``, remove ``"other"``) before recording it (C2);
    * ``on_message``: call ``on_message(message)`` before recording it;
    * ``sleep_every``: sleep briefly after every ``sleep_every``-th message, a slow
      handler now and then.

    ``threads`` is the set of names of the threads the handler ran on.
    """

    def __init__(
        self,
        tag: str = "",
        log: list | None = None,
        *,
        skip_internal: bool = False,
        mutate: bool = False,
        on_message: Callable[[Message], object] | None = None,
        sleep_every: int = 0,
    ) -> None:
        self.cond = threading.Condition()
        self.messages: list[Message] = []
        self.threads: set[str] = set()
        self.tag = tag
        self.log = log
        self.skip_internal = skip_internal
        self.mutate = mutate
        self.on_message = on_message
        self.sleep_every = sleep_every

    def __call__(self, message: Message) -> None:
        if self.skip_internal and message.topic in INTERNAL:
            return
        if self.mutate:
            # a subscriber scribbling over the top level of its own copy
            message.data["k"] = "changed by subscriber"
            message.data["added"] = True
            message.data.pop("other", None)
        if self.on_message is not None:
            self.on_message(message)
        with self.cond:
            self.messages.append(message)
            self.threads.add(threading.current_thread().name)
            n = len(self.messages)
            if self.log is not None:
                self.log.append(self.tag)
            self.cond.notify_all()
        if self.sleep_every and n % self.sleep_every == 0:
            time.sleep(0.0005)  # a slow handler now and then

    def user(self) -> list[Message]:
        """The recorded messages other than the internal notices."""
        with self.cond:
            return [m for m in self.messages if m.topic not in INTERNAL]

    def seqs(self) -> list[int]:
        """The seqs of :meth:`user`, in the order received."""
        return [m.seq for m in self.user()]

    def internal(self) -> list[tuple[str, str]]:
        """The internal notices received, as ``(notice topic, subscriber topic)``."""
        with self.cond:
            return [(m.topic, m.data["topic"]) for m in self.messages if m.topic in INTERNAL]

    def wait_count(self, n: int, timeout: float = 10) -> bool:
        """Wait until at least *n* messages are recorded; False on timeout."""
        with self.cond:
            return self.cond.wait_for(lambda: len(self.messages) >= n, timeout)


class UserInbox(Inbox):
    """An :class:`Inbox` with ``skip_internal=True``: a handler on a user topic that ignores
    the internal subscribe/unsubscribe notices altogether."""

    def __init__(self, tag: str = "", log: list | None = None, **kwargs) -> None:
        kwargs.setdefault("skip_internal", True)
        super().__init__(tag, log, **kwargs)


# --- the runtime's observer ---------------------------------------------------------------


class Events:
    """The runtime's observer: records every event as ``(kind, message, channel, detail)``
    in ``items`` and notifies ``cond``, so that a test can wait for one."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.items: list[tuple] = []

    def __call__(self, kind, message, channel, detail) -> None:
        with self.cond:
            self.items.append((kind, message, channel, detail))
            self.cond.notify_all()

    def kinds(self) -> list[str]:
        """The kinds of the events so far, in order."""
        with self.cond:
            return [e[0] for e in self.items]

    def of(self, kind: str) -> list[tuple]:
        """The events of one kind, in order."""
        with self.cond:
            return [e for e in self.items if e[0] == kind]

    def drops(self) -> list[tuple]:
        """The ``drop`` events, in order (D2)."""
        return self.of("drop")

    def wait_for(self, predicate: Callable[[list[tuple]], bool], timeout: float = 10) -> bool:
        """Wait until ``predicate(items)`` holds; False on timeout."""
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.items), timeout)

    def wait_kind(self, kind: str, timeout: float = 10) -> bool:
        """Wait for the first event of *kind* (say, ``shutdown_begin``)."""
        return self.wait_for(lambda items: any(e[0] == kind for e in items), timeout)

    def wait_routed(self, seq: int, timeout: float = 10) -> bool:
        """Wait until the message *seq* has been routed: past the broker's checks, its
        copies in the receivers' mailboxes."""
        return self.wait_for(
            lambda items: any(e[0] == "route" and e[1].seq == seq for e in items), timeout
        )


# --- occupying a task worker --------------------------------------------------------------


class Gate:
    """A handler that blocks its task worker until ``open`` is set; ``entered`` is set once
    it runs. It ignores the internal notices."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()

    def __call__(self, message: Message) -> None:
        if message.topic in INTERNAL:
            return
        self.entered.set()
        assert self.open.wait(10), "gate never opened"


def block_only_worker(rt: Runtime, topic: str = "gate") -> Gate:
    """Occupy the (single) task worker of the running *rt* until ``gate.open`` is set: a
    :class:`Gate` subscribed to *topic* and sent one message, waited for until it runs."""
    gate = Gate()
    Channel(topic, gate, runtime=rt)
    Channel(topic, runtime=rt).send()
    assert gate.entered.wait(10)
    return gate


# --- time ---------------------------------------------------------------------------------


class FakeClockPlatform(RealPlatform):
    """Real threads and locks; a clock that only moves when the test says so."""

    def __init__(self, start: datetime = T0) -> None:
        self._lock = threading.Lock()
        self._now = start

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


def join(rt: Runtime, timeout: float = 10) -> None:
    """``rt.join()`` with a real-time bound (a fake clock never lets join(timeout) expire)."""
    t = threading.Thread(target=rt.join, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "runtime did not become idle"


@contextmanager
def preempt_often() -> Iterator[None]:
    """Switch threads far more often than every 5 ms, so that real-thread races (say,
    two brokers between taking a message and committing its routing) actually happen."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(old)
