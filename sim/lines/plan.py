"""One run's plan: its strategy and its line points, from the run's name.

A run is named by (implementation, strategy name, seed, scenario, ``--preempt-lines``).
``modules_for`` resolves the line option: a comma-separated list of modules, ``none``
for no line points, or empty for the adapter's default (its ``preempt_lines``
attribute: ``()`` unless the adapter opts in). ``plan_run`` then builds what the run
needs:

* no modules: the strategy alone, points at synchronisation only;
* ``random``/``pct``/an explorer's execution with modules: a point before *every* line
  of the modules;
* ``race``: race-directed mode (``sim.lines.race``): recording runs of the scenario, then
  points only at the lines of one racing pair (drawn by the seed), under ``RacePCT``.
"""

from __future__ import annotations

import sys

from sim.lines.config import LinePoints, parse_modules
from sim.scenario import Scenario
from sim.scheduler import MAX_STEPS, SchedulingStrategy

__all__ = ["modules_for", "plan_run"]

_warned: set[str] = set()


def modules_for(impl: str, preempt_lines: str) -> tuple[str, ...]:
    """The modules whose lines are points: explicit, ``none``, or (empty) the adapter's.

    The adapter's default gives way to another tracer (coverage, a debugger): with a
    warning on stderr, once per process, the runs keep synchronisation points only (their
    traces say so: they carry no line points). An explicit ``--preempt-lines`` does not
    give way: the run fails with ``LineTracingUnavailable`` instead.
    """
    if preempt_lines == "none":
        return ()
    if preempt_lines:
        return parse_modules(preempt_lines)
    from sim.lines.race import adapter_lines

    modules = adapter_lines(impl)
    if modules and sys.gettrace() is not None:
        if impl not in _warned:
            _warned.add(impl)
            print(
                f"warning: line preemption of {', '.join(modules)} (the default of {impl}) is "
                "off: sys.settrace is in use (coverage or a debugger)",
                file=sys.stderr,
            )
        return ()
    return modules


def plan_run(
    impl: str,
    strategy: str,
    seed: int,
    scenario: Scenario,
    preempt_lines: str = "",
    max_steps: int = MAX_STEPS,
) -> tuple[SchedulingStrategy, LinePoints | None]:
    """The strategy and line points of one run; ValueError if *strategy* cannot run so."""
    from sim.strategies import make_strategy

    modules = modules_for(impl, preempt_lines)
    if strategy == "race":
        if not modules:
            raise ValueError(
                f"strategy 'race' needs line points: give --preempt-lines MODULE (the adapter of "
                f"{impl!r} names none by default)"
            )
        from sim.lines.race import race_plan

        return race_plan(scenario, impl, modules, seed, max_steps=max_steps)
    points = LinePoints.of(modules) if modules else None
    return make_strategy(strategy, seed), points
