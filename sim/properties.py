"""The property check behind the Hypothesis suite: one run, judged, replayable when it fails.

``check_sim(impl, scenario, strategy)`` plays a scenario under a scheduling strategy
(usually ``HypothesisSchedule``, so that Hypothesis shrinks scenario and schedule
together), judges it with the oracle and, if anything is wrong, writes the trace and
raises ``PropertyFailure`` whose message ends with the replay command.
``check_real(impl, scenario)`` does the same on real threads (no trace: real runs
cannot be replayed; the message names the scenario instead).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from sim import jsonl
from sim.inputs import replay_command
from sim.runs import MAX_STEPS, REAL_TOLERANCE, judge, record, run_real, save_trace
from sim.scenario import Scenario
from sim.scheduler import SchedulingStrategy
from sim.trace import Trace

__all__ = ["PropertyFailure", "check_real", "check_sim", "trace_dir"]


class PropertyFailure(AssertionError):
    """A run broke the spec; the message says how and how to replay it."""


def trace_dir() -> Path:
    return Path(os.environ.get("CHANSPEC_TRACE_DIR", "traces"))


def check_sim(
    impl: str,
    scenario: Scenario,
    strategy: SchedulingStrategy,
    *,
    name: str = "hypothesis",
    max_steps: int = MAX_STEPS,
) -> Trace:
    """Run and judge one simulated schedule; PropertyFailure (with a replay command) if bad."""
    description: dict[str, Any] = {"name": name, "seed": None, "params": {}}
    trace = record(scenario, impl, strategy, None, max_steps, judge, description=description)
    outcome = trace.outcome
    if outcome["status"] != "ok":
        path = save_trace(trace, trace_dir(), prefix="prop-")
        lines = [
            f"{impl}: {outcome['status']} ({trace.steps} steps, {trace.preemptions} preemptions)"
        ]
        lines += [f"  [{v['clause']}] {v['text']}" for v in outcome.get("violations", [])]
        if trace.error:
            lines.append(f"  {trace.error}")
        lines.append(f"replay: {replay_command(path, impl)}")
        raise PropertyFailure("\n".join(lines))
    return trace


def check_real(impl: str, scenario: Scenario, tolerance: float = REAL_TOLERANCE) -> None:
    """Run on real threads and judge the real history (times in scenario seconds)."""
    run = run_real(scenario, impl, tolerance=tolerance)
    if run.ok:
        return
    text = json.dumps(scenario.to_json(), sort_keys=True)
    name = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]
    stem = trace_dir() / f"real-{impl.replace(':', '-')}-{name}"
    path = stem.with_name(stem.name + ".scenario.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    history = stem.with_name(stem.name + ".history.jsonl")
    jsonl.save(history, run.history, impl=impl, thread_names=run.thread_names, tolerance=tolerance)
    raise PropertyFailure(
        f"{impl} on real threads:\n{run.summary()}\n"
        "a real-thread run cannot be replayed exactly; its scenario and history are saved:\n"
        f"its history: python -m sim check {history} --html {stem.name}.html\n"
        f"rerun on real threads: python -m sim run --scenario {path} --impl {impl} "
        "--seeds 0..19 --real\n"
        f"hunt it in simulation: python -m sim run --scenario {path} --impl {impl} "
        "--seeds 0..999"
    )
