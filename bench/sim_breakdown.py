"""Where a simulated step goes: CPU microseconds per step, per component (issue 13).

``python -m bench.sim_breakdown [schedules] [--keep] [--floor]`` plays the bench's standard
scenario (``bench.sim_speed.STANDARD``, refimpl, RandomWalk seeds 0.., no oracle, no
trace; ``--keep``: the no-preemption strategy) under a CPU-time sampling timer
(``ITIMER_PROF``), and charges each sample to the innermost Python frame's module: the
scheduler (``sim/scheduler.py``, the strategies, the greenlet switches it makes), the
simulated primitives (``sim/primitives.py``), the driver (``sim/driver.py``, ``sim/env.py``,
``sim/history.py``, the adapter) and refimpl (``refimpl/``). C functions are charged
to the Python frame that called them. A sampler, not a tracer: it does not slow the
frames it measures, so the shares are those of the unprofiled run (within sampling
noise, a few percent with the default 1,500 schedules). Unix only (``signal.setitimer``).

``--floor`` measures what a step would cost if the driver did nothing at all: every
scenario handler returns at once and the history records nothing (both patched in
this process only), so a step is refimpl's own code, the simulated primitives and the
scheduler. It prints that rate against a bare greenlet switch measured in the same
run: the most that cutting the driver could ever give (issue 13's 0.1 target).
"""

from __future__ import annotations

import collections
import logging
import signal
import sys
import time
from types import FrameType
from typing import Any

__all__ = ["COMPONENTS", "breakdown", "component_of", "main"]

#: (component, path fragments): the first that a frame's file contains names it
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("scheduler", ("sim/scheduler.py", "sim/strategies/")),
    ("primitives", ("sim/primitives.py",)),
    ("driver", ("sim/driver.py", "sim/env.py", "sim/history.py", "sim/adapters/")),
    ("refimpl", ("refimpl/",)),
)


def component_of(filename: str) -> str:
    name = filename.replace("\\", "/")
    for component, parts in COMPONENTS:
        if any(part in name for part in parts):
            return component
    return "other"


def breakdown(
    schedules: int = 1500, preempt: bool = True, interval: float = 0.0002
) -> dict[str, object]:
    """Microseconds of CPU per step for each component, and the top functions."""
    from bench.sim_speed import STANDARD, KeepRunning
    from sim.adapters import load_adapter
    from sim.driver import play_sim
    from sim.scheduler import SchedulingStrategy
    from sim.strategies import make_strategy

    adapter = load_adapter("refimpl")
    files: collections.Counter[str] = collections.Counter()
    funcs: collections.Counter[str] = collections.Counter()

    def sample(signum: int, frame: FrameType | None) -> None:
        if frame is not None:
            code = frame.f_code
            files[component_of(code.co_filename)] += 1
            funcs[f"{code.co_filename.rsplit('/', 1)[-1]}:{code.co_name}"] += 1

    previous = signal.signal(signal.SIGPROF, sample)
    steps = 0
    begin = time.process_time()
    signal.setitimer(signal.ITIMER_PROF, interval, interval)
    try:
        for seed in range(schedules):
            strategy: SchedulingStrategy = (
                make_strategy("random", seed) if preempt else KeepRunning()
            )
            steps += play_sim(STANDARD, adapter, strategy)[1].steps
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, previous)
    elapsed = time.process_time() - begin
    us_per_step = elapsed / max(steps, 1) * 1e6
    total = max(sum(files.values()), 1)
    return {
        "steps": steps,
        "us_per_step": us_per_step,
        "samples": sum(files.values()),
        "components": {c: us_per_step * n / total for c, n in files.most_common()},
        "functions": {f: us_per_step * n / total for f, n in funcs.most_common(20)},
    }


def floor(schedules: int = 1000) -> dict[str, float]:
    """Steps/s of the standard scenario with a driver that does nothing, and of the whole step,
    each against a bare greenlet switch, all measured in this run (see ``--floor``)."""
    from unittest import mock

    from bench.sim_speed import STANDARD, greenlet_switches_per_second, standard_scenario
    from sim.adapters import load_adapter
    from sim.driver import _Run, play_sim
    from sim.env import SimEnv
    from sim.strategies import make_strategy

    def no_handler(self: Any, role: int, sub: int) -> Any:
        return lambda topic, data: None

    def no_recorder(self: Any, history: Any) -> Any:
        return lambda kind, msg=-1, sub=-1, info="": 0

    switches = greenlet_switches_per_second()
    whole = standard_scenario(schedules)["steps_per_s"]
    adapter = load_adapter("refimpl")
    steps = 0
    with (
        mock.patch.object(_Run, "make_handler", no_handler),
        mock.patch.object(SimEnv, "recorder", no_recorder),
    ):
        begin = time.process_time()
        for seed in range(schedules):
            steps += play_sim(STANDARD, adapter, make_strategy("random", seed))[1].steps
        no_driver = steps / (time.process_time() - begin)
    return {
        "switches_per_s": switches,
        "whole_step_per_s": whole,
        "no_driver_step_per_s": no_driver,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    keep = "--keep" in args
    numbers = [a for a in args if a not in ("--keep", "--floor")]
    if len(numbers) > 1 or (numbers and not numbers[0].isdigit()):
        print(
            "usage: python -m bench.sim_breakdown [schedules] [--keep] [--floor]", file=sys.stderr
        )
        return 2
    logging.getLogger("refimpl").setLevel(logging.CRITICAL)
    if "--floor" in args:
        got = floor(int(numbers[0]) if numbers else 1000)
        switches = got["switches_per_s"]
        print(f"bare greenlet switch: {switches:,.0f}/s")
        rows = (("whole step", "whole_step_per_s"), ("no driver", "no_driver_step_per_s"))
        for name, key in rows:
            print(f"{name:>10}: {got[key]:,.0f} steps/s = {got[key] / switches:.3f} of a switch")
        return 0
    result = breakdown(int(numbers[0]) if numbers else 1500, preempt=not keep)
    print(
        f"{result['steps']:,} steps, {result['us_per_step']:.2f} CPU us/step, "
        f"{result['samples']} samples"
    )
    for title in ("components", "functions"):
        print(f"{title}:")
        shares = result[title]
        assert isinstance(shares, dict)
        for name, us in shares.items():
            print(f"  {us:5.2f} us  {us / result['us_per_step'] * 100:4.1f}%  {name}")  # type: ignore[operator]
    return 0


if __name__ == "__main__":
    sys.exit(main())
