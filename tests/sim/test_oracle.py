"""The history oracle (sim.oracle): one legal and one or more broken histories per rule.

Histories are built by hand with ``B``, a tiny builder whose methods append events and
return their indices, so each test can assert the exact clause and witness. The last
tests run the reference implementation (simulated and on real threads) and require a
clean verdict.
"""

from __future__ import annotations

import pytest

from bench.oracle_fixture import bench_events_per_second
from sim.adapters.refimpl_adapter import RefimplAdapter
from sim.driver import play_real, play_sim
from sim.history import History, MessageInfo
from sim.oracle import CLAUSES, Verdict, Violation, check
from sim.scenario import (
    Advance,
    ChannelSpec,
    Scenario,
    Send,
    Settle,
    Shutdown,
    Subscribe,
    Unsubscribe,
)
from sim.strategies.random_walk import RandomWalk

SENDER = 1  # default sending thread
OTHER = 2  # a second sending thread
WORKER = 10  # default handler thread


class B:
    """Builds a history event by event; every method returns the new event indices."""

    def __init__(self) -> None:
        self.h = History()
        self.now = 0.0

    def at(self, t: float) -> B:
        self.now = t
        return self

    def ev(self, kind: str, msg: int = -1, sub: int = -1, info: str = "", thread: int = 0) -> int:
        self.h.add(self.now, thread, kind, msg, sub, info)
        return len(self.h.events) - 1

    # subscriptions
    def sub_call(self, s: int, topic: str, thread: int = 0) -> int:
        self.h.topics[s] = topic
        return self.ev("sub_call", sub=s, info=topic, thread=thread)

    def sub_ret(self, s: int, thread: int = 0) -> int:
        return self.ev("sub_ret", sub=s, thread=thread)

    def sub(self, s: int, topic: str, thread: int = 0) -> int:
        """Subscribe (call and return); the index of sub_ret."""
        self.sub_call(s, topic, thread)
        return self.sub_ret(s, thread)

    def unsub(self, s: int, thread: int = 0) -> tuple[int, int]:
        call = self.ev("unsub_call", sub=s, thread=thread)
        return call, self.ev("unsub_ret", sub=s, thread=thread)

    # sends
    def call(
        self,
        m: int,
        topic: str,
        thread: int = SENDER,
        expiry: float | None = None,
        droppable: bool = False,
    ) -> int:
        self.h.messages[m] = MessageInfo(topic, expiry, droppable, False, thread)
        return self.ev("send_call", m, info=topic, thread=thread)

    def ret(self, m: int, seq: int | None = None, thread: int = SENDER) -> int:
        return self.ev("send_ret", m, info="" if seq is None else str(seq), thread=thread)

    def send(
        self,
        m: int,
        topic: str,
        thread: int = SENDER,
        seq: int | None = None,
        expiry: float | None = None,
        droppable: bool = False,
    ) -> tuple[int, int]:
        """send_call + send_ret (seq defaults to the message id)."""
        c = self.call(m, topic, thread, expiry, droppable)
        return c, self.ret(m, m if seq is None else seq, thread)

    def err(self, m: int, thread: int = SENDER) -> int:
        return self.ev("send_err", m, info="ShutdownError", thread=thread)

    # deliveries
    def start(self, m: int, s: int, thread: int = WORKER, info: str = "") -> int:
        return self.ev("start", m, s, info, thread)

    def end(self, m: int, s: int, thread: int = WORKER) -> int:
        return self.ev("end", m, s, thread=thread)

    def deliver(self, m: int, s: int, thread: int = WORKER) -> tuple[int, int]:
        return self.start(m, s, thread), self.end(m, s, thread)

    def route(self, m: int, n: int = 1) -> int:
        return self.ev("route", m, info=str(n), thread=20)

    def drop(self, m: int, s: int, reason: str, thread: int = 20) -> int:
        return self.ev("drop", m, s, reason, thread)

    # the driver
    def settle(self, thread: int = 0) -> tuple[int, int]:
        return self.ev("settle_call", thread=thread), self.ev("settle_ret", thread=thread)

    def shutdown_call(self, thread: int = 0) -> int:
        return self.ev("shutdown_call", thread=thread)

    def shutdown_ret(self, thread: int = 0) -> int:
        return self.ev("shutdown_ret", thread=thread)

    def shutdown(self, thread: int = 0) -> tuple[int, int]:
        return self.shutdown_call(thread), self.shutdown_ret(thread)

    def remove(self, *indices: int) -> None:
        """Delete events and renumber the rest (``Event.index`` is the position)."""
        events = [e for i, e in enumerate(self.h.events) if i not in indices]
        self.h.events = [e._replace(index=i) for i, e in enumerate(events)]

    def check(self, tolerance: float = 0.0, complete: bool = True) -> Verdict:
        return check(self.h, tolerance=tolerance, complete=complete)


def only(verdict: Verdict) -> Violation:
    assert len(verdict.violations) == 1, verdict.summary()
    return verdict.violations[0]


def keys(verdict: Verdict) -> set[tuple[str, int, int]]:
    return {(v.clause, v.msg, v.sub) for v in verdict.violations}


