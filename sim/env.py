"""Where the driver plays a scenario: on the simulator or on real threads.

An ``Env`` is everything the driver (``sim.driver``) does not decide itself: how its
threads start and join, what the clock says, how to sleep, how to wait until the
implementation is quiet (*settle*), how to make its own bookkeeping atomic, and how an
event is stamped into the history.

* ``SimEnv``: virtual threads on a ``sim.scheduler.Scheduler``, the virtual clock, and
  no locking at all (one virtual thread runs at a time, and the driver adds no
  scheduling points); the implementation gets a ``SimPlatform`` that also reports the
  end of each of its threads (``watch``).
* ``RealEnv``: OS threads, the monotonic clock scaled to scenario seconds, and one lock;
  an implementation thread that dies is heard through ``threading.excepthook`` while a
  run lasts (``thread_faults``).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

from greenlet import GreenletExit

from refimpl._seam import Platform
from sim.adapters.base import Session
from sim.history import Event, History, make_event
from sim.oracle.progress import unresolved
from sim.primitives import EPOCH, SimPlatform, SimThread
from sim.scenario import Expiry
from sim.scheduler import ExecutionAborted, Scheduler

if TYPE_CHECKING:
    from sim.driver import _Run

__all__ = ["Env", "RealEnv", "Recorder", "SimEnv", "ThreadEnd", "thread_faults"]

_SETTLE_TICK = 0.05  #: virtual seconds a settling driver lets pass before it looks again

ThreadEnd = Callable[[str, "BaseException | None"], None]


class Recorder(Protocol):
    def __call__(self, kind: str, msg: int = -1, sub: int = -1, info: str = "") -> int: ...


class Env(Protocol):
    @property
    def platform(self) -> Platform | None: ...

    @property
    def scale(self) -> float:
        """Real seconds per scenario second."""
        ...

    def now(self) -> float: ...

    def thread(self) -> int: ...

    def spawn(self, name: str, fn: Callable[[], None]) -> Any: ...

    def join(self, handle: Any) -> None: ...

    def sleep(self, seconds: float) -> None: ...

    def settle(self, session: Session, run: _Run) -> str:
        """Wait for quiescence; "" or, if it gave up, ``bound=<seconds>`` (settle_ret's info)."""
        ...

    def atomic(self) -> AbstractContextManager[Any]: ...

    def expiry_value(self, expiry: Expiry) -> timedelta | datetime:
        """What ``send()`` is passed for *expiry*, on the implementation's clock."""
        ...

    def watch(self, on_end: ThreadEnd) -> None:
        """Call *on_end(name, exception or None)* when an implementation thread ends."""
        ...

    def recorder(self, history: History) -> Recorder:
        """``record(kind, msg, sub, info)``: add an event to *history* atomically, stamped
        with this clock and thread; returns its index."""
        ...


def _expiry_value(now: datetime, expiry: Expiry, scale: float, local: bool) -> timedelta | datetime:
    delta = timedelta(seconds=expiry.seconds * scale)
    if expiry.kind == "timedelta":
        return delta
    moment = now + delta
    if expiry.kind == "naive":  # local time: the process's zone, or UTC in simulation
        return (moment.astimezone() if local else moment).replace(tzinfo=None)
    if expiry.kind == "offset":
        return moment.astimezone(timezone(timedelta(minutes=expiry.offset_minutes)))
    return moment


class _WatchedPlatform(SimPlatform):
    """The implementation's ``SimPlatform``: it also tells the driver when a thread ends."""

    on_end: ThreadEnd | None = None

    def start_thread(self, name: str, target: Callable[[], None]) -> SimThread:
        def body() -> None:
            try:
                target()
            except (GreenletExit, ExecutionAborted):
                raise  # the scheduler ending the execution, not the thread failing
            except BaseException as exc:
                if self.on_end is not None:
                    self.on_end(name, exc)
                return
            if self.on_end is not None:
                self.on_end(name, None)

        return super().start_thread(name, body)




class SimEnv:
    def __init__(self, sched: Scheduler) -> None:
        self.sched = sched
        self.platform: SimPlatform = _WatchedPlatform(sched)
        self.scale = 1.0
        # One virtual thread runs at a time, so the driver's bookkeeping needs no lock; an
        # RLock is a context manager implemented in C that never waits here (every virtual
        # thread is on this one OS thread), cheaper to enter than ``nullcontext``.
        self._atomic = threading.RLock()

    def now(self) -> float:
        return self.sched.time

    def thread(self) -> int:
        current = self.sched.current
        return current.id if current is not None else 0

    def spawn(self, name: str, fn: Callable[[], None]) -> Any:
        return SimPlatform.start_thread(self.platform, name, fn)  # a driver thread: not watched

    def join(self, handle: Any) -> None:
        handle.join()

    def sleep(self, seconds: float) -> None:
        self.sched.sleep(seconds)

    def settle(self, session: Session, run: _Run) -> str:
        """Quiescence in simulation (spec section 17, "Settle"): no thread can run, no handler
        is running, and every delivery the history makes certain so far is resolved.

        Until then the virtual clock moves on, in ticks, through the implementation's
        pending timeouts (an implementation whose idle workers poll makes progress only as
        time passes), but at most ``scenario.settle_bound`` virtual seconds without any new
        event in the history: then settle gives up and says so (``bound=<seconds>``), and
        what is still unresolved is a liveness finding that names the bound.
        """
        sched = self.sched
        bound = run.scenario.settle_bound
        sched.wait_quiescent()
        seen = len(run.history.events)
        limit = sched.time + bound
        while run.running or unresolved(run.history):
            if len(run.history.events) != seen:
                seen = len(run.history.events)
                limit = sched.time + bound
            elif sched.time >= limit:
                return f"bound={bound:g}"
            sched.sleep(_SETTLE_TICK)
            sched.wait_quiescent()
        return ""

    def atomic(self) -> AbstractContextManager[Any]:
        return self._atomic  # one thread runs at a time: nothing to lock

    def expiry_value(self, expiry: Expiry) -> timedelta | datetime:
        # the virtual clock, read without a scheduling point (the driver adds none)
        return _expiry_value(EPOCH + timedelta(seconds=self.sched.time), expiry, 1.0, False)

    def watch(self, on_end: ThreadEnd) -> None:
        assert isinstance(self.platform, _WatchedPlatform)
        self.platform.on_end = on_end

    def recorder(self, history: History) -> Recorder:
        # One thread runs at a time and recording adds no scheduling point: the event is
        # appended straight away (the driver records several events per delivery).
        sched = self.sched
        events = history.events
        append = events.append

        def record(kind: str, msg: int = -1, sub: int = -1, info: str = "") -> int:
            if sched._tearing_down:  # the execution is over: a call or handler unwinding
                return -1  # (or one that swallowed the teardown and went on) did nothing
            index = len(events)
            current = sched.current
            thread = current.id if current is not None else 0
            append(make_event(Event, (index, sched.time, thread, kind, msg, sub, info)))
            return index

        return record


class RealEnv:
    def __init__(self, scale: float = 0.01) -> None:
        self.platform = None
        self.scale = scale
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._numbers: dict[int, int] = {}
        self.names: dict[int, str] = {}  #: thread number -> the thread's name
        self._count = itertools.count()
        self.errors: list[BaseException] = []  # what escaped a sender thread
        self.on_end: ThreadEnd | None = None
        self.oversleep = 0.0  # the latest a sleeping thread woke up (real seconds): machine load

    def now(self) -> float:
        return (time.monotonic() - self._t0) / self.scale

    def thread(self) -> int:
        ident = threading.get_ident()
        number = self._numbers.get(ident)
        if number is None:
            number = self._numbers.setdefault(ident, next(self._count))
            self.names.setdefault(number, threading.current_thread().name)
        return number

    def spawn(self, name: str, fn: Callable[[], None]) -> Any:
        def guarded() -> None:
            try:
                fn()
            except BaseException as exc:  # re-raised by play_real
                self.errors.append(exc)

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        return thread

    def join(self, handle: Any) -> None:
        handle.join()

    def sleep(self, seconds: float) -> None:
        begin = time.monotonic()
        time.sleep(seconds * self.scale)
        late = time.monotonic() - begin - seconds * self.scale
        with self._lock:
            self.oversleep = max(self.oversleep, late)

    def settle(self, session: Session, run: _Run) -> str:
        session.settle()
        return ""

    def atomic(self) -> AbstractContextManager[Any]:
        return self._lock

    def expiry_value(self, expiry: Expiry) -> timedelta | datetime:
        return _expiry_value(datetime.now(UTC), expiry, self.scale, True)

    def watch(self, on_end: ThreadEnd) -> None:
        """Threads the implementation starts end through ``threading.excepthook`` when they
        raise; ``play_real`` installs a hook that reports them while the run lasts."""
        self.on_end = on_end

    def recorder(self, history: History) -> Recorder:
        lock = self._lock
        now = self.now
        thread = self.thread

        def record(kind: str, msg: int = -1, sub: int = -1, info: str = "") -> int:
            with lock:  # the index is the event's place in the one order of the run
                history.add(now(), thread(), kind, msg, sub, info)
                return len(history.events) - 1

        return record


@contextmanager
def thread_faults(env: RealEnv) -> Iterator[None]:
    """While a real run lasts, an exception that ends one of the implementation's threads is
    recorded as a fault (the driver's own sender threads catch theirs)."""
    previous = threading.excepthook

    def hook(args: Any) -> None:
        if env.on_end is not None and args.exc_value is not None:
            name = args.thread.name if args.thread is not None else "?"
            env.on_end(name, args.exc_value)
            return  # a fault in the history, named in the verdict: no traceback on stderr
        previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous
