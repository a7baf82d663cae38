"""Line-level preemption: fine-grained points per second, and the double-subscribe race,
against frontrun 0.7 measured in the same run.

* *Points/s*: ``bench.lines_programs.bump`` (a read-modify-write counter), two threads of
  ``ROUNDS`` rounds, every line of the module a scheduling point (``sim.lines``), for
  ``executions`` executions under race-directed PCT (``RacePCT``, change points spread
  over the line points: few switches) and under the random walk (a switch at most
  points, each paying the
  ``PyThreadState_LeaveTracing``/``EnterTracing`` pair). Wall time covers the whole
  execution: scheduler, tracer and program. Peer: frontrun's DPOR on the same two
  workers, without stopping at the (real) lost update, as opcodes executed per second
  (frontrun traces opcodes; the opcodes of one execution are counted once): an upper
  bound on its scheduling points per second. Target: >= 300,000 points/s (PCT row).
* *Double subscribe*: two threads call Lona 1.16.2's ``Channel.subscribe`` on one channel
  object (``subscribe_twice``). Here: a private copy of ``lona.channels`` over the virtual
  standard library; race-directed mode records ``RECORDING_RUNS`` runs, then runs
  ``RacePCT`` on the racy lines; every execution is counted, recording runs included.
  Also shown: every line a point under the random walk, and synchronisation points only.
  frontrun: DPOR and random on the real module (fresh class state per execution,
  ``trace_packages=["lona"]``, without which it traces nothing of Lona and finds nothing),
  in a subprocess under its CLI. Time to the first counterexample, first runs excluded
  (the virtual standard library is built once per process: reported separately).
"""

from __future__ import annotations

import time
from typing import Any

from bench import lines_programs as programs
from bench.figure import Figure, Measurement, Table, ratio
from bench.frontrun import run_child

__all__ = ["NAME", "TARGET_POINTS", "measure", "run"]

NAME = "lines"
TARGET_POINTS = 300_000
MODULE = ("bench.lines_programs",)
LONA = ("lona.channels",)
PEER = "frontrun 0.7 (DPOR)"


# points per second ---------------------------------------------------------------------------
def points_per_second(kind: str, executions: int) -> dict[str, Any]:
    from sim.lines import LinePoints
    from sim.lines.tracer import LineTracer
    from sim.scheduler import Scheduler
    from sim.strategies import make_strategy

    points = switches = 0
    per_run = 2 * (3 * programs.ROUNDS + 1)  # line points of one execution (its two threads)
    begin = time.perf_counter()
    for seed in range(executions):
        strategy = make_strategy(
            kind, seed, **({"expected_points": per_run} if kind == "race" else {})
        )
        tracer = LineTracer(LinePoints.of(MODULE), on_point=getattr(strategy, "line_point", None))
        sched = Scheduler(strategy, 1_000_000, tracer)
        state = programs.counted()

        def main(sched: Scheduler = sched, state: Any = state) -> None:
            threads = [sched.spawn(f"t{i}", lambda: programs.bump(state)) for i in range(2)]
            for thread in threads:
                sched.join_thread(thread)

        sched.run(main)
        points += tracer.line_points
        switches += sched.preemptions
    seconds = time.perf_counter() - begin
    return {"points": points, "seconds": seconds, "per_s": points / seconds, "switches": switches}


# the double subscribe ------------------------------------------------------------------------
def _subscribe(strategy: Any, tracer: Any) -> bool:
    """One execution of ``subscribe_twice``; True if the channel was registered twice."""
    from sim import interpose
    from sim.scheduler import Scheduler

    holder: dict[str, Any] = {}
    sched = Scheduler(strategy, 100_000, tracer)

    def main() -> None:
        interpose.begin(sched)
        state = programs.lona_state(interpose.private(LONA)["lona.channels"], fresh_state=False)
        holder["state"] = state
        threads = [sched.spawn(f"s{i}", lambda: programs.subscriber(state)) for i in range(2)]
        for thread in threads:
            sched.join_thread(thread)

    sched.run(main)
    return not programs.registered_once(holder["state"])


def race_search(budget: int) -> dict[str, Any]:
    from sim.lines import LinePoints
    from sim.lines.race import RECORDING_RUNS, findings
    from sim.lines.recorder import AccessRecorder
    from sim.lines.tracer import LineTracer
    from sim.strategies import RandomWalk
    from sim.strategies.race_pct import RacePCT

    begin = time.perf_counter()
    recorder = AccessRecorder(LONA)
    for seed in range(RECORDING_RUNS):
        recorder.new_execution()
        _subscribe(
            RandomWalk(seed), LineTracer(LinePoints.of(LONA), preempt=False, recorder=recorder)
        )
    found = findings(recorder, LONA, RECORDING_RUNS)
    lines: list[str] = list(found.lines)
    for seed in range(budget):
        target, expected = found.target(seed)
        strategy = RacePCT(seed, 2, expected)
        tracer = LineTracer(LinePoints.of(LONA, target), on_point=strategy.line_point)
        if _subscribe(strategy, tracer):
            return _found(RECORDING_RUNS + seed + 1, begin, lines=lines)
    return _missed(RECORDING_RUNS + budget, begin, lines=lines)


