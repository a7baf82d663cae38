"""Race-directed mode on small programs: it names the racing lines, not the locked ones, and
race-directed PCT finds the check-then-act race that synchronisation points never reach.

Harness tests (the Lona case, which checks the spec, is in ``test_lona_race.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from sim.lines import LinePoints
from sim.lines.recorder import AccessRecorder
from sim.lines.tracer import LineTracer
from sim.scheduler import Scheduler
from sim.strategies import RandomWalk
from sim.strategies.race_pct import RacePCT
from tests.lines import programs

pytestmark = pytest.mark.settrace

MODULE = "tests.lines.programs"
#: measured: race-directed PCT finds the double registration in 35 of seeds 0..99
REGISTER_SEEDS = 30


def line_of(fn: Callable[..., Any], text: str) -> str:
    source, first = inspect.getsourcelines(fn)
    number = next(first + i for i, line in enumerate(source) if text in line)
    return f"{MODULE}:{number}"


def record(build: Callable[[Scheduler], tuple[Any, Callable[[], None]]], runs: int = 3) -> Any:
    recorder = AccessRecorder((MODULE,))
    for seed in range(runs):
        recorder.new_execution()
        tracer = LineTracer(LinePoints.of([MODULE]), preempt=False, recorder=recorder)
        sched = Scheduler(RandomWalk(seed), 10_000, tracer)
        _state, main = build(sched)
        sched.run(main)
    return recorder


def test_an_unlocked_read_modify_write_races() -> None:
    table = record(programs.build_counter).table
    read, write = line_of(programs._work, "seen = box.n"), line_of(programs._work, "box.n = seen")
    assert (read, write) in table.pairs
    assert (write, write) in table.pairs


def test_the_same_update_under_a_lock_does_not() -> None:
    table = record(programs.build_locked_counter).table
    build = programs.build_locked_counter
    read, write = line_of(build, "seen = box.n"), line_of(build, "box.n = seen")
    inside = {pair for pair in table.pairs if set(pair) <= {read, write}}
    assert inside == set()
    # the read of box.n outside the lock, for the put, does race with the locked write
    assert (write, line_of(build, "queue.put(box.n)")) in table.pairs


def test_check_then_act_races_on_the_checked_attribute() -> None:
    table = record(programs.build_register).table
    check = line_of(programs.Registry.subscribe, "if self.handler")
    act = line_of(programs.Registry.subscribe, "self.handler = handler")
    assert (check, act) in table.pairs


def _registered_twice(seed: int, lines: list[str], expected: int) -> bool:
    strategy = RacePCT(seed, 2, expected)
    tracer = LineTracer(LinePoints.of([MODULE], lines), on_point=strategy.line_point)
    sched = Scheduler(strategy, 10_000, tracer)
    registry, main = programs.build_register(sched)
    sched.run(main)
    return len(registry.entries) == 2


def test_race_directed_pct_finds_the_double_registration() -> None:
    recorder = record(programs.build_register)
    lines = recorder.table.lines()
    expected = -(-sum(recorder.events[line] for line in lines) // 3)
    found = [s for s in range(REGISTER_SEEDS) if _registered_twice(s, lines, expected)]
    assert found, "race-directed PCT never registered twice"
    sync_only = []
    for seed in range(REGISTER_SEEDS):
        sched = Scheduler(RandomWalk(seed), 10_000)
        registry, main = programs.build_register(sched)
        sched.run(main)
        sync_only.append(len(registry.entries) == 2)
    assert not any(sync_only)  # the race is between two lines with no sync point between


def test_each_execution_targets_one_pair_favouring_rare_pairs_within_one_function() -> None:
    from sim.lines.race import RaceFindings

    check_act, loop = ("m:10", "m:12"), ("m:40", "m:90")
    found = RaceFindings(
        modules=("m",),
        pairs=(check_act, loop),
        lines=("m:10", "m:12", "m:40", "m:90"),
        points_per_run=64,
        runs=3,
        events=(("m:10", 2), ("m:12", 1), ("m:40", 50), ("m:90", 11)),
        atomicity=(check_act,),
    )
    targets = [found.target(seed) for seed in range(200)]
    act = ("m:12",)  # within one function: the point goes before the later line (the act)
    assert {lines for lines, _ in targets} == {act, loop}  # both get their turn
    assert sum(lines == act for lines, _ in targets) > 180  # weight 10/3 vs 1/61
    assert dict(targets)[act] == 1 and dict(targets)[loop] == 61  # RacePCT's horizons
    assert found.target(7) == found.target(7)
