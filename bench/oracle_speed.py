"""Oracle speed: history events checked per second (``bench.oracle_fixture``).

That function checks a synthetic legal history of about *n* events three times and
returns the best rate. The peer is the rate at which the simulator *produces* history
events on the standard scenario (``bench.sim_speed.STANDARD``), measured here too: a
ratio above 1 means judging a schedule costs less than simulating it.
Target: >= 1,000,000 events/s.
"""

from __future__ import annotations

from bench.figure import Figure, Measurement, ratio
from bench.sim_speed import standard_scenario

__all__ = ["NAME", "TARGET", "measure", "run"]

NAME = "oracle"
TARGET = 1_000_000


def measure(n_events: int = 200_000, schedules: int = 10) -> Measurement:
    from bench.oracle_fixture import bench_events_per_second

    rate = bench_events_per_second(n_events)
    produced = standard_scenario(schedules)["events_per_s"]
    m = Measurement(NAME, "Oracle speed")
    m.notes.append(
        f"bench.oracle_fixture.bench_events_per_second({n_events:,}): best of 3 checks of a "
        f"synthetic legal history. Peer: history events produced per second by play_sim on "
        f"the standard scenario "
        f"({schedules} RandomWalk schedules, no oracle)."
    )
    m.figures.append(
        Figure(
            f"{NAME}.events_per_s",
            "Oracle: history events checked/s",
            rate,
            "events/s",
            "simulator's event production rate",
            produced,
            ratio(rate, produced),
            f">= {TARGET:,} events/s",
            rate >= TARGET,
        )
    )
    m.raw = {"events_per_s": rate, "n_events": n_events, "simulator_events_per_s": produced}
    return m


def run(quick: bool) -> Measurement:
    return measure(n_events=10_000, schedules=2) if quick else measure()
