"""The bus: publish() snapshots the matching subscriptions; a broker thread hands each message to
them; a thread pool runs each subscription's handler on its messages one at a time, in order.
"""

from __future__ import annotations

import copy
import itertools
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

log = logging.getLogger("plain_channels")

DropHook = Callable[[dict[str, Any], "Subscription | None", str], None]


class Closed(RuntimeError):
    """The bus is shutting down (or shut down) and does not take this message."""


def matches(a: str, b: str) -> bool:
    """Topics match if equal or if either is a glob pattern that matches the other."""
    return a == b or fnmatchcase(a, b) or fnmatchcase(b, a)


@dataclass
class Message:
    topic: str
    data: dict[str, Any]
    seq: int


@dataclass
class _Envelope:
    seq: int
    topic: str
    data: dict[str, Any]
    deadline: datetime | None
    droppable: bool
    receivers: list[Subscription]  # the matching subscriptions when it was published

    def expired(self) -> bool:
        return self.deadline is not None and datetime.now(UTC) >= self.deadline


class Subscription:
    def __init__(self, topic: str, handler: Callable[[Message], object]) -> None:
        self.topic = topic
        self.handler = handler
        self.active = True
        self.pending: deque[_Envelope] = deque()
        self.scheduled = False
        self.gate = threading.RLock()  # held from the last check to the handler's return


class Bus:
    def __init__(self, workers: int = 4, on_drop: DropHook | None = None) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._subs: list[Subscription] = []
        self._inbox: queue.Queue[_Envelope | None] = queue.Queue()
        self._seq = itertools.count()
        self._busy = 0  # messages and deliveries not yet finished
        self._state = "open"
        self._on_drop = on_drop
        self._in_handler = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plain-worker")
        self._broker = threading.Thread(target=self._route, name="plain-broker")
        self._broker.start()

    # public API ---------------------------------------------------------------------------
    def subscribe(self, topic: str, handler: Callable[[Message], object]) -> Subscription:
        sub = Subscription(topic, handler)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with sub.gate, self._lock:  # the gate waits for a handler of this subscription
            sub.active = False
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(
        self,
        topic: str,
        data: dict[str, Any] | None = None,
        expiry: timedelta | datetime | None = None,
        droppable: bool = False,
    ) -> int:
        if isinstance(expiry, timedelta):
            expiry = datetime.now(UTC) + expiry
        payload = copy.copy(data) if data is not None else {}
        with self._lock:
            handler_thread = getattr(self._in_handler, "active", False)
            if self._state == "closed" or (self._state == "closing" and not handler_thread):
                raise Closed(f"the bus is {self._state}")
            seq = next(self._seq)
            receivers = [s for s in self._subs if matches(topic, s.topic)]
            self._busy += 1
            self._inbox.put(_Envelope(seq, topic, payload, expiry, droppable, receivers))
        return seq

    def join(self) -> None:
        """Wait until every message published so far is handled or dropped."""
        with self._lock:
            while self._busy:
                self._idle.wait()

    def shutdown(self) -> None:
        """Stop taking messages (handlers may still publish), drain, stop the threads."""
        if getattr(self._in_handler, "active", False):
            raise RuntimeError("shutdown() from a handler would wait for itself")
        with self._lock:
            if self._state == "open":
                self._state = "closing"
            while self._busy:
                self._idle.wait()
            self._state = "closed"
        self._inbox.put(None)
        self._broker.join()
        self._pool.shutdown(wait=True)

    # threads ------------------------------------------------------------------------------
    def _route(self) -> None:
        while (env := self._inbox.get()) is not None:
            reason = self._drop_reason(env)
            with self._lock:
                if reason is None:
                    for sub in env.receivers:
                        sub.pending.append(env)
                        self._busy += 1
                        if not sub.scheduled:
                            sub.scheduled = True
                            self._pool.submit(self._drain, sub)
            if reason is not None:
                self._drop(env, None, reason)
            self._finish()

    def _drain(self, sub: Subscription) -> None:
        while True:
            with self._lock:
                if not sub.pending:
                    sub.scheduled = False
                    return
                env = sub.pending.popleft()
            try:
                self._deliver(sub, env)
            finally:
                self._finish()

    def _deliver(self, sub: Subscription, env: _Envelope) -> None:
        with sub.gate:
            self._run_handler(sub, env)

    def _run_handler(self, sub: Subscription, env: _Envelope) -> None:
        reason = "unsubscribed" if not sub.active else self._drop_reason(env)
        if reason is not None:
            self._drop(env, sub, reason)
            return
        self._in_handler.active = True
        try:
            sub.handler(Message(env.topic, copy.copy(env.data), env.seq))
        except Exception:
            log.exception("handler of %r failed", sub.topic)
        finally:
            self._in_handler.active = False

    def _drop_reason(self, env: _Envelope) -> str | None:
        if env.expired():
            return "expired"
        if env.droppable and self._state != "open":
            return "shutdown"
        return None

    def _drop(self, env: _Envelope, sub: Subscription | None, reason: str) -> None:
        log.debug("dropped message %s (%s)", env.seq, reason)
        if self._on_drop is not None:
            self._on_drop(env.data, sub, reason)

    def _finish(self) -> None:
        with self._lock:
            self._busy -= 1
            if not self._busy:
                self._idle.notify_all()