def assert_ok(verdict: Verdict) -> None:
    assert verdict.ok, verdict.summary()
    assert set(verdict.clauses.values()) == {"pass"}


# a legal base ------------------------------------------------------------------------------


@pytest.mark.spec("W1", "D1", "O2", "O3")
def test_plain_delivery_passes_and_counts_obligations() -> None:
    b = B()
    b.sub(0, "a.*")
    b.sub(1, "a.b")
    b.sub(2, "c")
    b.send(0, "a.b")
    b.route(0, 2)
    b.deliver(0, 0)
    b.deliver(0, 1, thread=11)
    b.send(1, "a.c")
    b.deliver(1, 0)
    b.settle()
    b.shutdown()
    v = b.check()
    assert_ok(v)
    assert list(v.clauses) == list(CLAUSES)
    o = v.obligations
    assert (o.must, o.may, o.must_not, o.unchecked, o.delivered) == (3, 0, 0, 0, 3)


# rule 1: T4 ----------------------------------------------------------------------------------


@pytest.mark.spec("T4")
def test_start_of_a_non_matching_pair() -> None:
    b = B()
    b.sub(0, "*.b")
    b.send(0, "a.*")  # a.* ~ a.b ~ *.b, but a.* !~ *.b (not transitive)
    st, _ = b.deliver(0, 0)
    b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("T4", 0, 0, (st,))


@pytest.mark.spec("T4")
def test_both_topics_may_be_patterns() -> None:
    b = B()
    b.sub(0, "a.?")
    b.send(0, "a.*")
    b.deliver(0, 0)
    b.settle()
    assert_ok(b.check())


@pytest.mark.spec("T4", "I1")
def test_internal_event_needs_a_subscription_matching_the_internal_topic() -> None:
    b = B()
    b.sub(0, "*")
    b.sub(1, "lona.channels.*")
    b.sub(2, "lona.channels.subscribe")
    b.ev("internal", sub=0, info="lona.channels.unsubscribe", thread=WORKER)
    b.ev("internal", sub=1, info="lona.channels.unsubscribe", thread=WORKER)
    b.ev("internal", sub=2, info="lona.channels.subscribe", thread=WORKER)
    bad = b.ev("internal", sub=2, info="lona.channels.unsubscribe", thread=WORKER)
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("T4", -1, 2, (bad,))


# rule 2: W2 ----------------------------------------------------------------------------------


@pytest.mark.spec("W2")
def test_message_sent_before_subscribe_began_must_not_arrive() -> None:
    b = B()
    _, r = b.send(0, "a.b")
    sc = b.sub_call(0, "a.*")
    b.sub_ret(0)
    st, _ = b.deliver(0, 0)
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("W2", 0, 0, (r, sc, st))
    assert v.text == (
        "subscription 0 ('a.*') received message 0, whose send returned before subscribe() began"
    )


@pytest.mark.spec("W2")
def test_message_sent_after_unsubscribe_returned_must_not_arrive() -> None:
    b = B()
    b.sub(0, "a.*")
    _, ur = b.unsub(0)
    c, _ = b.send(0, "a.b")
    st, _ = b.deliver(0, 0)
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("W2", 0, 0, (ur, c, st))


@pytest.mark.spec("W2")
def test_start_before_subscribe_began() -> None:
    b = B()
    b.call(0, "a.b")
    st = b.start(0, 0)
    b.end(0, 0)
    b.sub_call(0, "a.*")
    b.sub_ret(0)
    b.ret(0, 0)
    v = only(b.check())
    assert (v.clause, v.witness) == ("W2", (st,))


@pytest.mark.spec("W3", "W1")
def test_legal_races_with_subscribe_and_unsubscribe_pass_either_way() -> None:
    b = B()
    b.sub(1, "a.b")
    # send concurrent with subscribe: MAY, delivered to 0 or not
    b.call(0, "a.b")
    b.sub_call(0, "a.*")
    b.ret(0, 0)
    b.sub_ret(0)
    b.deliver(0, 1)
    b.call(1, "a.b")
    b.sub_call(2, "*")
    b.ret(1, 1)
    b.sub_ret(2)
    b.deliver(1, 0)
    b.deliver(1, 1)
    b.deliver(1, 2)  # this one was delivered: also fine
    # send concurrent with unsubscribe: MAY
    b.call(2, "a.b")
    b.ev("unsub_call", sub=0)
    b.ret(2, 2)
    b.ev("unsub_ret", sub=0)
    b.deliver(2, 1)
    b.deliver(2, 2)
    # sent before unsubscribe began, dropped as unsubscribed: permitted (W3)
    b.send(3, "a.b")
    b.ev("unsub_call", sub=1)
    b.drop(3, 1, "unsubscribed")
    b.ev("unsub_ret", sub=1)
    b.deliver(3, 2)
    b.settle()
    v = b.check()
    assert_ok(v)
    o = v.obligations
    assert (o.must, o.may, o.must_not) == (7, 3, 2)
    assert o.dropped == {"unsubscribed": 1}


