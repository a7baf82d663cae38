"""Replay: make exactly the recorded decisions again, and say precisely where a run strays.

A recorded execution is its list of decisions (``Scheduler.decisions``): with the same
scenario and implementation, feeding them back reproduces the run step for step. If
the program does something else this time (a recorded thread is not runnable, or the
run asks for more decisions than were recorded) the replay stops with ``Divergence``,
naming the decision, the step, the thread expected and the threads that could run.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.scheduler import ExecutionAborted

__all__ = ["Divergence", "Replay"]


class Divergence(ExecutionAborted):
    """A replayed execution left the recorded one."""


class Replay:
    """Returns the recorded decisions in order; ``used`` counts those consumed so far."""

    def __init__(self, decisions: Sequence[int]) -> None:
        self.decisions = list(decisions)
        self.used = 0

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        index = self.used
        if index >= len(self.decisions):
            raise Divergence(
                f"decision {index} at step {step}: the recording has only {len(self.decisions)} "
                f"decisions; runnable {runnable}"
            )
        expected = self.decisions[index]
        if expected not in runnable:
            raise Divergence(
                f"decision {index} at step {step}: recorded thread {expected} is not runnable; "
                f"runnable {runnable}"
            )
        self.used += 1
        return expected

    def describe(self) -> dict[str, object]:
        return {"name": "replay", "seed": None, "params": {"decisions": len(self.decisions)}}
