"""Harness tests of ``sim.execution``: a run happens once, in ``simulate``, and comes back as data.

They test the simulator's layering, not the spec, so they cite no clause: ``simulate``
returns what happened (also when the run aborts), and ``sim.trace`` only stores it --
it imports nothing that runs a simulation.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sim.adapters import load_adapter
from sim.execution import Execution, simulate
from sim.scenario import ChannelSpec, Scenario, Send
from sim.strategies import make_strategy
from sim.trace import capture, default_outcome

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = Scenario(channels=(ChannelSpec("a.b"), ChannelSpec("a.*")), threads=((Send(0),),))


class Refuses:
    """A strategy that breaks at its first decision."""

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        raise LookupError("no decision today")


def test_simulate_returns_the_history_and_the_scheduler_of_the_run() -> None:
    run = simulate(SCENARIO, load_adapter("refimpl"), make_strategy("random", 3))
    assert isinstance(run, Execution) and run.error is None and not run.partial
    assert run.sched is not None and run.sched.steps > 0 and run.sched.decisions
    kinds = [event.kind for event in run.history.events]
    assert "send_call" in kinds and kinds.count("start") == 2  # both channels match a.b


def test_a_run_that_breaks_is_still_an_execution_with_what_it_did_so_far() -> None:
    run = simulate(SCENARIO, load_adapter("refimpl"), Refuses())
    assert isinstance(run.error, LookupError) and not run.partial
    assert run.sched is not None and run.sched.steps > 0
    outcome = default_outcome(run.history, None, run.error)
    trace = capture(run, "refimpl", {"name": "refuses"}, None, 100, outcome)
    assert trace.status == "error" and trace.error == "LookupError: no decision today"
    assert trace.steps == run.sched.steps and not trace.partial


def test_the_same_execution_captures_to_the_same_bytes() -> None:
    run = simulate(SCENARIO, load_adapter("refimpl"), make_strategy("random", 5))
    outcome = default_outcome(run.history, run.sched, run.error)
    first = capture(run, "refimpl", {"name": "random", "seed": 5}, 5, 1000, dict(outcome))
    second = capture(run, "refimpl", {"name": "random", "seed": 5}, 5, 1000, dict(outcome))
    assert first.dumps() == second.dumps() and first.steps == run.sched.steps  # type: ignore[union-attr]


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_trace_module_only_serialises() -> None:
    """Data walks down once: nothing in ``sim.trace`` can start a run."""
    imported = _imported_modules(ROOT / "sim" / "trace.py")
    runners = {"sim.driver", "sim.runs", "sim.explore", "sim.adapters", "sim.strategies"}
    assert not imported & runners, f"sim.trace imports {sorted(imported & runners)}"
    assert "sim.driver" in _imported_modules(ROOT / "sim" / "execution.py")  # the one that runs
