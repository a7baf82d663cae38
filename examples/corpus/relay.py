"""relay: channels with a copy-on-write registry, one relay thread and a pool of worker threads
woken by a condition variable.

Written the ordinary way (``threading``, ``queue``, ``datetime``), from the channels
documentation, not from chanspec's reference implementation. The registry is a tuple that
``subscribe()``/``unsubscribe()`` replace, under a lock, with a changed copy, so ``send()`` reads
it without locking. One relay thread takes sent messages in order from a ``queue.Queue`` and
appends each to its receivers' mailboxes; a subscription with mail waits in the ready deque
once; the workers sleep on a ``threading.Condition`` until there is one. Every drop is told to
the bus's ``observer``.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

log = logging.getLogger("corpus.relay")

Handler = Callable[["Message"], object]
Observer = Callable[[str, "Message", "Channel | None", str], None]


class BusStopped(RuntimeError):
    pass


class Message:
    def __init__(self, topic: str, data: dict[str, Any], seq: int, expiry: datetime | None,
                 local: bool, droppable: bool) -> None:  # fmt: skip
        self.topic, self.data, self.seq = topic, data, seq
        self.expiry, self.local, self.droppable = expiry, local, droppable

    def copy(self) -> Message:
        return Message(self.topic, copy.copy(self.data), self.seq, self.expiry, self.local,
                       self.droppable)  # fmt: skip


class Subscription:
    def __init__(self, channel: Channel, handler: Handler) -> None:
        self.channel = channel
        self.handler = handler
        self.live = True
        self.mail: deque[Message] = deque()
        self.waiting = False  # in the ready deque or held by a worker
        self.gate = threading.RLock()  # held from the last check to the handler's return


class Channel:
    def __init__(self, bus: Bus, topic: str) -> None:
        self.bus = bus
        self.topic = topic
        self.subscription: Subscription | None = None

    def subscribe(self, handler: Handler) -> None:
        self.bus.attach(self, handler)

    def unsubscribe(self) -> None:
        self.bus.detach(self)

    def send(
        self,
        data: dict[str, Any] | None = None,
        expiry: datetime | timedelta | None = None,
        local: bool = False,
        droppable: bool = False,
    ) -> Message:
        return self.bus.send(self.topic, data, expiry, local, droppable)


class Bus:
    def __init__(self, workers: int = 2, observer: Observer | None = None) -> None:
        self.observer = observer
        self._registry: tuple[Subscription, ...] = ()
        self._registry_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._seq = 0
        self._relay_queue: queue.Queue[Message | None] = queue.Queue()
        self._receivers: dict[int, list[Subscription]] = {}  # seq -> receivers, until relayed
        self._lock = threading.RLock()  # guards everything below
        self._cond = threading.Condition(self._lock)  # workers wait on it for a ready subscription
        self._idle = threading.Condition(self._lock)  # wait_idle() and shutdown() wait on it
        self._ready: deque[Subscription] = deque()
        self._pending = 0  # messages not relayed + deliveries not finished
        self._phase = "open"  # -> "draining" -> "done"
        self._worker_ids: set[int] = set()
        self._relay = threading.Thread(target=self._relay_loop, name="relay")
        self._workers = [
            threading.Thread(target=self._work_loop, name=f"relay-worker-{i}")
            for i in range(workers)
        ]
        self._relay.start()
        for worker in self._workers:
            worker.start()

    def channel(self, topic: str) -> Channel:
        return Channel(self, topic)

    # the registry ----------------------------------------------------------------------------
    def attach(self, channel: Channel, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError("handler is not callable")
        sub = Subscription(channel, handler)
        with self._registry_lock:
            if channel.subscription is not None:
                raise RuntimeError("already subscribed")
            channel.subscription = sub
        self._register(sub)
        self._announce("lona.channels.subscribe", channel.topic)

    def detach(self, channel: Channel) -> None:
        sub = channel.subscription
        if sub is None:
            return
        with sub.gate:  # lets a handler of it finish; none starts afterwards
            if not sub.live:
                return
            sub.live = False
            with self._registry_lock:
                channel.subscription = None
        self._unregister(sub)
        self._announce("lona.channels.unsubscribe", channel.topic)

    def _register(self, sub: Subscription) -> None:
        with self._registry_lock:
            if sub.live:  # not unsubscribed meanwhile by another thread
                self._registry = (*self._registry, sub)

    def _unregister(self, sub: Subscription) -> None:
        with self._registry_lock:
            self._registry = tuple(s for s in self._registry if s is not sub)

    def _announce(self, topic: str, about: str) -> None:
        with contextlib.suppress(BusStopped):  # no notices while the bus drains or stopped
            self.send(topic, {"topic": about}, local=True)

    # sending ---------------------------------------------------------------------------------
    def send(
        self,
        topic: str,
        data: dict[str, Any] | None = None,
        expiry: datetime | timedelta | None = None,
        local: bool = False,
        droppable: bool = False,
    ) -> Message:
        payload = copy.copy(data) if data is not None else {}
        if isinstance(expiry, timedelta):
            expiry = datetime.now(UTC) + expiry
        elif isinstance(expiry, datetime):
            expiry = (
                expiry.astimezone(UTC)
                if expiry.tzinfo
                else datetime.now(UTC) + (expiry - datetime.now())
            )
        receivers = [s for s in self._registry if _match(topic, s.channel.topic)]
        with self._send_lock, self._cond:
            if self._phase == "done" or (
                self._phase == "draining" and threading.get_ident() not in self._worker_ids
            ):
                raise BusStopped(f"the bus is {self._phase}")
            message = Message(topic, payload, self._seq, expiry, local, droppable)
            self._seq += 1
            self._pending += 1
            self._receivers[message.seq] = receivers
            self._relay_queue.put(message)
        return message.copy()

    # threads ---------------------------------------------------------------------------------
    def _relay_loop(self) -> None:
        while (message := self._relay_queue.get()) is not None:
            reason = self._why_drop(message)
            with self._cond:
                receivers = self._receivers.pop(message.seq)
                if reason is None:
                    for sub in receivers:
                        sub.mail.append(message)
                        self._pending += 1
                        if not sub.waiting:
                            sub.waiting = True
                            self._ready.append(sub)
                            self._cond.notify()
            if reason is not None:
                self._drop(message, None, reason)
            self._done()

    def _work_loop(self) -> None:
        with self._cond:
            self._worker_ids.add(threading.get_ident())
        while True:
            with self._cond:
                while not self._ready and self._phase != "done":
                    self._cond.wait()
                if not self._ready:
                    return
                sub = self._ready.popleft()
            self._drain(sub)

    def _drain(self, sub: Subscription) -> None:
        while True:
            with self._cond:
                if not sub.mail:
                    sub.waiting = False
                    return
                message = sub.mail.popleft()
            try:
                self._deliver(sub, message)
            finally:
                self._done()

    def _deliver(self, sub: Subscription, message: Message) -> None:
        with sub.gate:
            reason = "unsubscribed" if not sub.live else self._why_drop(message)
            if reason is not None:
                self._drop(message, sub.channel, reason)
                return
            try:
                sub.handler(message.copy())
            except BaseException:
                log.exception("handler for %s failed", sub.channel.topic)

    def _why_drop(self, message: Message) -> str | None:
        if message.expiry is not None and datetime.now(UTC) >= message.expiry:
            return "expired"
        if message.droppable and self._phase != "open":
            return "shutdown"
        return None

    def _drop(self, message: Message, channel: Channel | None, reason: str) -> None:
        if self.observer is not None:
            self.observer("drop", message, channel, reason)

    def _done(self) -> None:
        with self._cond:
            self._pending -= 1
            if not self._pending:
                self._idle.notify_all()

    # waiting and stopping --------------------------------------------------------------------
    def wait_idle(self) -> None:
        with self._cond:
            while self._pending:
                self._idle.wait()

    def shutdown(self) -> None:
        if threading.get_ident() in self._worker_ids:
            raise RuntimeError("shutdown() from a handler would wait for itself")
        with self._cond:
            if self._phase == "open":
                self._phase = "draining"
            while self._pending:
                self._idle.wait()
            self._phase = "done"
            self._cond.notify_all()
        self._relay_queue.put(None)
        self._relay.join()
        for worker in self._workers:
            worker.join()


def _match(a: str, b: str) -> bool:
    return a == b or fnmatchcase(a, b) or fnmatchcase(b, a)
