"""Exploration: many runs, each judged by the oracle; every failure saved and replayable.

A run is named by a ``RunSpec`` (seed, implementation, strategy, thread counts): the
scenario comes from ``sim.generate.scenario_from_seed`` and the schedule from the
strategy built with the same seed, so ``RunSpec.command()`` is a one-line command that
runs it again. A failing run also writes its trace, replayable with
``python -m sim replay FILE``.

``campaign`` runs many specs on several processes and merges the results in spec order,
so its summary does not depend on which process finished first.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, overload

from sim.adapters import load_adapter
from sim.execution import simulate
from sim.generate import GenConfig, scenario_from_seed
from sim.lines.config import LinePoints
from sim.lines.plan import modules_for, plan_run
from sim.oracle import CLAUSES
from sim.runs import MAX_STEPS, judge, outcome_of
from sim.scenario import Scenario
from sim.scheduler import SchedulingStrategy
from sim.strategies import describe
from sim.strategies.exhaustive import Exhaustive
from sim.trace import Trace, capture

__all__ = [
    "CampaignSummary",
    "RunResult",
    "RunSpec",
    "SeedSpecs",
    "campaign",
    "explore_exhaustive",
    "run_one",
]

#: Scenario sizes a run can ask for: ``s`` (the default) and ``l`` (longer, more threads).
SIZES: dict[str, GenConfig] = {
    "s": GenConfig(),
    "l": GenConfig(max_roles=6, max_threads=4, max_ops=14),
}


@dataclass(frozen=True)
class RunSpec:
    seed: int
    impl: str = "refimpl"
    strategy: str = "random"
    brokers: int | None = None
    workers: int | None = None
    max_steps: int = MAX_STEPS
    size: str = "s"
    scenario_file: str = ""  #: play this scenario (JSON) instead of generating one from the seed
    preempt_lines: str = ""  #: ``--preempt-lines``: modules, ``none``, or "" (adapter's default)

    def scenario(self) -> Scenario:
        if self.scenario_file:
            from sim.inputs import scenario_file

            loaded = scenario_file(self.scenario_file)  # every field checked (InputError)
            if self.brokers is not None or self.workers is not None:
                loaded = loaded.with_config(
                    self.brokers or loaded.brokers, self.workers or loaded.workers
                )
            return loaded
        config = SIZES[self.size]
        if (self.brokers, self.workers) != (config.brokers, config.workers):
            # (a GenConfig checks every bound when made: once per size, not once per run)
            config = replace(config, brokers=self.brokers, workers=self.workers)
        return scenario_from_seed(self.seed, config)

    def command(self) -> str:
        parts = ["python -m sim run", f"--seed {self.seed}", f"--impl {self.impl}"]
        parts.append(f"--strategy {self.strategy}")
        if self.brokers is not None:
            parts.append(f"--brokers {self.brokers}")
        if self.workers is not None:
            parts.append(f"--workers {self.workers}")
        if self.max_steps != MAX_STEPS:
            parts.append(f"--max-steps {self.max_steps}")
        if self.size != "s":
            parts.append(f"--size {self.size}")
        if self.scenario_file:
            parts.append(f"--scenario {self.scenario_file}")
        if self.preempt_lines:
            parts.append(f"--preempt-lines {self.preempt_lines}")
        return " ".join(parts)

    def plan(self, scenario: Scenario) -> tuple[SchedulingStrategy, LinePoints | None]:
        """This run's strategy and line points (``sim.lines.plan``)."""
        return plan_run(
            self.impl, self.strategy, self.seed, scenario, self.preempt_lines, self.max_steps
        )

    def trace_name(self) -> str:
        impl = self.impl.replace(":", "-").replace("/", "-")
        config = f"b{self.brokers or 'x'}w{self.workers or 'x'}"
        return f"{impl}-{self.strategy}-{config}-{self.size}-seed{self.seed}.json"


@dataclass
class RunResult:
    spec: RunSpec
    status: str
    violations: list[dict[str, Any]]
    steps: int
    preemptions: int
    decisions: int
    digest: str  #: identifies the interleaving (scenario and decisions)
    brokers: int
    workers: int
    trace_path: str = ""
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status != "ok"

    def headline(self) -> str:
        if self.violations:
            first = self.violations[0]
            return f"[{first['clause']}] {first['text']}"
        return self.error or self.status

    def replay_command(self) -> str:
        if self.trace_path:
            from sim.inputs import replay_command

            return replay_command(self.trace_path, self.spec.impl)
        return self.spec.command()


