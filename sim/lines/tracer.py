"""``LineTracer``: a scheduling point before each chosen line, as a scheduler ``Instrument``.

Started by ``Scheduler.run`` in the hub before the main thread exists, it installs a
``sys.settrace`` function that answers each ``call`` event: frames of the chosen files
(and, when only some lines are points, only code objects containing one of them) get
the local line tracer, every other frame gets none and runs at full speed. A line event
of a chosen line calls ``Scheduler.point("line MODULE:N", guard)``; the guard
(``sim.lines.guard.TracingGuard``) makes a switch taken there park at tracing depth 0,
without which the next greenlet would run untraced. It is stopped before the teardown,
so threads unwinding at the end of an execution reach no more line points.

The garbage collector is off while the tracer runs, and stays off through the teardown
(it is restored by a scheduler finalizer, after those of the interposed world): a
finalizer or weakref callback running implementation code would add line points, or
virtual operations, at allocation-dependent moments.

A ``Recorder`` (``sim.lines.recorder``) may ride along: it sees every line event of the
chosen files, points or not, together with the spawn and wake edges the scheduler
reports -- that is how race-directed mode learns which lines conflict.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, Protocol

from sim.lines.config import LinePoints, check_available
from sim.lines.guard import TracingGuard
from sim.scheduler import Scheduler, SwitchGuard, VThread

__all__ = ["LineTracer", "Recorder"]

TraceFunction = Callable[[FrameType, str, Any], Any]


class Recorder(Protocol):
    """What race-directed mode's recording runs need to see."""

    def line(self, frame: FrameType, module: str, thread: int) -> None: ...

    def spawned(self, parent: int | None, child: int) -> None: ...

    def woke(self, waker: int | None, wakee: int) -> None: ...


class LineTracer:
    """Line points (and optionally a recorder) for one execution; see the module docstring.

    *preempt* False: no points, the recorder alone listens. *on_point* is called right
    before each line point (race-directed PCT counts them). *guard* replaces the
    ``TracingGuard`` (tests show what happens without one).
    """

    def __init__(
        self,
        points: LinePoints,
        *,
        preempt: bool = True,
        recorder: Recorder | None = None,
        on_point: Callable[[], None] | None = None,
        guard: SwitchGuard | None = None,
    ) -> None:
        self.points = points
        self.preempt = preempt
        self.recorder = recorder
        self.on_point = on_point
        self._guard = guard
        self.line_points = 0  #: line points passed (or that would have been, without preempt)
        self._files = points.files()
        self._sched: Scheduler | None = None
        self._gc_was_enabled = False
        self._installed = False

    # Instrument ---------------------------------------------------------------------------
    def start(self, sched: Scheduler) -> None:
        check_available()
        self._sched = sched
        guard = self._guard if self._guard is not None else TracingGuard()
        tracers = {
            file: self._for_file(module, self.points.wanted(module), sched, guard)
            for file, module in self._files.items()
        }

        def on_call(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
            chooser = tracers.get(frame.f_code.co_filename)
            return None if chooser is None else chooser(frame.f_code)

        self._gc_was_enabled = gc.isenabled()
        gc.disable()
        sys.settrace(on_call)
        self._installed = True

    def stop(self) -> None:
        if self._installed:
            sys.settrace(None)
            self._installed = False
            if self._gc_was_enabled and self._sched is not None:
                self._sched.finalizers.append(gc.enable)

    def spawned(self, parent: VThread | None, child: VThread) -> None:
        if self.recorder is not None:
            self.recorder.spawned(None if parent is None else parent.id, child.id)

    def woke(self, waker: VThread | None, wakee: VThread) -> None:
        if self.recorder is not None:
            self.recorder.woke(None if waker is None else waker.id, wakee.id)

    # the trace functions --------------------------------------------------------------------
    def _for_file(
        self, module: str, wanted: frozenset[int] | None, sched: Scheduler, guard: SwitchGuard
    ) -> Callable[[CodeType], TraceFunction | None]:
        """code object -> its local trace function, or None when none of its lines matter."""
        kinds: dict[int, str] = {}
        if wanted is not None:
            kinds = {line: f"line {module}:{line}" for line in wanted}
        recorder = self.recorder
        preempt = self.preempt
        on_point = self.on_point
        tracer = self

        def local(frame: FrameType, event: str, arg: Any) -> TraceFunction:
            if event == "line":
                line = frame.f_lineno
                kind = kinds.get(line)
                if kind is None:
                    if wanted is not None and recorder is None:
                        return local
                    if wanted is None:
                        kind = kinds[line] = f"line {module}:{line}"
                current = sched.current
                if current is not None:
                    if recorder is not None:
                        recorder.line(frame, module, current.id)
                    if kind is not None:
                        tracer.line_points += 1
                        if preempt:
                            if on_point is not None:
                                on_point()
                            sched.point(kind, guard)
            return local

        point = sched.point

        def fast(frame: FrameType, event: str, arg: Any) -> TraceFunction:
            """``local`` for the common case: points, no recorder."""
            if event == "line":
                kind = kinds.get(frame.f_lineno)
                if kind is None:
                    if wanted is not None:
                        return fast
                    kind = kinds[frame.f_lineno] = f"line {module}:{frame.f_lineno}"
                if sched.current is not None:
                    tracer.line_points += 1
                    if on_point is not None:
                        on_point()
                    point(kind, guard)
            return fast

        if preempt and recorder is None:
            local = fast
        if wanted is None or recorder is not None:
            return lambda code: local
        relevant: dict[tuple[str, int], bool] = {}

        def choose(code: CodeType) -> TraceFunction | None:
            key = (code.co_qualname, code.co_firstlineno)
            hit = relevant.get(key)
            if hit is None:
                hit = relevant[key] = any(line in wanted for _, _, line in code.co_lines())
            return local if hit else None

        return choose