@pytest.mark.spec("W2", "A2")
def test_unsubscribe_overlapping_its_subscribe_may_be_a_no_op() -> None:
    b = B()
    b.sub_call(0, "a.*", thread=1)
    b.unsub(0, thread=2)  # took effect before the subscribe: a no-op, still subscribed
    b.sub_ret(0, thread=1)
    b.send(0, "a.b", thread=3)
    b.deliver(0, 0)
    b.settle()
    v = b.check()
    assert_ok(v)
    assert v.obligations.may == 1
    b2 = B()
    b2.sub(0, "a.*", thread=1)
    _, ur = b2.unsub(0, thread=2)  # after the subscribe returned: the subscription is over
    c, _ = b2.send(0, "a.b", thread=3)
    st, _ = b2.deliver(0, 0)
    v2 = only(b2.check())
    assert (v2.clause, v2.witness) == ("W2", (ur, c, st))


@pytest.mark.spec("S4", "S5")
def test_start_of_a_rejected_message() -> None:
    b = B()
    b.sub(0, "a.*")
    b.shutdown_call()
    c = b.call(0, "a.b")
    e = b.err(0)
    st, _ = b.deliver(0, 0)
    b.shutdown_ret()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("S4", 0, 0, (c, e, st))
    b2 = B()
    b2.sub(0, "a.*")
    b2.call(0, "a.b")  # concurrent with shutdown: rejection is fine, delivery not
    b2.shutdown_call()
    sdr2 = b2.shutdown_ret()
    c2 = b2.call(1, "a.b")
    e2 = b2.err(1)
    st2 = b2.start(1, 0)
    b2.end(1, 0)
    b2.err(0)
    v2 = b2.check()
    assert keys(v2) == {("S5", 1, 0), ("S6", 1, 0)}
    assert [x.witness for x in v2.violations if x.clause == "S5"] == [(sdr2, c2, e2, st2)]


# rule 3: D1 ----------------------------------------------------------------------------------


@pytest.mark.spec("D1")
def test_two_starts_of_one_pair() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b")
    s1, _ = b.deliver(0, 0)
    s2, _ = b.deliver(0, 0, thread=11)
    b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("D1", 0, 0, (s1, s2))


@pytest.mark.spec("D1", "T6")
def test_overlapping_subscriptions_each_get_one_delivery() -> None:
    b = B()
    b.sub(0, "a.*")
    b.sub(1, "a.?")
    b.sub(2, "*")
    b.send(0, "a.b")
    for s in range(3):
        b.deliver(0, s, thread=WORKER + s)
    b.settle()
    assert_ok(b.check())


@pytest.mark.spec("D1")
def test_start_and_drop_of_one_pair() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b", droppable=True)
    st, _ = b.deliver(0, 0)
    b.shutdown_call()
    d = b.drop(0, 0, "shutdown")
    b.shutdown_ret()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("D1", 0, 0, (st, d))


@pytest.mark.spec("D1")
def test_start_and_whole_message_drop() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b", expiry=1.0)
    b.at(2.0)
    d = b.drop(0, -1, "expired")
    st, _ = b.deliver(0, 0)
    v = b.check()
    assert keys(v) == {("D1", 0, 0), ("E2", 0, 0)}
    assert v.violations[0].witness == (d, st)


# rule 4: O3 ----------------------------------------------------------------------------------


@pytest.mark.spec("O3")
def test_overlapping_handlers_of_one_subscription() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b")
    b.send(1, "a.b")
    s0 = b.start(0, 0, thread=10)
    s1 = b.start(1, 0, thread=11)
    b.end(0, 0, thread=10)
    b.end(1, 0, thread=11)
    b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("O3", 1, 0, (s0, s1))


@pytest.mark.spec("O3", "O4")
def test_different_subscriptions_may_overlap() -> None:
    b = B()
    b.sub(0, "a.*")
    b.sub(1, "a.b")
    b.send(0, "a.b")
    b.start(0, 0, thread=10)
    b.start(0, 1, thread=11)
    b.end(0, 1, thread=11)
    b.end(0, 0, thread=10)
    b.settle()
    assert_ok(b.check())


# rule 5: O2 ----------------------------------------------------------------------------------


@pytest.mark.spec("O2")
def test_starts_out_of_seq_order() -> None:
    b = B()
    b.sub(0, "a.*")
    b.call(3, "a.b", thread=SENDER)
    b.call(5, "a.b", thread=OTHER)
    r5 = b.ret(5, 5, thread=OTHER)
    r3 = b.ret(3, 3, thread=SENDER)  # concurrent sends: only the seqs order them
    s5, _ = b.deliver(5, 0)
    s3, _ = b.deliver(3, 0)
    b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("O2", 3, 0, tuple(sorted((s5, s3, r3, r5))))
    assert v.text == (
        "subscription 0 ('a.*') received message 5 before message 3, but message 3 was sent "
        "first (seq 3 < 5)"
    )