def _digest(scenario: Scenario, decisions: list[int]) -> str:
    """Names the interleaving: the scenario (its dataclass ``repr``: plain values only, the
    same on every machine) and the decisions made in it."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(repr(scenario).encode())
    h.update(bytes(str(decisions), "ascii"))
    return h.hexdigest()[:16]


def _write(result: RunResult, trace: Trace, trace_dir: Path) -> None:
    trace_dir.mkdir(parents=True, exist_ok=True)
    path = trace_dir / result.spec.trace_name()
    path.write_text(trace.dumps(), encoding="utf-8")
    result.trace_path = str(path)


def _play(
    spec: RunSpec,
    scenario: Scenario,
    strategy: SchedulingStrategy,
    description: dict[str, Any],
    lines: LinePoints | None,
    trace_dir: Path | None,
    keep: bool,
) -> RunResult:
    """Simulate, judge and count one run; capture and write its trace only when it is kept
    (a failure, or *keep*): a campaign's passing runs need their verdict and counters,
    which the execution itself gives."""
    execution = simulate(scenario, load_adapter(spec.impl), strategy, spec.max_steps, lines)
    outcome = outcome_of(execution, judge)
    sched = execution.sched
    decisions = sched.decisions if sched is not None else []
    result = RunResult(
        spec=spec,
        status=outcome["status"],
        violations=list(outcome.get("violations", [])),
        steps=sched.steps if sched is not None else 0,
        preemptions=sched.preemptions if sched is not None else 0,
        decisions=len(decisions),
        digest=_digest(scenario, decisions),
        brokers=scenario.brokers,
        workers=scenario.workers,
        error=outcome.get("error", ""),
    )
    if trace_dir is not None and (keep or result.failed):
        trace = capture(
            execution, spec.impl, description, spec.seed, spec.max_steps, outcome, lines
        )
        _write(result, trace, trace_dir)
    return result


def run_one(spec: RunSpec, trace_dir: Path | None = None, keep: bool = False) -> RunResult:
    """Run one spec; write its trace under *trace_dir* if it failed (or always, with *keep*)."""
    scenario = spec.scenario()
    strategy, lines = spec.plan(scenario)
    return _play(spec, scenario, strategy, describe(strategy), lines, trace_dir, keep)


@dataclass
class ExhaustiveResult:
    explored: int
    complete: bool
    results: list[RunResult]

    @property
    def failures(self) -> list[RunResult]:
        return [r for r in self.results if r.failed]


def explore_exhaustive(
    spec: RunSpec,
    preemption_bound: int = 2,
    max_executions: int = 2000,
    trace_dir: Path | None = None,
    stop_at_first: bool = False,
) -> ExhaustiveResult:
    """Every schedule of the seed's (small) scenario with at most *preemption_bound* preemptions."""
    scenario = scenario_from_seed(spec.seed, GenConfig(spec.brokers, spec.workers, 2, 2, 2))
    modules = modules_for(spec.impl, spec.preempt_lines)
    lines = LinePoints.of(modules) if modules else None
    explorer = Exhaustive(preemption_bound, max_executions)
    results: list[RunResult] = []
    for n, execution in enumerate(explorer.executions()):
        description = {
            "name": "exhaustive",
            "seed": spec.seed,
            "params": {"bound": preemption_bound, "n": n},
        }
        named = replace(spec, strategy=f"exhaustive{n}")
        result = _play(named, scenario, execution, description, lines, trace_dir, keep=False)
        results.append(result)
        if stop_at_first and result.failed:
            break
    return ExhaustiveResult(explorer.explored, explorer.complete, results)


