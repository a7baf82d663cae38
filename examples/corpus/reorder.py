"""reorder: channels on a ``concurrent.futures.ThreadPoolExecutor`` with a reorder buffer.

Written the ordinary way (``threading``, ``concurrent.futures``, ``datetime``, ``fnmatch``),
from the channels documentation, not from chanspec's reference implementation. ``send()``
numbers each message and submits a routing task to the pool; routing tasks finish in any
order, so each parks its result in a buffer keyed by sequence number, and whoever holds the
lock releases the buffer's contiguous prefix into the subscribers' mailboxes. A subscriber
with mail has exactly one drain task in the pool at a time (its handler sees one message at
a time, in order); a drain task runs a bounded batch, then resubmits itself, so a busy
subscriber cannot hold a pool thread. Drops go to ``on_drop``; bad input raises at the call.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

log = logging.getLogger("corpus.reorder")

SUBSCRIBED = "lona.channels.subscribe"
UNSUBSCRIBED = "lona.channels.unsubscribe"
BATCH = 8

Handler = Callable[["Envelope"], object]
OnDrop = Callable[["Envelope", "Channel | None", str], None]


class ShutdownError(RuntimeError):
    pass


class TopicError(ValueError):
    pass


def parse_topic(topic: object) -> str:
    """*topic* as a plain ``str``, or an error if the grammar of the docs does not derive it."""
    if not isinstance(topic, str):
        raise TypeError("topic must be str")
    text = str.__str__(topic)
    if not text:
        raise TopicError("empty topic")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise TopicError("surrogate in topic")
    i = 0
    while i < len(text):
        if text[i] == "[":
            k = i + 2 if text[i + 1 : i + 2] == "!" else i + 1
            close = text.find("]", k + 1) if k < len(text) else -1
            if close == -1:
                raise TopicError(f"unterminated class in {text!r}")
            i = close
        i += 1
    return text


def matches(a: str, b: str) -> bool:
    return a == b or fnmatchcase(a, b) or fnmatchcase(b, a)


def clock() -> datetime:
    return datetime.now(UTC)


def absolute(expiry: object) -> datetime | None:
    if expiry is None:
        return None
    if isinstance(expiry, timedelta):
        try:
            return clock() + expiry
        except OverflowError:
            return (datetime.min if expiry.days < 0 else datetime.max).replace(tzinfo=UTC)
    if isinstance(expiry, datetime):
        return expiry.astimezone(UTC)
    raise TypeError("expiry must be datetime, timedelta or None")


class Envelope:
    __slots__ = ("data", "deadline", "droppable", "local", "seq", "topic")

    def __init__(self, topic: str, data: dict[str, Any], deadline: datetime | None,
                 local: bool, droppable: bool, seq: int) -> None:  # fmt: skip
        self.topic, self.data, self.deadline = topic, data, deadline
        self.local, self.droppable, self.seq = local, droppable, seq

    def clone(self) -> Envelope:
        return type(self)(self.topic, copy.copy(self.data), self.deadline, self.local,
                          self.droppable, self.seq)  # fmt: skip

    def expired(self) -> bool:
        return self.deadline is not None and clock() >= self.deadline


class Sub:
    def __init__(self, channel: Channel, handler: Handler) -> None:
        self.channel, self.handler, self.topic = channel, handler, channel.topic
        self.mailbox: deque[Envelope] = deque()
        self.scheduled = False  # a drain task of it is in the pool
        self.active = True
        self.runner: threading.Thread | None = None  # the thread running its handler now


_ctx = threading.local()


def inside_handler() -> bool:
    return getattr(_ctx, "n", 0) > 0


class Bus:
    batch = BATCH
    envelope_class = Envelope

    def __init__(self, workers: int = 4, on_drop: OnDrop | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reorder")
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._done = threading.Event()
        self.on_drop = on_drop
        self._subs: tuple[Sub, ...] = ()
        self._next_seq = 0
        self._next_out = 0
        self._buffer: dict[int, tuple[Envelope, list[Sub], bool]] = {}
        self._inflight = 0
        self._state = "open"

    def channel(self, topic: object) -> Channel:
        return Channel(self, topic)

    # with the lock held -------------------------------------------------------------------
    def _drop(self, env: Envelope, sub: Sub | None, reason: str) -> None:
        if self.on_drop is not None:
            try:
                self.on_drop(env, sub.channel if sub is not None else None, reason)
            except Exception:
                log.exception("on_drop failed")

    def _finished(self) -> None:
        self._inflight -= 1
        if self._inflight == 0:
            self._cv.notify_all()

    def _post(self, sub: Sub, env: Envelope) -> None:
        sub.mailbox.append(env)
        self._inflight += 1
        if not sub.scheduled:
            sub.scheduled = True
            self._pool.submit(self._drain, sub)

    # sending ------------------------------------------------------------------------------
    def publish(self, topic: str, data: object = None, expiry: object = None, local: object = False,
                droppable: object = False, notice: bool = False) -> Envelope | None:  # fmt: skip
        if data is None:
            payload: dict[str, Any] = {}
        elif isinstance(data, dict):
            payload = copy.copy(data)
            if not isinstance(payload, dict):
                raise TypeError("copy.copy(data) is not a dict")
        else:
            raise TypeError("data must be a dict or None")
        if not isinstance(local, bool) or not isinstance(droppable, bool):
            raise TypeError("local/droppable must be bool")
        deadline = absolute(expiry)
        with self._lock:
            if self._state == "stopped" or (self._state == "closing" and not inside_handler()):
                if notice:
                    return None
                raise ShutdownError("bus is shut down")
            env = self.envelope_class(topic, payload, deadline, local, droppable, self._next_seq)
            self._next_seq += 1
            receivers = [s for s in self._subs if matches(s.topic, topic)]
            self._inflight += 1
            self._pool.submit(self._route, env, receivers)
        return env.clone()

    def _route(self, env: Envelope, receivers: list[Sub]) -> None:
        expired = env.expired()
        with self._lock:
            self._buffer[env.seq] = (env, receivers, expired)
            while self._next_out in self._buffer:
                e, subs, gone = self._buffer.pop(self._next_out)
                self._next_out += 1
                if gone:
                    self._drop(e, None, "expired")
                else:
                    for s in subs:
                        self._post(s, e)
                self._finished()

    def _deliver(self, sub: Sub, env: Envelope) -> None:
        mine = env.clone()
        _ctx.n = getattr(_ctx, "n", 0) + 1
        try:
            sub.handler(mine)
        except BaseException:
            log.exception("handler for %r raised", sub.topic)
        finally:
            _ctx.n -= 1

    def _drain(self, sub: Sub) -> None:
        for _ in range(self.batch):
            with self._lock:
                if not sub.mailbox:
                    sub.scheduled = False
                    return
                env = sub.mailbox.popleft()
                if not sub.active or env.expired():
                    self._drop(env, sub, "unsubscribed" if not sub.active else "expired")
                    self._finished()
                    continue
                sub.runner = threading.current_thread()
            try:
                self._deliver(sub, env)
            finally:
                with self._lock:
                    sub.runner = None
                    self._finished()
                    self._cv.notify_all()
        with self._lock:
            if sub.mailbox:
                self._pool.submit(self._drain, sub)
            else:
                sub.scheduled = False

    # subscriptions ------------------------------------------------------------------------
    def add(self, channel: Channel, handler: Handler) -> Sub:
        sub = Sub(channel, handler)
        with self._lock:
            self._subs = (*self._subs, sub)
        self.publish(SUBSCRIBED, {"topic": channel.topic}, local=True, notice=True)
        return sub

    def remove(self, sub: Sub, notice: bool = True) -> None:
        """End *sub*; wait for a handler of it that another thread is running."""
        me = threading.current_thread()
        with self._lock:
            self._subs = tuple(s for s in self._subs if s is not sub)
            sub.active = False
            while sub.runner is not None and sub.runner is not me:
                self._cv.wait()
        if notice:
            self.publish(UNSUBSCRIBED, {"topic": sub.topic}, local=True, notice=True)

    # life cycle ---------------------------------------------------------------------------
    def wait_idle(self) -> None:
        with self._lock:
            while self._inflight:
                self._cv.wait()

    def shutdown(self) -> None:
        if inside_handler():
            raise RuntimeError("shutdown() from a handler")
        with self._lock:
            first = self._state == "open"
            if first:
                self._state = "closing"
        if not first:
            self._done.wait()
            return
        with self._lock:
            while self._inflight:
                self._cv.wait()
            self._state = "stopped"
        self._pool.shutdown(wait=True)
        self._done.set()


class Channel:
    def __init__(self, bus: Bus, topic: object) -> None:
        self.bus = bus
        self.topic = parse_topic(topic)
        self._mutex = threading.Lock()
        self._sub: Sub | None = None
        self._leaving: Sub | None = None  # the subscription an unsubscribe() is ending

    def subscribe(self, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError("handler is not callable")
        with self._mutex:
            if self._sub is not None:
                raise RuntimeError("already subscribed")
            self._sub = self.bus.add(self, handler)

    def unsubscribe(self) -> None:
        with self._mutex:
            sub, self._sub = self._sub, None
            if sub is not None:
                self._leaving = sub
            leaving = self._leaving
        if sub is not None:
            self.bus.remove(sub)
        elif leaving is not None:  # another thread is ending it: return once it has ended
            self.bus.remove(leaving, notice=False)

    def send(self, data: object = None, expiry: object = None, local: object = False,
             droppable: object = False) -> Envelope | None:  # fmt: skip
        return self.bus.publish(self.topic, data, expiry, local, droppable)
