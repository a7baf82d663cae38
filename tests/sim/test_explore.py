"""The explorer: run specs, their commands, campaigns in one process, progress output,
exhaustive exploration, and the mutation and conformance entry points."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sim.conform import main as conform_main
from sim.explore import RunSpec, campaign, explore_exhaustive, progress_printer, run_one
from sim.mutation import main as mutation_main


def test_a_spec_command_names_every_non_default_option() -> None:
    spec = RunSpec(5, "mutant:deep_copy", "pct", brokers=2, workers=3, max_steps=999, size="l")
    assert spec.command() == (
        "python -m sim run --seed 5 --impl mutant:deep_copy --strategy pct "
        "--brokers 2 --workers 3 --max-steps 999 --size l"
    )
    assert spec.trace_name() == "mutant-deep_copy-pct-b2w3-l-seed5.json"


def test_a_result_without_a_trace_reproduces_by_its_command(tmp_path: Path) -> None:
    result = run_one(RunSpec(2, "mutant:deep_copy"))
    assert result.failed and not result.trace_path
    assert result.replay_command() == result.spec.command()
    assert result.headline().startswith("[C3]")
    ok = run_one(RunSpec(3), tmp_path, keep=True)
    assert ok.headline() == "ok" and Path(ok.trace_path).exists()


def test_a_campaign_in_one_process_equals_one_on_two(tmp_path: Path) -> None:
    specs = [RunSpec(seed, strategy=("random", "pct")[seed % 2]) for seed in range(12)]
    one = campaign(specs, jobs=1)
    two = campaign(specs, jobs=2)
    assert [r.digest for r in one.results] == [r.digest for r in two.results]
    assert "failures 0" in one.text()


@pytest.mark.parametrize("tty", [True, False])
def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise(tty: bool) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    stream = Stream()
    ticks = iter(range(100))
    show = progress_printer(stream, clock=lambda: float(next(ticks)))  # one second per call
    for done in range(1, 21):
        show(done, 20, 1)
    text = stream.getvalue()
    if tty:
        assert text.count("\r[") == 20 and text.endswith(
            "20/20 schedules, 1.0/s, 0 s left, 1 failures\x1b[K\n"
        )
        assert "10/20 schedules, 1.0/s, 10 s left" in text
    else:
        assert text.count("\n") == 11 and "\r" not in text


def test_exhaustive_exploration_can_stop_at_the_first_failure() -> None:
    found = explore_exhaustive(RunSpec(2, "mutant:deep_copy"), 1, 50, stop_at_first=True)
    assert len(found.results) == 1 and found.failures


def test_the_mutation_table_catches_every_mutant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mutants.json"
    assert mutation_main(budget=1000, json_path=str(out)) == 0
    rows = json.loads(out.read_text())
    assert rows and all(r["caught"] for r in rows)
    assert "mutants caught." in capsys.readouterr().out


def test_conform_main_prints_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    assert conform_main("mutant:deep_copy", str(report), 3, tmp_path / "traces") == 1
    data = json.loads(report.read_text())
    assert "C3" in data["violated"]
    out = capsys.readouterr().out
    assert "minimal scenario:" in out and "replay: python -m sim replay" in out


@pytest.mark.spec("A2", "W2", "D2")
def test_unsubscribe_during_a_failing_resubscribe_ends_the_live_subscription() -> None:
    """Found by ``make sim`` (PCT seed 20074330018355): main subscribed a channel object
    (s0); one thread subscribed it again (s2, which raises: A2) while another unsubscribed
    it. The unsubscribe ended s0, the live subscription, so its queued messages were
    dropped as ``unsubscribed``; the driver used to pin the unsubscribe (and the drops) on
    the still-running s2, and the oracle then called s0's messages silent losses (D2)."""
    data = Path(__file__).with_name("data") / "unsubscribe-during-failing-subscribe.json"
    result = run_one(RunSpec(20074330018355, strategy="pct", scenario_file=str(data)))
    assert result.headline() == "ok", result.replay_command()


@pytest.mark.spec("A2", "W4", "D2", "I2")
@pytest.mark.parametrize(
    ("name", "seed", "strategy"),
    [
        # a drop reported while a subscribe() of the same object (doomed: A2) was under way
        # is for the live subscription
        ("drop-during-failing-subscribe", 36129686811693, "pct"),
        # a message sent while s0 was live went to s0, though a re-subscribe had begun
        ("drop-before-concurrent-resubscribe", 36129686815918, "random"),
        # an unsubscribe() overlapping the subscribe() may have ended it: a later
        # unsubscribe() of the same object is no certain end, so no notice is owed (I2)
        ("unsubscribe-overlapping-subscribe-notice", 36129686837938, "random"),
    ],
)
def test_same_object_races_found_by_make_sim_are_judged_soundly(
    name: str, seed: int, strategy: str
) -> None:
    """Three more false alarms ``make sim`` found on refimpl (same channel object, two threads)."""
    data = Path(__file__).with_name("data") / f"{name}.json"
    result = run_one(RunSpec(seed, strategy=strategy, scenario_file=str(data)))
    assert result.headline() == "ok", result.replay_command()
