"""Harness tests of line points: they keep arriving across greenlet switches, only where asked.

The programs live in ``tests/lines/programs.py`` (the traced module); they test the
simulator, not the spec, so they cite no clause.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

import pytest

from sim.lines import LinePoints, LineTracingUnavailable, check_available
from sim.lines.tracer import LineTracer
from sim.scheduler import Livelock, Scheduler
from sim.strategies import PCT, RandomWalk
from tests.lines import programs

pytestmark = pytest.mark.settrace

PROGRAMS = ("tests.lines.programs",)
THREADS, ROUNDS = 4, 5
#: line events of one worker: its lambda, then ``_work``: per round the ``for``, read, write
#: and count lines, and the final ``for`` check
LINES_PER_THREAD = 1 + 4 * ROUNDS + 1


class NoGuard:
    """What a tracer without the fix does: switch inside the callback as it is."""

    def leave(self) -> None:
        pass

    def enter(self) -> None:
        pass


def counted(guard: Any = None, seed: int = 0) -> tuple[dict[int, int], Scheduler]:
    """Line points per thread of the counter program under the random walk."""
    tracer = LineTracer(LinePoints.of(PROGRAMS), guard=guard)
    sched = Scheduler(RandomWalk(seed), 100_000, tracer)
    _box, main = programs.build_counter(sched, THREADS, ROUNDS)
    sched.run(main)
    per_thread: dict[int, int] = {}
    for tid, kind in sched.log:
        if kind.startswith("line "):
            per_thread[tid] = per_thread.get(tid, 0) + 1
    return per_thread, sched


def test_line_events_keep_arriving_after_switches() -> None:
    per_thread, sched = counted()
    workers = {t.id for t in sched.threads if t.name.startswith("t")}
    assert {t: per_thread.get(t, 0) for t in workers} == dict.fromkeys(workers, LINES_PER_THREAD)
    assert sched.preemptions > 10  # the run did switch, many times, at line points


def test_without_the_guard_line_events_stop() -> None:
    """The failure the guard fixes, shown: switching inside the callback loses the next thread."""
    per_thread, sched = counted(NoGuard())
    workers = [t.id for t in sched.threads if t.name.startswith("t")]
    total = sum(per_thread.get(t, 0) for t in workers)
    assert total < THREADS * LINES_PER_THREAD
    assert sys.gettrace() is None


def test_only_the_chosen_lines_are_points() -> None:
    code = programs._work.__code__
    read_line = code.co_firstlineno + 3  # ``seen = box.n``
    tracer = LineTracer(LinePoints.of(PROGRAMS, [f"{PROGRAMS[0]}:{read_line}"]))
    sched = Scheduler(RandomWalk(1), 100_000, tracer)
    _box, main = programs.build_counter(sched, 2, 3)
    sched.run(main)
    kinds = {kind for _, kind in sched.log if kind.startswith("line ")}
    assert kinds == {f"line {PROGRAMS[0]}:{read_line}"}
    assert tracer.line_points == 2 * 3


def test_line_points_find_the_lost_update_that_sync_points_cannot() -> None:
    lost_with_lines = lost_without = 0
    for seed in range(20):
        tracer = LineTracer(LinePoints.of(PROGRAMS))
        sched = Scheduler(RandomWalk(seed), 100_000, tracer)
        box, main = programs.build_counter(sched, 2, 3)
        sched.run(main)
        lost_with_lines += box.n != 6
        plain = Scheduler(RandomWalk(seed), 100_000)
        box, main = programs.build_counter(plain, 2, 3)
        plain.run(main)
        lost_without += box.n != 6
    assert lost_without == 0
    assert lost_with_lines > 0


def test_tracing_and_gc_are_restored_even_after_a_livelock() -> None:
    enabled = gc.isenabled()
    tracer = LineTracer(LinePoints.of(PROGRAMS))
    sched = Scheduler(PCT(0, 2, 50), max_steps=40, instrument=tracer)
    _box, main = programs.build_counter(sched, 3, 50)
    with pytest.raises(Livelock):
        sched.run(main)
    assert sys.gettrace() is None
    assert gc.isenabled() == enabled
    again, sched = counted(seed=3)  # and the next traced run is whole
    workers = [t.id for t in sched.threads if t.name.startswith("t")]
    assert [again[t] for t in workers] == [LINES_PER_THREAD] * THREADS


def test_another_tracer_makes_line_points_refuse() -> None:
    def foreign(frame: Any, event: str, arg: Any) -> None:
        return None

    previous = sys.gettrace()
    sys.settrace(foreign)
    try:
        with pytest.raises(LineTracingUnavailable, match=r"sys\.settrace"):
            check_available()
    finally:
        sys.settrace(previous)
