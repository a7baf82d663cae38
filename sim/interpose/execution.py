"""One interposed execution: activate the virtual world on a scheduler, and end it cleanly.

``begin(sched)`` is called from inside the execution (the v2 adapter wrapper's ``open``,
running on virtual thread 0). It

1. resets the virtual standard library (``stdlib.reset``: nothing of the previous execution
   survives -- threads, counters, executor flags; thread 0 becomes ``threading.main_thread()``),
   with hash serials restarting, so the execution's hashes and set orders repeat;
2. disables the garbage collector: finalizers and weakref callbacks would otherwise run
   virtual operations at allocation-dependent moments (pitfall 7). Reference counting still
   frees acyclic garbage deterministically;
3. makes ``sched`` the active scheduler of every virtual primitive;
4. registers ``end`` as the scheduler's finalizer: after the scheduler has torn down the
   threads left blocked (their ``finally`` blocks run, any scheduling point they reach ends
   them), the world is deactivated and the collector restored, so leftover cycles are
   collected between executions, where virtual operations are atomic.

``private(roots)`` gives the private module copies for this execution.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence

from sim.interpose import points, stdlib
from sim.interpose.loader import PrivateModules
from sim.scheduler import Scheduler

__all__ = ["begin", "end", "private", "real_private"]

_gc_was_enabled: list[bool] = []


def begin(sched: Scheduler, on_end: Sequence[Callable[[], None]] = ()) -> None:
    """Make *sched* the execution the virtual world runs on (see the module docstring)."""
    stdlib.build()
    if points.ACTIVE.sched is not None and points.ACTIVE.sched is not sched:
        end()  # a previous execution that ended without its finalizer (should not happen)
    points.ACTIVE.sched = None
    stdlib.reset()
    if not _gc_was_enabled:
        _gc_was_enabled.append(gc.isenabled())
    gc.disable()
    points.ACTIVE.sched = sched

    def finish() -> None:
        for hook in on_end:
            hook()
        end()

    sched.finalizers.append(finish)


def end() -> None:
    """Deactivate the virtual world and restore the garbage collector."""
    points.ACTIVE.sched = None
    if _gc_was_enabled and _gc_was_enabled.pop():
        gc.enable()


def private(roots: Sequence[str]) -> PrivateModules:
    """Private copies of *roots* over the virtual standard library, for the active execution."""
    return PrivateModules(roots, stdlib.build(), class_hook=stdlib.deterministic_hash)


def real_private(roots: Sequence[str]) -> PrivateModules:
    """Private copies of *roots* over the real standard library (for runs on real threads)."""
    return PrivateModules(roots)
