"""Lona 1.16.2's unmodified channel code (``lona.channels``) behind the adapter protocol.

Nothing of Lona is copied or patched on disk: the adapter drives Lona's own ``Channel``,
``MessageBroker`` and ``TaskWorker``, constructed the way Lona's server constructs them
(``server=None``, an executor, the timeout). What it substitutes, it substitutes in the
places Lona *looks things up at run time*:

* ``Channel._channels``, ``Channel._messages``, ``Channel._tasks`` and ``Channel._lock``
  (class attributes: Lona's whole channel state is process-global) get fresh objects for
  each session;
* the name ``datetime`` in the ``lona.channels`` module namespace (read by
  ``Channel.send`` for timedelta expiries and by ``Message.is_expired``) becomes a
  subclass whose ``now()`` reads the virtual clock, in simulation only;
* the executor Lona's ``Worker.__init__`` submits ``self._run`` to.

Everything is put back when the session shuts down (``shutdown``/``close``).

**One session at a time per process.** Because the state is global, sessions are not
concurrent-safe: opening a second session while one is live raises ``RuntimeError``. The
one exception is a simulated session whose scheduler has finished (its run returned
without a shutdown, or was aborted): nothing of it can run any more, so the next
``open`` closes it first. A real-thread session must be shut down (or ``close``d, or
``close_live_session()``); if the process exits with one live, an exit hook stops its
workers so that the interpreter does not wait forever for Lona's endless worker loops.

**Simulation** (``platform`` is a ``SimPlatform``): the queues are ``_LonaQueue`` over
``SimQueue`` (``put``/``put_nowait``/``get(block, timeout)``/``empty``/``task_done``,
with ``queue.Empty`` exactly where ``queue.Queue`` raises it), the lock is a ``SimLock``,
``datetime.now()`` is naive virtual time (``EPOCH`` is virtual 0.0; Lona compares naive
datetimes), and ``submit`` starts a virtual thread. Every one of those is a scheduling
point. So is the adapter's handler wrapper, right before the driver's handler: on a real
thread a task worker can be preempted between taking a task and the handler's first line,
and without that point two task workers could never overtake each other there unless the
message had an expiry (whose clock read is the only other point on that path). An
exception escaping a worker's ``_run`` ends that virtual thread quietly and is recorded
in ``LonaSession.dead_workers`` -- as on a real ``ThreadPoolExecutor``, which keeps it in
a future nobody reads.

**Real threads** (``platform`` None): a fresh ``queue.Queue`` pair (still observed
through ``_LonaQueue``), a ``threading.Lock``, the real ``datetime``, and a real
``ThreadPoolExecutor(max_workers=B + W, thread_name_prefix='LonaChannelWorker')``; a done
callback records worker deaths without changing what the future holds.

**What is observed, and how** (Lona reports nothing itself):

* *Order.* ``send`` returns the message's position in ``Channel._messages`` (its FIFO
  rank, internal-topic messages included), taken atomically with the enqueue. That is
  Lona's linearisation point of ``send`` and the order in which brokers dequeue, so it is
  an honest sequence number; Lona assigns none of its own.
* *Drops.* ``Message.drop_if_possible`` logs every drop at DEBUG on logger
  ``lona.channels`` as ``'%s %s'`` with the message and the reason text. A filter on that
  logger reads the record's arguments (the message object itself) and reports
  ``drop`` with reason ``expired`` (' is expired'), ``shutdown`` (' is expired to shutdown
  worker') or ``dropped`` (' is dropped': a sibling copy was dropped first, Lona's E4
  divergence). A drop of a copy the same thread just took from ``Channel._tasks`` carries
  that task's channel; any other drop is a routing-time drop of the whole message
  (channel None). For the records to exist the adapter lowers the logger to DEBUG during
  the session; the filter passes on only the records the logger's previous level would
  have let through, so logging output is unchanged.
* *Routing.* The broker's ``'%s tasks scheduled for %s'`` record is reported as ``route``
  with the number of deliveries scheduled. Lona logs it after putting the tasks, so a
  task worker may already have started a handler for that message: in a Lona history a
  ``start`` can precede its message's ``route``.
* *Seen but not reported:* a task whose channel was unsubscribed after routing is skipped
  by the task worker with the DEBUG record ``'channel unsubscribed while running its
  handler'``, which names no message and does not mark it dropped. The adapter counts it
  as finished (for ``settle``) but does not report a drop: that would be the adapter's
  attribution, not Lona's report. In the history it is a silent loss.
* *Not observed:* which channels a message was routed to (only how many), the sender's
  ``Message.is_dropped()``, and work Lona loses without deciding anything: tasks left in
  ``_tasks`` after the task workers exited on shutdown, messages left behind a dead broker.
  Those get no report -- they appear as silent losses in the history, which is the truth.
  ``LonaSession.unfinished`` counts them.

**Settle** (real threads): an in-flight counter goes up before each put into either queue
and down when that item is finished: a message when its routing-time drop record or its
``tasks scheduled`` record is seen (after the broker has put every task it routed), a
task when its drop record is seen, when Lona skips it because the channel was unsubscribed
(its DEBUG record), or when the adapter's handler wrapper returns. Since every increment
happens before the item can be taken and every decrement after the work it stands for,
the counter is zero exactly when both queues are empty, no broker is mid-routing and no
handler runs. ``settle`` waits for zero for at most ``settle_timeout`` seconds (virtual
seconds in simulation) and then raises ``TimeoutError`` -- e.g. behind a dead broker.
(``queue.unfinished_tasks`` is useless: Lona never calls ``task_done``.)

**Shutdown.** ``shutdown`` calls Lona's ``Worker.shutdown()`` on every worker, which only
flips flags: Lona's own shutdown does *not* wait for anything to drain. The adapter then
joins the worker threads (each leaves its loop at the first empty non-blocking get), and
restores Lona's state. Work still queued when the task workers left is lost silently --
that is Lona's behaviour, kept. Channel objects made by ``channel()`` keep the session's
channel registry, lock and message queue as instance attributes (Lona reads them through
``self``; while the session is live they are the very objects on the class), so a
subscribe or send through them after the shutdown stays in the dead session instead of
leaking into Lona's process-global registry. The internal-topic notification such a late
subscribe/unsubscribe sends goes through a fresh ``Channel`` and so into Lona's restored
global ``_messages`` queue, where nothing reads it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Self

import lona
import lona.channels as lona_channels

from refimpl._seam import Platform
from sim.adapters.base import Handler, Report
from sim.primitives import EPOCH, SimPlatform, SimQueue, SimThread
from sim.scheduler import DONE, ExecutionAborted, Scheduler, VThread

__all__ = ["LONA_VERSION", "DeadWorker", "LonaAdapter", "LonaSession", "close_live_session"]

#: The Lona release this adapter drives; drop observation depends on its exact log texts.
LONA_VERSION = "1.16.2"

_LOGGER_NAME = "lona.channels"
_DROP_FORMAT = "%s %s"
_ROUTED_FORMAT = "%s tasks scheduled for %s"
_SKIPPED_FORMAT = "channel unsubscribed while running its handler"
_REASONS = {
    " is expired": "expired",
    " is expired to shutdown worker": "shutdown",
    " is dropped": "dropped",
}

_registry_lock = threading.Lock()
_live: LonaSession | None = None
_exit_hook_installed = False


@dataclass(frozen=True)
class DeadWorker:
    """A Lona worker whose ``_run`` loop ended with an exception (Lona loses it silently)."""

    name: str  #: e.g. ``MessageBroker-0``, ``TaskWorker-1`` (construction order)
    kind: str  #: ``MessageBroker`` or ``TaskWorker``
    error: BaseException


class _InFlight:
    """Accepted work not yet finished: see "Settle" in the module docstring."""

    def __init__(self, sched: Scheduler | None) -> None:
        self._sched = sched
        self._cond = threading.Condition() if sched is None else None
        self._waiters: list[VThread] = []  # simulation only
        self.count = 0

    def _guard(self) -> AbstractContextManager[Any]:
        return self._cond if self._cond is not None else nullcontext()

    def up(self) -> None:
        with self._guard():
            self.count += 1

    def down(self) -> None:
        with self._guard():
            self.count -= 1
            if self.count:
                return
            if self._cond is not None:
                self._cond.notify_all()
            elif self._sched is not None:
                for waiter in self._waiters:
                    self._sched.wake(waiter)  # no scheduling point: they run when chosen
                self._waiters.clear()

    def wait_idle(self, timeout: float) -> bool:
        """True once the count is zero; False after *timeout* (virtual seconds in simulation)."""
        if self._cond is not None:
            with self._cond:
                return self._cond.wait_for(lambda: self.count == 0, timeout)
        sched = self._sched
        assert sched is not None
        sched.point("lona settle")
        deadline = sched.time + timeout
        while self.count:
            me = sched.current
            assert me is not None
            self._waiters.append(me)
            if not sched.block("lona idle", deadline):
                if me in self._waiters:
                    self._waiters.remove(me)
                return self.count == 0
        return True


class _LonaQueue:
    """``queue.Queue`` as Lona uses it, over a ``SimQueue`` or a ``queue.Queue``, observed.

    Records, per thread, the last item put and the last item got (the session reads them to
    find a send's rank and a dropped copy's task), and counts every put as in-flight work.
    """

    def __init__(
        self, label: str, inflight: _InFlight, ident: Callable[[], int], sim: SimQueue | None
    ) -> None:
        self.label = label
        self._inflight = inflight
        self._ident = ident
        self._sim = sim
        self._real: queue.Queue[Any] | None = queue.Queue() if sim is None else None
        self._order = threading.Lock() if sim is None else None
        self._sched = sim._sched if sim is not None else None
        self._rank = 0
        self._unfinished = 0  # for task_done's ValueError, simulation only
        self.last_put: dict[int, tuple[Any, int]] = {}
        self.last_got: dict[int, Any] = {}

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        # Unbounded, as Lona's queues are: a put never waits, whatever block/timeout say.
        self._inflight.up()  # before the item can be taken, so the count never dips early
        if self._sim is not None:
            self._sim.put(item)  # its scheduling point comes before the append, so the rank
            rank = self._take_rank()  # is taken atomically with the enqueue
            self._unfinished += 1
        else:
            assert self._real is not None and self._order is not None
            with self._order:  # rank order == FIFO order across real threads
                self._real.put_nowait(item)
                rank = self._take_rank()
        self.last_put[self._ident()] = (item, rank)

    def _take_rank(self) -> int:
        rank = self._rank
        self._rank = rank + 1
        return rank

    def put_nowait(self, item: Any) -> None:
        self.put(item, block=False)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if self._sim is not None:
            if not block:
                timeout = 0.0
            elif timeout is not None and timeout < 0:
                raise ValueError("'timeout' must be a non-negative number")
            item = self._sim.get(timeout)  # raises queue.Empty, as queue.Queue.get does
        else:
            assert self._real is not None
            item = self._real.get(block, timeout)
        self.last_got[self._ident()] = item
        return item

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def empty(self) -> bool:
        if self._sim is not None:
            assert self._sched is not None
            self._sched.point("empty " + self.label)
            return self._sim.qsize() == 0
        assert self._real is not None
        return self._real.empty()

    def qsize(self) -> int:
        if self._sim is not None:
            return self._sim.qsize()
        assert self._real is not None
        return self._real.qsize()

    def task_done(self) -> None:
        if self._sim is None:
            assert self._real is not None
            self._real.task_done()
            return
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1


def _sim_datetime(sched: Scheduler) -> type[datetime]:
    class SimDatetime(datetime):
        """``datetime`` whose ``now()`` is the virtual clock: naive, like Lona's own calls."""

        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Self:
            sched.point("clock")
            moment = EPOCH + timedelta(seconds=sched.time)
            moment = moment.replace(tzinfo=None) if tz is None else moment.astimezone(tz)
            return cls.combine(moment.date(), moment.time(), moment.tzinfo)

    return SimDatetime


