"""Expiry (E1-E4) and drop reporting (D2), with a settable clock where timing matters."""

from __future__ import annotations

import logging
import time as _time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from refimpl import Channel, Runtime
from tests.refimpl.helpers import T0, Events, FakeClockPlatform, Inbox, block_only_worker, join

HOUR = timedelta(hours=1)


# --- E1 -----------------------------------------------------------------------------------


@pytest.mark.spec("E1", "A3")
def test_timedelta_is_relative_to_the_runtime_clock() -> None:
    clock = FakeClockPlatform()
    with Runtime(platform=clock) as rt:
        m = Channel("x", runtime=rt).send(expiry=timedelta(minutes=5))
        assert m.expiry == T0 + timedelta(minutes=5)
        assert m.expiry.utcoffset() == timedelta(0)
        assert not m.is_expired()
        clock.advance(timedelta(minutes=5) - timedelta(microseconds=1))
        assert not m.is_expired()
        clock.advance(timedelta(microseconds=1))
        assert m.is_expired()  # clock reading == expiry means expired
        join(rt)


@pytest.mark.spec("E1", "A3")
def test_aware_datetime_is_absolute_and_stored_as_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    with Runtime(platform=FakeClockPlatform()) as rt:
        m = Channel("x", runtime=rt).send(expiry=datetime(2030, 1, 1, 14, 30, tzinfo=plus2))
        assert m.expiry == datetime(2030, 1, 1, 12, 30, tzinfo=UTC)
        assert m.expiry.tzinfo is not None and m.expiry.utcoffset() == timedelta(0)
        assert (m.expiry.hour, m.expiry.minute) == (12, 30)
        join(rt)


@pytest.mark.spec("E1")
def test_naive_datetime_means_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # A local zone far from UTC (POSIX TZ syntax: 'XYZ-05:45' is UTC+05:45), so that
    # treating the naive datetime as UTC would be off by hours.
    monkeypatch.setenv("TZ", "XYZ-05:45")
    _time.tzset()
    try:
        naive = datetime(2030, 1, 1, 18, 0)  # 18:00 local = 12:15 UTC
        with Runtime() as rt:
            m = Channel("x", runtime=rt).send(expiry=naive)
            assert m.expiry == datetime(2030, 1, 1, 12, 15, tzinfo=UTC)
            assert m.expiry.utcoffset() == timedelta(0)
            local_soon = datetime.now() + HOUR  # as Lona would write it
            m2 = Channel("x", runtime=rt).send(expiry=local_soon)
            assert abs(m2.expiry - (datetime.now(UTC) + HOUR)) < timedelta(minutes=1)
            assert not m2.is_expired()
    finally:
        monkeypatch.undo()
        _time.tzset()


@pytest.mark.spec("E1", "E3", "D2")
@pytest.mark.parametrize(
    "expiry",
    [timedelta(0), timedelta(seconds=-1), -HOUR, "past-aware", "past-naive"],
    ids=["zero", "minus-1s", "minus-1h", "past-aware", "past-naive"],
)
def test_already_expired_is_accepted_and_dropped(expiry: object) -> None:
    if expiry == "past-aware":
        expiry = datetime.now(UTC) - HOUR
    elif expiry == "past-naive":
        expiry = datetime.now() - HOUR
    inbox, events = Inbox(), Events()
    with Runtime(observer=events) as rt:
        Channel("x", inbox, runtime=rt)
        m = Channel("x", runtime=rt).send({"n": 1}, expiry=expiry)
        assert m.is_expired()
        assert rt.join(10)
    assert inbox.user() == []
    assert [(d[1].seq, d[3]) for d in events.drops()] == [(m.seq, "expired")]
    assert m.is_dropped()


@pytest.mark.spec("E1", "V1")
@pytest.mark.parametrize("expiry", [1, 1.0, "2030-01-01", date(2030, 1, 1), True, [HOUR]])
def test_wrong_expiry_types_raise(expiry: object) -> None:
    inbox = Inbox()
    with Runtime() as rt:
        Channel("x", inbox, runtime=rt)
        with pytest.raises(TypeError):
            Channel("x", runtime=rt).send(expiry=expiry)
        assert rt.join(10)
    assert inbox.user() == []


@pytest.mark.spec("E1", "A3")
def test_far_deadline_is_delivered_and_not_expired() -> None:
    inbox = Inbox()
    with Runtime() as rt:
        Channel("x", inbox, runtime=rt)
        sender = Channel("x", runtime=rt)
        sent = [
            sender.send(expiry=HOUR),
            sender.send(expiry=datetime.now(UTC) + HOUR),
            sender.send(expiry=datetime.now() + HOUR),
        ]
        assert rt.join(10)
    got = inbox.user()
    assert [g.seq for g in got] == [m.seq for m in sent]
    for g, m in zip(got, sent, strict=True):
        assert g.expiry == m.expiry  # the copy carries the same absolute deadline
        assert not g.is_expired() and not g.is_dropped() and not m.is_dropped()


# --- E2 / E3: the two checks --------------------------------------------------------------