# campaigns ---------------------------------------------------------------------------------
@dataclass
class CampaignSummary:
    results: list[RunResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[RunResult]:
        return [r for r in self.results if r.failed]

    def text(self, timing: bool = True) -> str:
        """The summary; *timing* False leaves out the wall-time line (it alone varies)."""
        results = self.results
        steps = sum(r.steps for r in results)
        seeds = len({r.spec.seed for r in results})
        configs: dict[tuple[int, int], int] = {}
        for r in results:
            configs[(r.brokers, r.workers)] = configs.get((r.brokers, r.workers), 0) + 1
        strategies: dict[str, int] = {}
        for r in results:
            strategies[r.spec.strategy] = strategies.get(r.spec.strategy, 0) + 1
        rate = steps / self.seconds if self.seconds > 0 else 0.0
        lines = [
            "== chanspec simulation campaign ==",
            f"seeds {seeds}, schedules {len(results)} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(strategies.items()))})",
            f"steps {steps}, preemptions {sum(r.preemptions for r in results)}, "
            f"decisions {sum(r.decisions for r in results)}",
            f"distinct interleavings {len({r.digest for r in results})}",
            "configurations (brokers x workers: schedules) "
            + ", ".join(f"{b}x{w}: {n}" for (b, w), n in sorted(configs.items())),
            f"properties checked per schedule {len(CLAUSES)} ({' '.join(CLAUSES)}), "
            f"checks {len(CLAUSES) * len(results)}",
            f"failures {len(self.failures)}",
        ]
        if timing:
            lines.insert(-1, f"wall time {self.seconds:.1f} s, {rate:,.0f} steps/s")
        for r in self.failures:
            lines.append(
                f"  FAIL {r.spec.impl} seed {r.spec.seed} ({r.spec.strategy}): {r.headline()}"
            )
            lines.append(f"       replay: {r.replay_command()}")
            lines.append(f"       rerun:  {r.spec.command()}")
        return "\n".join(lines)


def _run_packed(args: tuple[RunSpec, str | None]) -> RunResult:
    spec, trace_dir = args
    import logging

    logging.getLogger("refimpl").setLevel(logging.CRITICAL)
    return run_one(spec, Path(trace_dir) if trace_dir else None)


def campaign(
    specs: Sequence[RunSpec],
    jobs: int = 2,
    trace_dir: Path | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> CampaignSummary:
    """Run every spec (on *jobs* processes); results in spec order."""
    started = time.perf_counter()
    summary = CampaignSummary()
    # a generator, so that a long seed range is never materialised (SeedSpecs)
    packed = ((s, str(trace_dir) if trace_dir else None) for s in specs)
    results: Iterable[RunResult]
    if jobs > 1 and len(specs) > 1:
        pool = multiprocessing.get_context("fork").Pool(jobs)
        results = pool.imap(_run_packed, packed, chunksize=4)
    else:
        pool = None
        results = map(_run_packed, packed)
    failed = 0  # counted as results come: ``summary.failures`` rescans them all (O(n) each)
    try:
        for result in results:
            summary.results.append(result)
            failed += result.failed
            if progress is not None:
                progress(len(summary.results), len(specs), failed)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    summary.seconds = time.perf_counter() - started
    return summary


def campaign_specs(
    seeds: Sequence[int],
    impl: str = "refimpl",
    strategies: Sequence[str] = ("random", "pct"),
    sizes: Sequence[str] = ("s", "l"),
    brokers: int | None = None,
    workers: int | None = None,
    max_steps: int = MAX_STEPS,
    preempt_lines: str = "",
) -> SeedSpecs:
    """The runs of a campaign, in its fixed order: strategies and sizes alternate by seed."""

    def spec(seed: int) -> RunSpec:
        return RunSpec(
            seed,
            impl,
            strategies[seed % len(strategies)],
            brokers,
            workers,
            max_steps,
            sizes[(seed // len(strategies)) % len(sizes)],
            preempt_lines=preempt_lines,
        )

    return SeedSpecs(seeds, spec)


class SeedSpecs(Sequence[RunSpec]):
    """The ``RunSpec`` of each seed of *seeds*, made only when asked for.

    ``--seeds 0..1000000000`` is a ``range``; so is every slice of this view (a shard):
    a run over a billion seeds starts at once and holds one spec per run in flight.
    """

    def __init__(self, seeds: Sequence[int], make: Callable[[int], RunSpec]) -> None:
        self.seeds = seeds
        self.make = make

    def __len__(self) -> int:
        return len(self.seeds)

    @overload
    def __getitem__(self, index: int) -> RunSpec: ...

    @overload
    def __getitem__(self, index: slice) -> SeedSpecs: ...

    def __getitem__(self, index: int | slice) -> RunSpec | SeedSpecs:
        if isinstance(index, slice):
            return SeedSpecs(self.seeds[index], self.make)
        return self.make(self.seeds[index])

    def __iter__(self) -> Iterator[RunSpec]:
        return map(self.make, self.seeds)


def jobs_count(text: str) -> int:
    """``--jobs``: a positive number, or ``auto`` for every core this process may use."""
    if text == "auto":
        import os

        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    jobs = int(text)
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1 or 'auto', not {text}")
    return jobs


def _eta(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def progress_printer(
    stream: Any = sys.stderr, clock: Callable[[], float] = time.monotonic
) -> Callable[[int, int, int], None]:
    """A progress bar on a terminal; a line every 10% otherwise (CI logs). Both show the
    rate and the time left (wall clock: for the person watching, never for a run)."""
    tty = hasattr(stream, "isatty") and stream.isatty()
    last = [-1]
    started = clock()

    def show(done: int, total: int, failures: int) -> None:
        elapsed = clock() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f"{_eta((total - done) / rate)} left" if rate > 0 else "time left unknown"
        status = f"{done}/{total} schedules, {rate:,.1f}/s, {left}, {failures} failures"
        if tty:
            width = 30
            filled = width * done // total
            stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {status}\x1b[K")
            if done == total:
                stream.write("\n")
            stream.flush()
        else:
            tenth = 10 * done // total
            if tenth != last[0]:
                last[0] = tenth
                stream.write(f"{status}\n")
                stream.flush()

    return show
