"""pollpool: channels run by endless loops on one ``ThreadPoolExecutor``, as Lona runs its brokers
and task workers; every idle loop polls its queue with a 5 ms timeout.

Written the ordinary way (``threading``, ``queue``, ``concurrent.futures``, ``datetime``), from the
channels documentation, not from chanspec's reference implementation. ``send()`` numbers a
message and records the matching subscriptions (receivers are fixed when it is sent). Broker
loops take messages in parallel; each *commits* its message -- appends it to its receivers'
mailboxes -- only on its turn, after every earlier message (a turn counter). A subscription
with mail sits in the ready queue once; a worker loop takes it, runs up to ``batch`` of its
messages, and puts it back at the end of the ready queue if more came. Drops go to the
runtime's ``listeners``.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

log = logging.getLogger("corpus.pollpool")

POLL = 0.005  #: seconds an idle loop waits on its queue before it looks at the stop flag
Handler = Callable[["Message"], object]
Listener = Callable[[str, "Message", "Channel | None", str], None]


class ShutdownError(RuntimeError):
    pass


@dataclass
class Message:
    topic: str
    data: dict[str, Any]
    expiry: datetime | None = None  # aware, UTC
    local: bool = False
    droppable: bool = False
    seq: int = -1

    def expired(self) -> bool:
        return self.expiry is not None and datetime.now(UTC) >= self.expiry


@dataclass
class _Subscription:
    channel: Channel
    handler: Handler
    active: bool = True
    queued: bool = False  # in the ready queue, or held by a worker
    mail: deque[Message] = field(default_factory=deque)
    gate: threading.RLock = field(default_factory=threading.RLock)


@dataclass
class _Envelope:
    message: Message
    receivers: list[_Subscription]


class Channel:
    def __init__(self, runtime: Runtime, topic: str) -> None:
        self.runtime = runtime
        self.topic = topic
        self._sub: _Subscription | None = None

    def subscribe(self, handler: Handler) -> None:
        self.runtime._subscribe(self, handler)

    def unsubscribe(self) -> None:
        self.runtime._unsubscribe(self)

    def send(
        self,
        message_data: dict[str, Any] | None = None,
        expiry: datetime | timedelta | None = None,
        local: bool = False,
        droppable: bool = False,
    ) -> Message:
        return self.runtime._send(self.topic, message_data, expiry, local, droppable)


class Runtime:
    def __init__(self, brokers: int = 1, workers: int = 4, batch: int = 8) -> None:
        self.batch = batch
        self.listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._turned = threading.Condition(self._lock)  # the commit turn moved, or all done
        self._subs: list[_Subscription] = []
        self._messages: queue.Queue[_Envelope] = queue.Queue()
        self._ready: queue.Queue[_Subscription] = queue.Queue()
        self._seq = 0
        self._turn = 0  # the seq of the next message to commit
        self._busy = 0  # messages not committed + deliveries not finished
        self._state = "running"  # -> "closing" -> "stopped"
        self._stop = False
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=brokers + workers)
        for _ in range(brokers):
            self._pool.submit(self._loop, self._broker_step)
        for _ in range(workers):
            self._pool.submit(self._loop, self._worker_step)

    def channel(self, topic: str) -> Channel:
        return Channel(self, topic)

    # the API ---------------------------------------------------------------------------------
    def _subscribe(self, channel: Channel, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError("handler must be callable")
        with self._lock:
            if channel._sub is not None:
                raise RuntimeError("the channel is subscribed already")
            channel._sub = _Subscription(channel, handler)
            self._subs.append(channel._sub)
        self._notify("lona.channels.subscribe", channel.topic)

    def _unsubscribe(self, channel: Channel) -> None:
        sub = channel._sub
        if sub is None:
            return
        with sub.gate, self._lock:  # waits for a handler of this subscription to return
            if channel._sub is not sub:
                return
            channel._sub = None
            sub.active = False
            self._subs.remove(sub)
        self._notify("lona.channels.unsubscribe", channel.topic)

    def _notify(self, topic: str, about: str) -> None:
        with contextlib.suppress(ShutdownError):  # closing or stopped: nobody can hear of it
            self._send(topic, {"topic": about}, None, True, False)

    def _send(
        self,
        topic: str,
        data: dict[str, Any] | None,
        expiry: datetime | timedelta | None,
        local: bool,
        droppable: bool,
    ) -> Message:
        payload = {} if data is None else copy.copy(data)
        message = Message(topic, payload, self._deadline(expiry), local, droppable)
        with self._lock:
            if self._state == "stopped" or (self._state == "closing" and not self._is_worker()):
                raise ShutdownError(f"the runtime is {self._state}")
            message.seq = self._seq
            self._seq += 1
            receivers = [s for s in self._subs if _matches(topic, s.channel.topic)]
            self._busy += 1
            self._messages.put(_Envelope(message, receivers))
        return Message(topic, copy.copy(payload), message.expiry, local, droppable, message.seq)

    @staticmethod
    def _deadline(expiry: datetime | timedelta | None) -> datetime | None:
        now = datetime.now(UTC)
        if expiry is None:
            return None
        if isinstance(expiry, timedelta):
            return now + expiry
        if expiry.tzinfo is None:  # local time: what is left of it, from now
            return now + (expiry - datetime.now())
        return expiry.astimezone(UTC)

    def _is_worker(self) -> bool:
        return getattr(self._local, "worker", False)

    # the loops ---------------------------------------------------------------------------------
    def _loop(self, step: Callable[[], None]) -> None:
        self._local.worker = True
        while not self._stop:
            with contextlib.suppress(queue.Empty):
                step()

    def _broker_step(self) -> None:
        envelope = self._messages.get(timeout=POLL)
        message = envelope.message
        reason = self._drop_reason(message)
        gone = self._commit(envelope, reason is None)
        if reason is not None:
            self._dropped(message, None, reason)
        for sub in gone:
            self._dropped(message, sub.channel, "unsubscribed")
        self._finish()

    def _commit(self, envelope: _Envelope, deliver: bool) -> list[_Subscription]:
        """On this message's turn, append it to its live receivers' mailboxes; the rest."""
        gone = []
        with self._lock:
            while self._turn != envelope.message.seq:
                self._turned.wait(POLL)
            if deliver:
                for sub in envelope.receivers:
                    if not sub.active:
                        gone.append(sub)
                        continue
                    sub.mail.append(envelope.message)
                    self._busy += 1
                    if not sub.queued:
                        sub.queued = True
                        self._ready.put(sub)
            self._turn += 1
            self._turned.notify_all()
        return gone

    def _worker_step(self) -> None:
        sub = self._ready.get(timeout=POLL)
        for _ in range(self.batch):
            with self._lock:
                if not sub.mail:
                    break
                message = sub.mail.popleft()
            try:
                self._run(sub, message)
            finally:
                self._finish()
        with self._lock:
            if sub.mail:
                self._ready.put(sub)
            else:
                sub.queued = False

    def _run(self, sub: _Subscription, message: Message) -> None:
        with sub.gate:
            reason = "unsubscribed" if not sub.active else self._drop_reason(message)
            if reason is not None:
                self._dropped(message, sub.channel, reason)
                return
            mine = Message(message.topic, copy.copy(message.data), message.expiry,
                           message.local, message.droppable, message.seq)  # fmt: skip
            try:
                sub.handler(mine)
            except BaseException:
                log.exception("a handler of %r raised", sub.channel.topic)

    def _drop_reason(self, message: Message) -> str | None:
        if message.expired():
            return "expired"
        if message.droppable and self._state != "running":
            return "shutdown"
        return None

    def _dropped(self, message: Message, channel: Channel | None, reason: str) -> None:
        for listener in self.listeners:
            listener("drop", message, channel, reason)

    def _finish(self) -> None:
        with self._lock:
            self._busy -= 1
            if not self._busy:
                self._turned.notify_all()

    # the end ----------------------------------------------------------------------------------
    def join(self) -> None:
        with self._lock:
            while self._busy:
                self._turned.wait(POLL)

    def shutdown(self) -> None:
        """Refuse sends from outside the handlers, drain everything accepted, stop the loops."""
        if self._is_worker():
            raise RuntimeError("shutdown() from a handler would wait for itself")
        with self._lock:
            if self._state == "running":
                self._state = "closing"
            while self._busy:
                self._turned.wait(POLL)
            self._state = "stopped"
            self._stop = True
        self._pool.shutdown(wait=True)


def _matches(a: str, b: str) -> bool:
    return a == b or fnmatchcase(a, b) or fnmatchcase(b, a)
