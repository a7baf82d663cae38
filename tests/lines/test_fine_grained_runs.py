"""Fine-grained runs end to end: same seed, same trace bytes; replay exact; the CLI's errors.

On the reference implementation with its registry and worker modules line-preempted
(race-directed and every line). Harness tests: no clause.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from sim import cli
from sim.explore import RunSpec, judge, run_one
from sim.lines.plan import plan_run
from sim.runs import determinism_check, record, replay
from sim.trace import load

pytestmark = pytest.mark.settrace

MODULES = "refimpl.registry,refimpl.worker"


@pytest.mark.parametrize("strategy", ["race", "random"])
def test_same_seed_same_trace_bytes(strategy: str) -> None:
    spec = RunSpec(3, strategy=strategy, preempt_lines=MODULES)
    scenario = spec.scenario()
    _first, lines = spec.plan(scenario)
    assert lines is not None
    result = determinism_check(
        scenario,
        "refimpl",
        lambda _seed: spec.plan(scenario)[0],
        spec.seed,
        spec.max_steps,
        judge,
        lines=lines,
    )
    assert result.ok, result.first
    assert result.original.dumps() == result.replayed.dumps()
    assert any(kind.startswith("line ") for _, kind in result.original.log)


def test_a_race_trace_replays_exactly_from_its_file(tmp_path: Path) -> None:
    spec = RunSpec(5, strategy="race", preempt_lines=MODULES)
    result = run_one(spec, tmp_path, keep=True)
    trace = load(result.trace_path)
    assert trace.lines is not None and trace.lines["lines"]  # the racy lines, stored
    again = replay(trace, judge)
    assert again.ok, again.first


def test_runs_without_line_points_keep_their_trace_format() -> None:
    spec = RunSpec(3)
    strategy, lines = spec.plan(spec.scenario())
    assert lines is None
    trace = record(spec.scenario(), "refimpl", strategy, 3, spec.max_steps, judge)
    assert "lines" not in json.loads(trace.dumps())


def test_race_needs_modules() -> None:
    with pytest.raises(ValueError, match="needs line points"):
        plan_run("refimpl", "race", 0, RunSpec(0).scenario(), "")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--preempt-lines", "no.such.module"], "no module named 'no.such.module'"),
        (["--preempt-lines", "a..b"], "is not a module name"),
        (["--strategy", "race"], "--strategy race needs --preempt-lines"),
        (["--real", "--preempt-lines", "refimpl.worker"], "simulated runs"),
    ],
)
def test_cli_refuses_bad_line_options_in_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run", "--seed", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_cli_refuses_line_points_under_another_tracer(capsys: pytest.CaptureFixture[str]) -> None:
    def foreign(frame: Any, event: str, arg: Any) -> None:
        return None

    previous = sys.gettrace()
    sys.settrace(foreign)
    try:
        code = cli.main(["run", "--seed", "0", "--preempt-lines", "refimpl.worker"])
    finally:
        sys.settrace(previous)
    assert code == 2
    assert "sys.settrace" in capsys.readouterr().err


def test_an_adapter_default_gives_way_to_another_tracer() -> None:
    """Under coverage, Lona's default line points are off (warned); explicit ones refuse."""
    from sim.lines.plan import modules_for

    def foreign(frame: Any, event: str, arg: Any) -> None:
        return None

    assert modules_for("lona", "") == ("lona.channels",)
    previous = sys.gettrace()
    sys.settrace(foreign)
    try:
        assert modules_for("lona", "") == ()
        assert modules_for("lona", "lona.channels") == ("lona.channels",)
    finally:
        sys.settrace(previous)