@pytest.mark.spec("O2")
def test_concurrent_sends_without_seqs_may_arrive_in_either_order() -> None:
    b = B()
    b.sub(0, "a.*")
    b.call(0, "a.b", thread=SENDER)
    b.call(1, "a.b", thread=OTHER)
    b.ret(1, thread=OTHER)
    b.ret(0, thread=SENDER)
    b.deliver(1, 0)
    b.deliver(0, 0)
    b.settle()
    assert_ok(b.check())


@pytest.mark.spec("O2")
def test_real_time_order_without_seqs() -> None:
    b = B()
    b.sub(0, "a.*")
    b.sub(1, "*")
    b.call(0, "a.b", thread=SENDER)
    r0 = b.ret(0, thread=SENDER)  # no seqs: only real time orders the sends
    c1 = b.call(1, "a.c", thread=OTHER)
    b.ret(1, thread=OTHER)
    s1, _ = b.deliver(1, 0)
    s0, _ = b.deliver(0, 0)
    b.deliver(0, 1, thread=11)
    b.deliver(1, 1, thread=11)
    b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("O2", 0, 0, (r0, c1, s1, s0))


@pytest.mark.spec("O2")
def test_same_thread_program_order_without_seqs() -> None:
    b = B()
    b.sub(0, "a.*")
    b.call(0, "a.b")
    r0 = b.ret(0)
    c1 = b.call(1, "a.b")
    b.ret(1)
    s1, _ = b.deliver(1, 0)
    s0, _ = b.deliver(0, 0)
    b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("O2", 0, 0, (r0, c1, s1, s0))


# rule 6: O1 ----------------------------------------------------------------------------------


@pytest.mark.spec("O1")
def test_seq_against_real_time() -> None:
    b = B()
    _, r0 = b.send(0, "a.b", seq=7)
    c1, r1 = b.send(1, "x", thread=OTHER, seq=4)
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("O1", 1, -1, (r0, c1, r1))


@pytest.mark.spec("O1")
def test_concurrent_sends_may_take_seqs_in_either_order() -> None:
    b = B()
    b.call(0, "a.b")
    b.call(1, "a.b", thread=OTHER)
    b.ret(0, 9)
    b.ret(1, 4, thread=OTHER)
    b.send(2, "a.b", seq=10)
    assert_ok(b.check())


@pytest.mark.spec("O1")
def test_duplicate_seqs() -> None:
    b = B()
    b.call(0, "a.b")
    b.call(1, "a.b", thread=OTHER)
    r0 = b.ret(0, 3)
    r1 = b.ret(1, 3, thread=OTHER)
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("O1", 1, -1, (r0, r1))


# rule 7: C1-C3 -------------------------------------------------------------------------------


@pytest.mark.spec("C1", "C2", "C3")
@pytest.mark.parametrize(
    ("info", "clause"),
    [
        ("bad:sender-change-seen", "C1"),
        ("bad:other-holder-change-seen", "C2"),
        ("bad:nested-not-shared", "C3"),
    ],
)
def test_copy_rules(info: str, clause: str) -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b")
    st = b.start(0, 0, info=info)
    b.end(0, 0)
    b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == (clause, 0, 0, (st,))


# rule 8: E2, E3 ------------------------------------------------------------------------------


@pytest.mark.spec("E2")
def test_start_at_the_deadline_is_too_late() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b", expiry=1.0)
    b.at(0.999999)
    b.deliver(0, 0)
    b.send(1, "a.b", expiry=1.0)
    b.at(1.0)
    st, _ = b.deliver(1, 0)
    b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("E2", 1, 0, (st,))


@pytest.mark.spec("E2")
def test_expiry_tolerance() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b", expiry=1.0)
    b.at(1.04)
    b.deliver(0, 0)
    b.settle()
    assert_ok(b.check(tolerance=0.05))
    assert keys(b.check()) == {("E2", 0, 0)}
    b.send(1, "a.b", expiry=1.0)
    st = b.at(1.06).start(1, 0)
    b.end(1, 0)
    b.settle()
    v = only(b.check(tolerance=0.05))
    assert (v.clause, v.msg, v.witness) == ("E2", 1, (st,))


@pytest.mark.spec("E2", "E3")
def test_expiry_is_compared_at_clock_resolution() -> None:
    b = B()
    b.sub(0, "a.*")
    b.at(0.1).send(0, "a.b", expiry=0.1 + 0.2)  # 0.30000000000000004
    b.at(0.3).drop(0, 0, "expired")  # the implementation's datetime says 0.3 >= 0.3
    b.settle()
    assert_ok(b.check())


@pytest.mark.spec("E3")
def test_expired_drops() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b", expiry=1.0)
    b.send(1, "a.b", expiry=1.0)
    b.send(2, "a.b")
    b.at(1.0).drop(0, 0, "expired")  # at the deadline: expired
    d1 = b.at(0.9).drop(1, -1, "expired")  # (time need not be monotonic here)
    d2 = b.drop(2, 0, "expired")
    b.settle()
    v = b.check()
    assert keys(v) == {("E3", 1, -1), ("E3", 2, 0), ("W1", 2, 0)}
    by_key = {(x.clause, x.msg): x.witness for x in v.violations}
    assert by_key[("E3", 1)] == (d1,)
    assert by_key[("E3", 2)] == (d2,)
    v2 = b.check(tolerance=0.2)
    assert keys(v2) == {("E3", 2, 0), ("W1", 2, 0)}


