"""conform on a polling implementation whose shutdown() never returns (virtual time moves).

Such a run hits the step limit with its clock far past the last event. It is a liveness
finding by the settle bound (spec section 17) at the first cut; conform used to play it
again to MAX_STEPS first, for every hung schedule (an implementation written outside the
project cost 110 CPU seconds at the default budget, mostly in those replays).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.conform import MAX_STEPS, STEPS, _Conformance
from sim.scenario import ChannelSpec, Scenario, Send, Settle, Unsubscribe

IMPL = "tests.sim.impls.poll_forever:Adapter"


@pytest.mark.spec("S1")
def test_a_polling_hang_is_a_liveness_finding_without_a_replay(tmp_path: Path) -> None:
    c = _Conformance(IMPL, tmp_path, simulated=True)
    scenario = Scenario((ChannelSpec("a"),), ((Send(0), Settle()),), workers=1)
    run = c.play_sim(scenario, "random", 0)
    assert run.trace is not None
    assert run.trace.steps <= STEPS + 1 < MAX_STEPS  # decided at the first cut
    assert list(run.found) == ["S1"]
    assert "shutdown() did not return" in run.found["S1"]
    assert c.explored.unfinished == 0 and not c.livelock


@pytest.mark.spec("S1", "W3")
def test_calls_stuck_when_the_run_is_cut_record_no_return(tmp_path: Path) -> None:
    """An unsubscribe() and a handler (stuck in a send) that never returned: tearing the run
    down used to record their unsub_ret and end at the cut, so the history looked busy up
    to the end (the hang went unjudged: "still at work") and the calls looked finished."""
    c = _Conformance(IMPL, tmp_path, simulated=True)
    channels = (ChannelSpec("stuck.a"), ChannelSpec("a", reply=2), ChannelSpec("stuck.b"))
    scenario = Scenario(channels, ((Unsubscribe(0),), (Send(1),)), workers=1)
    run = c.play_sim(scenario, "random", 0)
    kinds = [e.kind for e in run.history.events]
    assert "unsub_call" in kinds and "unsub_ret" not in kinds
    assert "start" in kinds and "end" not in kinds
    assert c.explored.unfinished == 0
    assert any("did not return" in text for text in run.found.values()), run.found


@pytest.mark.spec("S1")
def test_shrinking_a_polling_hang_plays_its_candidates_to_a_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shrinking tries a hundred simpler scenarios; each that hangs used to be played to the
    adaptive limit and on to MAX_STEPS. Now to a cap taken from the counterexample itself."""
    c = _Conformance(IMPL, tmp_path, simulated=True)
    scenario = Scenario(
        (ChannelSpec("a"), ChannelSpec("b")), ((Send(0), Send(1), Settle(), Send(0)),), workers=1
    )
    run = c.play_sim(scenario, "random", 0)
    assert "S1" in run.found
    cap = c.shrink_cap(run)
    assert cap is not None and cap < STEPS
    limits: list[int] = []
    simulate = c._simulate

    def spy(scenario: Scenario, strategy: str, seed: int, steps: int, lines: str) -> Any:
        limits.append(steps)
        return simulate(scenario, strategy, seed, steps, lines)

    monkeypatch.setattr(c, "_simulate", spy)
    found = c.counterexample("S1", run.found["S1"], run, shrink_seeds=1)
    assert limits and max(limits) <= cap
    assert "did not return" in found.text
    assert found.readable.endswith("thread 0: nothing")  # shrunk: shutdown alone hangs


@pytest.mark.spec("S1")
def test_once_a_hang_is_seen_later_runs_are_cut_sooner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = _Conformance(IMPL, tmp_path, simulated=True)
    scenario = Scenario((ChannelSpec("a"),), ((Send(0), Settle()),), workers=1)
    first = c.play_sim(scenario, "random", 0)
    assert "S1" in first.found and c.hang_steps == 4 * c.steps_to_show(first) > 0
    limits: list[int] = []
    simulate = c._simulate

    def spy(scenario: Scenario, strategy: str, seed: int, steps: int, lines: str) -> Any:
        limits.append(steps)
        return simulate(scenario, strategy, seed, steps, lines)

    monkeypatch.setattr(c, "_simulate", spy)
    again = c.play_sim(scenario, "pct", 1)
    assert "S1" in again.found  # still judged a hang
    assert limits == [max(2 * c.longest, c.hang_steps, 2_000)] and limits[0] < STEPS


@pytest.mark.spec("O3", "O4")
def test_nothing_is_recorded_once_the_run_is_torn_down(tmp_path: Path) -> None:
    """The run is cut while a handler sleeps; tearing it down throws into that handler, and
    the worker (rightly) survives anything a handler raises, so it went on to start the next
    message: recorded after the end of the run, that start read as two handlers of one
    subscription at once (a false O3 on a correct corpus design, pollpool)."""
    c = _Conformance(IMPL, tmp_path, simulated=True)
    scenario = Scenario((ChannelSpec("a", sleep=100_000.0),), ((Send(0), Send(0)),), workers=1)
    run = c.play_sim(scenario, "random", 0)
    assert run.trace is not None and run.trace.outcome["status"] == "livelock"
    starts = [e.msg for e in run.history.events if e.kind == "start"]
    assert starts == [0]  # the second message never started while the run lasted
    assert "O3" not in run.found, run.found
    assert "a handler did not return" in run.found.get("O4", ""), run.found  # the sleeper
