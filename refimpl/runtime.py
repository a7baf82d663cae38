"""The runtime: owns the registry, the two queues, the worker threads and their life cycle.

Data flow (spec O1-O4)::

    send() --(seq)--> message queue --> broker threads (index: who was live at seq)
        --(in seq order)--> per-subscription mailboxes --> ready queue --> task workers

* ``send()`` assigns the message its ``seq`` and enqueues it under ``_send_lock``, so
  queue order is send order. Subscribe and unsubscribe set a subscription's ``seq``
  window under the same lock, so the receivers are fixed at send (spec W4; see
  ``refimpl.registry``) although ``send()`` never touches the index.
* Brokers may match in parallel but *commit* (append to mailboxes) strictly in ``seq``
  order, through the ``_turn`` condition.
* A subscription with pending deliveries sits in the ready queue at most once; the
  task worker that takes it runs one delivery and puts it back if more are pending.
  So each subscriber sees its messages one at a time, in ``seq`` order, while
  different subscribers run in parallel.
* The runtime is idle when every accepted message is routed (``_next_route == _seq``)
  and no delivery is in flight (``_inflight == 0``); ``join()`` and ``shutdown()``
  wait on ``_idle`` for that.

Three locks. ``_send_lock`` orders sends: it guards ``_seq`` and the queue put, the
state check that refuses sends once closing, ``channel._sub`` and the subscription
windows. ``_index_lock`` guards the subscription index (``_registry``). ``_lock``
guards everything else (mailboxes, ``_next_route``, ``_inflight``, state changes); its
conditions are ``_turn`` and ``_idle``. Lock order: ``_send_lock``, ``_lock``,
``_index_lock``. Senders so never wait for the workers' bookkeeping, nor for routing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from logging import getLogger
from typing import TYPE_CHECKING, Any

from refimpl._seam import Platform, RealPlatform
from refimpl.errors import ShutdownError
from refimpl.message import Message, shallow_copy
from refimpl.pool import WorkerPool
from refimpl.registry import LIVE, Registry, Subscription
from refimpl.settings import Settings, resolve_worker_class

if TYPE_CHECKING:
    from refimpl.channel import Channel
    from refimpl.worker import Worker

__all__ = [
    "Observer",
    "Runtime",
    "State",
    "default_runtime",
    "set_default_runtime",
]

logger = getLogger("refimpl.channels")

#: ``observer(kind, message, channel, detail)``; kinds: ``route``, ``drop`` (detail is the
#: reason: ``expired``, ``shutdown`` or ``unsubscribed``), ``error``, ``shutdown_begin``,
#: ``shutdown_end``. Called on the thread that did it, possibly under the runtime's lock:
#: it must not block or call back into the runtime.
Observer = Callable[[str, "Message | None", "Channel | None", str], None]

SUBSCRIBE_TOPIC = "lona.channels.subscribe"
UNSUBSCRIBE_TOPIC = "lona.channels.unsubscribe"


class State(IntEnum):
    NEW = 0  # sends are queued, no thread runs yet
    RUNNING = 1
    CLOSING = 2  # shutdown() is draining; only handlers may still send
    STOPPED = 3


class _Stop(Exception):
    """Tells a worker thread's loop to exit (a sentinel came through its queue)."""


STOP: Any = object()  # the sentinel put into the queues at the end of shutdown