# rule 9: S6, S3, S2, W3 ----------------------------------------------------------------------


@pytest.mark.spec("S6")
def test_start_after_shutdown_returned() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b")
    b.shutdown_call()
    sdr = b.shutdown_ret()
    st, _ = b.deliver(0, 0)
    v = b.check()
    assert keys(v) == {("S6", 0, 0), ("S1", 0, 0)}
    s6 = next(x for x in v.violations if x.clause == "S6")
    assert s6.witness == (sdr, st)


@pytest.mark.spec("S3")
def test_shutdown_drop_before_shutdown_began() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b", droppable=True)
    d = b.drop(0, 0, "shutdown")
    sdc, _ = b.shutdown()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("S3", 0, 0, (d, sdc))


@pytest.mark.spec("S2", "S3")
def test_shutdown_drops_of_droppable_and_non_droppable_messages() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b", droppable=True)
    _, r1 = b.send(1, "a.b")
    b.shutdown_call()
    b.drop(0, -1, "shutdown")  # droppable, after shutdown began: fine
    d = b.drop(1, 0, "shutdown")
    sdr = b.shutdown_ret()
    v = b.check()
    assert {x.clause: (x.msg, x.sub, x.witness) for x in v.violations} == {
        "S2": (1, 0, (d,)),
        "W1": (1, 0, (r1, d, sdr)),
    }


@pytest.mark.spec("W3")
def test_unsubscribed_drops() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b")
    b.send(1, "a.b")
    b.send(2, "a.b")
    d0 = b.drop(0, 0, "unsubscribed")  # not unsubscribing yet
    d1 = b.drop(1, -1, "unsubscribed")  # a whole message cannot be "unsubscribed"
    b.ev("unsub_call", sub=0)
    b.drop(2, 0, "unsubscribed")  # fine
    b.ev("unsub_ret", sub=0)
    b.settle()
    v = b.check()
    assert keys(v) == {("W3", 0, 0), ("W3", 1, -1), ("W1", 0, 0), ("W1", 1, 0)}
    assert {x.witness for x in v.violations if x.clause == "W3"} == {(d0,), (d1,)}


@pytest.mark.spec("D2")
def test_drop_with_an_unknown_reason() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b")
    d = b.drop(0, 0, "bored")
    b.settle()
    v = b.check()
    assert keys(v) == {("D2", 0, 0), ("W1", 0, 0)}
    assert next(x for x in v.violations if x.clause == "D2").witness == (d,)


# rule 10: S4, S5 -----------------------------------------------------------------------------


@pytest.mark.spec("S4")
def test_rejection_without_shutdown() -> None:
    b = B()
    c = b.call(0, "a.b")
    e = b.err(0)
    b.shutdown()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("S4", 0, -1, (c, e))


@pytest.mark.spec("S4")
def test_only_handlers_may_send_while_draining() -> None:
    b = B()
    b.sub(0, "a.*")
    b.sub(1, "x")
    b.send(0, "a.b")
    b.shutdown_call()
    b.call(1, "a.b", thread=SENDER)  # outside a handler, while draining: rejected, fine
    b.err(1, thread=SENDER)
    b.start(0, 0)
    b.send(2, "x", thread=WORKER)  # inside a handler, while draining: accepted, fine
    c3 = b.call(3, "x", thread=WORKER)  # inside a handler: must not be rejected
    e3 = b.err(3, thread=WORKER)
    b.end(0, 0)
    b.deliver(2, 1, thread=11)
    b.shutdown_ret()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("S4", 3, -1, (c3, e3))


@pytest.mark.spec("S4")
def test_send_concurrent_with_shutdown_may_be_rejected() -> None:
    b = B()
    b.call(0, "a.b")
    b.shutdown_call()
    b.err(0)
    b.shutdown_ret()
    assert_ok(b.check())


@pytest.mark.spec("S4")
def test_a_send_accepted_after_proof_of_closing_breaks_s4() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b", droppable=True)
    b.shutdown_call()
    b.send(1, "a.b", thread=OTHER)  # before any proof: the shutdown may not have begun yet
    d = b.drop(0, -1, "shutdown")  # proof: only a closing runtime drops for shutdown
    c, r = b.send(2, "a.b", thread=OTHER)  # a non-handler send after it: must be refused
    b.start(1, 0)
    b.send(3, "a.b", thread=WORKER)  # a handler's send while draining: accepted, fine
    b.end(1, 0)
    b.deliver(2, 0)
    b.deliver(3, 0)
    b.shutdown_ret()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("S4", 2, -1, (d, c, r))


@pytest.mark.spec("S4")
def test_a_rejected_send_after_shutdown_began_is_proof_of_closing_too() -> None:
    b = B()
    b.shutdown_call()
    b.call(0, "a.b", thread=OTHER)
    e = b.err(0, thread=OTHER)
    c, r = b.send(1, "a.b", thread=SENDER)
    b.shutdown_ret()
    v = only(b.check())
    assert (v.clause, v.msg, v.witness) == ("S4", 1, (e, c, r))


