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

import atexit
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from enum import IntEnum
from functools import partial
from inspect import CO_ASYNC_GENERATOR, CO_COROUTINE, CO_GENERATOR, CO_ITERABLE_COROUTINE
from logging import DEBUG, ERROR, WARNING, getLogger
from types import FunctionType, MethodType
from typing import TYPE_CHECKING, Any

from refimpl._safe import log_safely, safe_repr, short_repr
from refimpl._seam import Empty, Platform, RealPlatform
from refimpl.deadline import deadline
from refimpl.errors import ShutdownError
from refimpl.message import Message, owned_message, shallow_copy
from refimpl.pool import WorkerPool
from refimpl.registry import LIVE, Registry, Subscription
from refimpl.settings import Settings, resolve_worker_class
from refimpl.topics import validate_topic

if TYPE_CHECKING:
    from refimpl.channel import Channel
    from refimpl.worker import Worker

__all__ = [
    "Observer",
    "Runtime",
    "State",
    "current_runtime",
    "default_runtime",
    "set_default_runtime",
]

logger = getLogger("refimpl.channels")

#: ``observer(kind, message, channel, detail)``; kinds: ``route``, ``drop`` (detail is the
#: reason: ``expired``, ``shutdown``, ``unsubscribed``, ``error`` or ``exit``), ``error``,
#: ``shutdown_begin``, ``shutdown_end``; a networked broker adds ``publish`` (detail: where the
#: message went, such as its stream id) and ``error`` with no message (detail ``stream-reset``,
#: spec P7). Called on the thread that did it, possibly under
#: the runtime's lock: it must not block or call back into the runtime. Whatever it raises
#: is logged and ignored (R1).
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

