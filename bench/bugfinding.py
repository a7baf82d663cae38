"""Finding bugs: schedules and seconds until each mutant's first counterexample.

For every mutant in ``sim.mutants.MUTANTS``, on its ``witness`` scenario, each search
runs schedules one after another until the first *counterexample* (an oracle
violation, or an aborted run: deadlock, livelock, error), as
``sim.runs.record(..., outcome_fn=sim.runs.judge)`` reports it:

* ``random``: ``RandomWalk`` seeds 0, 1, ... (``make_strategy("random", seed)``);
* ``pct``: ``make_strategy("pct", seed)`` (PCT, depth 3, its default expected_steps 2000);
* ``exhaustive``: ``Exhaustive(preemption_bound=2, max_executions=budget)``, one
  ``Execution`` strategy per schedule, cheapest schedules first;
* ``generated``: the campaign's own runs, ``run_one(RunSpec(seed, impl="mutant:NAME"))``
  for seeds 0, 1, ... (a different generated scenario per seed, random walk).

Each search stops at its budget, reported as "not found within N". As a control,
refimpl itself runs the same witness under a few random seeds: a counterexample
there would make the mutant's "finding" meaningless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from statistics import median
from typing import Any

from bench.figure import Figure, Measurement, Table, ratio
from sim.runs import MAX_STEPS

__all__ = ["NAME", "STRATEGIES", "Search", "measure", "run", "search"]

NAME = "mutants"
STRATEGIES = ("random", "pct", "exhaustive", "generated")


@dataclass
class Search:
    strategy: str
    budget: int
    schedules: int  #: schedules run (the counterexample's position when found)
    seconds: float
    found: bool
    status: str = ""  #: the counterexample's status (violation, deadlock, ...)
    clause: str = ""  #: the clauses its oracle violations name, distinct, in report order
    complete: bool = False  #: exhaustive only: the bounded tree was covered

    def cell(self) -> str:
        if self.found:
            what = self.clause or self.status
            return f"{self.schedules} ({self.seconds * 1000:.1f} ms, {what})"
        covered = ", bounded tree covered" if self.complete else ""
        return f"not found within {self.budget}{covered} ({self.seconds:.2f} s)"


def _strategies(name: str, budget: int) -> tuple[Iterator[tuple[int, Any]], Any]:
    from sim.strategies import make_strategy
    from sim.strategies.exhaustive import Exhaustive

    if name == "exhaustive":
        explorer = Exhaustive(preemption_bound=2, max_executions=budget)
        return ((0, e) for e in explorer.executions()), explorer
    return ((seed, make_strategy(name, seed)) for seed in range(budget)), None


def _clauses(violations: list[dict[str, Any]]) -> str:
    return "+".join(dict.fromkeys(str(v["clause"]) for v in violations))


def search(mutant: str, strategy: str, budget: int) -> Search:
    """Run schedules of *mutant* under *strategy* until the first counterexample or *budget*."""
    from sim.explore import RunSpec, run_one
    from sim.mutants import MUTANTS
    from sim.runs import judge, record

    impl = f"mutant:{mutant}"
    begin = time.perf_counter()
    count = 0
    if strategy == "generated":
        for seed in range(budget):
            count += 1
            result = run_one(RunSpec(seed, impl=impl, max_steps=MAX_STEPS))
            if result.failed:
                clause = _clauses(result.violations)
                return Search(
                    strategy,
                    budget,
                    count,
                    time.perf_counter() - begin,
                    True,
                    result.status,
                    clause,
                )
        return Search(strategy, budget, count, time.perf_counter() - begin, False)
    runs, explorer = _strategies(strategy, budget)
    for seed, strat in runs:
        count += 1
        trace = record(MUTANTS[mutant].witness, impl, strat, seed, MAX_STEPS, judge)
        status = trace.outcome["status"]
        if status != "ok":
            violations = trace.outcome.get("violations") or []
            clause = _clauses(violations)
            return Search(
                strategy, budget, count, time.perf_counter() - begin, True, status, clause
            )
    complete = bool(explorer is not None and explorer.complete)
    return Search(strategy, budget, count, time.perf_counter() - begin, False, complete=complete)


def control(mutant: str, seeds: int) -> int:
    """How many of *seeds* random schedules of refimpl on *mutant*'s witness are judged ok."""
    from sim.mutants import MUTANTS
    from sim.runs import judge, record
    from sim.strategies import make_strategy

    witness = MUTANTS[mutant].witness
    ok = 0
    for seed in range(seeds):
        trace = record(witness, "refimpl", make_strategy("random", seed), seed, MAX_STEPS, judge)
        ok += trace.outcome["status"] == "ok"
    return ok