@pytest.mark.spec("S4")
def test_without_proof_a_send_during_shutdown_may_be_accepted() -> None:
    b = B()
    b.shutdown_call()
    b.send(0, "a.b", thread=OTHER)
    b.shutdown_ret()
    assert_ok(b.check())


@pytest.mark.spec("S5")
def test_send_accepted_after_shutdown_returned() -> None:
    b = B()
    b.send(0, "a.b")
    _, sdr = b.shutdown()
    c, r = b.send(1, "a.b")
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("S5", 1, -1, (sdr, c, r))


# rule 11: loss -------------------------------------------------------------------------------


@pytest.mark.spec("D2", "W1")
def test_silent_loss_at_a_settle() -> None:
    b = B()
    b.sub(0, "a.*")
    b.sub(1, "a.b")
    _, r = b.send(0, "a.b")
    b.deliver(0, 1)
    _, q = b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("D2", 0, 0, (r, q))
    assert v.text.endswith("silent loss")


@pytest.mark.spec("D2")
def test_delivery_after_the_settle_is_late() -> None:
    b = B()
    b.sub(0, "a.*")
    _, r = b.send(0, "a.b")
    _, q = b.settle()
    st, _ = b.deliver(0, 0)
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("D2", 0, 0, (r, q, st))


@pytest.mark.spec("W1")
def test_only_a_non_permitted_drop() -> None:
    b = B()
    b.sub(0, "a.*")
    _, r = b.send(0, "a.b")  # no expiry
    d = b.drop(0, 0, "expired")
    _, q = b.settle()
    v = b.check()
    assert keys(v) == {("E3", 0, 0), ("W1", 0, 0)}
    w1 = next(x for x in v.violations if x.clause == "W1")
    assert w1.witness == (r, d, q)


@pytest.mark.spec("W1", "D2", "E3", "S3", "W3")
def test_permitted_drops_resolve_must_pairs() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b", expiry=0.5)
    b.send(1, "a.b", expiry=0.5)
    b.send(2, "a.b")
    b.send(3, "a.b", droppable=True)
    b.at(0.5)
    b.drop(0, -1, "expired")
    b.drop(1, 0, "expired")
    b.ev("unsub_call", sub=0)
    b.drop(2, 0, "unsubscribed")
    b.ev("unsub_ret", sub=0)
    b.shutdown_call()
    b.drop(3, 0, "shutdown")
    b.shutdown_ret()
    v = b.check()
    assert_ok(v)
    assert v.obligations.must == 4
    assert v.obligations.dropped == {"expired": 2, "shutdown": 1, "unsubscribed": 1}


@pytest.mark.spec("D2")
def test_settle_with_a_running_handler_is_not_quiescent() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b")
    _, r1 = b.send(1, "a.b")
    b.start(0, 0)  # sleeps on the virtual clock: the simulated settle returns meanwhile
    b.settle()
    b.end(0, 0)
    s1, e1 = b.deliver(1, 0)
    b.settle()
    assert_ok(b.check())
    b.remove(s1, e1)
    v = only(b.check())
    q = len(b.h.events) - 1
    assert (v.clause, v.msg, v.sub, v.witness) == ("D2", 1, 0, (r1, q))


@pytest.mark.spec("D2", "W1")
def test_incomplete_histories_are_not_checked_for_loss() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b")  # no settle, no shutdown: the run was cut here
    v = b.check()
    assert_ok(v)
    assert (v.obligations.must, v.obligations.unchecked) == (1, 1)
    b.settle()
    assert keys(b.check()) == {("D2", 0, 0)}
    v2 = b.check(complete=False)
    assert_ok(v2)
    assert v2.obligations.unchecked == 1


@pytest.mark.spec("D2")
def test_quiescent_point_is_the_first_settle_after_send_returned() -> None:
    b = B()
    b.sub(0, "a.*")
    b.call(0, "a.b")
    b.ev("settle_call", thread=3)  # began before the send returned: not its quiescent point
    r = b.ret(0, 0)
    b.ev("settle_ret", thread=3)
    st, _ = b.deliver(0, 0)
    _, q = b.settle()
    assert_ok(b.check())
    b.remove(st, st + 1)
    v = only(b.check())
    assert (v.clause, v.witness) == ("D2", (r, q - 2))


# rule 12: shutdown -------------------------------------------------------------------------


@pytest.mark.spec("S2", "S1")
def test_non_droppable_message_lost_at_shutdown() -> None:
    b = B()
    b.sub(0, "a.*")
    _, r = b.send(0, "a.b")
    _, sdr = b.shutdown()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("S2", 0, 0, (r, sdr))


@pytest.mark.spec("D2", "S3", "E3")
@pytest.mark.parametrize(("droppable", "expiry"), [(True, None), (False, 9.0), (True, 9.0)])
def test_droppable_or_expiring_message_lost_silently_at_shutdown(
    droppable: bool, expiry: float | None
) -> None:
    b = B()
    b.sub(0, "a.*")
    _, r = b.send(0, "a.b", droppable=droppable, expiry=expiry)
    _, sdr = b.shutdown()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("D2", 0, 0, (r, sdr))


