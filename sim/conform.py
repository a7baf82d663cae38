"""Conformance: is another implementation a correct implementation of the spec, clause by clause?

``python -m sim conform --impl NAME`` runs, against the candidate:

1. *probes* — small, targeted scenarios for clauses whose breakage a generated run
   shows only as a symptom: the matching relation (T3/T4/T5, a differential table of
   topic pairs), handler errors (H1), and the send-time snapshot (W4);
2. a *campaign* — generated scenarios under the random walk and PCT, every history
   judged by the oracle;
3. *real threads* — generated scenarios on real threads, the oracle judging the real
   histories (with a clock tolerance).

Every violated clause gets its smallest counterexample found (scenario shrunk by
removing operations while the clause still breaks; among failing schedules, the one
with the fewest preemptions), a saved trace, the one-line replay command, and a
side-by-side comparison with the reference implementation on the same scenario and
strategy seed: the first history event where the two differ. Clauses that no history
can show (API shapes, settings, validation) are "not applicable" here: the reference
implementation's own tests cover them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from refimpl.topics import match
from sim.explore import judge
from sim.generate import GenConfig, scenario_from_seed
from sim.history import History
from sim.inputs import replay_command
from sim.oracle import CLAUSES, check
from sim.scenario import ChannelSpec, Scenario, Send, Settle, Subscribe
from sim.strategies import make_strategy
from sim.trace import Trace, record

__all__ = ["ClauseResult", "ConformanceReport", "conform", "main"]

ALL_CLAUSES: tuple[str, ...] = (
    *("T1", "T2", "T3", "T4", "T5", "T6", "A1", "A2", "A3", "A4", "V1", "V2"),
    *("W1", "W2", "W3", "W4", "D1", "D2", "O1", "O2", "O3", "O4", "C1", "C2", "C3", "C4"),
    *("E1", "E2", "E3", "E4", "S1", "S2", "S3", "S4", "S5", "S6", "L1", "L2"),
    *("I1", "I2", "I3", "H1", "H2", "H3", "R1", "R2", "R3", "R4", "R5", "R6"),
)
#: clauses checked here: the oracle's, plus those the probes and scenarios exercise
CHECKED: frozenset[str] = frozenset(CLAUSES) | {"T3", "T5", "T6", "W4", "H1", "I1", "I2", "L1"}

MATCH_PAIRS: tuple[tuple[str, str], ...] = (
    ("a.b", "a.b"),
    ("a.b", "a.*"),
    ("a.*", "a.b"),
    ("a.*", "a.*"),
    ("*", "a.b"),
    ("a.b", "*"),
    ("a.b", "A.b"),
    ("A.*", "a.b"),
    ("a.b", "a.?"),
    ("a.?", "a.bc"),
    ("a.b", "a.[bc]"),
    ("a.[!b]", "a.b"),
    ("a.[!b]", "a.c"),
    ("*.b", "a.*"),
    ("a.*", "*.b"),
    ("é.b", "*.b"),
    ("a.b", "a.b*"),
    ("a.bc", "a.b"),
    ("[*]", "*"),
)


@dataclass
class Counterexample:
    clause: str
    text: str
    scenario: dict[str, Any]
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
    result: str  #: "conforms" | "violated" | "not applicable"
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
class ConformanceReport:
    impl: str
    budget: int
    clauses: list[ClauseResult] = field(default_factory=list)
    schedules: int = 0
    real_runs: int = 0
    real_findings: dict[str, str] = field(default_factory=dict)

    @property
    def violated(self) -> list[str]:
        return [c.clause for c in self.clauses if c.result == "violated"]

    def to_json(self) -> dict[str, Any]:
        return {
            "impl": self.impl,
            "budget": self.budget,
            "schedules": self.schedules,
            "real_runs": self.real_runs,
            "real_findings": dict(sorted(self.real_findings.items())),
            "violated": self.violated,
            "clauses": [c.to_json() for c in self.clauses],
        }

    def table(self) -> str:
        rows = [
            f"Conformance of {self.impl}: {len(self.violated)} clause(s) violated, "
            f"{self.schedules} simulated schedules, {self.real_runs} real-thread runs",
            "",
            "| clause | result | counterexample | replay |",
            "|---|---|---|---|",
        ]
        for c in self.clauses:
            ce = c.counterexample
            text = ce.text if ce is not None else c.note
            replay = f"`{ce.replay}`" if ce is not None else ""
            rows.append(f"| {c.clause} | {c.result} | {text} | {replay} |")
        if self.real_findings:
            rows.append("")
            rows.append(
                "Also seen on real threads: "
                + ", ".join(f"{k} ({v})" for k, v in sorted(self.real_findings.items()))
            )
        return "\n".join(rows)


# running and judging one schedule -----------------------------------------------------------
def _run(impl: str, scenario: Scenario, strategy: str, seed: int) -> Trace:
    return record(scenario, impl, make_strategy(strategy, seed), seed, 100_000, judge)


def _clauses_of(trace: Trace) -> dict[str, str]:
    found: dict[str, str] = {}
    for v in trace.outcome.get("violations", []):
        found.setdefault(v["clause"], v["text"])
    status = trace.outcome["status"]
    if status in ("deadlock", "livelock", "error"):
        found.setdefault(
            "S1" if "shutdown" in trace.error.lower() else "D2", f"{status}: {trace.error}"
        )
    return found


# shrinking -----------------------------------------------------------------------------------
def _without_op(scenario: Scenario, thread: int, index: int) -> Scenario:
    threads = list(scenario.threads)
    ops = list(threads[thread])
    del ops[index]
    threads[thread] = tuple(ops)
    return replace(scenario, threads=tuple(t for t in threads if t) or ((),))


def _fails(impl: str, scenario: Scenario, clause: str, seeds: int) -> Trace | None:
    """The failing trace with the fewest preemptions among a few seeds of both strategies."""
    best: Trace | None = None
    for strategy in ("random", "pct"):
        for seed in range(seeds):
            trace = _run(impl, scenario, strategy, seed)
            if clause in _clauses_of(trace) and (
                best is None or trace.preemptions < best.preemptions
            ):
                best = trace
    return best


def _simpler(scenario: Scenario) -> list[Scenario]:
    """Candidate simplifications, most drastic first: fewer threads, ops, roles' features."""
    out: list[Scenario] = []
    if scenario.brokers > 1:
        out.append(replace(scenario, brokers=1))
    if scenario.workers > 1:
        out.append(replace(scenario, workers=1))
    for t, ops in enumerate(scenario.threads):
        for i in range(len(ops)):
            out.append(_without_op(scenario, t, i))
    for r, spec in enumerate(scenario.channels):
        plain = ChannelSpec(spec.topic, spec.subscribed)
        if spec != plain:
            channels = list(scenario.channels)
            channels[r] = plain
            out.append(replace(scenario, channels=tuple(channels)))
    used = {op.channel for ops in scenario.threads for op in ops if hasattr(op, "channel")}
    used |= {c.reply for c in scenario.channels if c.reply is not None}
    last = len(scenario.channels) - 1
    if last > 0 and last not in used:
        out.append(replace(scenario, channels=scenario.channels[:-1]))
    return out