class _SimExecutor:
    """``submit(fn)`` starts a virtual thread running *fn*; an exception ends it quietly."""

    def __init__(self, platform: SimPlatform, on_death: Callable[[DeadWorker], None]) -> None:
        self._platform = platform
        self._on_death = on_death
        self.handles: list[tuple[SimThread, list[int]]] = []

    def submit(self, fn: Callable[[], object]) -> SimThread:
        name, kind = _worker_name(fn, len(self.handles))
        idents: list[int] = []

        def body() -> None:
            idents.append(self._platform.ident())
            try:
                fn()
            except ExecutionAborted:
                raise
            except Exception as exc:  # Lona's worker dies: recorded, not raised
                self._on_death(DeadWorker(name, kind, exc))

        handle = self._platform.start_thread(f"LonaChannelWorker-{name}", body)
        self.handles.append((handle, idents))
        return handle

    def join(self) -> None:
        me = self._platform.ident()
        for handle, idents in self.handles:
            if me not in idents:  # a worker thread shutting down cannot wait for itself
                handle.join()


class _RealExecutor:
    """A real ``ThreadPoolExecutor``; a done callback records a worker's death."""

    def __init__(self, max_workers: int, on_death: Callable[[DeadWorker], None]) -> None:
        self.pool = ThreadPoolExecutor(max_workers, thread_name_prefix="LonaChannelWorker")
        self._on_death = on_death
        self._count = 0
        self._idents: set[int] = set()

    def submit(self, fn: Callable[[], object]) -> Future[object]:
        name, kind = _worker_name(fn, self._count)
        self._count += 1

        def body() -> object:
            self._idents.add(threading.get_ident())
            return fn()

        def done(future: Future[object]) -> None:
            if not future.cancelled() and future.exception() is not None:
                error = future.exception()
                assert error is not None
                self._on_death(DeadWorker(name, kind, error))

        future = self.pool.submit(body)
        future.add_done_callback(done)
        return future

    def join(self) -> None:
        self.pool.shutdown(wait=threading.get_ident() not in self._idents)


