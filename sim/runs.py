"""The glue every front end shares: record, judge, replay and save a run, run on real threads.

The CLI, the property helpers, conformance, the public API and the benchmarks all turn a
run into a verdict and a file the same way, so the way lives here once:

* ``record``: play a scenario once (``sim.execution.simulate``), give the execution its
  outcome (the caller's ``outcome_fn``, e.g. ``judge``) and capture it as a trace
  (``sim.trace.capture``), also when it aborts (deadlock, livelock, a failed replay) or a
  thread raises; ``replay(trace)`` plays a trace's decisions again (``Replay``) and
  compares the two traces (``sim.trace.compare``); ``determinism_check`` records the same
  run twice and compares them, byte for byte;

* ``MAX_STEPS``: the step limit of a simulated run (beyond it: livelock), defined by
  the scheduler that enforces it;
* ``named_clause``: the clause a harness check's error names ("... (E1)");
* ``judge``: a trace's outcome: the execution's own status (deadlock, livelock, error),
  else the oracle's verdict;
* ``save_trace``: write a trace under a directory, named by the caller or by its content;
* ``run_real`` with ``REAL_TOLERANCE``/``REAL_SCALE``: one scenario on real threads,
  judged with the clock tolerance real runs need;
* ``resolve``: an implementation given by name or as an adapter object.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.adapters import load_adapter
from sim.adapters.base import Adapter
from sim.adapters.unmodified import Unmodified, is_v2
from sim.execution import Execution, simulate
from sim.history import History
from sim.lines.config import LinePoints
from sim.oracle import Verdict, check
from sim.scenario import Scenario
from sim.scheduler import MAX_STEPS, Scheduler, SchedulingStrategy
from sim.strategies import describe
from sim.strategies.replay import Replay
from sim.trace import (
    OutcomeFn,
    ReplayResult,
    Trace,
    capture,
    compare,
    default_outcome,
    first_difference,
    line_points,
)

__all__ = [
    "MAX_STEPS",
    "REAL_SCALE",
    "REAL_TOLERANCE",
    "RealRun",
    "determinism_check",
    "judge",
    "named_clause",
    "outcome_of",
    "record",
    "replay",
    "resolve",
    "run_real",
    "save_trace",
]

#: Real seconds per scenario second on real threads.
REAL_SCALE = 0.01
#: Scenario seconds of clock skew allowed when judging a real-thread history: the driver
#: and the implementation read the clock at slightly different moments (5 s = 50 ms real).
REAL_TOLERANCE = 5.0


def judge(history: History, sched: Scheduler | None, error: BaseException | None) -> dict[str, Any]:
    """The trace outcome of one run: the execution's own status, then the oracle's verdict."""
    verdict = check(history, complete=error is None)
    if error is not None:
        status = default_outcome(history, sched, error)["status"]
    else:
        status = "ok" if verdict.ok else "violation"
    return {"status": status, "violations": [v.to_json() for v in verdict.violations]}


_CLAUSE_TAG = re.compile(r"\(([A-Z]\d+)\)\s*$")


def named_clause(error: str) -> str | None:
    """The clause an error names at its end, as the harness's own checks do ("... (T1)")."""
    match = _CLAUSE_TAG.search(error)
    return match.group(1) if match else None


def record(
    scenario: Scenario,
    impl: str,
    strategy: SchedulingStrategy,
    seed: int | None = None,
    max_steps: int = MAX_STEPS,
    outcome_fn: OutcomeFn | None = None,
    *,
    adapter: Adapter | None = None,
    description: dict[str, Any] | None = None,
    lines: LinePoints | None = None,
) -> Trace:
    """Play *scenario* against *impl* under *strategy*, judge it, and capture it as a Trace.

    *adapter* overrides ``load_adapter(impl)`` (the trace still names *impl*);
    *description* overrides ``describe(strategy)``. *seed* defaults to the strategy's.
    *outcome_fn* (e.g. ``judge``) adds its verdict to the execution's own status.
    *lines*: scheduling points before those lines too (``sim.lines``).
    """
    if adapter is None:
        adapter = load_adapter(impl)
    if description is None:
        description = describe(strategy)
    if seed is None:
        seed = description.get("seed")
    execution = simulate(scenario, adapter, strategy, max_steps, lines)
    outcome = outcome_of(execution, outcome_fn)
    return capture(execution, impl, description, seed, max_steps, outcome, lines)