#: the longest a wait may be told to last (``threading.TIMEOUT_MAX`` on every platform)
_WAIT_MAX = 1e9
_PLATFORM_METHODS = ("lock", "condition", "queue", "now", "to_aware", "start_thread", "ident")


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
        # Resolve the worker classes now, so that a bad setting fails here (spec R1, R4).
        self._broker_cls = resolve_worker_class(
            self.settings.CHANNEL_MESSAGE_BROKER_CLASS, "CHANNEL_MESSAGE_BROKER_CLASS"
        )
        self._worker_cls = resolve_worker_class(
            self.settings.CHANNEL_TASK_WORKER_CLASS, "CHANNEL_TASK_WORKER_CLASS"
        )
        if observer is not None and not callable(observer):
            raise TypeError(f"observer must be callable or None, not {safe_repr(observer)}")
        if platform is not None and not all(
            callable(getattr(platform, name, None)) for name in _PLATFORM_METHODS
        ):
            raise TypeError(f"platform must be a refimpl.Platform, not {safe_repr(platform)}")
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
        self._exiting = False  # interpreter exit gave up draining: drop what is left (R7)
        self._exit_drops = 0
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
        """Start the broker and task-worker threads. Idempotent; a stopped runtime can't restart.

        If a worker cannot be created or a thread cannot be started, ``start()`` raises
        that error and the runtime stays ``NEW`` with no thread running: sends are still
        queued, and ``start()`` may be called again (R6).
        """
        with self._lock:
            if self._state is State.STOPPED:
                raise ShutdownError("this runtime was shut down; create a new one")
            if self._state is not State.NEW:
                return self
            self._spawn_locked()
            self._state = State.RUNNING
        return self

    def _spawn_locked(self) -> None:
        """Create the workers, then start their threads; all of them, or none (R6).

        Under the lock, so that a concurrent shutdown() sees every thread it must join.
        """
        s = self.settings
        timeout = s.CHANNEL_WORKER_TIMEOUT
        brokers, workers = s.MAX_CHANNEL_MESSAGE_BROKER_THREADS, s.MAX_CHANNEL_TASK_WORKER_THREADS
        made: list[Worker] = [self._broker_cls(self, timeout) for _ in range(brokers)]
        made += [self._worker_cls(self, timeout) for _ in range(workers)]
        for i, worker in enumerate(made):
            worker.queue_name = "messages" if i < brokers else "ready"  # the role (R4)
        started = 0
        try:
            for worker in made:
                self.pool.spawn(worker._loop)
                started += 1
        except BaseException:
            # The threads that did start read a stop sentinel and exit; nothing was taken
            # from the queues that they do not finish (a broker commits before stopping).
            for worker in made[:started]:
                self._queue_of(worker).put(STOP)
            self.pool.retire()
            raise
        self.workers = made

    def _queue_of(self, worker: Worker) -> Any:
        return self._messages if worker.queue_name == "messages" else self._ready

    def _adopt(self, worker: Worker, executor: Any) -> None:
        """Run *worker* on a thread of *executor* (``executor.submit``), and count it as
        running: how a Lona server's ``channel_worker`` pool hosts this runtime's workers
        (``refimpl.lona``). The runtime's ``start()`` is then not used."""
        with self._lock:
            if self._state >= State.CLOSING:
                raise ShutdownError("this runtime is shutting down or shut down")
            self._state = State.RUNNING
            # the setting its class came from gives its role (a listing may derive from Worker)
            cls = type(worker)
            if cls is self._worker_cls and cls is not self._broker_cls:
                worker.queue_name = "ready"
            elif cls is self._broker_cls and cls is not self._worker_cls:
                worker.queue_name = "messages"
            self.workers.append(worker)
            self.pool.adopt(executor.submit(worker._loop))

    def join(self, timeout: float | None = None) -> bool:
        """Block until every message sent so far is routed and every delivery has finished.

        With a timeout, give up after about that many seconds. Returns True when idle.
        Must not be called from a handler (it would wait for itself): RuntimeError.
        """
        self._refuse_from_worker("join")
        deadline = None
        if timeout is not None:
            if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
                raise TypeError(
                    f"timeout must be a number of seconds or None, not {safe_repr(timeout)}"
                )
            if timeout != timeout:
                raise ValueError("timeout must be a number of seconds, not nan")
            seconds = float(max(0.0, min(timeout, _WAIT_MAX)))  # inf and 10**400 too
            deadline = self._now() + timedelta(seconds=seconds)
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
        self._begin_shutdown()
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
                self._queue_of(worker).put(STOP)
        # Every caller, not only the one that stopped the threads, returns after they exited.
        self.pool.join()

    def _begin_shutdown(self) -> None:
        """Close the runtime to outside senders; start a never-started one to drain it (S1).

        If its threads cannot be started, nothing will ever drain the queued messages:
        each is reported dropped (``error``), the runtime is stopped, and the error is
        raised, so that no later ``shutdown()`` waits for them (R6).
        """
        with self._send_lock, self._lock:  # both: no send passes the state check after this
            if self._state >= State.CLOSING:
                return
            never_started = self._state is State.NEW
            # Closing before a never-started runtime's threads exist: shutdown began
            # before anything ran, so its droppable messages are dropped (S3).
            self._state = State.CLOSING
            self._emit("shutdown_begin", None, None, "")
            if not never_started:
                return
            try:
                self._spawn_locked()
            except BaseException:
                self._abandon_queued_locked()
                raise

    def _abandon_queued_locked(self) -> None:
        """No thread will ever run: report every queued message dropped and stop."""
        stops = 0
        while self._next_route < self._seq:
            message = self._messages.get(timeout=0)
            if message is STOP:  # for a thread of the failed start: it must still get it
                stops += 1
                continue
            self._drop(message, None, "error")
            self._next_route += 1
        # Routed by threads of an earlier failed start(): a subscription in the ready
        # queue is held by no worker, so its mailbox is ours to empty.
        waiting = []
        while True:
            try:
                item = self._ready.get(timeout=0)
            except Empty:
                break
            if item is STOP:
                waiting.append(item)
                continue
            while item.mailbox:
                self._drop(item.mailbox.popleft()._copy_or_bare(), item.channel, "error")
                self._inflight -= 1
            item.scheduled = False
        for item in waiting:
            self._ready.put(item)
        for _ in range(stops):
            self._messages.put(STOP)
        self._state = State.STOPPED
        self._emit("shutdown_end", None, None, "")
        self._idle.notify_all()

    def _drain_at_exit(self) -> None:
        """What interpreter exit does to the default runtime (spec R7).

        Like ``shutdown()``, for at most ``CHANNEL_EXIT_TIMEOUT`` seconds. Whatever is
        still pending then is dropped and reported (reason ``exit``), and a WARNING says
        how much, and how many handlers had not returned; those threads die with the
        process.
        """
        if self._state is State.STOPPED or (self._state is State.NEW and self._seq == 0):
            return
        try:
            self._begin_shutdown()
        except BaseException:  # no thread could start; all reported dropped
            return
        bound = self.settings.CHANNEL_EXIT_TIMEOUT
        if self.join(bound):
            self.shutdown()
            return
        with self._lock:
            self._exiting = True
        self.join(min(bound, 1.0) + 0.1)  # the workers drop the rest; a stuck handler stays
        with self._lock:
            running = self._drop_behind_stuck_handlers_locked()
            dropped = self._exit_drops
        log_safely(
            logger,
            WARNING,
            f"interpreter exit: the default runtime did not drain within {bound:g} s "
            f"(CHANNEL_EXIT_TIMEOUT); {dropped} pending messages or deliveries were dropped "
            f"(reason 'exit'), {running} handlers had not returned",
        )
        if not running:
            self.shutdown()

    def _drop_behind_stuck_handlers_locked(self) -> int:
        """Report what waits behind handlers that do not return; the number of those handlers."""
        running = 0
        for worker in self.workers:
            task = worker._task
            if task is None:
                continue
            running += 1
            sub = task.subscription
            waiting = list(sub.mailbox)
            sub.mailbox.clear()
            self._inflight -= len(waiting)
            for message in waiting:
                self._drop(message._copy_or_bare(), sub.channel, "exit")
        return running

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
        plain = self._topic(topic)
        return [s.channel for s in self._route(plain, LIVE - 1)]

    def _route(self, topic: str, seq: int) -> list[Subscription]:
        """The subscriptions live at *seq* whose topic matches *topic*, in subscription order."""
        with self._index_lock:
            return self._registry.matching(topic, seq)

    def _live_subscriptions(self, seq: int = LIVE - 1) -> list[Subscription]:
        """Every subscription live at *seq* (now, by default), in subscription order (a scan)."""
        with self._index_lock:
            return self._registry.live(seq)

    def _topic(self, topic: object) -> str:
        """A topic given to this runtime, validated and as a plain ``str`` (T1, V2)."""
        return validate_topic(topic)

    def _subscribe(self, channel: Channel, handler: Callable[[Message], Any]) -> None:
        check_handler(handler)
        with self._send_lock:
            self._claim(channel)
            # live from the next send on (W1): its window starts at the next seq
            sub = Subscription(self._next_sub_id, channel, handler, self._seq)
            self._next_sub_id += 1
            channel._sub = sub
            with self._index_lock:
                self._registry.add(sub)
        logger.debug("subscribed %r", channel)
        self._send(SUBSCRIBE_TOPIC, {"topic": channel.topic}, None, True, False, internal=True)

    def _claim(self, channel: Channel) -> None:
        """Under ``_send_lock``, in ``subscribe()``: RuntimeError if *channel* is already
        subscribed (A2). Asked and acted on under one lock, so two threads subscribing one
        channel object cannot both pass it."""
        if channel._sub is not None:
            raise RuntimeError("channel is already subscribed")

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
            raise TypeError(f"local must be a bool, not {short_repr(local)}")
        if type(droppable) is not bool:
            raise TypeError(f"droppable must be a bool, not {short_repr(droppable)}")
        deadline = self._deadline(expiry)
        with self._send_lock:
            if self._send_refused():
                if internal:
                    return owned_message(topic, data, deadline, local, droppable, -1, self._now)
                raise ShutdownError(
                    f"cannot send to {short_repr(topic)}: the runtime is {self._state.name.lower()}"
                )
            message = owned_message(topic, data, deadline, local, droppable, self._seq, self._now)
            message._payload = payload
            message._snapshot = self._registry  # marks it as sent (a built message has None)
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
        return deadline(expiry, self._now, self.platform.to_aware)

    # used by the workers -----------------------------------------------------------------
    def _emit(
        self, kind: str, message: Message | None, channel: Channel | None, detail: str
    ) -> None:
        observer = self._observer
        if observer is None:
            return
        try:
            observer(kind, message, channel, detail)
        except BaseException as exc:  # an observer must not break routing or shutdown (R1)
            if isinstance(exc, self.platform.thread_exit):
                raise
            log_safely(logger, ERROR, "the observer raised on %s; ignored", kind, exc_info=exc)

    def _drop(self, message: Message, channel: Channel | None, reason: str) -> None:
        message._mark_dropped()
        if self._exiting:
            self._exit_drops += 1
        log_safely(logger, DEBUG, "dropped %s for %s: " + reason, message, channel)
        self._emit("drop", message, channel, reason)

    def _commit_routes(
        self, routed: list[tuple[Message, list[tuple[Subscription, Message]]]]
    ) -> None:
        """Commit a broker's routed messages, in their order, under one lock acquisition."""
        with self._lock:
            for message, deliveries in routed:
                self._commit_locked(message, deliveries)
            # only the last commit can have made the runtime idle: seq order (O1)
            self._finish_locked(0)

    def _commit_locked(
        self, message: Message, deliveries: list[tuple[Subscription, Message]]
    ) -> None:
        """Append a message's deliveries to the mailboxes, in ``seq`` order (spec O2)."""
        self._await_turn(message)
        if self._observer is not None:
            self._emit("route", message, None, str(len(deliveries)))
        schedule = self._schedule_locked
        for sub, routed in deliveries:
            if sub.active:
                sub.mailbox.append(routed)
                self._inflight += 1
                schedule(sub)
            else:
                self._drop(routed._copy_or_bare(), sub.channel, "unsubscribed")
        self._next_route += 1
        if self._registry.sweepable(self._next_route):
            with self._index_lock:
                self._registry.sweep(self._next_route)
        if self._turn_waiters:
            self._turn.notify_all()

    def _await_turn(self, message: Message) -> None:
        """Wait, under ``_lock``, until *message* is the next to commit (the seq turnstile)."""
        while self._next_route != message.seq:
            self._turn_waiters += 1
            self._turn.wait()
            self._turn_waiters -= 1

    def _schedule_locked(self, sub: Subscription) -> None:
        """*sub* got a delivery: put it on the ready queue unless it is there or held (O3)."""
        if not sub.scheduled:
            sub.scheduled = True
            self._ready.put(sub)

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