def _worker_name(fn: Callable[[], object], index: int) -> tuple[str, str]:
    worker = getattr(fn, "__self__", None)
    kind = type(worker).__name__ if worker is not None else "worker"
    return f"{kind}-{index}", kind


@dataclass
class _Saved:
    channels: Any
    messages: Any
    tasks: Any
    lock: Any
    datetime: Any
    level: int
    disabled: bool


class _Observer(logging.Filter):
    """Reads Lona's DEBUG records for the session; passes on what the old level allowed."""

    def __init__(self, session: LonaSession, level: int, disabled: bool) -> None:
        super().__init__()
        self._session = session
        self._level = level
        self._disabled = disabled

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._session._observe(record)
        except Exception as exc:  # must not kill the Lona worker that logged
            self._session.observer_errors.append(exc)
        if self._disabled:
            return False
        level = self._level
        if level == logging.NOTSET:
            parent = logging.getLogger(_LOGGER_NAME).parent
            level = parent.getEffectiveLevel() if parent is not None else logging.WARNING
        return record.levelno >= level


class LonaSession:
    """One Lona channel system: see the module docstring for what is substituted and observed."""

    #: Lona's calls get the driver's arguments unchanged, except the handler (wrapped)
    features = frozenset({"expiry-datetime", "same-object", "bad-input"})

    def __init__(
        self,
        brokers: int,
        workers: int,
        timeout: float,
        platform: SimPlatform | None,
        report: Report,
        settle_timeout: float,
    ) -> None:
        self.brokers = brokers
        self.task_workers = workers
        self.timeout = timeout
        self.platform = platform
        self.settle_timeout = settle_timeout
        self._report = report
        self.sched: Scheduler | None = platform.sched if platform is not None else None
        self.dead_workers: list[DeadWorker] = []
        self.observer_errors: list[BaseException] = []
        self.workers: list[Any] = []  #: Lona's MessageBroker and TaskWorker objects
        self._inflight = _InFlight(self.sched)
        self._death_lock = threading.Lock()
        self._executor: _SimExecutor | _RealExecutor | None = None
        self._started = False
        self._shut = False
        self._saved: _Saved | None = None
        self._observer: _Observer | None = None
        self._ident: Callable[[], int] = threading.get_ident
        self._lock: Any = threading.Lock()
        messages: SimQueue | None = None
        tasks: SimQueue | None = None
        if platform is not None:
            self._ident = platform.ident
            self._lock = platform.lock()
            messages, tasks = platform.queue(), platform.queue()
        self._messages = _LonaQueue("lona messages", self._inflight, self._ident, messages)
        self._tasks = _LonaQueue("lona tasks", self._inflight, self._ident, tasks)
        self._channels: dict[str, list[Any]] = {}

    # the process-global state ------------------------------------------------------------
    @property
    def live(self) -> bool:
        return self._saved is not None

    def _stale(self) -> bool:
        """A simulated session whose run is over: none of its threads can run again."""
        sched = self.sched
        return sched is not None and bool(sched.threads) and sched.threads[0].state == DONE

    def _install(self) -> None:
        global _live
        with _registry_lock:
            if _live is not None:
                if not _live._stale():
                    raise RuntimeError(
                        "a Lona session is already live in this process: Lona keeps its channel "
                        "state in class attributes of lona.channels.Channel, so only one session "
                        "can run at a time per process. Shut the other down first "
                        "(session.shutdown(), or session.close() / close_live_session() after an "
                        "aborted run)."
                    )
                _live._restore_locked()
            if logging.root.manager.disable >= logging.DEBUG:
                raise RuntimeError(
                    "logging.disable() suppresses DEBUG records; the Lona adapter observes drops "
                    "through lona.channels' DEBUG records and would miss them"
                )
            logger = logging.getLogger(_LOGGER_NAME)
            channel_class = lona_channels.Channel
            self._saved = _Saved(
                channel_class._channels,
                channel_class._messages,
                channel_class._tasks,
                channel_class._lock,
                lona_channels.datetime,
                logger.level,
                logger.disabled,
            )
            channel_class._channels = self._channels
            channel_class._messages = self._messages
            channel_class._tasks = self._tasks
            channel_class._lock = self._lock
            if self.sched is not None:
                lona_channels.datetime = _sim_datetime(self.sched)
            self._observer = _Observer(self, logger.level, logger.disabled)
            logger.addFilter(self._observer)
            logger.disabled = False
            logger.setLevel(logging.DEBUG)
            _live = self
            if self.sched is None:
                _install_exit_hook()

    def _restore_locked(self) -> None:
        global _live
        saved = self._saved
        if saved is None:
            return
        channel_class = lona_channels.Channel
        channel_class._channels = saved.channels
        channel_class._messages = saved.messages
        channel_class._tasks = saved.tasks
        channel_class._lock = saved.lock
        lona_channels.datetime = saved.datetime
        logger = logging.getLogger(_LOGGER_NAME)
        if self._observer is not None:
            logger.removeFilter(self._observer)
        logger.setLevel(saved.level)
        logger.disabled = saved.disabled
        self._saved = None
        if _live is self:
            _live = None

    # observation --------------------------------------------------------------------------
    def _observe(self, record: logging.LogRecord) -> None:
        args: tuple[Any, ...] = record.args if isinstance(record.args, tuple) else ()
        if record.msg == _DROP_FORMAT and len(args) == 2 and args[1] in _REASONS:
            message = args[0]
            task = self._tasks.last_got.get(self._ident())
            channel = task.channel if task is not None and task.message is message else None
            try:
                self._report("drop", message.data, channel, _REASONS[args[1]])
            finally:
                self._inflight.down()
        elif record.msg == _ROUTED_FORMAT and len(args) == 2:
            try:
                self._report("route", args[1].data, None, str(args[0]))
            finally:
                self._inflight.down()
        elif record.msg == _SKIPPED_FORMAT:
            self._inflight.down()

    def _dead(self, worker: DeadWorker) -> None:
        with self._death_lock:
            self.dead_workers.append(worker)
        error = worker.error
        self._report("fault", None, None, f"{worker.name}: {type(error).__name__}: {error}")

    @property
    def unfinished(self) -> int:
        """Messages and tasks Lona accepted and has neither finished nor dropped."""
        return self._inflight.count

    # the Session protocol -----------------------------------------------------------------
    def start(self) -> None:
        if self._started or self._shut:
            return
        self._started = True
        if self.platform is not None:
            self._executor = _SimExecutor(self.platform, self._dead)
        else:
            self._executor = _RealExecutor(self.brokers + self.task_workers, self._dead)
        # As lona.server.Server does at startup: brokers first, then task workers.
        for _ in range(self.brokers):
            self.workers.append(lona_channels.MessageBroker(None, self._executor, self.timeout))
        for _ in range(self.task_workers):
            self.workers.append(lona_channels.TaskWorker(None, self._executor, self.timeout))

    def channel(self, topic: str) -> Any:
        channel = lona_channels.Channel(topic)
        # The very objects on the class while live; they keep a late call in this session.
        channel._channels = self._channels
        channel._messages = self._messages
        channel._lock = self._lock
        return channel

    def subscribe(self, channel: Any, handler: Handler) -> None:
        inflight = self._inflight
        platform = self.platform

        def on_message(message: Any) -> None:
            try:
                if platform is not None:
                    platform.checkpoint("lona deliver")
                handler(message.topic, message.data)
            finally:
                inflight.down()

        channel.subscribe(on_message)

    def unsubscribe(self, channel: Any) -> None:
        channel.unsubscribe()

    def send(
        self,
        channel: Any,
        data: dict[str, Any],
        expiry: timedelta | None,
        local: bool,
        droppable: bool,
    ) -> str:
        message = channel.send(message_data=data, expiry=expiry, local=local, droppable=droppable)
        put = self._messages.last_put.get(self._ident())
        return str(put[1]) if put is not None and put[0] is message else ""

    def settle(self) -> None:
        if not self._inflight.wait_idle(self.settle_timeout):
            dead = ", ".join(
                f"{d.name} ({type(d.error).__name__}: {d.error})" for d in self.dead_workers
            )
            raise TimeoutError(
                f"Lona did not become idle within {self.settle_timeout} s: {self.unfinished} "
                f"message(s)/task(s) unfinished" + (f"; dead workers: {dead}" if dead else "")
            )

    def shutdown(self) -> None:
        """Lona's shutdown (flags only), then join the worker threads, then restore Lona's state."""
        if self._shut:
            return
        self._shut = True
        for worker in self.workers:
            worker.shutdown()
        if self._executor is not None:
            self._executor.join()
        self._close_state()
        if self.observer_errors:
            first = self.observer_errors[0]
            raise RuntimeError(f"observing Lona failed: {first!r}") from first

    def close(self) -> None:
        """Stop the workers (Lona's shutdown flags) and restore Lona's state without joining.

        For a session whose run was aborted, or never shut down; a simulated session whose
        scheduler has finished is closed by the next ``open`` anyway.
        """
        self._shut = True
        for worker in self.workers:
            worker.shutdown()
        self._close_state()

    def _close_state(self) -> None:
        with _registry_lock:
            self._restore_locked()