def shrink(
    impl: str, scenario: Scenario, clause: str, trace: Trace, seeds: int = 8
) -> tuple[Scenario, Trace]:
    """Greedily simplify the scenario while *clause* still breaks on some schedule."""
    improved = True
    while improved:
        improved = False
        for candidate in _simpler(scenario):
            found = _fails(impl, candidate, clause, seeds)
            if found is not None:
                scenario, trace, improved = candidate, found, True
                break
    return scenario, trace


# side by side --------------------------------------------------------------------------------
def _event_key(e: list[Any]) -> tuple[Any, ...]:
    kind, msg, sub, info = e[3], e[4], e[5], e[6]
    return (kind, msg, sub, info)


def first_difference(candidate: Trace, reference: Trace) -> str:
    """Where the candidate's history first differs from the reference's (user-level events)."""
    a = [e for e in candidate.history["events"] if e[3] not in ("route",)]
    b = [e for e in reference.history["events"] if e[3] not in ("route",)]
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if _event_key(x) != _event_key(y):
            return (
                f"event {i}: {candidate.impl} has {x[3]} m{x[4]} s{x[5]} {x[6]!r}, "
                f"refimpl has {y[3]} m{y[4]} s{y[5]} {y[6]!r}"
            )
    if len(a) != len(b):
        return (
            f"after {min(len(a), len(b))} events: {candidate.impl} has {len(a)}, refimpl {len(b)}"
        )
    return "no difference in the user-level events"


