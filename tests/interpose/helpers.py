"""Run a function of a privately loaded module as an interposed execution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.interpose import begin, private
from sim.scheduler import Scheduler
from sim.strategies.random_walk import RandomWalk

IMPLS = "tests.interpose.impls"


def run(
    call: Callable[[Any], Any], module: str = "prims", seed: int = 0, max_steps: int = 100_000
) -> tuple[Any, Scheduler]:
    """``call(private module)`` on virtual thread 0 of a new execution: (result, scheduler)."""
    sched = Scheduler(RandomWalk(seed), max_steps)
    out: dict[str, Any] = {}

    def main() -> None:
        begin(sched)
        out["result"] = call(private([IMPLS])[f"{IMPLS}.{module}"])

    sched.run(main)
    return out["result"], sched
