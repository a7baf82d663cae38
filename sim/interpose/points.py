"""Every point where interposed code may switch virtual threads, and the execution it belongs to.

Interposed code (the implementation's private modules and the virtual standard library)
reaches the scheduler only through this module:

* ``point(op)`` -- a scheduling point before a lock acquire, after a release, before a
  thread start, before a delivery and at ``time.sleep``;
* ``block(what, deadline)`` -- park the current virtual thread until ``wake`` or the
  virtual deadline.

Each point is logged as ``"<op> <module>:<line>"``: the first frame outside the virtual
standard library and the harness (``sim.*``), i.e. the implementation's own line, so a replay
that diverges names the thread and the code location of the first differing step. A point
that only the harness reaches (an adapter building an executor) is logged with the harness
module's name and no line, so that editing the harness does not invalidate saved traces.

**Code outside the virtual world runs atomically.** All virtual threads share one OS
thread, so a real lock held across a switch would be "re-entered" by another greenlet (an
``RLock``) or deadlock the process (a ``Lock``). A point reached while a frame of a module
in ``ATOMIC_MODULES`` (the real ``logging`` package: its handler locks are real) is on the
stack is therefore skipped, and blocking there raises ``RealCodeBlocked`` instead of
switching. ``ACTIVE.sched`` is None outside an execution: then primitives act
atomically too (a lock is a flag; waiting for a held one is an error).
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

from sim.scheduler import Scheduler

__all__ = ["ACTIVE", "ATOMIC_MODULES", "RealCodeBlocked", "block", "point", "where"]

__chanspec_virtual__ = True  # frames of this module are not "where" a point is

#: Real modules whose frames make a point atomic (they hold real locks across callbacks).
ATOMIC_MODULES: tuple[str, ...] = ("logging", "logging.handlers", "logging.config")


class RealCodeBlocked(RuntimeError):
    """Interposed code tried to block while real code (e.g. a logging handler) was running it."""


class _Active:
    """The execution interposed code belongs to; ``sched`` is None between executions."""

    __slots__ = ("atomic_globals", "sched")

    def __init__(self) -> None:
        self.sched: Scheduler | None = None
        self.atomic_globals: tuple[dict[str, Any], ...] = ()


ACTIVE = _Active()


def _refresh_atomic() -> None:
    ACTIVE.atomic_globals = tuple(
        vars(sys.modules[name]) for name in ATOMIC_MODULES if name in sys.modules
    )


def where(frame: FrameType | None = None) -> str:
    """``module:line`` of the first implementation frame (see the module docstring)."""
    return _scan(frame if frame is not None else sys._getframe(1))[0]


def _scan(frame: FrameType | None = None) -> tuple[str, bool]:
    """(where, inside real code) for the caller of the primitive that asks."""
    f: FrameType | None = frame if frame is not None else sys._getframe(2)
    location = harness = ""
    atomic = ACTIVE.atomic_globals
    while f is not None:
        g = f.f_globals
        if not location and "__chanspec_virtual__" not in g:
            name = g.get("__name__", "?")
            if not name.startswith("sim."):
                location = f"{name}:{f.f_lineno}"
            elif not harness:
                harness = name
        for a in atomic:
            if g is a:
                return location or harness or "?", True
        f = f.f_back
    return location or harness or "?", False


def point(op: str) -> bool:
    """A scheduling point named *op*; False (no point) outside an execution or inside real code."""
    sched = ACTIVE.sched
    if sched is None or sched.current is None or sched._tearing_down:
        return False  # torn-down threads unwind atomically (a weakref callback may run then)
    location, atomic = _scan()
    if atomic:
        return False
    sched.point(f"{op} {location}")
    return True


def block(what: str, deadline: float | None) -> bool:
    """Park the current virtual thread (``Scheduler.block``): True if woken, False if timed out."""
    sched = ACTIVE.sched
    assert sched is not None
    location, atomic = _scan()
    if atomic and not sched._tearing_down:
        raise RealCodeBlocked(
            f"{what} would block at {location} while real code (logging) runs it: all virtual "
            "threads share one OS thread, so a real lock held here would deadlock the process"
        )
    return sched.block(f"{what} at {location}", deadline)