# probes ---------------------------------------------------------------------------------------
Probe = Callable[[str, int], dict[str, tuple[str, Scenario, Trace]]]


def _delivered(history: History, sub: int) -> set[int]:
    return {e.msg for e in history.events if e.kind == "start" and e.sub == sub}


def probe_matching(impl: str, seeds: int) -> dict[str, tuple[str, Scenario, Trace]]:
    """T3/T4/T5: deliver iff the topics match, for a table of (sender, subscriber) pairs."""
    found: dict[str, tuple[str, Scenario, Trace]] = {}
    results: dict[tuple[str, str], bool] = {}
    traces: dict[tuple[str, str], tuple[Scenario, Trace]] = {}
    for sender, subscriber in MATCH_PAIRS:
        scenario = Scenario(
            (ChannelSpec(subscriber), ChannelSpec(sender, subscribed=False)),
            ((Send(1), Settle()),),
            brokers=1,
            workers=1,
        )
        trace = _run(impl, scenario, "random", 0)
        got = 0 in {e[4] for e in trace.history["events"] if e[3] == "start" and e[5] == 0}
        results[(sender, subscriber)] = got
        traces[(sender, subscriber)] = (scenario, trace)
        want = match(sender, subscriber)
        if got != want:
            clause = (
                "T3" if sender.lower() == subscriber.lower() or sender.lower() != sender else "T4"
            )
            text = (
                f"sender {sender!r} to subscriber {subscriber!r}: "
                f"{'delivered' if got else 'not delivered'}, but the topics "
                f"{'do not match' if not want else 'match'}"
            )
            found.setdefault(clause, (text, scenario, trace))
    for (a, b), got in results.items():
        back = results.get((b, a))
        if back is not None and back != got and a < b:
            scenario, trace = traces[(a, b)]
            found.setdefault(
                "T5", (f"asymmetric: {a!r}->{b!r} {got}, {b!r}->{a!r} {back}", scenario, trace)
            )
    return found


def probe_handler_errors(impl: str, seeds: int) -> dict[str, tuple[str, Scenario, Trace]]:
    """H1: a raising handler; later messages still reach it and everyone else."""
    scenario = Scenario(
        (ChannelSpec("a.b", raises=True), ChannelSpec("a.*"), ChannelSpec("a.b", subscribed=False)),
        ((Send(2), Send(2), Send(2), Settle()),),
        brokers=1,
        workers=1,
        shutdown=False,
    )
    losses = ("W1", "D2", "S1", "S2")  # what a dead worker or a stalled subscriber looks like
    for seed in range(seeds):
        trace = _run(impl, scenario, "random", seed)
        bad = {c: t for c, t in _clauses_of(trace).items() if c in losses}
        if bad:
            clause, text = sorted(bad.items())[0]
            return {"H1": (f"after a handler raised, {clause}: {text}", scenario, trace)}
    return {}


def probe_snapshot(impl: str, seeds: int) -> dict[str, tuple[str, Scenario, Trace]]:
    """W4: receivers are fixed at send: a subscribe right after send() returns gets nothing."""
    scenario = Scenario(
        (ChannelSpec("a.b", subscribed=False), ChannelSpec("a.*", sleep=1.0)),
        ((Send(0), Send(0), Subscribe(0), Send(0), Settle()),),
        brokers=1,
        workers=1,
    )
    for strategy in ("random", "pct"):
        for seed in range(seeds):
            trace = _run(impl, scenario, strategy, seed)
            text = _clauses_of(trace).get("W2")
            if text is not None:
                return {"W4": (f"the receivers were not fixed at send: {text}", scenario, trace)}
    return {}


PROBES: tuple[Probe, ...] = (probe_matching, probe_handler_errors, probe_snapshot)