@pytest.mark.spec("S1", "S2")
def test_handler_sends_while_draining_are_drained() -> None:
    b = B()
    b.sub(0, "a.*")
    b.sub(1, "x")
    b.send(0, "a.b")
    b.shutdown_call()
    b.start(0, 0)
    _, r = b.send(1, "x", thread=WORKER)
    b.end(0, 0)
    b.deliver(1, 1)
    b.shutdown_ret()
    assert_ok(b.check())
    b.remove(len(b.h.events) - 3, len(b.h.events) - 2)  # message 1 is not delivered
    sdr = len(b.h.events) - 1
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("S2", 1, 1, (r, sdr))


@pytest.mark.spec("S1")
def test_shutdown_returned_before_draining() -> None:
    b = B()
    b.sub(0, "a.*")
    _, r = b.send(0, "a.b", expiry=5.0)
    b.shutdown_call()
    sdr = b.shutdown_ret()
    d = b.drop(0, -1, "expired")  # permitted reason, but late (and early: E3)
    v = b.check()
    assert keys(v) == {("E3", 0, -1), ("S1", 0, 0)}
    s1 = next(x for x in v.violations if x.clause == "S1")
    assert s1.witness == (r, sdr, d)


# the verdict -------------------------------------------------------------------------------


@pytest.mark.spec("D1", "O3")
def test_one_violation_per_clause_msg_sub_sorted_by_witness() -> None:
    b = B()
    b.sub(0, "a.*")
    b.send(0, "a.b")
    b.send(1, "a.b")
    s0 = b.start(0, 0)
    s0b = b.start(0, 0, thread=11)  # D1 and O3
    s0c = b.start(0, 0, thread=12)  # D1 again: same key, the earliest witness stays
    b.end(0, 0, thread=12)
    b.end(0, 0, thread=11)
    b.end(0, 0)
    b.deliver(1, 0)
    b.settle()
    v = b.check()
    assert [(x.clause, x.witness) for x in v.violations] == [
        ("D1", (s0, s0b)),
        ("O3", (s0, s0b)),
    ]
    assert s0c > s0b
    assert v.clauses["D1"] == v.clauses["O3"] == "violated"
    assert v.clauses["W1"] == "pass"


@pytest.mark.spec("W2")
def test_summary_and_json() -> None:
    b = B()
    b.send(0, "a.b")
    b.sub(0, "a.*")
    b.deliver(0, 0)
    b.settle()
    v = b.check()
    js = v.to_json()
    assert js["ok"] is False
    assert js["violations"] == [
        {
            "clause": "W2",
            "msg": 0,
            "sub": 0,
            "witness": [1, 2, 4],
            "text": "subscription 0 ('a.*') received message 0, whose send returned before "
            "subscribe() began",
        }
    ]
    assert js["obligations"]["must_not"] == 1
    assert list(js["clauses"]) == list(CLAUSES)
    assert js == check(b.h).to_json()
    text = v.summary()
    assert text.startswith("VIOLATED: 1 violation(s)")
    assert "[W2] subscription 0 ('a.*') received message 0" in text
    assert "(events 1, 2, 4)" in text


# real executions of the reference implementation ----------------------------------------------

SCENARIO = Scenario(
    channels=(
        ChannelSpec("a.*"),  # 0
        ChannelSpec("a.b", reply=0),  # 1: replies on a.*
        ChannelSpec("*", subscribed=False, reply=4),  # 2: replies on c.d
        ChannelSpec("a.?", sleep=0.25, raises=True),  # 3: slow, raises
        ChannelSpec("c.d", subscribed=False),  # 4
    ),
    threads=(
        (
            Send(1),
            Subscribe(2),
            Send(0, expiry=0.5),
            Send(3, droppable=True),
            Advance(1.0),
            Send(1, expiry=0.25),
            Settle(),
            Send(0),
            Send(4, droppable=True),
            Shutdown(),
            Send(1),
        ),
        (
            Send(0),
            Unsubscribe(0),
            Send(1, droppable=True),
            Send(3, expiry=0.3),
            Advance(0.5),
            Send(1),
            Subscribe(0),
            Send(0),
            Settle(),
            Send(3),
        ),
        (
            Send(3),
            Send(3, expiry=0.25),  # queued behind a 0.25 s handler: expires at the deadline
            Send(1, expiry=0.0),
            Advance(0.25),
            Unsubscribe(3),
            Send(4),
            Subscribe(4),
            Send(2, droppable=True),
        ),
    ),
    brokers=2,
    workers=3,
)


@pytest.mark.spec("W1", "W2", "W3", "D1", "D2", "O1", "O2", "O3", "E2", "E3", "S1", "S2", "S3")
@pytest.mark.parametrize("seed", range(30))
def test_refimpl_simulated_runs_pass(seed: int) -> None:
    history, _ = play_sim(SCENARIO, RefimplAdapter(), RandomWalk(seed))
    verdict = check(history)
    assert verdict.ok, verdict.summary()
    o = verdict.obligations
    assert o.must > 0 and o.delivered > 0 and o.unchecked == 0


