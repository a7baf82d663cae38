"""Broker and task-worker threads, and the ``Worker.run()`` contract for custom classes.

As in Lona, each worker thread calls ``run()`` over and over; ``run()`` takes one item
with ``get_message()`` / ``get_task()``, which block for at most ``timeout`` seconds
and raise ``queue.Empty`` when there was nothing (or the item was dropped). A custom
class (settings ``CHANNEL_MESSAGE_BROKER_CLASS`` / ``CHANNEL_TASK_WORKER_CLASS``)
overrides ``run()`` and keeps the guarantees, because the base class, not ``run()``,
commits a message's routing in send order and hands a subscription back after each
delivery (spec R4). Nothing a ``run()`` raises ends the thread, ``SystemExit`` and
``KeyboardInterrupt`` included: it is logged, and whatever the failed ``run()`` had
taken and not delivered is reported dropped with reason ``error`` (D2).

A worker's role (broker or task worker) is the setting that named its class, not the
class: ``Runtime`` sets ``queue_name`` on each instance. So a class written the seed's
way, ``class TaskWorker(Worker)``, works in the role it was configured for.
"""

from __future__ import annotations

from inspect import iscoroutine
from logging import ERROR, getLogger
from typing import TYPE_CHECKING, Any, NoReturn

from refimpl._safe import log_safely, safe_repr, short_repr
from refimpl._seam import Empty
from refimpl.message import Message
from refimpl.runtime import CURRENT, STOP, Runtime, State, _Stop
from refimpl.settings import seconds

if TYPE_CHECKING:
    from collections.abc import Callable

    from refimpl.channel import Channel
    from refimpl.registry import Subscription

__all__ = ["MessageBroker", "Task", "TaskWorker", "Worker"]

#: the methods a task worker's ``run()`` / a broker's ``run()`` calls that a subclass may
#: override; a class that overrides none of them runs the lean path (``Worker._lean_run``)
_TASK_HOOKS = ("run", "get_task", "copy_for_subscriber", "drop_reason", "handler_of", "_finish")
_BROKER_HOOKS = ("run", "get_message", "get_channels", "schedule_task", "_owns", "_finish")

logger = getLogger("refimpl.channels")


_new = object.__new__


class _RoleError(TypeError):
    """A worker asked for the other role's items (a ``Worker`` subclass configured wrongly)."""


class Task:
    """One delivery: a subscriber's own copy of a message, for one subscription.

    ``Task(channel, message)`` as in Lona; the runtime also names the subscription the
    delivery belongs to (a channel that unsubscribes and subscribes again has a new one).
    """

    __slots__ = ("_handed", "channel", "message", "subscription")

    def __init__(
        self, channel: Channel, message: Message, subscription: Subscription | None = None
    ) -> None:
        if subscription is None:  # built by hand (the runtime's own tasks name theirs)
            if not isinstance(message, Message):
                raise TypeError(f"Task(channel, message): not a Message: {short_repr(message)}")
            if not isinstance(getattr(channel, "_runtime", None), Runtime):
                raise TypeError(f"Task(channel, message): not a channel: {short_repr(channel)}")
        self.channel = channel
        self.message = message
        if subscription is None:
            # built by hand: the channel's subscription now, or an ended one (no handler)
            subscription = channel._sub or _ended(channel)
        self.subscription = subscription
        self._handed = False  # the handler was looked up: a failing run() did not skip it

    @property
    def handler(self) -> Callable[[Message], Any] | None:
        """The subscription's handler, or None once the channel has unsubscribed."""
        self._handed = True
        sub = self.subscription
        return sub.handler if sub.active else None

    def __repr__(self) -> str:
        return f"<Task {self.message!r} for {self.channel!r}>"


def _ended(channel: Channel) -> Subscription:
    from refimpl.registry import Subscription

    sub = Subscription(-1, channel, print)
    sub.active = False
    return sub


def _drop_reason(rt: Runtime, message: Message, sub: Subscription) -> str | None:
    """``Worker.drop_reason``: why a delivery must not run now, or None (S3, E2, W3)."""
    if message.droppable and rt._state >= State.CLOSING:
        return "shutdown"
    if rt._exiting:
        return "exit"
    if message.expiry is not None and message.expiry <= rt._now():
        return "expired"
    if not sub.active:
        return "unsubscribed"
    return None


