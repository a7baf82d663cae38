"""mailbox: channels where every subscription owns a ``queue.Queue`` and a thread that empties it.

Written the ordinary way (``threading``, ``queue``, ``datetime``, ``time``), from the channels
documentation, not from chanspec's reference implementation. ``send()`` numbers the message and
picks the matching subscriptions under one lock, then puts it on the hub's inbox; one dispatcher
thread drops it if it expired, else puts it into each receiver's own queue; each subscription's
thread runs the handler on its messages in order. A subscription's gate (an ``RLock``) is held
from the last check to the handler's return, so ``unsubscribe()`` waits for a handler that is
about to run, and nothing of that subscription starts once it returned.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

log = logging.getLogger("corpus.mailbox")

Handler = Callable[["Message"], object]
DropHook = Callable[["Message", "Channel | None", str], None]


class HubClosed(RuntimeError):
    """The hub is shutting down or shut down and refuses the message."""


def topics_match(a: str, b: str) -> bool:
    return a == b or fnmatchcase(a, b) or fnmatchcase(b, a)


@dataclass
class Message:
    topic: str
    data: dict[str, Any]
    seq: int
    deadline: float | None = None  # on the time.monotonic() clock
    local: bool = False
    droppable: bool = False

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


class Subscription:
    """One subscribe() of one channel: its handler, its queue, its thread."""

    def __init__(self, channel: Channel, handler: Handler) -> None:
        self.channel = channel
        self.handler = handler
        self.active = True
        self.mail: queue.Queue[Message | None] = queue.Queue()
        self.gate = threading.RLock()


class Channel:
    def __init__(self, hub: Hub, topic: str, handler: Handler | None = None) -> None:
        self.hub = hub
        self.topic = topic
        self.subscription: Subscription | None = None
        if handler is not None:
            self.subscribe(handler)

    @property
    def handler(self) -> Handler | None:
        return self.subscription.handler if self.subscription is not None else None

    def subscribe(self, handler: Handler) -> None:
        self.hub.subscribe(self, handler)

    def unsubscribe(self) -> None:
        self.hub.unsubscribe(self)

    def send(
        self,
        data: dict[str, Any] | None = None,
        expiry: datetime | timedelta | None = None,
        local: bool = False,
        droppable: bool = False,
    ) -> Message:
        return self.hub.publish(self.topic, data, expiry, local, droppable)


class Hub:
    def __init__(self, on_drop: DropHook | None = None) -> None:
        self._lock = threading.Lock()
        self._quiet = threading.Condition(self._lock)
        self._subs: list[Subscription] = []  # live subscriptions, oldest first
        self._inbox: queue.Queue[tuple[Message, list[Subscription]] | None] = queue.Queue()
        self._seq = 0
        self._unfinished = 0  # messages not dispatched yet + deliveries not finished yet
        self._state = "open"  # -> "closing" -> "closed"
        self._here = threading.local()  # .handling: this thread runs this hub's handlers
        self._threads: list[threading.Thread] = []
        self._on_drop = on_drop
        self._dispatcher = threading.Thread(target=self._dispatch, name="mailbox-dispatcher")
        self._dispatcher.start()

    def channel(self, topic: str, handler: Handler | None = None) -> Channel:
        return Channel(self, topic, handler)

    # subscriptions ---------------------------------------------------------------------------
    def subscribe(self, channel: Channel, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError("the handler must be callable")
        with self._lock:
            if channel.subscription is not None:
                raise RuntimeError(f"channel {channel.topic!r} is already subscribed")
            sub = Subscription(channel, handler)
            channel.subscription = sub
            self._subs.append(sub)
            if self._state != "closed":
                thread = threading.Thread(
                    target=self._serve, args=(sub,), name=f"mailbox-{len(self._threads)}"
                )
                self._threads.append(thread)
                thread.start()
        self._notice("lona.channels.subscribe", channel.topic)

    def unsubscribe(self, channel: Channel) -> None:
        sub = channel.subscription
        if sub is None:
            return
        with sub.gate, self._lock:  # a handler of it that is about to run runs first
            if channel.subscription is not sub:
                return
            channel.subscription = None
            sub.active = False
            self._subs.remove(sub)
            sub.mail.put(None)  # its thread drops what is left, then ends
        self._notice("lona.channels.unsubscribe", channel.topic)

    def _notice(self, topic: str, about: str) -> None:
        with contextlib.suppress(HubClosed):  # nobody could send now: no notice while closing
            self.publish(topic, {"topic": about}, local=True)

    # sending ---------------------------------------------------------------------------------
    def publish(
        self,
        topic: str,
        data: dict[str, Any] | None = None,
        expiry: datetime | timedelta | None = None,
        local: bool = False,
        droppable: bool = False,
    ) -> Message:
        payload = copy.copy(data) if data is not None else {}
        deadline = self._deadline(expiry)
        with self._lock:
            if self._state == "closed" or (self._state == "closing" and not self._handling()):
                raise HubClosed(f"the hub is {self._state}")
            msg = Message(topic, payload, self._seq, deadline, local, droppable)
            self._seq += 1
            receivers = [s for s in self._subs if topics_match(topic, s.channel.topic)]
            self._unfinished += 1
            self._inbox.put((msg, receivers))
        return Message(topic, copy.copy(payload), msg.seq, deadline, local, droppable)

    def _deadline(self, expiry: datetime | timedelta | None) -> float | None:
        """A deadline on the monotonic clock: what is left of the expiry, counted from now."""
        if expiry is None:
            return None
        if isinstance(expiry, timedelta):
            left = expiry
        elif expiry.tzinfo is None:
            left = expiry - datetime.now()
        else:
            left = expiry - datetime.now(expiry.tzinfo)
        return time.monotonic() + left.total_seconds()

    def _handling(self) -> bool:
        return getattr(self._here, "handling", False)

    # threads ---------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        while (item := self._inbox.get()) is not None:
            msg, receivers = item
            reason = self._drop_reason(msg)
            if reason is not None:
                self._drop(msg, None, reason)
            else:
                gone = []
                with self._lock:  # unsubscribe() puts its sentinel under this lock too
                    for sub in receivers:
                        if sub.active:
                            self._unfinished += 1
                            sub.mail.put(msg)
                        else:
                            gone.append(sub)
                for sub in gone:
                    self._drop(msg, sub.channel, "unsubscribed")
            self._finished()

    def _serve(self, sub: Subscription) -> None:
        self._here.handling = True
        while (msg := sub.mail.get()) is not None:
            try:
                self._deliver(sub, msg)
            finally:
                self._finished()
        while True:  # unsubscribed: what is still queued is dropped
            try:
                rest = sub.mail.get_nowait()
            except queue.Empty:
                return
            if rest is not None:
                self._drop(rest, sub.channel, "unsubscribed")
                self._finished()

    def _deliver(self, sub: Subscription, msg: Message) -> None:
        with sub.gate:
            reason = "unsubscribed" if not sub.active else self._drop_reason(msg)
            if reason is not None:
                self._drop(msg, sub.channel, reason)
                return
            try:
                sub.handler(Message(msg.topic, copy.copy(msg.data), msg.seq, msg.deadline))
            except BaseException:
                log.exception("handler of %r raised", sub.channel.topic)

    def _drop_reason(self, msg: Message) -> str | None:
        if msg.expired():
            return "expired"
        if msg.droppable and self._state != "open":
            return "shutdown"
        return None

    def _drop(self, msg: Message, channel: Channel | None, reason: str) -> None:
        log.debug("dropped %s (%s)", msg.seq, reason)
        if self._on_drop is not None:
            self._on_drop(msg, channel, reason)

    def _finished(self) -> None:
        with self._lock:
            self._unfinished -= 1
            if not self._unfinished:
                self._quiet.notify_all()

    # waiting and shutting down ---------------------------------------------------------------
    def join(self) -> None:
        """Wait until everything sent so far is handled or dropped."""
        with self._lock:
            while self._unfinished:
                self._quiet.wait()

    def shutdown(self) -> None:
        """Refuse new messages (handlers may still send), deliver what was accepted, stop."""
        if self._handling():
            raise RuntimeError("shutdown() from a handler would wait for itself")
        with self._lock:
            if self._state == "open":
                self._state = "closing"
            while self._unfinished:
                self._quiet.wait()
            first = self._state != "closed"
            self._state = "closed"
            threads = list(self._threads)
            subs = list(self._subs)
        if first:
            self._inbox.put(None)
            for sub in subs:
                sub.mail.put(None)
        self._dispatcher.join()
        for thread in threads:
            thread.join()
