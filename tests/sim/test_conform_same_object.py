"""The same-object probe (``sim.conform.probes.probe_same_object``) catches what it is for and
nothing else.

Caught: a check-then-register race in ``subscribe()`` with no synchronisation between the
check and the act (mutant ``check_then_register``: found only at line points), a
re-subscription that runs old messages with its new handler (``resubscribe_runs_old_messages``),
and Lona 1.16.2's own two defects of this kind. Not flagged: the reference implementation,
also with a scheduling point before every line of its runtime, and ``examples/plain_channels``
(its adapter has no channel objects: the operations are skipped, never judged).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sim.conform.probes import ProbeResult, probe_same_object, same_object_scenarios
from sim.conform.runner import Run, simulate
from sim.runs import judge, replay
from sim.scenario import Scenario, Subscribe, Unsubscribe
from tests.sim.test_oracle import B, only

PLAIN = "examples.plain_channels.adapter:factory"


def played(impl: str, lines: str = "") -> Callable[[Scenario, str, int], Run]:
    return lambda scenario, strategy, seed: simulate(impl, scenario, strategy, seed, lines=lines)


def probe(impl: str, strategies: tuple[str, ...], lines: str = "", seeds: int = 3) -> ProbeResult:
    return probe_same_object(played(impl, lines), seeds, strategies)


def found(result: ProbeResult) -> dict[str, Run]:
    return {f.clause: f.run for f in result.findings}


def test_each_scenario_uses_one_object_twice_and_its_control_two_objects() -> None:
    for name, scenario, control in same_object_scenarios():
        ops = [op for ops in scenario.threads for op in ops]
        same = [op for op in ops if isinstance(op, Subscribe | Unsubscribe) and op.channel == 0]
        assert len(same) >= 2 and all(op.direct for op in same), name
        assert control != scenario
        assert any(getattr(op, "channel", -1) == 1 for ops in control.threads for op in ops), name


@pytest.mark.settrace
@pytest.mark.spec("A2", "D1")
def test_a_check_then_register_race_is_found_at_line_points_and_replays() -> None:
    result = probe("mutant:check_then_register", ("race", "random"))
    runs = found(result)
    assert "A2" in runs, result.findings
    run = runs["A2"]
    assert run.trace is not None and run.trace.lines is not None  # found at line points
    again = replay(run.trace, judge)  # the counterexample replays exactly, to the same verdict
    assert again.ok, again.divergences
    # at synchronisation points alone the two lines are never separated
    assert probe("mutant:check_then_register", ("random", "pct"), lines="none").findings == []


@pytest.mark.spec("W2", "A2")
def test_a_resubscription_that_runs_old_messages_is_w2() -> None:
    result = probe("mutant:resubscribe_runs_old_messages", ("random", "pct"))
    assert [f.clause for f in result.findings] == ["W2"]
    text = result.findings[0].text
    assert text.startswith("re-subscribe with deliveries queued on one channel object")
    assert "the new handler ran an old message" in text


@pytest.mark.settrace
@pytest.mark.spec("A2", "D1", "W2")
def test_the_reference_implementation_is_not_flagged_even_at_every_line() -> None:
    for strategies, lines in ((("random", "pct"), "none"), (("race", "random"), "refimpl.runtime")):
        result = probe("refimpl", strategies, lines)
        assert result.findings == [], result.findings
        # it was exercised: both threads' calls reached the implementation
        assert all(not any(e.kind == "skip" for e in r.history.events) for r in result.runs)
        assert any(
            sum(e.kind == "sub_err" for e in r.history.events) == 1 for r in result.runs
        )  # subscribe/subscribe: exactly one of the two raised (A2)


def test_plain_channels_is_not_flagged_and_says_it_was_not_exercised() -> None:
    result = probe(PLAIN, ("random", "pct"), seeds=1)
    assert result.findings == []
    assert all(any(e.kind == "skip" for e in r.history.events) for r in result.runs)


@pytest.mark.settrace
@pytest.mark.spec("D1", "A2", "W2")
def test_lona_duplicate_delivery_and_resubscribe_defects() -> None:
    runs = found(probe("lona", ("race", "random")))
    assert {"A2", "D1", "W2"} <= set(runs), runs
    assert "twice" in next(f.text for f in probe("lona", ("race",)).findings if f.clause == "D1")


@pytest.mark.spec("A2")
def test_an_unsubscribe_that_raises_is_a2() -> None:
    b = B()
    b.sub(0, "a")
    b.unsub(0)
    call = b.ev("unsub_call", sub=0)
    ret = b.ev("unsub_ret", sub=0, info="raised ValueError")
    v = only(b.check())
    assert (v.clause, v.sub, v.witness) == ("A2", 0, (call, ret))
    assert "raised ValueError" in v.text