def plain_search(budget: int, every_line: bool) -> dict[str, Any]:
    from sim.lines import LinePoints
    from sim.lines.tracer import LineTracer
    from sim.strategies import RandomWalk

    begin = time.perf_counter()
    for seed in range(budget):
        tracer = LineTracer(LinePoints.of(LONA)) if every_line else None
        if _subscribe(RandomWalk(seed), tracer):
            return _found(seed + 1, begin)
    return _missed(budget, begin)


def _found(executions: int, begin: float, **extra: Any) -> dict[str, Any]:
    return {
        "found": True,
        "executions": executions,
        "seconds": time.perf_counter() - begin,
        **extra,
    }


def _missed(executions: int, begin: float, **extra: Any) -> dict[str, Any]:
    return {
        "found": False,
        "executions": executions,
        "seconds": time.perf_counter() - begin,
        **extra,
    }


def frontrun_side(points_executions: int, budget: int) -> dict[str, Any]:
    """``bench.frontrun_lines`` under the frontrun CLI; {"error": why} if that is impossible."""
    return run_child(
        "bench.frontrun_lines", {"points_executions": points_executions, "budget": budget}
    )


def _cell(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"error: {result['error']}"
    state = "found" if result["found"] else "not found"
    return f"{state} after {result['executions']} executions, {result['seconds'] * 1000:.1f} ms"


def measure(executions: int = 200, peer_executions: int = 40, budget: int = 300) -> Measurement:
    warm = time.perf_counter()
    _subscribe_first = plain_search(1, every_line=False)  # builds the virtual stdlib once
    warm_seconds = time.perf_counter() - warm
    ours = {kind: points_per_second(kind, executions) for kind in ("race", "random")}
    searches = {
        "race": race_search(budget),
        "every line, random walk": plain_search(budget, every_line=True),
        "sync points only, random walk": plain_search(budget, every_line=False),
    }
    theirs = frontrun_side(peer_executions, budget)
    peer_points: float | None = None
    if "points" in theirs:
        p = theirs["points"]
        peer_points = p["executions"] * p["opcodes_per_execution"] / p["seconds"]
    m = Measurement(NAME, "Line-level preemption: points/s and the double-subscribe race")
    m.notes.append(
        f"Points/s: {executions} executions of two `bump` threads ({programs.ROUNDS} rounds) "
        "per strategy, every line of bench/lines_programs.py a point. frontrun: "
        f"{peer_executions} DPOR executions of the same workers (opcodes executed per second). "
        "Measured in one run on a shared machine: compare the ratios, not the absolutes."
    )
    m.notes.append(
        f"Double subscribe: budget {budget} executions per search; the first execution, which "
        f"builds the virtual standard library, took {warm_seconds * 1000:.0f} ms and is not "
        f"counted. Racy lines found: {', '.join(searches['race'].get('lines', [])) or 'none'}."
    )
    for kind, label in (("race", "race-directed PCT"), ("random", "random walk")):
        value = ours[kind]["per_s"]
        m.figures.append(
            Figure(
                f"{NAME}.points_per_s_{kind}",
                f"Fine-grained scheduling points/s ({label}, every line a point)",
                round(value),
                "points/s",
                PEER,
                None if peer_points is None else round(peer_points),
                ratio(value, peer_points),
                f">= {TARGET_POINTS:,} points/s" if kind == "race" else "none set",
                value >= TARGET_POINTS if kind == "race" else None,
                f"{ours[kind]['points']:,} points, {ours[kind]['switches']:,} switches",
            )
        )
    race, dpor = searches["race"], theirs.get("subscribe_dpor", {})
    m.figures.append(
        Figure(
            f"{NAME}.double_subscribe_executions",
            "Double subscribe (Lona 1.16.2): executions to the first counterexample, race-directed",
            race["executions"] if race["found"] else None,
            "executions",
            PEER,
            dpor.get("executions") if dpor.get("found") else None,
            ratio(race["executions"], dpor.get("executions")) if race["found"] else None,
            "found",
            race["found"],
            f"recording runs included; {_cell(race)}; frontrun DPOR: {_cell(dpor or theirs)}",
        )
    )
    m.figures.append(
        Figure(
            f"{NAME}.double_subscribe_seconds",
            "Double subscribe: milliseconds to the first counterexample, race-directed",
            round(race["seconds"] * 1000, 1) if race["found"] else None,
            "ms",
            PEER,
            round(dpor["seconds"] * 1000, 1) if dpor.get("found") else None,
            ratio(race["seconds"], dpor.get("seconds")) if race["found"] else None,
            "none set",
            None,
            "lower is better; a ratio above 1 means frontrun was faster on this two-thread program",
        )
    )
    table = Table("Double subscribe: searches", ["search", "result"])
    for name, result in searches.items():
        table.rows.append([name, _cell(result)])
    for key in ("subscribe_dpor", "subscribe_random"):
        table.rows.append([f"frontrun {key.split('_')[1]}", _cell(theirs.get(key, theirs))])
    m.tables.append(table)
    m.raw = {"points": ours, "searches": searches, "frontrun": theirs, "warmup_s": warm_seconds}
    return m


def run(quick: bool) -> Measurement:
    if quick:
        return measure(executions=20, peer_executions=5, budget=50)
    return measure()