def test_refimpl_simulated_runs_exercise_the_rules() -> None:
    """The scenario reaches every kind of drop and the expiry boundary across the seeds."""
    reasons: set[str] = set()
    at_deadline = 0
    for seed in range(30):
        history, _ = play_sim(SCENARIO, RefimplAdapter(), RandomWalk(seed))
        reasons |= set(check(history).obligations.dropped)
        for e in history.events:
            info = history.messages.get(e.msg)
            if e.kind == "drop" and info is not None and info.expiry == e.time:
                at_deadline += 1
    assert reasons == {"expired", "shutdown", "unsubscribed"}
    assert at_deadline > 0


def _far_expiries(scenario: Scenario) -> Scenario:
    """On real threads, keep expiries away from delivery times: 0 stays 0, others are far."""
    threads = tuple(
        tuple(
            Send(
                op.channel,
                None if op.expiry is None else (0.0 if op.expiry == 0 else 50.0),
                op.droppable,
                op.local,
            )
            if isinstance(op, Send)
            else op
            for op in ops
        )
        for ops in scenario.threads
    )
    s = scenario
    return Scenario(s.channels, threads, s.brokers, s.workers, s.timeout, s.shutdown)


@pytest.mark.spec("W1", "W2", "D1", "D2", "O1", "O2", "O3", "E2", "E3", "S1", "S2", "S3")
@pytest.mark.parametrize("run", range(3))
def test_refimpl_real_threads_pass(run: int) -> None:
    history = play_real(_far_expiries(SCENARIO), RefimplAdapter())
    verdict = check(history, tolerance=0.05)
    assert verdict.ok, verdict.summary()
    assert verdict.obligations.delivered > 0


# mutations of a real history are caught ------------------------------------------------------


def _sim_history(seed: int = 3) -> History:
    return play_sim(SCENARIO, RefimplAdapter(), RandomWalk(seed))[0]


def _must_starts(history: History) -> list[int]:
    """Indices of the starts of MUST pairs (sent after subscribe, returned before unsubscribe)."""
    where: dict[tuple[str, int], int] = {}
    for e in history.events:
        where.setdefault((e.kind, e.msg if e.kind.startswith("send") else e.sub), e.index)
    big = len(history.events)
    return [
        e.index
        for e in history.events
        if e.kind == "start"
        and where[("send_call", e.msg)] > where[("sub_ret", e.sub)]
        and where[("send_ret", e.msg)] < where.get(("unsub_call", e.sub), big)
    ]


@pytest.mark.spec("D2", "S2")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_removing_a_required_delivery_is_caught(seed: int) -> None:
    history = _sim_history(seed)
    assert check(history).ok
    must = _must_starts(history)
    assert len(must) > 5
    for j in (must[0], must[len(must) // 2], must[-1]):
        b = B()
        b.h = History(list(history.events), history.messages, history.topics)
        gone = history.events[j]
        b.remove(j)
        v = only(b.check())
        assert (v.msg, v.sub) == (gone.msg, gone.sub)
        assert v.clause in ("D2", "S2")


@pytest.mark.spec("D1")
def test_duplicating_a_delivery_is_caught() -> None:
    history = _sim_history()
    left = {e.sub for e in history.events if e.kind == "unsub_call"}
    # a subscription that never unsubscribes: a start appended at the end is not also W3
    e = next(e for e in history.events if e.kind == "start" and e.sub not in left)
    history.add(e.time, e.thread, "start", e.msg, e.sub)
    v = check(history)
    required = {("D1", e.msg, e.sub), ("S6", e.msg, e.sub)}
    assert required <= keys(v)
    # appended at the end, the duplicate also comes after the subscription's later
    # deliveries, if it had any: then it is out of order too
    later = any(x.kind == "start" and x.sub == e.sub and x.msg != e.msg for x in history.events)
    assert keys(v) - required == ({("O2", e.msg, e.sub)} if later else set())


def test_bench_returns_a_rate() -> None:
    assert bench_events_per_second(20_000) > 0


@pytest.mark.spec("O2")
def test_swapping_two_deliveries_of_a_subscription_is_caught() -> None:
    history = _sim_history()
    events = history.events
    last: dict[int, int] = {}  # sub -> index of its previous start
    pair = None
    for e in events:
        if e.kind == "start":
            prev = last.get(e.sub)
            if prev is not None and events[prev].msg != e.msg:
                pair = (prev, e.index)
            last[e.sub] = e.index
    assert pair is not None
    i, j = pair
    m1, m2, s = events[i].msg, events[j].msg, events[i].sub
    ends = [e.index for e in events if e.kind == "end" and e.sub == s and e.msg in (m1, m2)]
    for k in (i, j, *ends):
        e = events[k]
        events[k] = e._replace(msg=m2 if e.msg == m1 else m1)
    v = check(history)
    assert ("O2", m1, s) in keys(v), v.summary()
    assert {x.clause for x in v.violations} <= {"O2", "E2"}
