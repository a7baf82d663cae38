"""Race-directed mode: record a few runs, then preempt only where accesses race.

``find_races(scenario, impl, modules)`` plays the scenario ``RECORDING_RUNS`` times under
the random walk at synchronisation points only (seeds 0, 1, ...), with the
``AccessRecorder`` listening to every line of *modules*: which shared objects and
attributes each line reads and writes, and the happens-before order of the threads. A
pair of lines that touch the same location from two threads, one of them writing, with
no happens-before between them, races. The result is a pure function of the scenario,
the implementation and the modules (it is memoised per process for the shrinker, which
replays one scenario under many seeds).

``race_plan(...)`` turns that into one execution's plan. Each execution *targets one
racing pair*, drawn with its seed (rarely run pairs first; see ``RaceFindings.target``): its
``LinePoints`` hold just the pair's lines -- for a pair within one function (check, then
act) only the later one, since the race needs a preemption between the two -- and
``RacePCT``'s change points are spread over those points a run passes (counted in the
recordings). A bug that needs a
preemption between a check and an act is then a matter of a few points, not of every racy
line the run passes (worker loops would otherwise swamp the one line that matters). The
trace of that execution stores the lines, so ``python -m sim replay`` needs no recording
runs; ``python -m sim run --strategy race --seed N`` recomputes the same plan.
"""

from __future__ import annotations

import json
import random
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache

from sim.lines.config import LinePoints
from sim.lines.recorder import AccessRecorder
from sim.lines.tracer import LineTracer
from sim.scenario import Scenario
from sim.scheduler import MAX_STEPS
from sim.strategies.race_pct import RacePCT
from sim.strategies.random_walk import RandomWalk

__all__ = ["RECORDING_RUNS", "RaceFindings", "adapter_lines", "find_races", "race_plan"]

RECORDING_RUNS = 3
DEPTH = 2
ATOMICITY_WEIGHT = 10  #: how much likelier a pair within one function is to be targeted


@dataclass(frozen=True)
class RaceFindings:
    modules: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]  #: racing pairs of lines, sorted
    lines: tuple[str, ...]  #: every line of a pair, in (module, number) order
    points_per_run: int  #: line events at racy lines per recording run (rounded up, mean)
    runs: int
    events: tuple[tuple[str, int], ...] = ()  #: (racy line, its events per run, rounded up)
    #: pairs whose two lines are in one function: check-then-act, read-modify-write
    atomicity: tuple[tuple[str, str], ...] = ()

    def target(self, seed: int) -> tuple[tuple[str, ...], int]:
        """The lines of the pair execution *seed* targets, and their events per run.

        The pair is drawn (seeded) with weight 1/events, ten times that for a pair within
        one function: a check and its act (a subscribe's "already subscribed?" and its
        registration) is tried far more often than a pair in a worker loop that runs
        hundreds of times against a flag set elsewhere, whose races are many but shallow.
        """
        if not self.pairs:
            return (), 0
        per_line = dict(self.events)
        same = set(self.atomicity)
        weights = [
            (ATOMICITY_WEIGHT if pair in same else 1)
            / max(1, sum(per_line.get(x, 0) for x in set(pair)))
            for pair in self.pairs
        ]
        draw = random.Random(f"race-pair-{seed}")  # not PCT's stream: its first draw is the same
        pair = draw.choices(self.pairs, weights=weights)[0]
        # within one function the race needs a preemption between the two lines, that is
        # right before the later one (after the check, before the act)
        later = max(pair, key=lambda key: int(key.rpartition(":")[2]))
        lines = (later,) if pair in same else tuple(dict.fromkeys(pair))
        return lines, sum(per_line.get(line, 0) for line in lines)

    def describe(self) -> str:
        shown = ", ".join(f"{a}~{b}" for a, b in self.pairs[:8])
        more = f" (+{len(self.pairs) - 8} more)" if len(self.pairs) > 8 else ""
        return (
            f"{len(self.pairs)} racing pairs over {len(self.lines)} lines in {self.runs} "
            f"recording runs: {shown}{more}"
        )


def adapter_lines(impl: str) -> tuple[str, ...]:
    """The implementation's default ``--preempt-lines`` (its adapter's ``preempt_lines``)."""
    from sim.adapters import load_adapter

    modules = getattr(load_adapter(impl), "preempt_lines", ())
    return tuple(modules)


def find_races(
    scenario: Scenario,
    impl: str,
    modules: tuple[str, ...],
    runs: int = RECORDING_RUNS,
    max_steps: int = MAX_STEPS,
) -> RaceFindings:
    text = json.dumps(scenario.to_json(), sort_keys=True)
    return _find_races(text, impl, tuple(modules), runs, max_steps)


@lru_cache(maxsize=64)
def _find_races(
    scenario_json: str, impl: str, modules: tuple[str, ...], runs: int, max_steps: int
) -> RaceFindings:
    from sim.adapters import load_adapter
    from sim.driver import play_sim

    scenario = Scenario.from_json(json.loads(scenario_json))
    recorder = AccessRecorder(modules)
    everything = LinePoints.of(modules)
    for seed in range(runs):
        recorder.new_execution()
        tracer = LineTracer(everything, preempt=False, recorder=recorder)
        with suppress(Exception):  # a run that fails part-way still recorded what it did
            play_sim(scenario, load_adapter(impl), RandomWalk(seed), max_steps, tracer)
    return findings(recorder, modules, runs)


def findings(recorder: AccessRecorder, modules: tuple[str, ...], runs: int) -> RaceFindings:
    """What *runs* recording executions into *recorder* found."""
    lines = tuple(recorder.table.lines())
    events = sum(recorder.events.get(line, 0) for line in lines)
    return RaceFindings(
        modules=modules,
        pairs=tuple(sorted(recorder.table.pairs)),
        lines=lines,
        points_per_run=-(-events // runs) if runs else 0,
        runs=runs,
        events=tuple((line, -(-recorder.events.get(line, 0) // max(runs, 1))) for line in lines),
        atomicity=tuple(
            pair
            for pair in sorted(recorder.table.pairs)
            if recorder.functions.get(pair[0]) == recorder.functions.get(pair[1])
        ),
    )


def race_plan(
    scenario: Scenario,
    impl: str,
    modules: tuple[str, ...],
    seed: int,
    depth: int = DEPTH,
    max_steps: int = MAX_STEPS,
) -> tuple[RacePCT, LinePoints]:
    """The strategy and line points of race-directed execution *seed* of *scenario*."""
    found = find_races(scenario, impl, modules, max_steps=max_steps)
    lines, expected = found.target(seed)
    return RacePCT(seed, depth, expected), LinePoints.of(modules, lines)