# the process-wide default runtime, and the current one ---------------------------------
#: the runtime whose worker thread (or simulated thread) this is; set by ``Worker._loop``
CURRENT: ContextVar[Runtime | None] = ContextVar("refimpl_current_runtime", default=None)
_default: Runtime | None = None
_default_lock = RealPlatform().lock()
_exit_hook = False  # the interpreter-exit drain is registered (R7)


def _register_exit_hook_locked() -> None:
    global _exit_hook
    if not _exit_hook:
        _exit_hook = True
        atexit.register(_drain_default_at_exit)


def _drain_default_at_exit() -> None:
    """Runs at interpreter exit, after non-daemon threads ended: drain the default runtime."""
    runtime = _default
    if runtime is not None:
        runtime._drain_at_exit()


def default_runtime() -> Runtime:
    """The runtime of ``Channel(...)`` without ``runtime=``; created and started on first use."""
    global _default
    with _default_lock:
        if _default is None or _default.state is State.STOPPED:
            _default = Runtime().start()
            _register_exit_hook_locked()
        return _default


def set_default_runtime(runtime: Runtime | None) -> Runtime | None:
    """Replace the default runtime (None: make a fresh one on next use). Returns the old one."""
    global _default
    if runtime is not None and not isinstance(runtime, Runtime):
        raise TypeError(f"expected a Runtime, not {short_repr(runtime)}")
    with _default_lock:
        old, _default = _default, runtime
        if runtime is not None:
            _register_exit_hook_locked()
        return old


