"""Simulation speed: scheduling steps and schedules per second, against a bare greenlet switch.

*The standard scenario* (``STANDARD``): 2 brokers, 3 task workers, 4 channels on
overlapping wildcard topics (``a.b``, ``a.*``, ``*.b``, ``*``, all subscribed), and 3
sender threads of 20 sends each, sender k sending on role (k + j) % 4 at its j-th send;
graceful shutdown at the end. It is played with ``sim.driver.play_sim`` against refimpl
under ``RandomWalk`` seeds 0, 1, ...: pure simulation (scheduler, virtual threads,
driver bookkeeping and refimpl itself), no oracle and no trace. A step is one
scheduling point (``Scheduler.steps``).

Also measured, as a second row: the campaign's own unit of work,
``sim.explore.run_one(RunSpec(seed))`` over generated scenarios, which adds the
oracle's judgement and the trace recording to each schedule.

The peer is the fastest a greenlet scheduler could conceivably go: two greenlets
switching to each other (one switch per step at best), measured in the same run.

What each figure measures (a *step* is one scheduling point, ``Scheduler.steps``):

* *bare scheduler*: five virtual threads doing nothing but scheduling points under a
  random walk: the scheduler's own cost per step (its bookkeeping, the strategy's draw,
  the greenlet switch), target >= 0.1 of a bare switch;
* *standard scenario, end to end*: a whole step -- scheduler, simulated primitives,
  refimpl's own code between two points, the driver recording the history -- target
  >= 0.1 of a bare switch (issue 13) and >= 200,000 steps/s (session 1);
* *standard scenario, no preemption*: the same with a strategy that keeps the running
  thread whenever it can (no switch at a point, fewer steps): what a step costs without
  the random walk's switches, for context;
* *campaign run_one*: the campaign's own unit of work, adding scenario generation, the
  oracle's judgement and the trace to each schedule;
* ``make sim`` estimated from a campaign of the same mix run in this process
  (``sim campaign --jobs 1``): its CPU seconds per schedule x 40,000 schedules / 2
  cores (``make sim`` runs ``--jobs 2``), target <= 90 s.

Every rate here is CPU time of this process (``time.process_time``): all of it is
single-threaded and CPU-bound, so time the machine gives to other processes (the shared
2-core machine runs 8 helpers) is not counted against either side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import greenlet

from bench.figure import Figure, Measurement, Table, ratio
from sim.scenario import ChannelSpec, Scenario, Send

__all__ = [
    "NAME",
    "STANDARD",
    "TARGET_STEPS",
    "KeepRunning",
    "bare_scheduler",
    "greenlet_switches_per_second",
    "make_sim_estimate",
    "measure",
    "run",
]

NAME = "sim"
TARGET_STEPS = 200_000
TARGET_BARE = 0.1  #: steps/s over bare switches/s (bare scheduler; a whole step, issue 13)
TARGET_MAKE_SIM_S = 90.0
MAKE_SIM_SCHEDULES = 40_000
_clock = time.process_time

STANDARD = Scenario(
    channels=(ChannelSpec("a.b"), ChannelSpec("a.*"), ChannelSpec("*.b"), ChannelSpec("*")),
    threads=tuple(tuple(Send((k + j) % 4) for j in range(20)) for k in range(3)),
    brokers=2,
    workers=3,
    label="bench standard scenario",
)


def _ping_pong(round_trips: int) -> float:
    """Seconds for *round_trips* round trips between two greenlets."""
    pinger: Any = None
    ponger: Any = None

    def ping() -> None:
        for _ in range(round_trips):
            ponger.switch()

    def pong() -> None:
        while True:
            pinger.switch()

    pinger = greenlet.greenlet(ping)
    ponger = greenlet.greenlet(pong)
    begin = _clock()
    pinger.switch()  # returns when ping() has finished
    elapsed = _clock() - begin
    ponger.throw(greenlet.GreenletExit)  # end the pong loop
    return elapsed


def greenlet_switches_per_second(round_trips: int = 1_000_000, repeats: int = 3) -> float:
    """Best of *repeats*: two greenlets switching back and forth (2 switches per round trip)."""
    best = min(_ping_pong(round_trips) for _ in range(repeats))
    return 2 * round_trips / max(best, 1e-9)


class KeepRunning:
    """A strategy that keeps the running thread when it can, else the lowest id: no
    preemption, so no greenlet switch at a scheduling point (the no-preemption row)."""

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        return current if current is not None else runnable[0]


def standard_scenario(schedules: int, preempt: bool = True) -> dict[str, Any]:
    from sim.adapters import load_adapter
    from sim.driver import play_sim
    from sim.oracle import check
    from sim.scheduler import SchedulingStrategy
    from sim.strategies import make_strategy

    adapter = load_adapter("refimpl")
    steps = events = 0
    ok = 0
    elapsed = 0.0
    for seed in range(schedules):
        strategy: SchedulingStrategy = make_strategy("random", seed) if preempt else KeepRunning()
        begin = _clock()
        history, sched = play_sim(STANDARD, adapter, strategy)
        elapsed += _clock() - begin
        steps += sched.steps
        events += len(history.events)
        # Outside the clock, and at once: the runs must also be correct, and a history the
        # bench kept until the end would make the collector's full passes grow with every
        # schedule and be charged to the simulator (a campaign drops each after judging it).
        ok += check(history).ok
        del history, sched
    return {
        "schedules": schedules,
        "steps": steps,
        "events": events,
        "seconds": elapsed,
        "steps_per_s": steps / elapsed,
        "schedules_per_s": schedules / elapsed,
        "events_per_s": events / elapsed,
        "oracle_ok": ok,
    }


def campaign_runs(seeds: int) -> dict[str, Any]:
    from sim.explore import RunSpec, run_one

    steps = failed = 0
    begin = _clock()
    for seed in range(seeds):
        result = run_one(RunSpec(seed))
        steps += result.steps
        failed += result.failed
    elapsed = _clock() - begin
    return {
        "schedules": seeds,
        "steps": steps,
        "seconds": elapsed,
        "steps_per_s": steps / elapsed,
        "schedules_per_s": seeds / elapsed,
        "failed": failed,
    }


def bare_scheduler(points: int = 20_000, threads: int = 5) -> dict[str, Any]:
    """The scheduler alone: *threads* virtual threads each passing *points* scheduling points."""
    from sim.scheduler import Scheduler
    from sim.strategies.random_walk import RandomWalk

    sched = Scheduler(RandomWalk(0), max_steps=10 * threads * points)

    def worker() -> None:
        point = sched.point
        for _ in range(points):
            point("bench")

    def main() -> None:
        spawned = [sched.spawn(f"t{i}", worker) for i in range(threads)]
        for thread in spawned:
            sched.join_thread(thread)

    begin = _clock()
    sched.run(main)
    elapsed = _clock() - begin
    return {"steps": sched.steps, "seconds": elapsed, "steps_per_s": sched.steps / elapsed}


def make_sim_estimate(seeds: int) -> dict[str, Any]:
    """``sim campaign`` over *seeds* seeds in this process; ``make sim`` extrapolated from it."""
    import contextlib
    import io

    from sim.cli import main

    begin = _clock()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code: object = main(["campaign", "--seeds", f"0..{seeds - 1}", "--jobs", "1"])
        except SystemExit as stop:
            code = stop.code
    elapsed = _clock() - begin
    return {
        "seeds": seeds,
        "seconds": elapsed,
        "exit": code,
        "schedules_per_s": seeds / elapsed,
        "make_sim_s_2_cores": elapsed / seeds * MAKE_SIM_SCHEDULES / 2,
    }


def _median_run(fn: Callable[[int], dict[str, Any]], size: int, repeats: int) -> dict[str, Any]:
    """The repetition with the median steps/s (each repetition is the same deterministic work)."""
    runs = sorted((fn(size) for _ in range(repeats)), key=lambda r: r["steps_per_s"])
    chosen = dict(runs[len(runs) // 2])
    chosen["repeats"] = repeats
    chosen["all_steps_per_s"] = [r["steps_per_s"] for r in runs]
    return chosen


def measure(
    schedules: int = 100,
    campaign_seeds: int = 1000,
    round_trips: int = 1_000_000,
    repeats: int = 3,
    bare_points: int = 20_000,
    make_sim_seeds: int = 2000,
) -> Measurement:
    # Generated scenarios have raising handlers; their logged tracebacks would cost time.
    logger = logging.getLogger("refimpl")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        switches = greenlet_switches_per_second(round_trips)
        std = _median_run(standard_scenario, schedules, repeats)
        keep = _median_run(lambda n: standard_scenario(n, preempt=False), schedules, repeats)
        camp = _median_run(campaign_runs, campaign_seeds, repeats)
        bare = _median_run(bare_scheduler, bare_points, repeats)
        make_sim = make_sim_estimate(make_sim_seeds)
    finally:
        logger.setLevel(level)
    peer = "bare greenlet switch"
    m = Measurement(NAME, "Simulation speed")
    m.notes.append(
        f"Each workload is run {repeats} times; the figure is the median repetition's rate."
    )
    m.notes.append(
        f"Standard scenario: 2 brokers, 3 task workers, 4 subscribers on `a.b`, `a.*`, `*.b`, `*`, "
        f"3 sender threads x 20 sends, shutdown; refimpl under RandomWalk seeds 0..{schedules - 1} "
        f"via play_sim (no oracle, no trace); {std['steps'] / schedules:,.0f} steps per schedule; "
        f"the oracle judged {int(std['oracle_ok'])}/{schedules} of these runs ok "
        "(checked outside the clock)."
    )
    m.notes.append(
        "Campaign row: sim.explore.run_one(RunSpec(seed)), default size, "
        f"seeds 0..{campaign_seeds - 1} "
        f"(generated scenarios, random walk, oracle + trace included); "
        f"{int(camp['failed'])} of them failed."
    )
    m.notes.append(
        f"Peer: greenlet ping-pong, best of 3 x {round_trips:,} round trips = "
        f"{switches:,.0f} switches/s; ratio = steps/s / switches/s (the fraction of the bare "
        "switch rate the whole simulator achieves)."
    )
    bare_ratio = ratio(bare["steps_per_s"], switches)
    std_ratio = ratio(std["steps_per_s"], switches)
    m.notes.append(
        "Where a standard-scenario step goes (issue 13, `python -m bench --only sim` and "
        "profiles in notes/speed.md): the scheduler's own share is the bare-scheduler row; "
        "the no-preemption row leaves out the random walk's greenlet switches; the rest is "
        "refimpl's code between two points (routing, copies, the seq turnstile), the "
        "simulated primitives, and the driver's history recording (several events per "
        "delivery)."
    )
    m.notes.append(
        f"Bare scheduler: 5 virtual threads x {bare_points:,} points under RandomWalk(0); "
        "the rest of a simulated step is refimpl's and the driver's own code between points. "
        f"make sim estimate: `sim campaign --seeds 0..{make_sim_seeds - 1} --jobs 1` took "
        f"{make_sim['seconds']:.1f} CPU s here ({make_sim['schedules_per_s']:.0f} schedules/s, "
        f"exit {make_sim['exit']}); x {MAKE_SIM_SCHEDULES:,} / {make_sim_seeds:,} / 2 cores."
    )
    m.figures += [
        Figure(
            f"{NAME}.bare_scheduler_steps_per_s",
            "Simulation, bare scheduler (points only): steps/s",
            bare["steps_per_s"],
            "steps/s",
            peer,
            switches,
            bare_ratio,
            f">= {TARGET_BARE:g} of a bare switch",
            bare_ratio is not None and bare_ratio >= TARGET_BARE,
        ),
        Figure(
            f"{NAME}.make_sim_seconds",
            f"make sim ({MAKE_SIM_SCHEDULES:,} schedules) on 2 idle cores, estimated",
            make_sim["make_sim_s_2_cores"],
            "s",
            "none",
            None,
            None,
            f"<= {TARGET_MAKE_SIM_S:g} s",
            make_sim["make_sim_s_2_cores"] <= TARGET_MAKE_SIM_S,
        ),
        Figure(
            f"{NAME}.standard_steps_per_s",
            "Simulation, standard scenario, a whole step end to end: steps/s",
            std["steps_per_s"],
            "steps/s",
            peer,
            switches,
            std_ratio,
            f">= {TARGET_BARE:g} of a bare switch and >= {TARGET_STEPS:,} steps/s",
            std_ratio is not None
            and std_ratio >= TARGET_BARE
            and std["steps_per_s"] >= TARGET_STEPS,
        ),
        Figure(
            f"{NAME}.standard_no_preemption_steps_per_s",
            "Simulation, standard scenario without preemption (no switch at a point): steps/s",
            keep["steps_per_s"],
            "steps/s",
            peer,
            switches,
            ratio(keep["steps_per_s"], switches),
            "none set",
            None,
        ),
        Figure(
            f"{NAME}.standard_schedules_per_s",
            "Simulation, standard scenario: schedules/s",
            std["schedules_per_s"],
            "schedules/s",
            peer,
            switches,
            ratio(std["schedules_per_s"], switches),
            "none set",
            None,
        ),
        Figure(
            f"{NAME}.campaign_steps_per_s",
            "Simulation, campaign run_one (oracle + trace): steps/s",
            camp["steps_per_s"],
            "steps/s",
            peer,
            switches,
            ratio(camp["steps_per_s"], switches),
            f">= {TARGET_STEPS:,} steps/s",
            camp["steps_per_s"] >= TARGET_STEPS,
        ),
        Figure(
            f"{NAME}.campaign_schedules_per_s",
            "Simulation, campaign run_one (oracle + trace): schedules/s",
            camp["schedules_per_s"],
            "schedules/s",
            peer,
            switches,
            ratio(camp["schedules_per_s"], switches),
            "none set",
            None,
        ),
    ]
    table = Table(
        "Simulation runs", ["workload", "schedules", "steps", "seconds", "steps/s", "schedules/s"]
    )
    for label, data in (
        ("standard scenario", std),
        ("standard scenario, no preemption", keep),
        ("campaign run_one", camp),
    ):
        table.rows.append(
            [
                label,
                int(data["schedules"]),
                int(data["steps"]),
                round(data["seconds"], 3),
                round(data["steps_per_s"]),
                round(data["schedules_per_s"], 1),
            ]
        )
    m.tables.append(table)
    m.raw = {
        "standard": std,
        "standard_no_preemption": keep,
        "campaign": camp,
        "bare_scheduler": bare,
        "make_sim": make_sim,
        "greenlet_switches_per_s": switches,
    }
    return m


def run(quick: bool) -> Measurement:
    if quick:
        return measure(
            schedules=5, campaign_seeds=50, round_trips=50_000, bare_points=2000, make_sim_seeds=100
        )
    return measure()
