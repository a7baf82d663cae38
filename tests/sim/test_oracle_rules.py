"""The oracle's rules for scenario format 2: one legal and one broken history per rule.

Step 4 of section 17 (no start after unsubscribe() returned), re-subscription of one
channel object, faults (V2, H1), internal notices (I1, I2), the API under concurrency
and bad input (A2, V1), the settle bound, operations that were not exercised, and the
clause list read from the spec. Histories are built by hand with the ``B`` builder of
``test_oracle``.
"""

from __future__ import annotations

import pytest

from sim.oracle import CLAUSES, check, spec_clauses
from tests.sim.test_oracle import WORKER, B, assert_ok, keys, only

NOTICE = "lona.channels.subscribe"
GONE = "lona.channels.unsubscribe"


# section 17 step 4 -------------------------------------------------------------------------
@pytest.mark.spec("W3")
def test_no_start_after_unsubscribe_returned() -> None:
    b = B()
    b.sub(0, "a")
    b.send(0, "a")
    _, unsub_ret = b.unsub(0)
    late = b.start(0, 0)
    b.end(0, 0)
    b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("W3", 0, 0, (unsub_ret, late))
    assert "after its unsubscribe() returned" in v.text


@pytest.mark.spec("W3")
def test_a_start_before_unsubscribe_returned_or_a_reported_drop_passes() -> None:
    b = B()
    b.sub(0, "a")
    b.send(0, "a")
    b.send(1, "a")
    b.start(0, 0)
    b.unsub(0)
    b.end(0, 0)  # a handler that started in time runs to completion
    b.drop(1, 0, "unsubscribed")
    b.settle()
    assert_ok(b.check())


@pytest.mark.spec("W3")
def test_real_threads_get_the_clock_tolerance_after_unsubscribe() -> None:
    b = B()
    b.sub(0, "a")
    b.send(0, "a")
    b.at(1.0).unsub(0)
    b.at(1.2).start(0, 0)  # recorded a moment after the implementation's last check
    b.end(0, 0)
    b.settle()
    assert_ok(b.check(tolerance=0.5))
    assert [v.clause for v in b.check(tolerance=0.1).violations] == ["W3"]


# re-subscription of one channel object ----------------------------------------------------
@pytest.mark.spec("W2", "A2")
def test_a_resubscription_never_runs_an_old_message() -> None:
    b = B()
    b.h.objects.update({0: 7, 1: 7})  # subscriptions 0 and 1: one channel object
    b.sub(0, "a")
    b.send(0, "a")
    b.unsub(0)
    b.sub(1, "a")
    b.start(0, 1)  # the new handler runs the old message
    b.end(0, 1)
    b.settle()
    v = only(b.check())  # reported once, on W2: the loss of (0, 0) is its consequence
    assert (v.clause, v.msg, v.sub) == ("W2", 0, 1)
    assert "earlier subscription of the same channel object" in v.text


@pytest.mark.spec("W2", "A2")
def test_a_resubscription_receives_what_is_sent_to_it() -> None:
    b = B()
    b.h.objects.update({0: 7, 1: 7})
    b.sub(0, "a")
    b.send(0, "a")
    b.deliver(0, 0)
    b.unsub(0)
    b.sub(1, "a")
    b.send(1, "a")
    b.deliver(1, 1)
    b.settle()
    assert_ok(b.check())


@pytest.mark.spec("W2", "A2")
def test_the_handler_of_a_subscribe_that_raised_never_runs() -> None:
    b = B()
    b.h.objects.update({0: 7, 1: 7})
    b.sub(0, "a")
    b.sub_call(1, "a")
    err = b.ev("sub_err", sub=1, info="RuntimeError")
    b.send(0, "a")
    b.deliver(0, 0)
    start = b.start(0, 1)
    b.end(0, 1)
    b.settle()
    assert ("W2", 0, 1) in keys(b.check())
    assert only(b.check()).witness == (err, start)


