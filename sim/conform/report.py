"""The conformance report: a verdict per clause, the counterexamples, and what was explored.

Verdicts: *violated* (with a counterexample, or a real-thread finding), *conforms* (the
clause is judged and some run exercised it, without a violation), *not exercised*
(judged, but no run gave it a chance to break), *not observable* (the adapter protocol
carries nothing that decides it; ``specs/observability.md`` says why).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClauseResult", "ConformanceReport", "Counterexample", "Explored"]


@dataclass
class Counterexample:
    clause: str
    text: str
    scenario: dict[str, Any]
    readable: str  #: the minimal scenario for a person
    strategy: str
    seed: int
    preemptions: int
    trace_path: str
    replay: str
    differs_from_refimpl: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "clause": self.clause,
            "text": self.text,
            "scenario": self.scenario,
            "readable": self.readable,
            "strategy": self.strategy,
            "seed": self.seed,
            "preemptions": self.preemptions,
            "trace": self.trace_path,
            "replay": self.replay,
            "differs_from_refimpl": self.differs_from_refimpl,
        }


@dataclass
class ClauseResult:
    clause: str
    result: str  #: "conforms" | "violated" | "not exercised" | "not observable"
    counterexample: Counterexample | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "clause": self.clause,
            "result": self.result,
            "note": self.note,
            "counterexample": None
            if self.counterexample is None
            else self.counterexample.to_json(),
        }


@dataclass
class Explored:
    """What the runs covered, so a clean report says how much it rests on."""

    schedules: Counter[str] = field(default_factory=Counter)  #: strategy -> simulated schedules
    interleavings: set[str] = field(default_factory=set)
    real_runs: int = 0
    probe_runs: int = 0
    #: simulated runs whose clock kept moving past ``MAX_STEPS`` while still making progress
    #: (polling threads): too long to finish, their liveness not judged
    unfinished: int = 0
    configs: Counter[str] = field(default_factory=Counter)  #: "BxW" -> scenarios
    features: Counter[str] = field(default_factory=Counter)  #: scenario feature -> scenarios
    seeds: str = ""
    seed_end: dict[str, int] = field(default_factory=dict)  #: strategy -> last seed played + 1
    tolerances: list[float] = field(default_factory=list)  #: real runs' clock tolerances
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "schedules": dict(sorted(self.schedules.items())),
            "distinct_interleavings": len(self.interleavings),
            "real_runs": self.real_runs,
            "probe_runs": self.probe_runs,
            "unfinished_runs": self.unfinished,
            "configurations": dict(sorted(self.configs.items())),
            "features": dict(sorted(self.features.items())),
            "seeds": self.seeds,
            "real_tolerance_seconds": [min(self.tolerances), max(self.tolerances)]
            if self.tolerances
            else None,
            "seconds": round(self.seconds, 1),
        }

    def text(self) -> str:
        sched = ", ".join(f"{k} {v}" for k, v in sorted(self.schedules.items())) or "none"
        lines = [
            f"explored: simulated schedules {sum(self.schedules.values())} ({sched}), "
            f"distinct interleavings {len(self.interleavings)}, real-thread runs "
            f"{self.real_runs}, probe runs {self.probe_runs}, {self.seconds:.0f} s"
            + (
                f"; {self.unfinished} simulated runs still at work when cut at the step "
                "limit (clock moving): their liveness not judged"
                if self.unfinished
                else ""
            ),
            f"seeds: {self.seeds}",
            "configurations (brokers x workers: scenarios): "
            + (", ".join(f"{k}: {v}" for k, v in sorted(self.configs.items())) or "none"),
            "scenario features (scenarios with it): "
            + (", ".join(f"{k} {v}" for k, v in sorted(self.features.items())) or "none"),
        ]
        if self.tolerances:
            lines.append(
                f"real-thread clock tolerance (E2/E3 margin, measured per run): "
                f"{min(self.tolerances):.2g} to {max(self.tolerances):.2g} scenario seconds"
            )
        return "\n".join(lines)


@dataclass
class ConformanceReport:
    impl: str
    budget: int
    mode: str = "simulation and real threads"
    clauses: list[ClauseResult] = field(default_factory=list)
    explored: Explored = field(default_factory=Explored)
    real_findings: dict[str, str] = field(default_factory=dict)

    @property
    def violated(self) -> list[str]:
        return [c.clause for c in self.clauses if c.result == "violated"]

    @property
    def schedules(self) -> int:
        return sum(self.explored.schedules.values())

    @property
    def real_runs(self) -> int:
        return self.explored.real_runs

    def to_json(self) -> dict[str, Any]:
        return {
            "impl": self.impl,
            "budget": self.budget,
            "mode": self.mode,
            "schedules": self.schedules,
            "real_runs": self.real_runs,
            "explored": self.explored.to_json(),
            "real_findings": dict(sorted(self.real_findings.items())),
            "violated": self.violated,
            "clauses": [c.to_json() for c in self.clauses],
        }

    def table(self) -> str:
        counts = Counter(c.result for c in self.clauses)
        rows = [
            f"Conformance of {self.impl} ({self.mode}): {len(self.violated)} clause(s) violated, "
            f"{counts['conforms']} conform, {counts['not exercised']} not exercised, "
            f"{counts['not observable']} not observable",
            "",
            self.explored.text(),
            "",
            "| clause | result | counterexample or how it was exercised | replay |",
            "|---|---|---|---|",
        ]
        for c in self.clauses:
            ce = c.counterexample
            text = ce.text if ce is not None else c.note
            replay = f"`{ce.replay}`" if ce is not None and ce.replay else ""
            cell = text.replace("|", "\\|")
            rows.append(f"| {c.clause} | {c.result} | {cell} | {replay} |")
        if self.real_findings:
            rows.append("")
            rows.append(
                "Also seen on real threads: "
                + ", ".join(f"{k} ({v})" for k, v in sorted(self.real_findings.items()))
            )
        return "\n".join(rows)
