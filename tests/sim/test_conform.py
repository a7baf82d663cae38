"""The conformance oracle: refimpl conforms; each mutant is reported on a clause it breaks;
every counterexample in a report replays to the same violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.conform import ALL_CLAUSES, conform, first_difference
from sim.explore import judge
from sim.mutants import MUTANTS
from sim.trace import load, replay


def test_the_reference_implementation_conforms_to_every_checked_clause(tmp_path: Path) -> None:
    report = conform("refimpl", budget=40, trace_dir=tmp_path, real_runs=3)
    assert report.violated == []
    assert [c.clause for c in report.clauses] == list(ALL_CLAUSES)
    assert {c.result for c in report.clauses} == {"conforms", "not applicable"}
    assert report.schedules == 80 and report.real_runs == 3


#: mutants whose bug needs a rarer scenario (measured with ``make mutants``: 41-75 seeds)
RARE = {"expiry_strict_compare": 80, "resubscribe_runs_old_messages": 60, "unordered_commit": 60}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_each_mutant_is_reported_violating_a_clause_it_breaks(name: str, tmp_path: Path) -> None:
    mutant = MUTANTS[name]
    budget = RARE.get(name, 40)
    report = conform(f"mutant:{name}", budget, trace_dir=tmp_path, real_runs=0, shrink_seeds=2)
    assert set(mutant.clauses) & set(report.violated), (mutant.clauses, report.violated)
    for result in report.clauses:
        ce = result.counterexample
        if ce is None:
            continue
        # every counterexample replays exactly, to the same verdict
        trace = load(ce.trace_path)
        again = replay(trace, judge)
        assert again.ok, again.divergences
        assert ce.replay == f"python -m sim replay {ce.trace_path}"


def test_side_by_side_names_the_first_differing_event(tmp_path: Path) -> None:
    report = conform("mutant:deep_copy", budget=5, trace_dir=tmp_path, real_runs=0, shrink_seeds=1)
    (c3,) = [c for c in report.clauses if c.clause == "C3"]
    assert c3.counterexample is not None
    assert c3.counterexample.differs_from_refimpl.startswith("event ")
    trace = load(c3.counterexample.trace_path)
    assert first_difference(trace, trace) == "no difference in the user-level events"
