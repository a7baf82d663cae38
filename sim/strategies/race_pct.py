"""Race-directed PCT: priority inversions placed only at the lines that race.

Plain PCT (``sim.strategies.pct``) draws its ``depth - 1`` change points uniformly over
all the steps of a run, so a bug that needs a preemption at one particular line is found
with probability about 1/steps. In race-directed mode (``sim.lines.race``) the only line
points are the lines of conflicting, unordered accesses found by recording runs, and
this strategy counts *those*: the change points are drawn over ``[1, expected_points]``,
the number of racy line points a run passes, and fire at the line point whose number
they name. The line tracer calls ``line_point()`` before each one. A bug that needs one
preemption right before a racy line is then found with probability about 1/k for k racy
line points per run, typically tens rather than thousands of steps.

Between change points it is PCT: the highest-priority runnable thread runs, so the
schedule is otherwise the same "one thread runs until it blocks" that finds ordering
bugs. With no racy lines (``expected_points`` 0) it is plain PCT over steps.
"""

from __future__ import annotations

from sim.strategies.pct import PCT

__all__ = ["RacePCT"]

#: expected_steps of the plain-PCT fallback (PCT's own default)
FALLBACK_STEPS = 250


class RacePCT:
    """Same seed, same racy lines, same program: same decisions."""

    def __init__(self, seed: int, depth: int = 2, expected_points: int = 0) -> None:
        if expected_points < 0:
            raise ValueError(f"expected_points must be >= 0, not {expected_points}")
        self.seed = seed
        self.depth = depth
        self.expected_points = expected_points
        horizon = expected_points if expected_points > 0 else FALLBACK_STEPS
        self._pct = PCT(seed, depth, horizon)
        self.line_points = 0  #: racy line points passed so far in this run
        self._due = 0  # change points already passed to PCT
        self._asked: list[int] = []  # the runnable set of the last decision, and its answer
        self._answer = -1

    @property
    def change_points(self) -> list[int]:
        return self._pct.change_points

    def line_point(self) -> None:
        """Called by the line tracer right before each line point."""
        self.line_points += 1

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        """PCT's choice; between change points it depends only on the runnable set, so the
        last answer is reused while that set is unchanged (most line points)."""
        clock = self.line_points if self.expected_points > 0 else step
        changes = self._pct.change_points
        due = self._due < len(changes) and changes[self._due] <= clock
        if not due and runnable == self._asked:
            return self._answer
        while self._due < len(changes) and changes[self._due] <= clock:
            self._due += 1
        self._answer = self._pct.choose(runnable, current, clock)
        self._asked = list(runnable)
        return self._answer

    def describe(self) -> dict[str, object]:
        return {
            "name": "race",
            "seed": self.seed,
            "params": {"depth": self.depth, "expected_points": self.expected_points},
        }
