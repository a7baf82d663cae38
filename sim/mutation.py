"""Proof that the checks bite: every mutant must be caught (``make mutants``).

For each mutant of ``sim.mutants.MUTANTS`` the same checks the property suite and the
campaign run — generated scenarios, simulated schedules, the history oracle — are run
against the mutant, seed after seed, under the random walk and under PCT, until the
first failing schedule. The table says which clauses caught it and how many
schedules each strategy needed. A mutant not caught within the budget is a hole in
the suite, and the command exits 1.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.explore import RunResult, RunSpec, run_one
from sim.runs import named_clause

__all__ = ["MutantReport", "hunt", "main", "table"]

STRATEGIES = ("random", "pct")


@dataclass
class MutantReport:
    name: str
    breaks: tuple[str, ...]  #: the clauses the mutant is meant to break
    schedules: dict[str, int | None] = field(
        default_factory=dict
    )  #: strategy -> schedules to catch
    caught_by: tuple[str, ...] = ()  #: clauses of the first counterexample's violations
    status: str = ""  #: ok/violation/deadlock/livelock/error of the first counterexample
    replay: str = ""  #: replays the first counterexample's saved trace
    rerun: str = ""  #: regenerates it from its seed, on any machine
    seconds: float = 0.0

    @property
    def caught(self) -> bool:
        return any(n is not None for n in self.schedules.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "mutant": self.name,
            "breaks": list(self.breaks),
            "caught": self.caught,
            "caught_by": list(self.caught_by),
            "status": self.status,
            "schedules": self.schedules,
            "replay": self.replay,
            "rerun": self.rerun,
            "seconds": round(self.seconds, 3),
        }


def hunt(name: str, budget: int = 400, trace_dir: Path | None = None) -> MutantReport:
    """Search seeds 0..budget-1 per strategy for a schedule on which mutant *name* fails."""
    from sim.mutants import MUTANTS

    mutant = MUTANTS[name]
    report = MutantReport(name, tuple(mutant.clauses))
    started = time.perf_counter()
    for strategy in STRATEGIES:
        report.schedules[strategy] = None
        for seed in range(budget):
            result: RunResult = run_one(RunSpec(seed, f"mutant:{name}", strategy), trace_dir)
            if result.failed:
                report.schedules[strategy] = seed + 1
                if not report.replay:
                    named = named_clause(result.error)  # a harness check naming its clause
                    clauses = {v["clause"] for v in result.violations}
                    report.caught_by = tuple(sorted(clauses | ({named} if named else set())))
                    report.status = result.status
                    report.replay = result.replay_command()
                    report.rerun = result.spec.command()
                break
    report.seconds = time.perf_counter() - started
    return report


def table(reports: list[MutantReport]) -> str:
    head = "| mutant | breaks | caught | caught by | schedules (random / pct) | reproduce |"
    rows = [head, "|---|---|---|---|---|---|"]
    for r in reports:
        counts = " / ".join(
            "-" if r.schedules.get(s) is None else str(r.schedules[s]) for s in STRATEGIES
        )
        caught_by = " ".join(r.caught_by) or r.status
        rows.append(
            f"| {r.name} | {' '.join(r.breaks)} | {'yes' if r.caught else 'NO'} | {caught_by} | "
            f"{counts} | `{r.rerun}` |"
        )
    caught = sum(r.caught for r in reports)
    rows.append(f"\n{caught}/{len(reports)} mutants caught.")
    return "\n".join(rows)


def main(budget: int = 1000, json_path: str | None = None) -> int:
    from sim.mutants import MUTANTS

    reports = []
    for name in MUTANTS:
        report = hunt(name, budget, Path("traces"))
        reports.append(report)
        print(
            f"{name}: {'caught' if report.caught else 'NOT CAUGHT'} ({report.seconds:.1f} s)",
            flush=True,
        )
    print(table(reports))
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(
            json.dumps([r.to_json() for r in reports], indent=1) + "\n", encoding="utf-8"
        )
    return 0 if all(r.caught for r in reports) else 1