def close_live_session() -> None:
    """Close the process's live Lona session, if any (harness cleanup)."""
    with _registry_lock:
        session = _live
    if session is not None:
        session.close()


def _install_exit_hook() -> None:
    """Stop a real session's workers at interpreter exit, before the executor joins them."""
    global _exit_hook_installed
    if _exit_hook_installed:
        return
    _exit_hook_installed = True
    register = getattr(threading, "_register_atexit", None)
    if register is not None:  # runs before concurrent.futures' own hook (registered earlier)
        register(close_live_session)


class LonaAdapter:
    """Lona 1.16.2 as an implementation; ``one_worker`` is Lona's "safe" 1-broker/1-worker setup."""

    def __init__(self, one_worker: bool = False, settle_timeout: float = 10.0) -> None:
        self.one_worker = one_worker
        self.settle_timeout = settle_timeout
        self.name = "lona-1worker" if one_worker else "lona"

    def open(
        self, settings: dict[str, Any], platform: Platform | None, report: Report
    ) -> LonaSession:
        if lona.VERSION_STRING != LONA_VERSION:
            raise RuntimeError(
                f"this adapter drives Lona {LONA_VERSION} (its drop observation reads that "
                f"release's log texts); installed: {lona.VERSION_STRING}"
            )
        if platform is not None and not isinstance(platform, SimPlatform):
            raise TypeError("the Lona adapter runs on a SimPlatform, or on real threads (None)")
        if self.one_worker:
            brokers, workers = 1, 1
        else:
            brokers = int(settings.get("MAX_CHANNEL_MESSAGE_BROKER_THREADS", 1))
            workers = int(settings.get("MAX_CHANNEL_TASK_WORKER_THREADS", 4))
        timeout = float(settings.get("CHANNEL_WORKER_TIMEOUT", 1.0))
        session = LonaSession(brokers, workers, timeout, platform, report, self.settle_timeout)
        session._install()
        return session