@pytest.mark.spec("E2", "E3", "D2")
def test_broker_drops_a_message_that_expired_before_routing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="refimpl.channels")
    clock, inbox, events = FakeClockPlatform(), Inbox(), Events()
    rt = Runtime(platform=clock, observer=events)  # not started: nothing is routed yet
    try:
        Channel("x", inbox, runtime=rt)
        Channel("y", inbox, runtime=rt)
        m = Channel("*", runtime=rt).send({"n": 1}, expiry=timedelta(seconds=10))
        keep = Channel("x", runtime=rt).send({"n": 2}, expiry=timedelta(seconds=30))
        clock.advance(timedelta(seconds=10))  # exactly at the deadline: expired
        rt.start()
        join(rt)
    finally:
        rt.shutdown()
    assert [g.seq for g in inbox.user()] == [keep.seq]
    drops = [(d[1].seq, d[2], d[3]) for d in events.drops()]
    assert drops == [(m.seq, None, "expired")]  # the whole message: no channel
    assert m.is_dropped() and not keep.is_dropped()
    logged = [
        r for r in caplog.records if r.levelno == logging.DEBUG and "dropped" in r.getMessage()
    ]
    assert len(logged) == 1 and "expired" in logged[0].getMessage()


@pytest.mark.spec("E2", "E3", "E4", "D2")
def test_task_worker_drops_a_copy_that_expired_between_routing_and_running() -> None:
    clock, events = FakeClockPlatform(), Events()
    inbox = Inbox()
    settings = {"MAX_CHANNEL_TASK_WORKER_THREADS": 1}
    with Runtime(settings, platform=clock, observer=events) as rt:
        Channel("x", inbox, runtime=rt)
        gate = block_only_worker(rt, "block")  # the only task worker is busy now
        m = Channel("x", runtime=rt).send({"n": 1}, expiry=timedelta(seconds=10))
        assert events.wait_routed(m.seq)  # passed the broker's check
        assert not m.is_dropped()
        clock.advance(timedelta(seconds=10))
        gate.open.set()
        join(rt)
    assert inbox.user() == []
    drops = [(d[1].seq, d[2].topic, d[3]) for d in events.drops()]
    assert drops == [(m.seq, "x", "expired")]
    dropped_copy = events.drops()[0][1]
    assert dropped_copy is not m and dropped_copy.is_dropped() and dropped_copy.is_expired()
    assert m.is_dropped()


@pytest.mark.spec("E2")
def test_handler_starts_just_before_the_deadline() -> None:
    clock, events = FakeClockPlatform(), Events()
    inbox = Inbox()
    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 1}, platform=clock, observer=events) as rt:
        Channel("x", inbox, runtime=rt)
        gate = block_only_worker(rt, "block")
        m = Channel("x", runtime=rt).send(expiry=timedelta(seconds=10))
        assert events.wait_routed(m.seq)
        clock.advance(timedelta(seconds=10) - timedelta(microseconds=1))
        gate.open.set()
        join(rt)
    assert [g.seq for g in inbox.user()] == [m.seq]
    assert events.drops() == [] and not m.is_dropped()


# --- E4: per copy -------------------------------------------------------------------------


@pytest.mark.spec("E4", "E2", "E3", "D2")
def test_one_copy_expiring_does_not_affect_the_others() -> None:
    clock, events = FakeClockPlatform(), Events()
    # one task worker and strict round-robin (batch 1), so the subscribers run in
    # subscription order: 'early' first; its handler moves the clock past the deadline
    # before 'late' gets its turn
    early = Inbox(on_message=lambda m: m.topic == "x" and clock.advance(HOUR))
    late, later = Inbox(), Inbox()
    settings = {"MAX_CHANNEL_TASK_WORKER_THREADS": 1, "CHANNEL_TASK_BATCH": 1}
    with Runtime(settings, platform=clock, observer=events) as rt:
        Channel("x", early, runtime=rt)
        Channel("x", late, runtime=rt)
        Channel("*", later, runtime=rt)
        m = Channel("x", runtime=rt).send({"n": 1}, expiry=timedelta(seconds=10))
        join(rt)
        after = Channel("x", runtime=rt).send({"n": 2})  # no expiry: unaffected
        join(rt)
    delivered = early.user()
    assert [g.seq for g in delivered] == [m.seq, after.seq]
    # the delivered copy stays delivered, although the message has now expired
    assert not delivered[0].is_dropped()
    assert delivered[0].is_expired()
    assert [g.seq for g in late.user()] == [after.seq]
    assert [g.seq for g in later.user()] == [after.seq]
    drops = sorted((d[1].seq, d[2].topic, d[3]) for d in events.drops())
    assert drops == [(m.seq, "*", "expired"), (m.seq, "x", "expired")]
    assert {d[2] for d in events.drops()} == {rt.get_channels("x")[1], rt.get_channels("*")[2]}
    for _, copy, _, _ in events.drops():
        assert copy.is_dropped()
    # the sender's message: some copy was dropped
    assert m.is_dropped()
    assert not after.is_dropped()
    assert not delivered[1].is_dropped()
