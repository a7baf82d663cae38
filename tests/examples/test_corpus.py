"""The conformance corpus (``examples/corpus``, ``make conform-corpus``): small implementations
written the ordinary way, each with one planted bug, and their correct designs as controls.

Fast checks of what ``make conform-corpus`` measures at the default budget: each planted bug is
caught on its clause at a campaign seed where ``conform`` finds it, the run replays exactly and
shrinks to a smaller failing scenario, and on the very same schedule the correct design it was
planted in is not flagged (so the finding is the bug's, not the harness's). Each control
conforms in a small ``conform``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.corpus import CORPUS, Entry, impl
from examples.corpus import adapters as corpus_adapters
from examples.corpus.__main__ import main, verdict
from sim.adapters import load_adapter
from sim.conform import conform
from sim.conform.runner import Run, simulate
from sim.conform.shrink import shrink
from sim.generate import scenario_from_seed
from sim.history import History
from sim.runs import replay
from sim.scenario import Scenario

#: (strategy, seed) of the campaign where conform's default campaign finds each bug (found by
#: scanning seeds 0.. under random and PCT, as the campaign plays them)
FIRST: dict[str, tuple[str, int]] = {
    "pollpool_out_of_order": ("random", 34),
    "pollpool_stranding": ("random", 10),
    "mailbox_leaves_queued": ("pct", 22),
    "relay_copy_outside_lock": ("random", 52),
    "mailbox_naive_clock": ("random", 2),
    "relay_lost_wakeup": ("pct", 18),
    "pollpool_channel_handler": ("random", 50),
    "reorder_no_buffer": ("pct", 5),
    "reorder_deep_copy": ("random", 0),
    "reorder_strict_expiry": ("random", 1),
}
BUGS = [e for e in CORPUS if e.expect]
CONTROLS = [e for e in CORPUS if not e.expect]


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    logger = logging.getLogger("corpus")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def test_every_planted_bug_has_a_targeted_seed_and_a_control() -> None:
    assert set(FIRST) == {e.name for e in BUGS}
    assert {e.design for e in BUGS} <= {e.name for e in CONTROLS}
    assert len(CONTROLS) >= 2 and "pollpool" in {e.name for e in CONTROLS}  # one polls


@pytest.mark.spec("O2", "S2", "W3", "W1", "W2", "D2", "V2", "S1", "C3", "E2")
@pytest.mark.parametrize("entry", BUGS, ids=lambda e: e.name)
def test_a_planted_bug_is_caught_on_its_clause_and_its_design_is_not(entry: Entry) -> None:
    strategy, seed = FIRST[entry.name]
    scenario = scenario_from_seed(seed)
    run = simulate(impl(entry.name), scenario, strategy, seed)
    assert set(run.found) & entry.expect, run.found
    assert run.trace is not None
    assert replay(run.trace, adapter=load_adapter(impl(entry.name))).ok
    control = simulate(impl(entry.design), scenario, strategy, seed)
    assert control.trace is not None and control.found == {}, control.found


@pytest.mark.spec("W3", "V2", "O2", "W2")
@pytest.mark.parametrize(
    "name", ["mailbox_leaves_queued", "mailbox_naive_clock", "pollpool_out_of_order"]
)
def test_a_planted_bug_shrinks_to_a_smaller_failing_scenario(name: str) -> None:
    entry = next(e for e in BUGS if e.name == name)
    strategy, seed = FIRST[name]
    run = simulate(impl(name), scenario_from_seed(seed), strategy, seed)
    clause = sorted(set(run.found) & entry.expect)[0]

    def play(scenario: Scenario, strategy: str, seed: int) -> Run:
        return simulate(impl(name), scenario, strategy, seed)

    small = shrink(play, run, clause, seeds=2, limit=25)
    assert clause in small.found and small.size < run.size
    assert small.trace is not None
    assert replay(small.trace, adapter=load_adapter(impl(name))).ok


@pytest.mark.spec("W1", "W2", "W3", "D1", "D2", "O2", "O3", "S1", "S2", "I1", "I2", "V2")
@pytest.mark.parametrize("entry", CONTROLS, ids=lambda e: e.name)
def test_a_control_conforms_in_a_small_conform(entry: Entry, tmp_path: Path) -> None:
    report = conform(impl(entry.name), budget=6, trace_dir=tmp_path, real_runs=1, shrink_seeds=1)
    assert report.violated == [] and report.real_findings == {}, report.table()


def test_the_corpus_verdicts() -> None:
    control, bug = CONTROLS[0], BUGS[0]
    assert verdict(control, set()) == "ok" and verdict(control, {"W1"}) == "FALSE ALARM"
    assert verdict(bug, set()) == "MISSED" and verdict(bug, {"I1"}) == "MISSED"
    assert verdict(bug, set(bug.expect)) == "ok"
    assert verdict(bug, {*bug.expect, "I1"}) == "ok, also I1"


@pytest.mark.spec("A2")
def test_a_subscribe_that_raised_is_not_an_open_call() -> None:
    # relay_lost_wakeup's hang was blamed on a subscribe() that had raised RuntimeError (A2)
    from sim.conform.runner import open_calls

    history = History()
    history.add(0.0, 1, "sub_call", sub=0)
    history.add(0.0, 1, "sub_err", sub=0, info="RuntimeError")
    history.add(0.0, 0, "shutdown_call")
    assert open_calls(history) == ["shutdown()"]


class HangsOnRealThreads(corpus_adapters.mailbox):
    """The mailbox control, except that on real threads its shutdown() never returns (after
    really shutting down, so no thread of it outlives the test)."""

    name = "corpus-mailbox-hangs-on-real-threads"

    def open(self, mods: Any, settings: dict[str, Any], report: Any) -> Any:
        hub = super().open(mods, settings, report)
        hub.real_threads = mods["threading"] is threading
        return hub

    def shutdown(self, system: Any) -> None:
        system.shutdown()
        if system.real_threads:
            threading.Event().wait()


@pytest.mark.spec("S1")
def test_a_hang_on_real_threads_does_not_cancel_the_simulated_campaign(tmp_path: Path) -> None:
    report = conform(
        "tests.examples.test_corpus:HangsOnRealThreads",
        budget=3,
        trace_dir=tmp_path,
        real_runs=2,
        shrink_seeds=1,
        wall=1.0,
    )
    assert report.schedules == 6, report.mode  # the campaign still ran, in simulation
    assert "S1" in report.violated and "real:" in report.mode, report.mode


def test_an_unknown_corpus_name_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mailbox", "no_such_design"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "unknown no_such_design; known: mailbox" in err