def outcome_of(execution: Execution, outcome_fn: OutcomeFn | None = judge) -> dict[str, Any]:
    """*execution*'s outcome: how it ended (``default_outcome``), then *outcome_fn*'s verdict."""
    history, sched, error = execution.history, execution.sched, execution.error
    outcome = default_outcome(history, sched, error)
    if outcome_fn is not None:
        outcome.update(outcome_fn(history, sched, error))
    return outcome


def replay(
    trace: Trace, outcome_fn: OutcomeFn | None = None, *, adapter: Adapter | None = None
) -> ReplayResult:
    """Run *trace* again with its decisions and report the first divergence precisely.

    How the execution ends (``Trace.error``) is always compared. The verdict
    (``Trace.outcome``) is compared only when *outcome_fn*, the function that judged the
    original, is given; otherwise a replay that ends the same way takes the original's.
    """
    again = record(
        trace.load_scenario(),
        trace.impl,
        Replay(trace.decisions),
        trace.seed,
        trace.max_steps,
        outcome_fn,
        adapter=adapter if adapter is not None else _adapter(trace),
        description=trace.strategy,
        lines=line_points(trace),
    )
    if outcome_fn is None and again.error == trace.error:
        again.outcome = dict(trace.outcome)
    return ReplayResult(trace, again, compare(trace, again))


def _adapter(trace: Trace) -> Adapter:
    from sim.inputs import adapter_for_trace

    adapter: Adapter = adapter_for_trace(trace.impl)
    return adapter


def determinism_check(
    scenario: Scenario,
    impl: str,
    strategy_factory: Callable[[int], SchedulingStrategy],
    seed: int,
    max_steps: int = MAX_STEPS,
    outcome_fn: OutcomeFn | None = None,
    *,
    adapter: Adapter | None = None,
    lines: LinePoints | None = None,
) -> ReplayResult:
    """Record the same run twice (fresh strategy from *seed* each time); any difference is a bug."""
    first, second = (
        record(
            scenario,
            impl,
            strategy_factory(seed),
            seed,
            max_steps,
            outcome_fn,
            adapter=adapter,
            lines=lines,
        )
        for _ in range(2)
    )
    found = compare(first, second, ("run 1", "run 2"))
    if not found:
        x, y = first.dumps(), second.dumps()
        if x != y:
            at = first_difference(list(x), list(y)) or 0
            found.append(
                f"trace bytes differ at offset {at}: {x[at : at + 60]!r} vs {y[at : at + 60]!r}"
            )
    return ReplayResult(first, second, found)


def save_trace(trace: Trace, directory: str | Path, name: str = "", prefix: str = "") -> Path:
    """Write *trace* as ``directory/name`` (default: *prefix*, impl and a content hash)."""
    text = trace.dumps()
    if not name:
        digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]
        impl = trace.impl.replace(":", "-").replace("/", "-")
        name = f"{prefix}{impl}-{digest}.json"
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def resolve(impl: str | Adapter) -> tuple[str, Adapter]:
    """(name, adapter) for an implementation given by name or as an adapter object."""
    if isinstance(impl, str):
        return impl, load_adapter(impl)
    if not callable(getattr(impl, "open", None)):
        raise TypeError(f"an implementation is a name or an adapter with open(), not {impl!r}")
    name = str(getattr(impl, "name", type(impl).__name__))
    if is_v2(impl):  # as load_adapter does for a named one: run its modules unmodified
        return name, Unmodified(impl)
    return name, impl


@dataclass
class RealRun:
    """One scenario on real threads: what it recorded and the verdict (None if it failed)."""

    history: History
    verdict: Verdict | None
    error: str = ""  #: how the run itself failed (a sender thread raised, ...), or ""
    thread_names: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict is not None and self.verdict.ok

    def summary(self) -> str:
        if self.verdict is None:
            return f"the run failed: {self.error}"
        return self.verdict.summary()


def run_real(
    scenario: Scenario,
    impl: str | Adapter,
    *,
    tolerance: float = REAL_TOLERANCE,
    scale: float = REAL_SCALE,
) -> RealRun:
    """Play *scenario* on real threads and judge it; a run that cannot finish is a finding."""
    from sim.driver import play_real
    from sim.env import RealEnv

    env = RealEnv(scale)
    try:
        history = play_real(scenario, resolve(impl)[1], scale, env=env)  # a bad name: a finding
    except Exception as exc:  # the run could not finish (a thread failed, a timeout)
        partial = getattr(exc, "history", None)
        return RealRun(
            partial if isinstance(partial, History) else History(),
            None,
            f"{type(exc).__name__}: {exc}",
            dict(env.names),
        )
    return RealRun(history, check(history, tolerance=tolerance), "", dict(env.names))