def measure(
    budgets: dict[str, int] | None = None, control_seeds: int = 10, only: list[str] | None = None
) -> Measurement:
    from sim.mutants import MUTANTS

    budgets = budgets or {"random": 1000, "pct": 1000, "exhaustive": 2000, "generated": 200}
    names = only if only is not None else list(MUTANTS)
    logger = logging.getLogger("refimpl")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # witnesses with raising handlers log tracebacks
    results: dict[str, dict[str, Search]] = {}
    controls: dict[str, int] = {}
    try:
        for name in names:
            results[name] = {s: search(name, s, budgets[s]) for s in STRATEGIES}
            controls[name] = control(name, control_seeds)
    finally:
        logger.setLevel(level)
    m = Measurement(NAME, "Finding bugs: mutants")
    m.notes.append(
        "Per mutant and search: schedules run until the first counterexample (oracle violation or "
        "aborted run), with the wall time and the clauses its violations name, in the oracle's "
        "report order (or the abort status). "
        f"Budgets: {', '.join(f'{s} {budgets[s]:,}' for s in STRATEGIES)} schedules. "
        "random / pct / exhaustive run the mutant's witness scenario; generated runs the "
        "campaign's "
        "generated scenarios (run_one, RunSpec(seed, impl='mutant:NAME'))."
    )
    m.notes.append(
        f"Control: refimpl on each witness under RandomWalk seeds 0..{control_seeds - 1}; "
        "the column says how many were judged ok (all of them should be)."
    )
    total = len(names)
    for strategy in STRATEGIES:
        found = [results[n][strategy] for n in names if results[n][strategy].found]
        schedules = [s.schedules for s in found]
        seconds = sum(results[n][strategy].seconds for n in names)
        missed = [n for n in names if not results[n][strategy].found]
        note = (
            f"median {median(schedules):g} schedules to the first counterexample where found; "
            f"{seconds:.2f} s for all searches"
        )
        if missed:
            note += f"; not found within {budgets[strategy]:,}: {', '.join(missed)}"
        m.figures.append(
            Figure(
                f"{NAME}.found_{strategy}",
                f"Mutants caught, {strategy}",
                len(found),
                f"of {total} mutants",
                f"all {total} mutants",
                total,
                ratio(len(found), total),
                "none set",
                None,
                note,
            )
        )
    clean = sum(1 for n in names if controls[n] == control_seeds)
    m.figures.append(
        Figure(
            f"{NAME}.control",
            "Control: refimpl judged ok on every mutant's witness",
            clean,
            f"of {total} witnesses",
            f"all {total} witnesses",
            total,
            ratio(clean, total),
            f"all {total} (no false counterexample)",
            clean == total,
            f"{control_seeds} random schedules each",
        )
    )
    table = Table(
        "Schedules to the first counterexample (time, what)",
        ["mutant", "clauses", *STRATEGIES, "refimpl control"],
    )
    for name in names:
        row: list[Any] = [name, " ".join(MUTANTS[name].clauses)]
        row += [results[name][s].cell() for s in STRATEGIES]
        row.append(f"{controls[name]}/{control_seeds} ok")
        table.rows.append(row)
    m.tables.append(table)
    m.raw = {
        "budgets": budgets,
        "results": {n: {s: vars(r) for s, r in rs.items()} for n, rs in results.items()},
        "control_ok": controls,
        "control_seeds": control_seeds,
    }
    return m


def run(quick: bool) -> Measurement:
    if quick:
        return measure(
            {"random": 50, "pct": 50, "exhaustive": 100, "generated": 10}, control_seeds=2
        )
    return measure()
