"""The conformance checker: refimpl conforms without a false alarm; each mutant is reported on a
clause it breaks; verdicts are honest (exercised or not); real-only mode; hung calls are findings;
every counterexample replays to the same verdict."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from refimpl._seam import Platform
from sim.adapters.base import Report
from sim.adapters.refimpl_adapter import RefimplAdapter, RefimplSession
from sim.conform import ALL_CLAUSES, _Conformance, conform, first_difference
from sim.conform.observability import TABLE
from sim.mutants import MUTANTS
from sim.oracle import CLAUSES
from sim.runs import judge, replay
from sim.trace import load
from tests.mutants import mutant_params

HONEST = {"conforms", "not exercised", "not observable"}


@pytest.mark.spec("W1", "W2", "D1", "D2", "O1", "O2", "O3", "S1", "S4", "T2", "T4", "T5")
def test_the_reference_implementation_conforms_without_a_false_alarm(tmp_path: Path) -> None:
    report = conform("refimpl", budget=25, trace_dir=tmp_path, real_runs=2, probe_seeds=2)
    assert report.violated == []
    assert [c.clause for c in report.clauses] == list(ALL_CLAUSES)
    assert {c.result for c in report.clauses} <= HONEST
    assert report.schedules == 25 * len(report.explored.schedules)
    assert report.real_runs == 2
    for c in report.clauses:
        if c.result == "conforms":
            assert c.note.startswith("exercised "), c
        if TABLE[c.clause].judge == "none":
            assert c.result == "not observable", c
    # the differential matching probe judged T2-T5 on thousands of pairs
    t4 = next(c for c in report.clauses if c.clause == "T4")
    assert int(t4.note.split()[1]) >= 5000


@pytest.mark.spec("S1", "D2")
def test_a_clause_no_run_exercised_is_not_exercised_never_conforms(tmp_path: Path) -> None:
    nothing = _Conformance("refimpl", tmp_path, simulated=True)
    results = {c.clause: c.result for c in nothing.verdicts(shrink_seeds=1)}
    for clause in CLAUSES:
        assert results[clause] == "not exercised", clause
    assert "conforms" not in results.values()


#: mutants whose bug needs a rarer scenario (first failing seed measured at 30-150 per strategy)
RARE = {"expiry_strict_compare": 80, "unordered_commit": 80}


@pytest.mark.parametrize("name", mutant_params())
def test_each_mutant_is_reported_violating_a_clause_it_breaks(name: str, tmp_path: Path) -> None:
    mutant = MUTANTS[name]
    report = conform(
        f"mutant:{name}",
        budget=RARE.get(name, 40),
        trace_dir=tmp_path,
        real_runs=0,
        shrink_seeds=1,
        probe_seeds=2,
        shrink_limit=6,
    )
    assert set(mutant.clauses) & set(report.violated), (mutant.clauses, report.violated)
    for result in report.clauses:
        ce = result.counterexample
        if ce is None or not ce.replay.startswith("python -m sim replay"):
            continue
        # every counterexample replays exactly, to the same verdict
        trace = load(ce.trace_path)
        again = replay(trace, judge)
        assert again.ok, again.divergences
        assert ce.replay == f"python -m sim replay {ce.trace_path}"
        assert ce.readable.splitlines()[0].startswith(f"{trace.scenario['brokers']} broker")


@pytest.mark.spec("T2", "S4", "E2", "H1", "O2", "W2", "A2")
@pytest.mark.parametrize(
    ("name", "clause"),
    [
        ("regex_by_replacement", "T2"),
        ("accept_any_send_while_draining", "S4"),
        ("batch_expiry_check", "E2"),
        ("requeue_at_tail_after_raise", "H1"),
        ("requeue_at_tail_after_raise", "O2"),
        ("asymmetric_match", "T5"),
        ("case_insensitive_match", "T3"),
        ("resubscribe_runs_old_messages", "W2"),
        pytest.param("check_then_register", "A2", marks=pytest.mark.settrace),
    ],
)
def test_the_probes_report_the_clause_itself(name: str, clause: str, tmp_path: Path) -> None:
    """Issue 16: each of these is found by a probe (part of every budget), on its clause."""
    report = conform(
        f"mutant:{name}", budget=1, trace_dir=tmp_path, real_runs=0, probe_seeds=3, shrink_limit=6
    )
    assert clause in report.violated, report.violated


@pytest.mark.spec("T2")
def test_a_matching_failure_is_reported_as_a_minimal_pair(tmp_path: Path) -> None:
    report = conform(
        "mutant:regex_by_replacement", budget=1, trace_dir=tmp_path, real_runs=0, probe_seeds=1
    )
    (t2,) = [c for c in report.clauses if c.clause == "T2"]
    assert t2.counterexample is not None
    scenario = t2.counterexample.scenario
    assert len(scenario["channels"]) == 2  # one subscriber, one sender
    sender, subscriber = scenario["channels"][1]["topic"], scenario["channels"][0]["topic"]
    assert f"sender {sender!r} to subscriber {subscriber!r}" in t2.counterexample.text
    assert len(sender) + len(subscriber) <= 6  # characters were shrunk away
    assert "D2" not in report.violated  # the losses it causes are not reported as symptoms


@pytest.mark.spec("S1", "D2")
def test_real_only_mode(tmp_path: Path) -> None:
    report = conform(
        "refimpl", budget=20, trace_dir=tmp_path, real_runs=2, probe_seeds=1, real_only=True
    )
    assert report.mode == "real threads only"
    assert report.schedules == 0 and report.real_runs >= 2
    assert report.violated == []
    assert {c.result for c in report.clauses} <= HONEST


class _HangingSession(RefimplSession):
    def shutdown(self) -> None:
        threading.Event().wait()  # never returns


class HangingAdapter(RefimplAdapter):
    """A real-threads-only implementation whose shutdown() never returns."""

    simulation = False

    def open(
        self, settings: dict[str, Any], platform: Platform | None, report: Report
    ) -> RefimplSession:
        session = super().open(settings, platform, report)
        return _HangingSession(session.runtime, report)


def hanging_adapter() -> HangingAdapter:
    return HangingAdapter(name="hanging")


@pytest.mark.spec("S1")
def test_a_hung_call_is_a_liveness_finding_not_a_hung_conform(tmp_path: Path) -> None:
    began = time.monotonic()
    report = conform(
        "tests.sim.test_conform:hanging_adapter",
        budget=5,
        trace_dir=tmp_path,
        real_runs=2,
        probe_seeds=1,
        wall=1.0,
    )
    assert time.monotonic() - began < 30
    assert report.mode.startswith("real threads only")  # the adapter declined simulation
    (s1,) = [c for c in report.clauses if c.clause == "S1"]
    assert s1.result == "violated"
    assert s1.counterexample is not None
    assert "liveness: shutdown() did not return" in s1.counterexample.text
    assert "--real" in s1.counterexample.replay


def test_side_by_side_names_the_first_differing_event(tmp_path: Path) -> None:
    report = conform("mutant:deep_copy", budget=5, trace_dir=tmp_path, real_runs=0, shrink_seeds=1)
    (c3,) = [c for c in report.clauses if c.clause == "C3"]
    assert c3.counterexample is not None
    assert c3.counterexample.differs_from_refimpl.startswith("event ")
    trace = load(c3.counterexample.trace_path)
    assert first_difference(trace, trace) == "no difference in the user-level events"
