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

from sim.adapters import load_adapter
from sim.driver import play_real
from sim.explore import judge
from sim.inputs import replay_command
from sim.oracle import check
from sim.scenario import Scenario
from sim.scheduler import SchedulingStrategy
from sim.trace import Trace, record

__all__ = ["PropertyFailure", "check_real", "check_sim", "trace_dir"]


class PropertyFailure(AssertionError):
    """A run broke the spec; the message says how and how to replay it."""


def trace_dir() -> Path:
    return Path(os.environ.get("CHANSPEC_TRACE_DIR", "traces"))


def _save(trace: Trace) -> Path:
    text = trace.dumps()
    name = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]
    impl = trace.impl.replace(":", "-")
    path = trace_dir() / f"prop-{impl}-{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def check_sim(
    impl: str,
    scenario: Scenario,
    strategy: SchedulingStrategy,
    *,
    name: str = "hypothesis",
    max_steps: int = 200_000,
) -> Trace:
    """Run and judge one simulated schedule; PropertyFailure (with a replay command) if bad."""
    description: dict[str, Any] = {"name": name, "seed": None, "params": {}}
    trace = record(scenario, impl, strategy, None, max_steps, judge, description=description)
    outcome = trace.outcome
    if outcome["status"] != "ok":
        path = _save(trace)
        lines = [
            f"{impl}: {outcome['status']} ({trace.steps} steps, {trace.preemptions} preemptions)"
        ]
        lines += [f"  [{v['clause']}] {v['text']}" for v in outcome.get("violations", [])]
        if trace.error:
            lines.append(f"  {trace.error}")
        lines.append(f"replay: {replay_command(path, impl)}")
        raise PropertyFailure("\n".join(lines))
    return trace


def check_real(impl: str, scenario: Scenario, tolerance: float = 5.0) -> None:
    """Run on real threads and judge the real history (times in scenario seconds)."""
    failure = ""
    try:
        history = play_real(scenario, load_adapter(impl))
        verdict = check(history, tolerance=tolerance)
        if not verdict.ok:
            failure = verdict.summary()
    except Exception as exc:  # the run could not finish (a thread failed, a timeout)
        failure = f"the run failed: {type(exc).__name__}: {exc}"
    if failure:
        text = json.dumps(scenario.to_json(), sort_keys=True)
        name = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]
        path = trace_dir() / f"real-{impl.replace(':', '-')}-{name}.scenario.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        raise PropertyFailure(
            f"{impl} on real threads:\n{failure}\n"
            "a real-thread run cannot be replayed exactly; its scenario is saved:\n"
            f"rerun on real threads: python -m sim run --scenario {path} --impl {impl} "
            "--seeds 0..19 --real\n"
            f"hunt it in simulation: python -m sim run --scenario {path} --impl {impl} "
            "--seeds 0..999"
        )
