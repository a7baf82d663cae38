"""Real-thread runs that fail: what the user is told, and what is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.adapters.refimpl_adapter import RefimplAdapter, RefimplSession
from sim.driver import RealRunError, play_real
from sim.generate import scenario_from_seed
from sim.properties import PropertyFailure, check_real
from sim.scenario import ChannelSpec, Scenario, Send, Settle


def test_a_real_thread_violation_saves_its_scenario_and_prints_both_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHANSPEC_TRACE_DIR", str(tmp_path))
    scenario = scenario_from_seed(1)
    with pytest.raises(PropertyFailure) as info:
        check_real("mutant:deep_copy", scenario)
    text = str(info.value)
    assert "[C3]" in text
    (saved,) = tmp_path.glob("real-mutant-deep_copy-*.scenario.json")
    assert Scenario.from_json(json.loads(saved.read_text())) == scenario
    assert (
        f"python -m sim run --scenario {saved} --impl mutant:deep_copy --seeds 0..19 --real" in text
    )
    assert f"python -m sim run --scenario {saved} --impl mutant:deep_copy --seeds 0..999" in text


class _NeverIdle(RefimplSession):
    def settle(self) -> None:
        raise TimeoutError("never idle, as told")


class NeverIdleAdapter(RefimplAdapter):
    def open(self, settings, platform, report):  # type: ignore[no-untyped-def]
        session = super().open(settings, platform, report)
        return _NeverIdle(session.runtime, report)


def test_a_failing_sender_thread_fails_the_real_run_with_its_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = Scenario((ChannelSpec("a"),), ((Send(0), Settle(), Send(0)),))
    with pytest.raises(RealRunError) as info:
        play_real(scenario, NeverIdleAdapter())
    assert "TimeoutError: never idle, as told" in str(info.value)
    history = info.value.history
    assert history is not None
    kinds = [e.kind for e in history.events]
    assert "settle_call" in kinds and "settle_ret" not in kinds  # the thread stopped there
    monkeypatch.setenv("CHANSPEC_TRACE_DIR", str(tmp_path))
    with pytest.raises(PropertyFailure, match="the run failed: RealRunError"):
        check_real("tests.sim.test_real_failures:NeverIdleAdapter", scenario)