def _standard(cls: type, base: type, hooks: tuple[str, ...]) -> bool:
    """Whether *cls* inherits every one of *hooks* from *base* unchanged."""
    return all(getattr(cls, h) is getattr(base, h) for h in hooks)


class _RunsOnceBuilt(type):
    """Hands a worker made for a Lona server's executor to it only once its whole
    ``__init__`` has run: a subclass that sets itself up after ``super().__init__()``
    (``RedisMessageBroker`` does) must not see ``run()`` called before it is ready."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        worker = super().__call__(*args, **kwargs)
        executor = worker.__dict__.pop("_executor", None)
        if executor is not None:
            worker.runtime._adopt(worker, executor)
        return worker


class Worker(metaclass=_RunsOnceBuilt):
    """Base class of the broker and task-worker threads."""

    #: which queue this worker reads, ``"messages"`` or ``"ready"``; the shutdown sentinel
    #: is put there. ``Runtime`` sets it per instance from the setting that named the class.
    queue_name = "messages"

    def __init__(
        self,
        runtime: Runtime | None = None,
        timeout: float | None = None,
        *,
        server: Any = None,
        executor: Any = None,
    ) -> None:
        """``Worker(runtime, timeout)``, or as Lona's server makes its workers:
        ``Worker(server=, executor=, timeout=)``.

        The second form joins the runtime ``refimpl.lona`` made for that server and runs
        on a thread of *executor* (the server's ``channel_worker`` pool).
        """
        if runtime is None:
            runtime = getattr(server, "channel_runtime", None)
            if not isinstance(runtime, Runtime) or executor is None:
                raise TypeError(
                    "Worker(runtime, timeout), or Worker(server=, executor=, timeout=) for a "
                    "Lona server set up by refimpl.lona.install()"
                )
        elif not isinstance(runtime, Runtime):
            raise TypeError(f"runtime must be a refimpl.Runtime, not {short_repr(runtime)}")
        if timeout is None:
            timeout = float(runtime.settings.CHANNEL_WORKER_TIMEOUT)
        else:  # checked as the setting is (R1), 0 allowed (a non-blocking get): a bad one
            timeout = seconds("timeout", timeout, ">= 0")  # raised in the worker's queue get
        self.runtime = runtime
        self.server = server
        self.timeout = timeout
        self._asked_to_stop = False
        self._message: Message | None = None
        self._deliveries: list[tuple[Subscription, Message]] = []
        self._matched: list[Subscription] = []  # what get_channels() found last
        self._by_channel: dict[Channel, Subscription] | None = None  # made when needed
        # routed messages not yet committed: committed together, and always before this
        # broker could block waiting for a message (others may wait for their turn)
        self._routed: list[tuple[Message, list[tuple[Subscription, Message]]]] = []
        self._route_batch = runtime.settings.CHANNEL_ROUTE_BATCH
        self._task: Task | None = None
        self._held: Subscription | None = None  # a subscription this worker keeps delivering
        self._done = 0  # deliveries finished for it since it was taken from the ready queue
        self._batch = runtime.settings.CHANNEL_TASK_BATCH
        self._checkpoint = runtime.platform.checkpoint  # called twice per delivery
        if executor is not None:  # adopted by the runtime once built (_RunsOnceBuilt)
            self._executor = executor

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    @property
    def running(self) -> bool:
        """False once the runtime's graceful shutdown has begun (droppable work is dropped),
        or once this worker was asked to stop (``shutdown()``, ``running = False``)."""
        return not self._asked_to_stop and self.runtime._state < State.CLOSING

    @running.setter
    def running(self, value: bool) -> None:
        self._asked_to_stop = not value

    def shutdown(self) -> None:
        """Lona's call: mark this worker as asked to stop; it does not stop by itself.

        A runtime's workers stop together, when its ``shutdown()`` has drained every
        non-droppable message (spec S1, S2): one worker leaving early is how Lona loses
        messages (§18). ``refimpl.lona`` shuts the server's runtime down when it stops.
        """
        self.running = False

    # broker side -----------------------------------------------------------------------
    def get_message(self) -> Message:
        """The next message to route, in send order; ``Empty`` on timeout or if it was dropped."""
        rt = self.runtime
        if self.queue_name != "messages":
            raise _RoleError("get_message() called by a worker in the task-worker role")
        if self._message is not None:  # a run() that takes a second message: keep the first
            self._finish()
        message: Message
        if self._routed:
            try:
                message = rt._messages.get(timeout=0)
            except Empty:
                self._commit()  # about to wait: let nobody wait on us
                message = rt._messages.get(timeout=self.timeout)
        else:
            message = rt._messages.get(timeout=self.timeout)
        if message is STOP:
            raise _Stop
        self._message = message
        self._deliveries = []
        if rt._exiting:  # interpreter exit gave up draining (R7)
            rt._drop(message, None, "exit")
            raise Empty
        if message.droppable and rt._state >= State.CLOSING:
            rt._drop(message, None, "shutdown")
            raise Empty
        if message.expiry is not None and message.expiry <= rt._now():
            rt._drop(message, None, "expired")
            raise Empty
        return message

    def get_channels(self, message: Message) -> list[Channel]:
        """The channels that were subscribed to a matching topic when *message* was sent."""
        self._matched = found = self.runtime._route(message.topic, message.seq)
        self._by_channel = None
        return [s.channel for s in found]

    def schedule_task(self, channel: Channel, message: Message) -> None:
        """Schedule *message* for *channel*; delivered after ``run()`` returns, in send order.

        *channel* must belong to this worker's runtime (spec R8: ValueError otherwise),
        and a message must have been taken with ``get_message()`` (RuntimeError).
        *message* is that message, or one the broker built or copied from it. The
        subscription is the channel's one that was live when the message was sent, else
        (a channel a custom ``run()`` chose itself) its current one.
        """
        if self._message is None:
            raise RuntimeError("schedule_task() outside of a message taken with get_message()")
        if not isinstance(message, Message):  # else it fails in a task worker, and is lost (V2)
            raise TypeError(f"schedule_task() needs a refimpl.Message, not {short_repr(message)}")
        if getattr(channel, "_runtime", None) is not self.runtime:  # _owns(), inlined
            raise ValueError(f"{safe_repr(channel)} is not a channel of this runtime (spec R8)")
        sub = channel._sub
        seq = self._message.seq
        if sub is None or not sub.start <= seq < sub.end:
            by_channel = self._by_channel
            if by_channel is None:
                by_channel = self._by_channel = {s.channel: s for s in self._matched}
            sub = by_channel.get(channel, sub)
        if sub is None:
            self.runtime._drop(message._copy_or_bare(), channel, "unsubscribed")
            return
        # The subscriber's own copy is made by the task worker, just before the handler
        # (``copy_for_subscriber``): a backlog holds one message, not one copy per subscriber.
        self._deliveries.append((sub, message))

    def _owns(self, channel: object) -> bool:
        """Whether *channel* belongs to this worker's runtime: runtimes never cross (R8)."""
        return getattr(channel, "_runtime", None) is self.runtime

    # task-worker side ------------------------------------------------------------------
    def get_task(self) -> Task:
        """The next delivery of a subscription no other worker holds; ``Empty`` on timeout/drop."""
        rt = self.runtime
        if self.queue_name != "ready":
            raise _RoleError("get_task() called by a worker in the broker role")
        task = self._task
        if task is not None:  # a run() that takes a second task: account for the first
            if not task._handed:
                rt._drop(task.message, task.channel, "error")
            self._finish()
        sub = self._held
        if sub is None:
            sub = rt._ready.get(timeout=self.timeout)
            if sub is STOP:
                raise _Stop
        origin = sub.mailbox.popleft()
        try:
            message = self.copy_for_subscriber(origin)
        except BaseException as exc:  # a failing __copy__, even KeyboardInterrupt (D2, V2)
            self._copy_failed(origin, sub, exc)
        self._task = task = Task(sub.channel, message, sub)
        self._checkpoint("handler_start")
        reason = self.drop_reason(task)
        if reason is not None:
            rt._drop(message, sub.channel, reason)
            raise Empty
        return task

    def _copy_failed(self, origin: Message, sub: Subscription, exc: BaseException) -> NoReturn:
        """Copying *origin* for *sub* raised *exc*: the delivery is dropped (D2, V2)."""
        rt = self.runtime
        if isinstance(exc, rt.platform.thread_exit):
            raise exc
        message = origin._bare_copy()
        self._task = Task(sub.channel, message, sub)
        log_safely(
            logger,
            ERROR,
            "could not copy %s for %s; the delivery is dropped",
            origin,
            sub.channel,
            exc_info=exc,
        )
        rt._drop(message, sub.channel, "error")
        raise Empty from None

    def copy_for_subscriber(self, message: Message) -> Message:
        """The subscriber's own shallow copy of the broker's payload (spec C2, C3)."""
        return message._copy_for_subscriber()

    def drop_reason(self, task: Task) -> str | None:
        """Why *task* must not run now, checked just before its handler (S3, E2, W3), or None."""
        return _drop_reason(self.runtime, task.message, task.subscription)

    # the loop ----------------------------------------------------------------------------
    def _loop(self) -> None:
        rt = self.runtime
        thread_exit = rt.platform.thread_exit
        run = self._lean_run() or self.run
        rt._register_worker_thread()
        token = CURRENT.set(rt)  # bare Channel(...) calls here belong to this runtime (R8)
        try:
            while True:
                stop = False
                try:
                    run()
                except _Stop:
                    stop = True
                except (Empty, TimeoutError):
                    pass
                except BaseException as exc:  # even SystemExit must not end the thread (R4)
                    if isinstance(exc, thread_exit):
                        raise
                    self._run_failed(exc)
                    if isinstance(exc, _RoleError):
                        run = self._role_run()
                finally:
                    self._finish()
                if stop:
                    if self._routed:
                        self._commit()
                    return
        finally:
            CURRENT.reset(token)
            rt._unregister_worker_thread()

    def _lean_run(self) -> Callable[[], None] | None:
        """The standard ``run()`` of this worker's role written out in one frame, for a
        class that overrides none of the hooks that ``run()`` calls; else None.

        Same steps, same seam calls in the same order, same reports: only the Python
        calls between them are gone (the fan-out hot path, issue 13).
        """
        cls = type(self)
        if self.queue_name == "ready" and isinstance(self, TaskWorker):
            return self._deliver if _standard(cls, TaskWorker, _TASK_HOOKS) else None
        if self.queue_name == "messages" and isinstance(self, MessageBroker):
            return self._route_one if _standard(cls, MessageBroker, _BROKER_HOOKS) else None
        return None

    def _run_failed(self, exc: BaseException) -> None:
        """Log what ``run()`` raised and report what it had taken but not delivered (D2)."""
        rt = self.runtime
        log_safely(logger, ERROR, "%s: run() raised; the thread goes on", self, exc_info=exc)
        try:
            message = self._message
            if message is not None:
                scheduled = {sub for sub, _ in self._deliveries}
                for sub in rt._route(message.topic, message.seq):
                    if sub not in scheduled:
                        rt._drop(message._copy_or_bare(), sub.channel, "error")
            task = self._task
            if task is not None and not task._handed:
                rt._drop(task.message, task.channel, "error")
        except BaseException as again:  # reporting failed too: say so, keep the thread
            if isinstance(again, rt.platform.thread_exit):
                raise
            log_safely(
                logger, ERROR, "%s: could not report what it had taken", self, exc_info=again
            )

    def _role_run(self) -> Callable[[], None]:
        """The standard ``run()`` of this worker's role, for a class that mistook its role."""
        standard = MessageBroker.run if self.queue_name == "messages" else TaskWorker.run
        log_safely(
            logger,
            ERROR,
            "%s: its run() asks for the other role's items; the thread runs the standard "
            "run() of its role from now on",
            self,
        )
        return lambda: standard(self)  # type: ignore[arg-type]

    def _finish(self) -> None:
        message, self._message = self._message, None
        if message is not None:
            deliveries, self._deliveries = self._deliveries, []
            self._routed.append((message, deliveries))
            if len(self._routed) >= self._route_batch:
                self._commit()
        task, self._task = self._task, None
        if task is not None:
            sub = task.subscription
            self._done += 1
            # Keep delivering this subscription while it has work, up to the batch size
            # (O4): no lock and no queue round trip per delivery. Only this worker pops
            # from the mailbox, so a non-empty mailbox stays non-empty until it does.
            if sub.mailbox and self._done < self._batch:
                self._held = sub
                return
            self._held = None
            done, self._done = self._done, 0
            self.runtime._release(sub, done)

    def _commit(self) -> None:
        """Commit the routed messages (callers only call it when there are some)."""
        routed, self._routed = self._routed, []
        self.runtime._commit_routes(routed)

    def run(self) -> None:
        raise NotImplementedError


class MessageBroker(Worker):
    """Routes each message to the channels subscribed to a matching topic when it was sent."""

    def run(self) -> None:
        # get message from the global message queue (filled by Channel.send())
        message = self.get_message()

        # all channels that were subscribed to a matching topic when it was sent;
        # schedule a task for each
        channels = self.get_channels(message)
        for channel in channels:
            self.schedule_task(channel=channel, message=message)

        logger.debug("%s tasks scheduled for %s", len(channels), message)  # Message's repr is safe

    def _route_one(self) -> None:
        """``run()`` above, for this class as it is (``Worker._lean_run``).

        The channels come from this runtime's index, each with the subscription that was
        live at the message's ``seq``: what ``schedule_task`` would look up and check.
        """
        message = self.get_message()
        found = self.runtime._route(message.topic, message.seq)
        self._matched = found
        self._deliveries = [(sub, message) for sub in found]
        logger.debug("%s tasks scheduled for %s", len(found), message)


class TaskWorker(Worker):
    """Runs one subscriber's handler on one message; a raising handler is logged, never fatal."""

    queue_name = "ready"

    def run(self) -> None:
        task = self.get_task()
        task._handed = True
        handler = self.handler_of(task)
        if handler is None:  # unsubscribed after get_task()'s check: a drop, reported (W3, D2)
            self.runtime._drop(task.message, task.channel, "unsubscribed")
            return
        try:
            result = handler(task.message)
            if result is not None and iscoroutine(result):
                result.close()  # never awaited: say so instead of a lost RuntimeWarning (A2)
                raise TypeError("the handler returned a coroutine; it must be a plain function")
        except BaseException as exc:  # even SystemExit must not end a worker thread (H1)
            if isinstance(exc, self.runtime.platform.thread_exit):
                raise
            self._handler_failed(task, handler, exc)
        finally:
            self._checkpoint("handler_end")

    def _deliver(self) -> None:
        """``get_task()`` and ``run()`` above, for this class as it is (``Worker._lean_run``),
        repeated while the subscription it holds has deliveries within the batch (O4).

        Each delivery is finished here as ``_finish`` would finish it; whatever ends a
        delivery early (a drop, a failed copy) leaves it to ``_loop``'s ``_finish``.
        """
        rt = self.runtime
        sub = self._held
        if sub is None:
            sub = rt._ready.get(timeout=self.timeout)
            if sub is STOP:
                raise _Stop
        mailbox = sub.mailbox
        channel = sub.channel
        checkpoint = self._checkpoint
        thread_exit = rt.platform.thread_exit
        task: Task = _new(Task)  # one per batch, its message set per delivery: only
        task.channel = channel  # _finish, _run_failed and _handler_failed see it
        task.subscription = sub
        while True:
            origin = mailbox.popleft()
            try:
                message = origin._copy_for_subscriber()
            except BaseException as exc:  # a failing __copy__, even KeyboardInterrupt (D2, V2)
                self._copy_failed(origin, sub, exc)
            task.message = message
            task._handed = False
            self._task = task
            checkpoint("handler_start")
            reason = _drop_reason(rt, message, sub)
            if reason is not None:
                rt._drop(message, channel, reason)
                raise Empty
            task._handed = True
            handler = sub.handler if sub.active else None  # handler_of(), inlined
            if handler is None:  # unsubscribed since the check above (W3, D2)
                rt._drop(message, channel, "unsubscribed")
                raise Empty
            try:
                result = handler(message)
                if result is not None and iscoroutine(result):
                    result.close()  # never awaited (A2)
                    raise TypeError("the handler returned a coroutine; it must be a plain function")
            except BaseException as exc:  # even SystemExit must not end a worker thread (H1)
                if isinstance(exc, thread_exit):
                    raise
                self._handler_failed(task, handler, exc)
            finally:
                checkpoint("handler_end")
            self._task = None
            self._done += 1
            if not mailbox or self._done >= self._batch:
                break
            self._held = sub
        self._held = None
        done, self._done = self._done, 0
        rt._release(sub, done)

    def handler_of(self, task: Task) -> Callable[[Message], Any] | None:
        """The handler to run for *task*: its own subscription's, None once it unsubscribed
        (never the channel's current handler: a re-subscription gets no old message, W2)."""
        sub = task.subscription
        return sub.handler if sub.active else None

    def _handler_failed(
        self, task: Task, handler: Callable[[Message], Any], error: BaseException
    ) -> None:
        """A handler raised *error*: log it and report it; the worker goes on (H1)."""
        log_safely(
            logger,
            ERROR,
            "exception was raised while running %s of %s on %s",
            handler,
            task.channel,
            task.message,
            exc_info=error,
        )
        self.runtime._emit("error", task.message, task.channel, safe_repr(error))
