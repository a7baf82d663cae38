"""One simulated execution, as data: the run happens here once, and only here.

A run walks down once -- a front end (``sim.explore``, ``sim.conform``, replay) calls
``simulate``, which plays the scenario with ``sim.driver.play_sim`` on a
``sim.scheduler.Scheduler`` -- and comes back up once, as an ``Execution``: the history
the driver recorded, the scheduler with its decisions, step log and clock, and what
ended the run early, if anything. Judging it (``sim.runs.judge``) and storing it
(``sim.trace.Trace.capture``) only read that value; neither runs anything.

A run that aborts (deadlock, livelock, a diverged replay) or in which a virtual thread
raises is still an execution: ``error`` says how it ended, and the history and scheduler
are those of the moment it stopped. Only a failure before the driver could start
(``partial``) leaves them empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.adapters.base import Adapter
from sim.driver import play_sim
from sim.history import History
from sim.scenario import Scenario
from sim.scheduler import MAX_STEPS, Instrument, Scheduler, SchedulingStrategy

if TYPE_CHECKING:
    from sim.lines.config import LinePoints

__all__ = ["Execution", "simulate"]


@dataclass(frozen=True)
class Execution:
    """What one simulated run produced."""

    scenario: Scenario  #: what was played
    history: History  #: the events the driver recorded (empty if ``partial``)
    sched: Scheduler | None  #: decisions, step log, clock and counters (None if ``partial``)
    error: BaseException | None  #: what ended the run early (deadlock, livelock, a raise), or None

    @property
    def partial(self) -> bool:
        """The run failed before its history and scheduler could be captured."""
        return self.sched is None


def simulate(
    scenario: Scenario,
    adapter: Adapter,
    strategy: SchedulingStrategy,
    max_steps: int = MAX_STEPS,
    lines: LinePoints | None = None,
) -> Execution:
    """Play *scenario* against *adapter* under *strategy* and return what happened.

    *lines*: scheduling points before those lines too (``sim.lines``); a strategy with a
    ``line_point()`` method hears of each one before it is taken.
    """
    instrument: Instrument | None = None
    if lines is not None:
        from sim.lines.tracer import LineTracer

        instrument = LineTracer(lines, on_point=getattr(strategy, "line_point", None))
    try:
        history, sched = play_sim(scenario, adapter, strategy, max_steps, instrument)
    except Exception as exc:  # the run's failure is part of what it produced
        # play_sim attaches its scheduler and history to whatever it raises, so the
        # decisions made before a failure are the scheduler's own
        partial_history = getattr(exc, "history", None)
        partial_sched = getattr(exc, "scheduler", None)
        if not isinstance(partial_history, History) or not isinstance(partial_sched, Scheduler):
            return Execution(scenario, History(), None, exc)
        return Execution(scenario, partial_history, partial_sched, exc)
    return Execution(scenario, history, sched, None)
