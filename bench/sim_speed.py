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
Target: >= 200,000 steps/s on the standard scenario.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import greenlet

from bench.figure import Figure, Measurement, Table, ratio
from sim.scenario import ChannelSpec, Scenario, Send

__all__ = ["NAME", "STANDARD", "TARGET_STEPS", "greenlet_switches_per_second", "measure", "run"]

NAME = "sim"
TARGET_STEPS = 200_000

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
    begin = time.perf_counter()
    pinger.switch()  # returns when ping() has finished
    elapsed = time.perf_counter() - begin
    ponger.throw(greenlet.GreenletExit)  # end the pong loop
    return elapsed


def greenlet_switches_per_second(round_trips: int = 1_000_000, repeats: int = 3) -> float:
    """Best of *repeats*: two greenlets switching back and forth (2 switches per round trip)."""
    best = min(_ping_pong(round_trips) for _ in range(repeats))
    return 2 * round_trips / max(best, 1e-9)


def standard_scenario(schedules: int) -> dict[str, Any]:
    from sim.adapters import load_adapter
    from sim.driver import play_sim
    from sim.oracle import check
    from sim.strategies import make_strategy

    adapter = load_adapter("refimpl")
    steps = events = 0
    ok = 0
    begin = time.perf_counter()
    histories = []
    for seed in range(schedules):
        history, sched = play_sim(STANDARD, adapter, make_strategy("random", seed))
        steps += sched.steps
        events += len(history.events)
        histories.append(history)
    elapsed = time.perf_counter() - begin
    for history in histories:  # outside the clock: the runs must also be correct
        ok += check(history).ok
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
    begin = time.perf_counter()
    for seed in range(seeds):
        result = run_one(RunSpec(seed))
        steps += result.steps
        failed += result.failed
    elapsed = time.perf_counter() - begin
    return {
        "schedules": seeds,
        "steps": steps,
        "seconds": elapsed,
        "steps_per_s": steps / elapsed,
        "schedules_per_s": seeds / elapsed,
        "failed": failed,
    }


def _median_run(fn: Callable[[int], dict[str, Any]], size: int, repeats: int) -> dict[str, Any]:
    """The repetition with the median steps/s (each repetition is the same deterministic work)."""
    runs = sorted((fn(size) for _ in range(repeats)), key=lambda r: r["steps_per_s"])
    chosen = dict(runs[len(runs) // 2])
    chosen["repeats"] = repeats
    chosen["all_steps_per_s"] = [r["steps_per_s"] for r in runs]
    return chosen


def measure(
    schedules: int = 100, campaign_seeds: int = 1000, round_trips: int = 1_000_000, repeats: int = 3
) -> Measurement:
    # Generated scenarios have raising handlers; their logged tracebacks would cost time.
    logger = logging.getLogger("refimpl")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        switches = greenlet_switches_per_second(round_trips)
        std = _median_run(standard_scenario, schedules, repeats)
        camp = _median_run(campaign_runs, campaign_seeds, repeats)
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
    m.figures += [
        Figure(
            f"{NAME}.standard_steps_per_s",
            "Simulation, standard scenario: steps/s",
            std["steps_per_s"],
            "steps/s",
            peer,
            switches,
            ratio(std["steps_per_s"], switches),
            f">= {TARGET_STEPS:,} steps/s",
            std["steps_per_s"] >= TARGET_STEPS,
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
    for label, data in (("standard scenario", std), ("campaign run_one", camp)):
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
    m.raw = {"standard": std, "campaign": camp, "greenlet_switches_per_s": switches}
    return m


def run(quick: bool) -> Measurement:
    if quick:
        return measure(schedules=5, campaign_seeds=50, round_trips=50_000)
    return measure()
