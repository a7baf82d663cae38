"""Run unmodified implementations under the deterministic scheduler: stdlib interposition.

The implementation's modules are loaded as private copies (``loader``) that import a
virtual standard library (``stdlib``): fresh copies of ``threading``, ``queue`` and
``concurrent.futures`` built over a virtual ``_thread`` (``vthread``) and virtual ``time``
and ``datetime`` (``vclock``). Every thread they start is a virtual thread on
``sim.scheduler.Scheduler``; every scheduling point goes through ``points``; ``execution``
activates the world for one execution and ends it cleanly.

Public surface (what adapters and other sim modules use)::

    begin(sched)            activate the virtual world for this execution (from inside it)
    private(roots)          private module copies over the virtual stdlib: mods["pkg.mod"]
    real_private(roots)     the same over the real stdlib (runs on real threads)
    point(op) / block(...)  a scheduling point / park, as interposed primitives do
    where(frame)            "module:line" of the first frame outside the virtual stdlib
    ACTIVE.sched            the active scheduler (None between executions)
    virtual_modules()       the virtual stdlib by module name
    thread_errors()         (thread name, exception) that escaped virtual threads this execution
    on_thread_error(hook)   call hook(name, exception) as each one escapes (the driver's fault)
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from sim.interpose import stdlib, vthread
from sim.interpose.execution import begin, end, private, real_private
from sim.interpose.loader import PrivateModules
from sim.interpose.points import ACTIVE, ATOMIC_MODULES, RealCodeBlocked, block, point, where

__all__ = [
    "ACTIVE",
    "ATOMIC_MODULES",
    "PrivateModules",
    "RealCodeBlocked",
    "begin",
    "block",
    "end",
    "on_thread_error",
    "point",
    "private",
    "real_private",
    "thread_errors",
    "virtual_modules",
    "where",
]


def virtual_modules() -> dict[str, ModuleType]:
    return dict(stdlib.build())


def thread_errors() -> list[tuple[str, BaseException]]:
    return list(vthread.REGISTRY.errors)


def on_thread_error(hook: Callable[[str, BaseException], None] | None) -> None:
    """Call *hook(thread name, exception)* when an error escapes a virtual thread, for the
    rest of this execution (``begin`` forgets it)."""
    vthread.REGISTRY.on_error = hook
