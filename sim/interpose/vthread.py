"""A virtual ``_thread``: the ten functions ``threading.py`` needs, on the deterministic scheduler.

``threading``, ``queue`` and ``concurrent.futures`` are built over this module (see
``sim.interpose.stdlib``), so every lock, condition, event, queue and executor the
implementation uses reduces to ``LockType`` below, and every thread it starts is a virtual
thread. Deliberately absent: ``RLock``, ``_local``, ``_excepthook`` -- ``threading`` then
uses its pure-Python ``_PyRLock``, ``_threading_local.local`` and excepthook (the C ones
belong to the OS thread, which all virtual threads share).

A lock is unowned (any thread may release it), as ``_thread.LockType`` is. ``acquire`` is
a scheduling point before the attempt and ``release`` one after; a thread that must wait
parks until a release wakes it (FIFO) or its virtual deadline passes. Thread idents are
``virtual thread id + 1``; between executions ``get_ident()`` is the main thread's (1).
"""

from __future__ import annotations

import _thread as _real_thread
import itertools
import types
from collections import deque
from collections.abc import Callable
from typing import Any

import greenlet

from sim.interpose import points
from sim.scheduler import ExecutionAborted, VThread

__chanspec_virtual__ = True

MAIN_IDENT = 1
TIMEOUT_MAX = _real_thread.TIMEOUT_MAX
error = RuntimeError

#: hash serials: reset per execution so that hashes (and so set order) repeat
_serials = itertools.count(1)


def reset_serials(start: int) -> None:
    global _serials
    _serials = itertools.count(start)


def serial() -> int:
    return next(_serials)


class _Registry:
    """Per-execution bookkeeping: sentinels to release when a thread ends, uncaught errors."""

    def __init__(self) -> None:
        self.sentinels: dict[int, list[LockType]] = {}
        self.errors: list[tuple[str, BaseException]] = []
        #: told of each uncaught error as it happens (the driver records a ``fault``, V2)
        self.on_error: Callable[[str, BaseException], None] | None = None
        self.started = 0
        self.running = 0

    def error(self, name: str, exc: BaseException) -> None:
        self.errors.append((name, exc))
        if self.on_error is not None:
            self.on_error(name, exc)


REGISTRY = _Registry()


class LockType:
    """``_thread.lock`` on virtual threads."""

    __slots__ = ("__weakref__", "_hash", "_locked", "_waiters")

    def __init__(self) -> None:
        self._locked = False
        self._waiters: deque[VThread] = deque()
        self._hash = next(_serials)

    def __hash__(self) -> int:
        return self._hash

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not blocking and timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        if not points.point("acquire"):
            return self._acquire_atomically(blocking, timeout)
        sched = points.ACTIVE.sched
        assert sched is not None
        deadline = None if timeout < 0 else sched.time + timeout
        while self._locked:
            if not blocking or timeout == 0:
                return False
            me = sched.current
            assert me is not None
            self._waiters.append(me)
            if not points.block("lock", deadline):
                if me in self._waiters:
                    self._waiters.remove(me)
                if self._locked:
                    return False
        self._locked = True
        return True

    def _acquire_atomically(self, blocking: bool, timeout: float) -> bool:
        """No scheduling point here (between executions, or inside real code): a flag."""
        if not self._locked:
            self._locked = True
            return True
        if not blocking or timeout == 0:
            return False
        sched = points.ACTIVE.sched
        if sched is None or sched.current is None:
            raise RuntimeError(
                "a virtual lock is held and no simulated execution is running to release it"
            )
        points.block("lock", None)  # inside real code: raises RealCodeBlocked, never switches
        return False  # pragma: no cover

    acquire_lock = acquire

    def release(self) -> None:
        if not self._locked:
            sched = points.ACTIVE.sched
            if sched is not None and sched._tearing_down:
                return  # unwinding a torn-down thread whose acquire never completed
            raise RuntimeError("release unlocked lock")
        self._release()
        points.point("release")

    release_lock = release

    def _release(self) -> None:
        self._locked = False
        if self._waiters:
            sched = points.ACTIVE.sched
            waiter = self._waiters.popleft()
            if sched is not None:
                sched.wake(waiter)

    def locked(self) -> bool:
        return self._locked

    locked_lock = locked

    def _at_fork_reinit(self) -> None:
        self._locked = False
        self._waiters.clear()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<virtual {'locked' if self._locked else 'unlocked'} _thread.lock>"


def allocate_lock() -> LockType:
    return LockType()


allocate = allocate_lock


def get_ident() -> int:
    sched = points.ACTIVE.sched
    if sched is None or sched.current is None:
        return MAIN_IDENT
    return sched.current.id + 1


get_native_id = get_ident


def _set_sentinel() -> LockType:
    """A lock released when the calling virtual thread ends (what ``Thread.join`` waits on)."""
    lock = LockType()
    REGISTRY.sentinels.setdefault(get_ident(), []).append(lock)
    return lock


def _thread_name(function: Callable[..., Any]) -> str:
    owner = getattr(function, "__self__", None)
    name = getattr(owner, "name", None)
    return name if isinstance(name, str) else f"thread-{REGISTRY.started}"


def start_new_thread(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any] | None = None
) -> int:
    sched = points.ACTIVE.sched
    if sched is None:
        raise RuntimeError("can't start a virtual thread outside a simulated execution")
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    kw = kwargs or {}
    REGISTRY.started += 1
    name = _thread_name(function)

    def body() -> None:
        REGISTRY.running += 1
        ident = get_ident()
        try:
            function(*args, **kw)
        except SystemExit:
            pass
        except (greenlet.GreenletExit, ExecutionAborted):
            raise
        except BaseException as exc:  # as _thread does: the thread ends, the process goes on
            REGISTRY.error(name, exc)
        finally:
            REGISTRY.running -= 1
            for lock in REGISTRY.sentinels.pop(ident, ()):
                if lock.locked():
                    lock._release()

    points.point("start")
    return sched.spawn(name, body).id + 1


start_new = start_new_thread


def stack_size(size: int = 0) -> int:
    return 0


def _count() -> int:
    return REGISTRY.running


def exit() -> None:
    raise SystemExit


exit_thread = exit


def interrupt_main(signum: int = 2) -> None:
    raise NotImplementedError("interrupt_main is not interposed (signals are not simulated)")


def daemon_threads_allowed() -> bool:
    return True


def module() -> types.ModuleType:
    """A fresh ``_thread`` module object over this implementation."""
    mod = types.ModuleType("_thread", __doc__)
    for name in (
        "LockType",
        "allocate_lock",
        "allocate",
        "get_ident",
        "get_native_id",
        "_set_sentinel",
        "start_new_thread",
        "start_new",
        "stack_size",
        "_count",
        "exit",
        "exit_thread",
        "interrupt_main",
        "daemon_threads_allowed",
        "error",
        "TIMEOUT_MAX",
    ):
        setattr(mod, name, globals()[name])
    mod.__dict__["__chanspec_virtual__"] = True
    return mod