class Runtime:
    """Registry, queues and threads of one channel system.

    ``Runtime(settings=None, platform=None, observer=None)``; ``start()``,
    ``join()``, ``shutdown()``; also a context manager (start on enter, graceful
    shutdown on exit).
    """

    #: the subscription index's class (an extension point for the mutants)
    registry_class: type[Registry] = Registry

    def __init__(
        self,
        settings: object = None,
        *,
        platform: Platform | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.settings = Settings.from_any(settings)
        # Resolve the worker classes now, so that a bad setting fails here (spec R1).
        self._broker_cls = resolve_worker_class(
            self.settings.CHANNEL_MESSAGE_BROKER_CLASS, "CHANNEL_MESSAGE_BROKER_CLASS"
        )
        self._worker_cls = resolve_worker_class(
            self.settings.CHANNEL_TASK_WORKER_CLASS, "CHANNEL_TASK_WORKER_CLASS"
        )
        self.platform: Platform = platform if platform is not None else RealPlatform()
        self._observer = observer
        self._send_lock = self.platform.lock()
        self._lock = self.platform.lock()
        self._turn = self.platform.condition(self._lock)
        self._turn_waiters = 0  # brokers waiting for their turn to commit
        self._idle = self.platform.condition(self._lock)
        self._messages = self.platform.queue()
        self._ready = self.platform.queue()
        self._now = self.platform.now
        self._state = State.NEW
        self._seq = 0  # next seq to assign
        self._next_route = 0  # next seq the brokers may commit
        self._inflight = 0  # deliveries in mailboxes or running
        self._next_sub_id = 0
        self._index_lock = self.platform.lock()
        self._registry = self.registry_class()
        self._worker_idents: set[int] = set()
        self.workers: list[Worker] = []
        self.pool = WorkerPool(
            "channel_worker",
            self.settings.MAX_CHANNEL_MESSAGE_BROKER_THREADS
            + self.settings.MAX_CHANNEL_TASK_WORKER_THREADS,
            self.platform,
        )

    def __repr__(self) -> str:
        return f"<Runtime {self._state.name} sent={self._seq} routed={self._next_route}>"

    # life cycle ----------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    def start(self) -> Runtime:
        """Start the broker and task-worker threads. Idempotent; a stopped runtime can't restart."""
        with self._lock:
            if self._state is State.STOPPED:
                raise ShutdownError("this runtime was shut down; create a new one")
            if self._state is not State.NEW:
                return self
            self._state = State.RUNNING
            self._spawn_locked()
        return self

    def _spawn_locked(self) -> None:
        # Under the lock, so that a concurrent shutdown() sees every thread it must join.
        s = self.settings
        timeout = float(s.CHANNEL_WORKER_TIMEOUT)
        brokers, workers = s.MAX_CHANNEL_MESSAGE_BROKER_THREADS, s.MAX_CHANNEL_TASK_WORKER_THREADS
        self.workers = [self._broker_cls(self, timeout) for _ in range(brokers)]
        self.workers += [self._worker_cls(self, timeout) for _ in range(workers)]
        for worker in self.workers:
            self.pool.spawn(worker._loop)

    def join(self, timeout: float | None = None) -> bool:
        """Block until every message sent so far is routed and every delivery has finished.

        With a timeout, give up after about that many seconds. Returns True when idle.
        Must not be called from a handler (it would wait for itself): RuntimeError.
        """
        self._refuse_from_worker("join")
        deadline = None if timeout is None else self._now() + timedelta(seconds=timeout)
        with self._lock:
            while not self._is_idle():
                left = None if deadline is None else (deadline - self._now()).total_seconds()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
            return True

    def shutdown(self) -> None:
        """Graceful shutdown (spec S1-S6).

        From now on only handlers may send. Queued droppable messages and deliveries
        are dropped (and reported); everything else is delivered, including what
        handlers send while draining. Returns when all is drained and the threads have
        exited. Idempotent. Starts a never-started runtime first, so that its queued
        non-droppable messages are delivered.
        """
        self._refuse_from_worker("shutdown")
        with self._send_lock, self._lock:  # both: no send passes the state check after this
            if self._state < State.CLOSING:
                never_started = self._state is State.NEW
                # Closing before a never-started runtime's threads exist: shutdown began
                # before anything ran, so its droppable messages are dropped (S3).
                self._state = State.CLOSING
                self._emit("shutdown_begin", None, None, "")
                if never_started:
                    self._spawn_locked()
        with self._lock:
            # A handler's send completes before its delivery does, so every accepted
            # message is counted in _seq by the time _inflight can reach zero.
            while not self._is_idle():
                self._idle.wait()
            stopper = self._state is not State.STOPPED
            if stopper:
                self._state = State.STOPPED
                self._emit("shutdown_end", None, None, "")
        if stopper:
            for worker in self.workers:
                (self._messages if worker.queue_name == "messages" else self._ready).put(STOP)
        # Every caller, not only the one that stopped the threads, returns after they exited.
        self.pool.join()

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _refuse_from_worker(self, what: str) -> None:
        if self._worker_idents and self.platform.ident() in self._worker_idents:
            raise RuntimeError(f"{what}() from a handler would wait for the handler itself")

    # registry --------------------------------------------------------------------------
    def get_channels(self, topic: str) -> list[Channel]:
        """The channels now subscribed to a topic that matches *topic*."""
        from refimpl.topics import validate_topic

        validate_topic(topic)
        return [s.channel for s in self._route(topic, LIVE - 1)]

    def _route(self, topic: str, seq: int) -> list[Subscription]:
        """The subscriptions live at *seq* whose topic matches *topic*, in subscription order."""
        with self._index_lock:
            return self._registry.matching(topic, seq)

    def _subscribe(self, channel: Channel, handler: Callable[[Message], Any]) -> None:
        if not callable(handler):
            raise TypeError(f"a handler must be callable, not {handler!r}")
        with self._send_lock:
            if channel._sub is not None:
                raise RuntimeError("channel is already subscribed")
            # live from the next send on (W1): its window starts at the next seq
            sub = Subscription(self._next_sub_id, channel, handler, self._seq)
            self._next_sub_id += 1
            channel._sub = sub
            with self._index_lock:
                self._registry.add(sub)
        logger.debug("subscribed %r", channel)
        self._send(SUBSCRIBE_TOPIC, {"topic": channel.topic}, None, True, False, internal=True)

    def _unsubscribe(self, channel: Channel) -> None:
        with self._send_lock:
            sub = channel._sub
            if sub is None:
                return
            channel._sub = None
            sub.active = False
            sub.end = self._seq  # no message sent from now on reaches it (W2)
            with self._index_lock:
                self._registry.retire(sub, self._next_route)
        logger.debug("unsubscribed %r", channel)
        self._send(UNSUBSCRIBE_TOPIC, {"topic": channel.topic}, None, True, False, internal=True)

    # sending ---------------------------------------------------------------------------
    def _send(
        self,
        topic: str,
        message_data: object,
        expiry: object,
        local: object,
        droppable: object,
        *,
        internal: bool = False,
    ) -> Message:
        # Validate everything before touching shared state (spec V1).
        if message_data is None:
            payload: dict[Any, Any] | None = None
            data: dict[Any, Any] = {}
        elif isinstance(message_data, dict):
            payload = self._broker_copy(message_data)
            data = shallow_copy(message_data)
        else:
            raise TypeError(
                f"message_data must be a dict or None, not {type(message_data).__name__}"
            )
        if type(local) is not bool:
            raise TypeError(f"local must be a bool, not {local!r}")
        if type(droppable) is not bool:
            raise TypeError(f"droppable must be a bool, not {droppable!r}")
        deadline = self._deadline(expiry)
        with self._send_lock:
            if self._send_refused():
                if internal:
                    return Message(topic, data, deadline, local, droppable, -1, self._now)
                raise ShutdownError(
                    f"cannot send to {topic!r}: the runtime is {self._state.name.lower()}"
                )
            message = Message(topic, data, deadline, local, droppable, self._seq, self._now)
            message._payload = payload
            self._seq += 1
            self._messages.put(message)
        return message

    def _broker_copy(self, message_data: dict[Any, Any]) -> dict[Any, Any]:
        """The broker's own copy, taken at the call (spec C1)."""
        return shallow_copy(message_data)

    def _send_refused(self) -> bool:
        """Whether a send from this thread is refused now (S4, S5); under ``_send_lock``."""
        return self._state >= State.CLOSING and (
            self._state is State.STOPPED or self.platform.ident() not in self._worker_idents
        )

    def _deadline(self, expiry: object) -> datetime | None:
        """*expiry* as an aware UTC deadline (spec E1), normalised at the call site.

        A timedelta counts from now; an aware datetime is converted to UTC; a naive one
        (no tzinfo, or a tzinfo whose ``utcoffset()`` is None) is local time. The broker
        and the workers then only ever compare aware UTC datetimes.
        """
        if expiry is None:
            return None
        if isinstance(expiry, timedelta):
            return self._now() + expiry
        if isinstance(expiry, datetime):
            if expiry.utcoffset() is None:
                return self.platform.to_aware(expiry.replace(tzinfo=None))
            return expiry.astimezone(UTC)
        raise TypeError(
            f"expiry must be a datetime, a timedelta or None, not {type(expiry).__name__}"
        )

    # used by the workers -----------------------------------------------------------------
    def _emit(
        self, kind: str, message: Message | None, channel: Channel | None, detail: str
    ) -> None:
        if self._observer is not None:
            self._observer(kind, message, channel, detail)

    def _drop(self, message: Message, channel: Channel | None, reason: str) -> None:
        message._mark_dropped()
        logger.debug("dropped %r for %r: %s", message, channel, reason)
        self._emit("drop", message, channel, reason)

    def _commit_routes(
        self, routed: list[tuple[Message, list[tuple[Subscription, Message]]]]
    ) -> None:
        """Commit a broker's routed messages, in their order, under one lock acquisition."""
        with self._lock:
            for message, deliveries in routed:
                self._commit_locked(message, deliveries)

    def _commit_locked(
        self, message: Message, deliveries: list[tuple[Subscription, Message]]
    ) -> None:
        """Append a message's deliveries to the mailboxes, in ``seq`` order (spec O2)."""
        while self._next_route != message.seq:
            self._turn_waiters += 1
            self._turn.wait()
            self._turn_waiters -= 1
        self._emit("route", message, None, str(len(deliveries)))
        for sub, routed in deliveries:
            if not sub.active:
                self._drop(routed._copy_or_bare(), sub.channel, "unsubscribed")
                continue
            sub.mailbox.append(routed)
            self._inflight += 1
            if not sub.scheduled:
                sub.scheduled = True
                self._ready.put(sub)
        self._next_route += 1
        if self._registry.sweepable(self._next_route):
            with self._index_lock:
                self._registry.sweep(self._next_route)
        if self._turn_waiters:
            self._turn.notify_all()
        self._finish_locked(0)

    def _release(self, sub: Subscription, done: int) -> None:
        """A task worker hands *sub* back after finishing *done* of its deliveries."""
        with self._lock:
            if sub.mailbox:
                self._ready.put(sub)  # to the back of the ready queue (O4)
            else:
                sub.scheduled = False
            self._finish_locked(done)

    def _finish_locked(self, done: int) -> None:
        """*done* deliveries finished (0: a message was routed); wake idle waiters if idle."""
        self._inflight -= done
        if self._is_idle():
            self._idle.notify_all()

    def _is_idle(self) -> bool:
        return self._next_route == self._seq and not self._inflight

    def _register_worker_thread(self) -> None:
        with self._lock:
            self._worker_idents.add(self.platform.ident())

    def _unregister_worker_thread(self) -> None:
        # A dead thread's identifier may be reused by an unrelated thread later.
        with self._lock:
            self._worker_idents.discard(self.platform.ident())


# the process-wide default runtime -------------------------------------------------------
_default: Runtime | None = None
_default_lock = RealPlatform().lock()


def default_runtime() -> Runtime:
    """The runtime of ``Channel(...)`` without ``runtime=``; created and started on first use."""
    global _default
    with _default_lock:
        if _default is None or _default.state is State.STOPPED:
            _default = Runtime().start()
        return _default


def set_default_runtime(runtime: Runtime | None) -> Runtime | None:
    """Replace the default runtime (None: make a fresh one on next use). Returns the old one."""
    global _default
    if runtime is not None and not isinstance(runtime, Runtime):
        raise TypeError(f"expected a Runtime, not {runtime!r}")
    with _default_lock:
        old, _default = _default, runtime
        return old