@pytest.mark.spec("A2")
def test_two_subscribes_of_one_object_cannot_both_succeed() -> None:
    b = B()
    b.h.objects.update({0: 7, 1: 7})
    b.sub_call(0, "a", thread=1)
    b.sub_call(1, "a", thread=2)
    b.sub_ret(0, thread=1)
    b.sub_ret(1, thread=2)
    assert [v.clause for v in b.check().violations] == ["A2"]


@pytest.mark.spec("A2")
def test_subscribe_may_raise_only_while_the_object_is_subscribed() -> None:
    legal = B()
    legal.h.objects.update({0: 7, 1: 7})
    legal.sub(0, "a")
    legal.sub_call(1, "a")
    legal.ev("sub_err", sub=1, info="RuntimeError")
    assert_ok(legal.check())

    wrong = B()
    wrong.h.objects.update({0: 7, 1: 7})
    wrong.sub(0, "a")
    wrong.unsub(0)
    wrong.sub_call(1, "a")
    wrong.ev("sub_err", sub=1, info="RuntimeError")
    v = only(wrong.check())
    assert v.clause == "A2" and "was not subscribed" in v.text


# faults ------------------------------------------------------------------------------------
@pytest.mark.spec("V2")
def test_an_exception_in_an_implementation_thread_is_v2_and_so_are_the_losses_after_it() -> None:
    b = B()
    b.sub(0, "a")
    fault = b.ev("fault", info="raised:broker-0: TypeError: can't compare datetimes", thread=20)
    b.send(0, "a")
    b.settle()
    v = b.check()
    assert keys(v) == {("V2", -1, -1), ("V2", 0, 0)}
    assert all("broker-0: TypeError" in x.text for x in v.violations)
    assert all(fault in x.witness for x in v.violations)
    assert "D2" not in {x.clause for x in v.violations}  # a dead broker is V2, not a D2 symptom


@pytest.mark.spec("H1")
def test_a_raising_handler_that_ends_its_thread_is_h1() -> None:
    b = B()
    b.sub(0, "a")
    b.send(0, "a")
    b.deliver(0, 0)
    b.ev("fault", info="handler:worker-1: the thread ended before shutdown() began", thread=WORKER)
    b.send(1, "a")
    b.settle()
    assert keys(b.check()) == {("H1", -1, -1), ("H1", 1, 0)}


@pytest.mark.spec("V2")
def test_a_quiet_early_thread_end_with_progress_after_it_passes() -> None:
    b = B()
    b.sub(0, "a")
    b.ev("fault", info="ended:helper: the thread ended before shutdown() began", thread=20)
    b.send(0, "a")
    b.deliver(0, 0)
    b.settle()
    assert_ok(b.check())


# internal notices --------------------------------------------------------------------------
def _notices(b: B, own: bool, about_a: bool, gone_a: bool) -> B:
    b.h.notices = True
    b.sub_call(0, "*")
    if own:
        b.ev("internal", sub=0, info=f"{NOTICE}\n*", thread=WORKER)
    b.sub_ret(0)
    b.sub_call(1, "a")
    if about_a:
        b.ev("internal", sub=0, info=f"{NOTICE}\na", thread=WORKER)
    b.sub_ret(1)
    b.unsub(1)
    if gone_a:
        b.ev("internal", sub=0, info=f"{GONE}\na", thread=WORKER)
    b.settle()
    return b


@pytest.mark.spec("I1", "I2")
def test_a_wildcard_subscriber_hears_every_subscribe_and_unsubscribe() -> None:
    assert_ok(_notices(B(), True, True, True).check())


@pytest.mark.spec("I1")
def test_missing_subscribe_notices() -> None:
    assert keys(_notices(B(), False, True, True).check()) == {("I1", -1, 0)}
    v = only(_notices(B(), True, False, True).check())
    assert v.clause == "I1" and "about 'a'" in v.text