# the whole report -------------------------------------------------------------------------------
def _save(trace: Trace, trace_dir: Path, clause: str) -> Path:
    trace_dir.mkdir(parents=True, exist_ok=True)
    path = trace_dir / f"conform-{trace.impl.replace(':', '-')}-{clause}.json"
    path.write_text(trace.dumps(), encoding="utf-8")
    return path


def _counterexample(
    impl: str, clause: str, text: str, scenario: Scenario, trace: Trace, trace_dir: Path
) -> Counterexample:
    path = _save(trace, trace_dir, clause)
    seed = trace.seed if isinstance(trace.seed, int) else 0
    name = str(trace.strategy.get("name", "random"))
    reference = _run("refimpl", scenario, name if name in ("random", "pct") else "random", seed)
    return Counterexample(
        clause=clause,
        text=text,
        scenario=scenario.to_json(),
        strategy=name,
        seed=seed,
        preemptions=trace.preemptions,
        trace_path=str(path),
        replay=replay_command(path, impl),
        differs_from_refimpl=first_difference(trace, reference),
    )


def conform(
    impl: str,
    budget: int = 300,
    trace_dir: Path = Path("traces"),
    real_runs: int = 10,
    shrink_seeds: int = 6,
) -> ConformanceReport:
    report = ConformanceReport(impl, budget)
    found: dict[str, tuple[str, Scenario, Trace]] = {}
    for probe in PROBES:
        for clause, item in probe(impl, 10).items():
            found.setdefault(clause, item)
    for strategy in ("random", "pct"):
        for seed in range(budget):
            scenario = scenario_from_seed(seed, GenConfig())
            trace = _run(impl, scenario, strategy, seed)
            report.schedules += 1
            for clause, text in _clauses_of(trace).items():
                if clause not in found:
                    small, trace_small = shrink(impl, scenario, clause, trace, shrink_seeds)
                    text_small = _clauses_of(trace_small).get(clause, text)
                    found[clause] = (text_small, small, trace_small)
    from sim.adapters import load_adapter
    from sim.driver import play_real

    for seed in range(real_runs):
        scenario = scenario_from_seed(seed, GenConfig(expiries=(None, 0.0)))
        try:
            history = play_real(scenario, load_adapter(impl))
        except Exception as exc:  # a real run that cannot finish is itself a finding
            report.real_findings.setdefault(
                "D2", f"real run {seed} failed: {type(exc).__name__}: {exc}"
            )
            continue
        finally:
            report.real_runs += 1
        for v in check(history, tolerance=5.0).violations:
            report.real_findings.setdefault(v.clause, f"seed {seed}: {v.text}")
    for clause in ALL_CLAUSES:
        if clause in found:
            text, scenario, trace = found[clause]
            ce = _counterexample(impl, clause, text, scenario, trace, trace_dir)
            report.clauses.append(ClauseResult(clause, "violated", ce))
        elif clause in report.real_findings:
            report.clauses.append(
                ClauseResult(
                    clause, "violated", None, "real threads only: " + report.real_findings[clause]
                )
            )
        elif clause in CHECKED:
            report.clauses.append(ClauseResult(clause, "conforms"))
        else:
            report.clauses.append(
                ClauseResult(
                    clause,
                    "not applicable",
                    None,
                    "not observable through the adapter protocol (refimpl's own tests check it)",
                )
            )
    return report


def main(impl: str, report_path: str | None, budget: int, trace_dir: Path) -> int:
    report = conform(impl, budget, trace_dir)
    print(report.table())
    for c in report.clauses:
        if c.counterexample is not None:
            print(f"\n{c.clause}: {c.counterexample.text}")
            print(f"  minimal scenario: {json.dumps(c.counterexample.scenario, sort_keys=True)}")
            print(
                f"  schedule: {c.counterexample.strategy} seed {c.counterexample.seed}, "
                f"{c.counterexample.preemptions} preemptions"
            )
            print(f"  vs refimpl: {c.counterexample.differs_from_refimpl}")
            print(f"  replay: {c.counterexample.replay}")
    if report_path:
        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        Path(report_path).write_text(
            json.dumps(report.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    return 1 if report.violated else 0
