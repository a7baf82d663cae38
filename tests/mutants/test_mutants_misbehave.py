"""Every mutant really misbehaves, the way its description says, on its witness scenario.

This is the mutants' own sanity check, independent of the oracle: for each mutant a
direct check reads the recorded ``History`` for the one misbehaviour the mutant plants,
searching ``RandomWalk`` seeds 0, 1, ... on the mutant's ``witness``. The reference
implementation, on the same scenario and the same seeds, must never show it; so a
check cannot pass by flagging everything. (That the oracle and the property suite
catch each mutant is proved elsewhere.)

``CHECKS`` has one entry per mutant: a mutant added to ``sim.mutants.MUTANTS`` without
a check fails ``test_every_mutant_has_a_check``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from sim.adapters.base import Adapter
from sim.adapters.refimpl_adapter import NotPlain, RefimplAdapter
from sim.driver import play_sim
from sim.history import Event, History
from sim.lines import LinePoints
from sim.lines.tracer import LineTracer
from sim.mutants import MUTANTS, Mutant
from sim.scenario import Scenario
from sim.scheduler import ExecutionAborted, Scheduler
from sim.strategies.random_walk import RandomWalk
from tests.mutants import mutant_params

SEED_FLOOR = 30  #: the reference implementation is checked under at least this many seeds
MAX_STEPS = 20_000  #: the witnesses are tiny; a mutant that hangs is cut off early
SPEC = Path(__file__).resolve().parents[2] / "specs" / "channels.md"


@dataclass
class Run:
    history: History
    sched: Scheduler
    aborted: str  #: "" or the ExecutionAborted subclass's name (deadlock, livelock)


def play(adapter: Adapter, scenario: Scenario, seed: int, lines: tuple[str, ...] = ()) -> Run:
    """*lines*: modules with a scheduling point before each line (a mutant's ``preempt_lines``)."""
    tracer = LineTracer(LinePoints.of(lines)) if lines else None
    try:
        history, sched = play_sim(scenario, adapter, RandomWalk(seed), MAX_STEPS, tracer)
    except (ExecutionAborted, NotPlain) as exc:
        return Run(exc.history, exc.scheduler, f"{type(exc).__name__}: {exc}")  # type: ignore[union-attr]
    return Run(history, sched, "")


def budget(mutant: Mutant) -> int:
    """Seeds searched: generous next to the measured ``seeds_needed``, at least the floor."""
    return max(SEED_FLOOR, 4 * mutant.seeds_needed)


# reading a history ----------------------------------------------------------------------
def events(h: History, kind: str) -> list[Event]:
    return [e for e in h.events if e.kind == kind]


def first(h: History, kind: str, msg: int = -1, sub: int = -1) -> int | None:
    """Index of the first event of *kind* for *msg*/*sub* (-1 matches only -1)."""
    return next(
        (e.index for e in h.events if e.kind == kind and e.msg == msg and e.sub == sub), None
    )


def topics_match(a: str, b: str) -> bool:
    """Spec T4, written out here rather than trusting refimpl's ``match``."""
    return a == b or fnmatchcase(a, b) or fnmatchcase(b, a)


def seq_of(h: History) -> dict[int, int]:
    return {e.msg: int(e.info) for e in events(h, "send_ret") if e.info.lstrip("-").isdigit()}


# the misbehaviours ------------------------------------------------------------------------
Check = Callable[[Run], "str | None"]


def silently_lost(run: Run) -> str | None:
    """D2/W1: a message the subscription must get was neither handled nor reported dropped."""
    h = run.history
    for sent in events(h, "send_ret"):
        msg = sent.msg
        call = first(h, "send_call", msg)
        assert call is not None
        for sub, topic in h.topics.items():
            subscribed = first(h, "sub_ret", sub=sub)
            unsub = first(h, "unsub_call", sub=sub)
            if (
                subscribed is None
                or subscribed > call
                or (unsub is not None and unsub < sent.index)
            ):
                continue
            if not topics_match(h.messages[msg].topic, topic):
                continue
            settled = (
                first(h, "start", msg, sub) is not None
                or first(h, "drop", msg, sub) is not None
                or first(h, "drop", msg) is not None
            )
            if not settled:
                return f"message {msg} never reached subscription {sub} and no drop was reported"
    return None


def unmatched_delivery(run: Run) -> str | None:
    """T3/T4: a handler ran on a message whose topic does not match its subscription's."""
    h = run.history
    for e in events(h, "start"):
        if not topics_match(h.messages[e.msg].topic, h.topics[e.sub]):
            return (
                f"{h.topics[e.sub]!r} received message {e.msg} sent to {h.messages[e.msg].topic!r}"
            )
    return None


def bad_payload(what: str) -> Check:
    """C1-C3: the driver's payload probe flagged ``bad:<what>`` at a handler's start."""

    def check(run: Run) -> str | None:
        for e in events(run.history, "start"):
            if e.info == f"bad:{what}":
                return f"subscription {e.sub} saw {what} on message {e.msg}"
        return None

    return check


def duplicate_delivery(run: Run) -> str | None:
    """D1: one (message, subscription) handled twice."""
    counts = Counter((e.msg, e.sub) for e in events(run.history, "start"))
    twice = sorted(k for k, n in counts.items() if n > 1)
    return f"(message, subscription) handled twice: {twice[0]}" if twice else None


def delivered_outside_window(run: Run) -> str | None:
    """W2: sent before the subscribe began, or after the unsubscribe returned, yet delivered."""
    h = run.history
    for e in events(h, "start"):
        send_ret = first(h, "send_ret", e.msg)
        send_call = first(h, "send_call", e.msg)
        sub_call = first(h, "sub_call", sub=e.sub)
        unsub_ret = first(h, "unsub_ret", sub=e.sub)
        if send_ret is not None and sub_call is not None and send_ret < sub_call:
            return f"message {e.msg} returned from send before subscription {e.sub} began"
        if send_call is not None and unsub_ret is not None and send_call > unsub_ret:
            return f"message {e.msg} was sent after subscription {e.sub} had unsubscribed"
    return None


def out_of_order(run: Run) -> str | None:
    """O2: a subscription started its messages out of seq order."""
    h = run.history
    seq = seq_of(h)
    last: dict[int, int] = {}
    for e in events(h, "start"):
        s = seq[e.msg]
        if e.sub in last and s < last[e.sub]:
            return f"subscription {e.sub} started seq {s} after seq {last[e.sub]}"
        last[e.sub] = s
    return None


def overlapping(run: Run) -> str | None:
    """O3: a subscription's handler started while another invocation of it was running."""
    running: Counter[int] = Counter()
    for e in run.history.events:
        if e.kind == "start":
            if running[e.sub]:
                return f"subscription {e.sub} started message {e.msg} while already running"
            running[e.sub] += 1
        elif e.kind == "end":
            running[e.sub] -= 1
    return None


def either(*checks: Check) -> Check:
    def check(run: Run) -> str | None:
        return next((found for c in checks if (found := c(run)) is not None), None)

    return check


def started_expired(run: Run) -> str | None:
    """E2: a handler started when the clock read its message's expiry or later."""
    h = run.history
    for e in events(h, "start"):
        expiry = h.messages[e.msg].expiry
        if expiry is not None and e.time >= expiry:
            return f"message {e.msg} (expiry {expiry}) started at {e.time}"
    return None


def handler_send_rejected(run: Run) -> str | None:
    """S4: a send from a handler (a thread that ran a handler) was refused."""
    h = run.history
    handler_threads = {e.thread for e in events(h, "start")}
    for e in events(h, "send_err"):
        if e.thread in handler_threads:
            return f"a handler's send of message {e.msg} raised {e.info}"
    return None


def accepted_after_shutdown(run: Run) -> str | None:
    """S5: send() began after shutdown() returned, and returned normally."""
    h = run.history
    done = first(h, "shutdown_ret")
    for e in events(h, "send_ret"):
        call = first(h, "send_call", e.msg)
        if done is not None and call is not None and call > done:
            return f"message {e.msg}, sent after shutdown returned, was accepted"
    return None


def early_shutdown_drop(run: Run) -> str | None:
    """S3: a drop for "shutdown" reported before any shutdown began."""
    h = run.history
    began = first(h, "shutdown_call")
    for e in events(h, "drop"):
        if e.info == "shutdown" and (began is None or e.index < began):
            return f"message {e.msg} dropped for shutdown before shutdown began"
    return None


def nondroppable_shutdown_drop(run: Run) -> str | None:
    """S2: a non-droppable message (or its delivery) dropped for "shutdown"."""
    h = run.history
    for e in events(h, "drop"):
        if e.info == "shutdown" and not h.messages[e.msg].droppable:
            return f"non-droppable message {e.msg} dropped for shutdown"
    return None


def started_after_shutdown(run: Run) -> str | None:
    """S6: a handler started after shutdown() returned."""
    h = run.history
    done = first(h, "shutdown_ret")
    for e in events(h, "start"):
        if done is not None and e.index > done:
            return f"message {e.msg} started after shutdown returned"
    return None


def worker_thread_exited(run: Run) -> str | None:
    """H1: a channel_worker thread ended although no shutdown was ever called."""
    if first(run.history, "shutdown_call") is not None:
        return None
    for tid, kind in run.sched.log:
        if kind == "exit" and run.sched.threads[tid].name.startswith("channel_worker"):
            return f"thread {run.sched.threads[tid].name} exited with no shutdown"
    return None


def started_after_unsubscribe(run: Run) -> str | None:
    """W3 (section 17 step 4): a handler started after its unsubscribe() returned."""
    h = run.history
    for e in events(h, "start"):
        done = first(h, "unsub_ret", sub=e.sub)
        if done is not None and e.index > done:
            return f"subscription {e.sub} started message {e.msg} after unsubscribe returned"
    return None


def missing_subscribe_notice(run: Run) -> str | None:
    """I1: a '*' subscriber got no lona.channels.subscribe notice about a later subscribe."""
    h = run.history
    listeners = [s for s, t in h.topics.items() if t == "*"]
    heard = {(e.sub, e.info) for e in events(h, "internal")}
    for e in events(h, "sub_ret"):
        for s in listeners:
            if s != e.sub and (s, f"lona.channels.subscribe\n{h.topics[e.sub]}") not in heard:
                return f"subscription {s} heard of no subscribe() of {h.topics[e.sub]!r}"
    return None


def subscribed_twice(run: Run) -> str | None:
    """A2: two subscribe() calls of one channel object both returned, with no unsubscribe."""
    h = run.history
    if events(h, "unsub_call"):
        return None
    returned = [h.objects.get(e.sub, -1 - e.sub) for e in events(h, "sub_ret")]
    twice = [obj for obj, n in Counter(returned).items() if n > 1]
    return f"channel object {twice[0]} subscribed twice" if twice else None


def worker_died_of(name: str) -> Check:
    """V2: a fault event: an implementation thread died of exception *name*."""

    def check(run: Run) -> str | None:
        for e in events(run.history, "fault"):
            if f": {name}:" in e.info:
                return e.info
        return None

    return check


def accepted_while_draining(run: Run) -> str | None:
    """S4: a send from a non-handler thread accepted after a drop proved the runtime closing."""
    h = run.history
    closing = next((e.index for e in events(h, "drop") if e.info == "shutdown"), None)
    handler_threads = {e.thread for e in events(h, "start")}
    for e in events(h, "send_ret"):
        call = first(h, "send_call", e.msg)
        if (
            closing is not None
            and call is not None
            and call > closing
            and (e.thread not in handler_threads)
        ):
            return f"message {e.msg}, sent after a shutdown drop, was accepted"
    return None


def kept_caller_value(run: Run) -> str | None:
    """T1/E1: the adapter saw a caller's str/datetime subclass kept or used (``NotPlain``)."""
    return run.aborted if run.aborted.startswith("NotPlain") else None


def error_drop_without_failure(run: Run) -> str | None:
    """D2: a drop reported with reason ``error`` although no fault came before it."""
    faults = [e.index for e in events(run.history, "fault")]
    for e in events(run.history, "drop"):
        if e.info == "error" and not any(f < e.index for f in faults):
            return f"message {e.msg} dropped for subscription {e.sub} as 'error', nothing failed"
    return None


def both(*checks: Check) -> Check:
    def check(run: Run) -> str | None:
        found = [c(run) for c in checks]
        return None if None in found else "; ".join(str(f) for f in found)

    return check


CHECKS: dict[str, Check] = {
    "accept_any_send_while_draining": accepted_while_draining,
    "backlog_shed_as_error": error_drop_without_failure,
    "batch_expiry_check": started_expired,
    "regex_by_replacement": unmatched_delivery,
    "registry_race": either(silently_lost, delivered_outside_window),
    "requeue_at_tail_after_raise": out_of_order,
    "asymmetric_match": silently_lost,
    "case_insensitive_match": unmatched_delivery,
    "deep_copy": bad_payload("nested-not-shared"),
    "droppable_dropped_early": early_shutdown_drop,
    "duplicate_on_overlap": duplicate_delivery,
    "expired_drop_unreported": silently_lost,
    "expiry_strict_compare": started_expired,
    "expiry_unchecked_at_run": started_expired,
    "handler_send_rejected_in_shutdown": handler_send_rejected,
    "no_send_copy": bad_payload("sender-change-seen"),
    "raw_expiry": kept_caller_value,
    "raw_topic": kept_caller_value,
    "route_at_broker_time": delivered_outside_window,
    "send_after_shutdown_accepted": accepted_after_shutdown,
    "shared_subscriber_copy": bad_payload("other-holder-change-seen"),
    "shared_task_queue": either(overlapping, out_of_order),
    "shutdown_drops_all": nondroppable_shutdown_drop,
    "shutdown_without_drain": either(silently_lost, started_after_shutdown),
    "unordered_commit": out_of_order,
    "sweep_drops_prefix": silently_lost,
    "unsubscribe_keeps_routing": delivered_outside_window,
    "window_off_by_one": delivered_outside_window,
    "worker_dies_on_error": both(worker_thread_exited, silently_lost),
    "unsubscribe_leaves_queued": started_after_unsubscribe,
    "resubscribe_runs_old_messages": delivered_outside_window,
    "internal_notices_removed": missing_subscribe_notice,
    "naive_expiry_kills_broker": both(worker_died_of("TypeError"), silently_lost),
    "check_then_register": subscribed_twice,
}


def first_misbehaving_seed(mutant: Mutant) -> tuple[int, str] | None:
    check = CHECKS[mutant.name]
    adapter = mutant.adapter()
    for seed in range(budget(mutant)):
        found = check(play(adapter, mutant.witness, seed, mutant.preempt_lines))
        if found is not None:
            return seed, found
    return None


# the tests ----------------------------------------------------------------------------------
def test_every_mutant_has_a_check() -> None:
    assert set(CHECKS) == set(MUTANTS)


def test_registry_is_sorted_and_well_formed() -> None:
    assert list(MUTANTS) == sorted(MUTANTS)
    known = set(re.findall(r"^### ([A-Z][0-9]+) ", SPEC.read_text(encoding="utf-8"), re.M))
    for name, mutant in MUTANTS.items():
        assert mutant.name == name and re.fullmatch(r"[a-z][a-z0-9_]*", name)
        assert mutant.clauses and set(mutant.clauses) <= known, (name, mutant.clauses)
        assert mutant.description and "\n" not in mutant.description
        assert mutant.seeds_needed >= 1
        assert mutant.adapter().name == f"mutant:{name}"


@pytest.mark.parametrize("name", mutant_params(spec=True))
def test_mutant_misbehaves_on_its_witness(name: str) -> None:
    mutant = MUTANTS[name]
    found = first_misbehaving_seed(mutant)
    assert found is not None, f"{name}: no misbehaviour in {budget(mutant)} seeds"
    _seed, what = found
    assert what


@pytest.mark.parametrize("name", mutant_params(spec=True))
def test_refimpl_does_not_misbehave_on_the_same_witness(name: str) -> None:
    mutant = MUTANTS[name]
    check = CHECKS[name]
    adapter = RefimplAdapter()
    for seed in range(budget(mutant)):
        run = play(
            adapter, mutant.witness, seed, ("refimpl.runtime",) if mutant.preempt_lines else ()
        )
        assert not run.aborted, f"refimpl aborted ({run.aborted}) with seed {seed}"
        assert check(run) is None, f"refimpl, seed {seed}: {check(run)}"