@pytest.mark.spec("I2")
def test_missing_unsubscribe_notice() -> None:
    v = only(_notices(B(), True, True, False).check())
    assert v.clause == "I2" and "'lona.channels.unsubscribe'" in v.text


@pytest.mark.spec("I1")
def test_notices_are_checked_only_when_the_recorder_records_them() -> None:
    b = _notices(B(), False, False, False)
    b.h.notices = False  # e.g. a history recorded by another language's harness
    assert_ok(b.check())


@pytest.mark.spec("I1", "I3")
def test_no_notice_is_owed_for_a_subscribe_while_closing() -> None:
    b = B()
    b.h.notices = True
    b.sub(0, "*")
    b.ev("internal", sub=0, info=f"{NOTICE}\n*", thread=WORKER)
    b.shutdown_call()
    b.sub(1, "a")
    b.shutdown_ret()
    assert_ok(b.check())


# bad input ---------------------------------------------------------------------------------
@pytest.mark.spec("V1")
def test_bad_input_must_be_rejected_at_the_call() -> None:
    b = B()
    b.ev("bad_call", 0, info="expiry-str", thread=1)
    b.ev("bad_err", 0, info="TypeError", thread=1)
    assert_ok(b.check())
    call = b.ev("bad_call", 1, info="topic-int", thread=1)
    ret = b.ev("bad_ret", 1, info="topic-int", thread=1)
    v = only(b.check())
    assert (v.clause, v.witness) == ("V1", (call, ret)) and "'topic-int'" in v.text


# the settle bound and what was not exercised ---------------------------------------------
@pytest.mark.spec("D2")
def test_a_settle_that_gave_up_names_its_bound() -> None:
    b = B()
    b.sub(0, "a")
    b.send(0, "a")
    b.ev("settle_call")
    b.ev("settle_ret", info="bound=10")
    v = only(b.check())
    assert v.clause == "D2" and "gave up after 10 s of virtual time" in v.text


@pytest.mark.spec("D2")
def test_skipped_operations_are_not_exercised_never_violations() -> None:
    b = B()
    b.sub(0, "a")
    b.ev("skip", info="expiry-utc", thread=1)
    b.ev("skip", info="resubscribe", thread=1)
    b.ev("skip", info="expiry-utc", thread=2)
    verdict = b.check()
    assert_ok(verdict)
    assert verdict.obligations.skipped == {"expiry-utc": 2, "resubscribe": 1}
    assert "not exercised" in verdict.summary()


def test_the_clause_list_is_read_from_the_spec() -> None:
    spec = list(spec_clauses())
    assert set(CLAUSES) <= set(spec)
    assert list(CLAUSES) == [c for c in spec if c in CLAUSES]
    assert {"W3", "V1", "V2", "A2", "I1", "I2", "H1"} <= set(CLAUSES)
    assert list(check(B().h).clauses) == list(CLAUSES)


# drops blamed on an error ------------------------------------------------------------------
@pytest.mark.spec("D2")
def test_an_error_drop_with_nothing_failed_before_it_is_a_loss() -> None:
    b = B()
    b.sub(0, "a")
    b.send(0, "a")
    drop = b.drop(0, 0, "error")
    b.settle()
    v = only(b.check())
    assert (v.clause, v.msg, v.sub, v.witness) == ("D2", 0, 0, (drop,))
    assert "nothing had failed" in v.text


@pytest.mark.spec("D2", "V2")
def test_an_error_drop_after_a_failure_inside_the_implementation_is_permitted() -> None:
    b = B()
    b.sub(0, "a")
    b.send(0, "a")
    b.ev("fault", info="ended:helper: the thread ended before shutdown() began", thread=20)
    b.drop(0, 0, "error")  # what the failed thread had taken, reported (D2's error)
    b.send(1, "a")
    b.deliver(1, 0)  # and progress after it
    b.settle()
    assert "D2" not in {x.clause for x in b.check().violations}
