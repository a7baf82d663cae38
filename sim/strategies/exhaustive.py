"""Bounded exhaustive search: every schedule with at most *preemption_bound* preemptions.

Iterative context bounding (Musuvathi & Qadeer, PLDI 2007): most concurrency bugs need
only a few preemptions, and the number of schedules with at most c preemptions grows
polynomially in the length of the run, not exponentially. A *preemption* is choosing
another thread while ``current`` is still runnable; a choice made when the running
thread has blocked or finished (``current`` is None) is free.

The search is stateless: each execution re-runs the program from the start, replays a
decision prefix, and then follows the non-preemptive default (keep ``current`` if
runnable, else the lowest runnable id), recording the runnable set at every decision.
After the execution the explorer knows the alternatives along its path:

* a free alternative (another thread where ``current`` was None) is pushed on this
  round's depth-first stack;
* a preempting alternative is saved for the next round, which explores the schedules
  with one more preemption.

Round c therefore runs exactly the schedules with c preemptions, each once: a schedule
is reached only through the prefix ending at its last preemption. Rounds go from 0 up
to the bound, so with ``max_executions`` the cheapest schedules come first. Within a
round, the deepest untried decision is tried next, alternatives in ascending thread
id: the walk is deterministic.

Usage::

    explorer = Exhaustive(preemption_bound=2)
    for strategy in explorer.executions():
        play_sim(scenario, adapter, strategy)   # or any program on a Scheduler
    explorer.explored, explorer.complete
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sim.strategies.replay import Divergence

__all__ = ["Decision", "Execution", "Exhaustive"]


@dataclass(frozen=True)
class Decision:
    runnable: tuple[int, ...]
    current: int | None
    chosen: int
    step: int


class Execution:
    """The strategy for one execution: replay *prefix*, then the non-preemptive default."""

    def __init__(self, prefix: list[int]) -> None:
        self.prefix = prefix
        self.path: list[Decision] = []  #: every decision this execution made, in order

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        index = len(self.path)
        if index < len(self.prefix):
            chosen = self.prefix[index]
            if chosen not in runnable:
                raise Divergence(
                    f"decision {index} at step {step}: thread {chosen} of the explored prefix is "
                    f"not runnable (runnable {runnable}); is the program deterministic?"
                )
        elif current is not None and current in runnable:
            chosen = current
        else:
            chosen = runnable[0]
        self.path.append(Decision(tuple(runnable), current, chosen, step))
        return chosen

    @property
    def decisions(self) -> list[int]:
        return [d.chosen for d in self.path]

    @property
    def preemptions(self) -> int:
        return sum(d.current is not None and d.chosen != d.current for d in self.path)

    def describe(self) -> dict[str, object]:
        return {"name": "exhaustive", "seed": None, "params": {"prefix": list(self.prefix)}}


class Exhaustive:
    """Explorer: ``executions()`` yields one ``Execution`` strategy per schedule to run.

    *preemption_bound* None means unbounded (every schedule). ``explored`` counts the
    executions handed out; ``complete`` is True once the whole bounded tree has been
    covered (it stays False if *max_executions* stopped the search first).
    """

    def __init__(self, preemption_bound: int | None, max_executions: int | None = None) -> None:
        if preemption_bound is not None and preemption_bound < 0:
            raise ValueError(f"preemption bound must be >= 0, not {preemption_bound}")
        self.preemption_bound = preemption_bound
        self.max_executions = max_executions
        self.explored = 0
        self.complete = False

    def _may_preempt(self, used: int) -> bool:
        return self.preemption_bound is None or used < self.preemption_bound

    def executions(self) -> Iterator[Execution]:
        self.explored = 0
        self.complete = False
        this_round: list[tuple[list[int], int]] = [([], 0)]  # (prefix, its preemptions)
        while this_round:
            next_round: list[tuple[list[int], int]] = []
            for base, used in this_round:
                stack = [base]
                while stack:
                    if self.max_executions is not None and self.explored >= self.max_executions:
                        return
                    prefix = stack.pop()
                    execution = Execution(prefix)
                    self.explored += 1
                    yield execution
                    self._expand(execution, used, stack, next_round)
            this_round = next_round
        self.complete = True

    def _expand(
        self,
        execution: Execution,
        used: int,
        stack: list[list[int]],
        next_round: list[tuple[list[int], int]],
    ) -> None:
        """Push the free alternatives beyond the prefix; save the preempting ones."""
        path = execution.path
        chosen = [d.chosen for d in path]
        # Shallow first onto the stack, alternatives descending: the deepest decision's
        # lowest alternative is popped first.
        for index in range(len(execution.prefix), len(path)):
            decision = path[index]
            others = [t for t in decision.runnable if t != decision.chosen]
            if decision.current is None:
                for thread in reversed(others):
                    stack.append([*chosen[:index], thread])
            elif self._may_preempt(used):
                # the default kept `current`: every other thread is a preemption
                for thread in others:
                    next_round.append(([*chosen[:index], thread], used + 1))
