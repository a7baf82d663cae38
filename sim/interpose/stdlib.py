"""The virtual standard library: fresh copies of ``threading``, ``queue``, ``concurrent.futures``...

``build()`` imports fresh copies of the standard library's own pure-Python modules while
``sys.modules`` holds the virtual ``_thread``, ``time``, ``datetime`` and ``os`` (and a
``_queue`` without ``SimpleQueue``), then puts ``sys.modules`` back -- the technique of
CPython's ``test.support.import_helper.import_fresh_module``. Every ``Lock``, ``RLock``,
``Condition``, ``Event``, ``Semaphore``, ``Barrier``, ``Timer``, ``Thread``, ``local``,
``Queue``/``LifoQueue``/``PriorityQueue``/``SimpleQueue`` and ``ThreadPoolExecutor`` is then
virtual with the standard library's exact semantics. Built once per process (~20 ms).

Pitfalls this module handles (``/work/shared/design/interposition.md`` section 2):

1. *Harness leakage*: the real modules the copies import (``logging`` above all) are
   imported for real first, and the build checks it added nothing else to ``sys.modules``.
2. *State carried between executions*: ``reset`` clears ``threading``'s registries, counters
   and shutdown flags and the executor module's, and makes a fresh ``_MainThread`` (the
   execution's thread 0).
3. *Memory addresses*: classes of the copies that hash by identity hash by a serial number
   instead (``serial_hash``), so sets of threads or futures iterate in an order that depends
   on the execution only.
4. *C internals*: no C ``SimpleQueue``, ``RLock``, ``_local`` (see ``vthread``).
5. *Executor hooks*: ``os.register_at_fork`` calls are recorded in ``FORK_HOOKS``, not
   registered (a fork would run virtual code outside any execution);
   ``threading._register_atexit`` goes to the virtual ``threading`` and is reset per execution.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import os as _real_os
import sys
import types
from collections.abc import Callable
from typing import Any

import greenlet

from sim.interpose import points, vclock, vthread
from sim.scheduler import ExecutionAborted

__all__ = ["FORK_HOOKS", "VIRTUAL_NAMES", "build", "reset", "serial_hash"]

#: Module names the implementation sees as virtual copies.
VIRTUAL_NAMES: tuple[str, ...] = (
    "_thread",
    "time",
    "datetime",
    "threading",
    "_threading_local",
    "queue",
    "concurrent",
    "concurrent.futures",
    "concurrent.futures._base",
    "concurrent.futures.thread",
)
_FRESH = (
    "threading",
    "_threading_local",
    "queue",
    "concurrent",
    "concurrent.futures",
    "concurrent.futures._base",
    "concurrent.futures.thread",
)
#: The real modules the fresh copies import, imported for real before the build.
_REAL_FIRST = (
    "logging",
    "traceback",
    "collections",
    "functools",
    "itertools",
    "heapq",
    "types",
    "weakref",
    "_weakrefset",
    "warnings",
    "threading",
    "queue",
    "concurrent.futures.thread",
)
#: What the threads' cpu count is in the virtual world (ThreadPoolExecutor's default size).
CPU_COUNT = 4

#: (before, after_in_child, after_in_parent) of every os.register_at_fork the copies made.
FORK_HOOKS: list[dict[str, Any]] = []

_QUIET = (greenlet.GreenletExit, ExecutionAborted)  # a torn-down thread is not an error
_built: dict[str, types.ModuleType] | None = None
_atexits: list[Any] = []


def serial_hash(self: object) -> int:
    """A hash that depends on when the object was first hashed in the execution, not its address."""
    d = self.__dict__
    try:
        return int(d["_chanspec_hash"])
    except KeyError:
        h = d["_chanspec_hash"] = vthread.serial()
        return h


def deterministic_hash(cls: type) -> None:
    """Give *cls* ``serial_hash`` if it hashes by identity and its instances have a ``__dict__``."""
    if getattr(cls, "__hash__", None) is object.__hash__ and cls.__dictoffset__ != 0:
        setattr(cls, "__hash__", serial_hash)  # noqa: B010


def _virtual_os() -> types.ModuleType:
    mod = types.ModuleType("os", _real_os.__doc__)
    mod.__dict__.update(_real_os.__dict__)

    def register_at_fork(**hooks: Callable[[], object]) -> None:
        FORK_HOOKS.append(hooks)

    mod.register_at_fork = register_at_fork  # type: ignore[attr-defined]
    mod.cpu_count = lambda: CPU_COUNT  # type: ignore[attr-defined]
    return mod


def _no_process_pool(name: str) -> Any:
    raise AttributeError(
        f"concurrent.futures.{name} is not interposed (only ThreadPoolExecutor runs on virtual "
        "threads); see 'What is interposed' in specs/adapter-protocol.md"
    )


def build() -> dict[str, types.ModuleType]:
    """The virtual modules by name, built on first call."""
    global _built
    if _built is not None:
        return _built
    for name in _REAL_FIRST:
        importlib.import_module(name)
    points._refresh_atomic()
    substitutes: dict[str, Any] = {
        "_thread": vthread.module(),
        "time": vclock.time_module(),
        "datetime": vclock.datetime_module(),
        "os": _virtual_os(),
        "_queue": types.ModuleType("_queue"),
    }
    # queue.Empty stays one class, inside and outside the virtual world
    substitutes["_queue"].Empty = importlib.import_module("_queue").Empty
    touched = (*substitutes, *_FRESH)
    saved = {name: sys.modules.get(name) for name in touched}
    before = set(sys.modules)
    built: dict[str, types.ModuleType] = {}
    try:
        for name in _FRESH:
            sys.modules.pop(name, None)
        sys.modules.update(substitutes)
        for name in _FRESH:
            built[name] = importlib.import_module(name)
        built["concurrent.futures"].ThreadPoolExecutor  # noqa: B018 - binds the lazy name
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    added = set(sys.modules) - before
    if added:
        raise RuntimeError(f"building the virtual stdlib imported real modules late: {added}")
    for name in ("_thread", "time", "datetime"):
        built[name] = substitutes[name]
    _finish(built)
    _built = built
    return built


def _finish(built: dict[str, types.ModuleType]) -> None:
    for name, module in built.items():
        module.__dict__["__chanspec_virtual__"] = True
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == name:
                deterministic_hash(value)
    threading = built["threading"]
    threading.excepthook = _record_thread_error  # type: ignore[attr-defined]
    # The executor logs whatever ends a worker, the teardown of a leftover thread included:
    # its records go to a child logger that drops those (and passes everything else on).
    logger = logging.getLogger("concurrent.futures.virtual")
    logger.addFilter(_not_teardown)
    built["concurrent.futures._base"].LOGGER = logger  # type: ignore[attr-defined]
    futures: Any = built["concurrent.futures"]
    futures.__getattr__ = _no_process_pool
    futures.__all__ = [n for n in futures.__all__ if n != "ProcessPoolExecutor"]
    _atexits[:] = threading._threading_atexits


def _not_teardown(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    while exc is not None:
        if isinstance(exc, _QUIET):
            return False
        exc = exc.__context__
    return True


def _record_thread_error(args: Any) -> None:
    """``threading.excepthook`` of the virtual world: record, print nothing (campaigns run many)."""
    exc = args.exc_value
    if exc is None or isinstance(exc, (SystemExit, *_QUIET)) or _tearing_down():
        return
    name = args.thread.name if args.thread is not None else "?"
    vthread.REGISTRY.error(name, exc)


def _tearing_down() -> bool:
    sched = points.ACTIVE.sched
    return sched is not None and sched._tearing_down


def reset(serial_start: int = 1_000_000) -> None:
    """Forget everything the previous execution left in the virtual modules (pitfall 2).

    Runs between executions (``points.ACTIVE.sched`` is None), so it has no scheduling points.
    """
    built = build()
    vthread.REGISTRY.__init__()  # type: ignore[misc]
    vthread.reset_serials(serial_start)
    th: Any = built["threading"]
    th._active.clear()
    th._limbo.clear()
    th._dangling.clear()
    th._active_limbo_lock = th._PyRLock()
    th._shutdown_locks_lock = vthread.LockType()
    th._shutdown_locks.clear()
    th._counter = itertools.count(1).__next__
    th._SHUTTING_DOWN = False
    th._threading_atexits[:] = _atexits
    th.excepthook = _record_thread_error
    th._main_thread = th._MainThread()
    executor: Any = built["concurrent.futures.thread"]
    executor._threads_queues.clear()
    executor._shutdown = False
    executor._global_shutdown_lock = th.Lock()
    executor.ThreadPoolExecutor._counter = itertools.count().__next__
