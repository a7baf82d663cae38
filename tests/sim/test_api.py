"""The library face (``import sim``): check, explore, replay, scenarios, adapter objects."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from hypothesis import given, settings

import sim
from sim.adapters import RefimplAdapter
from sim.generate import scenario_from_seed
from sim.mutants import MUTANTS
from sim.scenario import ChannelSpec, Scenario, Send, Settle


def test_the_public_names_are_exactly_the_documented_ones() -> None:
    assert sorted(sim.__all__) == sorted(
        [
            "Adapter", "Exploration", "Failure", "GenConfig", "History", "HistoryFormatError",
            "Replayed", "Scenario", "Session", "Verdict", "Violation", "check_history",
            "explore", "replay", "scenarios",
        ]
    )  # fmt: skip
    for name in sim.__all__:
        assert getattr(sim, name) is not None
    importlib.import_module("sim.explore")  # the campaign module of the same name
    assert callable(sim.explore) and sim.explore.__module__ == "sim.api"
    assert (Path(sim.__file__).parent / "py.typed").exists()


@pytest.mark.spec("C3")
def test_explore_takes_an_adapter_object_and_every_failure_replays(tmp_path: Path) -> None:
    broken = MUTANTS["deep_copy"].adapter()  # an object, never named on a command line
    found = sim.explore(broken, budget=6, trace_dir=tmp_path)
    assert found.runs == 6 and found.failures and not found.ok
    failure = found.failures[0]
    assert failure.status == "violation" and failure.violations[0].clause == "C3"
    assert failure.trace_path is not None and failure.trace_path.exists()
    assert "impl=<the adapter>" in failure.replay_command
    again = sim.replay(failure.trace_path, impl=broken)
    assert again.same and again.status == "violation"
    assert again.violations == failure.violations
    clean = sim.explore(RefimplAdapter(), budget=6, trace_dir=tmp_path)
    assert clean.ok and clean.runs == 6  # the correct control: no false failure


@pytest.mark.spec("O2")
def test_explore_over_given_scenarios_with_a_named_impl_prints_a_cli_replay(
    tmp_path: Path,
) -> None:
    config = sim.GenConfig(brokers=2)
    given_scenarios = [scenario_from_seed(s, config) for s in range(3, 6)]
    found = sim.explore(
        "mutant:unordered_commit",
        given_scenarios,
        strategy="pct",
        budget=60,
        trace_dir=tmp_path,
        stop_at_first=True,
    )
    assert found.failures and found.runs <= 60
    failure = found.failures[0]
    assert failure.scenario in given_scenarios
    assert failure.replay_command == f"python -m sim replay {failure.trace_path}"
    assert sim.replay(str(failure.trace_path)).same
    with pytest.raises(ValueError):
        sim.explore("refimpl", [], budget=1)
    with pytest.raises(TypeError):
        sim.explore(object(), budget=1)  # type: ignore[arg-type]


@pytest.mark.spec("O2")
def test_check_history_reads_objects_and_files_alike(tmp_path: Path) -> None:
    found = sim.explore(
        "mutant:unordered_commit", budget=40, trace_dir=tmp_path, stop_at_first=True
    )
    assert found.failures
    history = found.failures[0].trace_path
    assert history is not None
    trace = sim.replay(history).trace
    verdict = sim.check_history(trace.load_history())
    assert not verdict.ok and "O2" in {v.clause for v in verdict.violations}
    from sim import jsonl

    path = tmp_path / "run.jsonl"
    jsonl.save(path, trace.load_history())
    assert sim.check_history(path).violations == verdict.violations
    (tmp_path / "bad.jsonl").write_text("nope\n")
    with pytest.raises(sim.HistoryFormatError):
        sim.check_history(tmp_path / "bad.jsonl")


@settings(max_examples=5, deadline=None)
@given(scenario=sim.scenarios(sim.GenConfig(max_ops=3)))
def test_the_scenario_strategy_feeds_explore(scenario: sim.Scenario) -> None:
    assert sim.explore("refimpl", [scenario], budget=1, trace_dir=None).ok


@pytest.mark.spec("O2", "O3")
def test_explore_and_replay_take_a_version_2_adapter_object(tmp_path: Path) -> None:
    """A version-2 adapter (what an outside implementation writes) passed as an object is
    run unmodified, as its name would be (it used to be opened as a version-1 adapter and
    failed with a KeyError inside the driver)."""
    from examples.plain_channels.adapter import broken_factory
    from tests.sim.impls.lazy_unsubscribe import Adapter

    plain = Scenario((ChannelSpec("a"),), ((Send(0), Send(0), Settle()),))
    assert sim.explore(Adapter(), [plain], budget=3, trace_dir=tmp_path).ok
    broken = broken_factory()
    found = sim.explore(broken, strategy="pct", budget=40, trace_dir=tmp_path, stop_at_first=True)
    assert found.failures, "the broken bus is caught"
    failure = found.failures[0]
    assert failure.trace_path is not None
    assert sim.replay(failure.trace_path, impl=broken).same


@pytest.mark.spec("C3")
def test_a_failure_without_a_trace_file_names_the_call_that_runs_it_again() -> None:
    found = sim.explore("mutant:deep_copy", budget=3, seed=5, trace_dir=None, stop_at_first=True)
    failure = found.failures[0]
    assert failure.trace_path is None and "None" not in failure.replay_command
    assert failure.replay_command.startswith("sim.explore('mutant:deep_copy', strategy='random'")
    again = eval(failure.replay_command, {"sim": sim})  # the printed call itself
    assert [f.violations for f in again.failures] == [failure.violations]