def current_runtime() -> Runtime:
    """The runtime of bare ``Channel(...)`` and ``Channel.get_channels(...)`` calls (spec R8).

    On a runtime's own threads (its handlers, its brokers) that runtime, so code written
    for the default runtime (the seed's broker listing, a handler that replies) stays
    in the runtime it runs in; everywhere else the default runtime.
    """
    runtime = CURRENT.get()
    return runtime if runtime is not None else default_runtime()


def check_handler(handler: object, what: str = "a handler") -> None:
    """``TypeError`` unless *handler* is callable and its calls run its body (A2).

    A coroutine function (``async def``) returns a coroutine nobody awaits; an async
    generator function or a generator function returns a generator nobody iterates: in
    all three, the handler's body would never run. Decided from the code objects alone,
    so none of the handler's own methods (``__getattr__``, ``__class__``, ``__repr__``) runs.
    """
    if not callable(handler):
        raise TypeError(f"{what} must be callable, not {short_repr(handler)}")
    flags = _call_flags(handler)
    if flags & _COROUTINE:
        raise TypeError(
            f"{what} must be a plain function, not a coroutine function: "
            f"{short_repr(handler)} would never be awaited"
        )
    if flags & (CO_GENERATOR | CO_ASYNC_GENERATOR):
        raise TypeError(
            f"{what} must be a plain function, not a generator function: "
            f"{short_repr(handler)} would return a generator that nobody iterates"
        )


_COROUTINE = CO_COROUTINE | CO_ITERABLE_COROUTINE
_type_dict = type.__dict__["__dict__"].__get__
_type_mro = type.__dict__["__mro__"].__get__


def _call_flags(handler: object) -> int:
    """The ``co_flags`` of the Python function a call of *handler* runs (0: not one).

    Bound methods, ``functools.partial`` and a class's ``__call__`` are followed through
    the base types' own descriptors and the classes' ``__dict__``s: no user code runs.
    """
    target = handler
    for _ in range(64):  # a partial of a partial of ...: bounded
        kind = type(target)
        if kind is FunctionType:
            return FunctionType.__dict__["__code__"].__get__(target).co_flags  # type: ignore[no-any-return]
        if kind is MethodType:
            target = MethodType.__dict__["__func__"].__get__(target)
        elif issubclass(kind, partial):
            target = partial.__dict__["func"].__get__(target)
        elif kind in (staticmethod, classmethod):
            target = kind.__dict__["__func__"].__get__(target)
        elif issubclass(kind, type):  # (isinstance() would ask the object's __class__)
            return 0  # a class: calling it makes an instance
        else:
            call = next(
                (d["__call__"] for c in _type_mro(kind) if "__call__" in (d := _type_dict(c))),
                None,
            )
            if call is None or type(call) not in (FunctionType, staticmethod, classmethod):
                return 0  # a builtin or C-level callable
            target = call
    return 0
