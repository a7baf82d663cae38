"""Validation (V1-V2): bad input fails at the call site before any state changes, and no
accepted input can raise inside, or end, a broker or task-worker thread."""

from __future__ import annotations

import functools
import logging
import types
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

import pytest

from refimpl import Channel, Message, Runtime, ShutdownError
from tests.refimpl.helpers import INTERNAL, Events, Inbox

BAD_SENDS = [
    # (kwargs, exception)
    ({"message_data": []}, TypeError),
    ({"message_data": "text"}, TypeError),
    ({"message_data": 0}, TypeError),  # Lona turns a falsy non-dict into {}
    ({"message_data": ""}, TypeError),
    ({"message_data": False}, TypeError),
    ({"message_data": ()}, TypeError),
    ({"message_data": [("a", 1)]}, TypeError),
    ({"message_data": types.MappingProxyType({"a": 1})}, TypeError),
    ({"expiry": 1}, TypeError),
    ({"expiry": 1.5}, TypeError),
    ({"expiry": "2030-01-01T00:00:00"}, TypeError),
    ({"expiry": date(2030, 1, 1)}, TypeError),
    ({"expiry": time(12, 0)}, TypeError),
    ({"expiry": True}, TypeError),
    ({"local": 1}, TypeError),
    ({"local": None}, TypeError),
    ({"local": "yes"}, TypeError),
    ({"droppable": 0}, TypeError),
    ({"droppable": None}, TypeError),
    ({"droppable": "no"}, TypeError),
]


@pytest.mark.spec("V1", "C4")
@pytest.mark.parametrize(("kwargs", "exc"), BAD_SENDS, ids=[repr(k) for k, _ in BAD_SENDS])
def test_bad_send_arguments_fail_before_any_state_changes(kwargs: dict, exc: type) -> None:
    everything = Inbox()
    with Runtime() as rt:
        Channel("*", everything, runtime=rt)
        sender = Channel("x", runtime=rt)
        before = sender.send({"n": 1})
        with pytest.raises(exc):
            sender.send(**kwargs)
        after = sender.send({"n": 2})
        # no seq was consumed by the failed call
        assert after.seq == before.seq + 1
        assert rt.join(10)
    assert [m.seq for m in everything.user()] == [before.seq, after.seq]


@pytest.mark.spec("V1", "A2")
def test_bad_subscribe_fails_before_any_state_changes() -> None:
    everything = Inbox()
    with Runtime() as rt:
        Channel("*", everything, runtime=rt)
        assert rt.join(10)
        with pytest.raises(TypeError):
            Channel("y", 42, runtime=rt)  # type: ignore[arg-type]
        ch = Channel("y", runtime=rt)
        with pytest.raises(TypeError):
            ch.subscribe("not callable")  # type: ignore[arg-type]
        ch.subscribe(everything)
        with pytest.raises(RuntimeError):
            ch.subscribe(everything)
        assert rt.join(10)
        assert rt.get_channels("y") == [rt.get_channels("*")[0], ch]
    topics = [m.data["topic"] for m in everything.messages if m.topic == INTERNAL[0]]
    assert topics == ["*", "y"]


@pytest.mark.spec("V1", "S5")
def test_send_on_a_shut_down_runtime_raises_shutdown_error() -> None:
    assert issubclass(ShutdownError, RuntimeError)
    with Runtime() as rt:
        ch = Channel("x", runtime=rt)
    with pytest.raises(ShutdownError):
        ch.send()
    with pytest.raises(ShutdownError):
        ch.send({"a": 1}, expiry=timedelta(seconds=1), local=True, droppable=True)


# --- V2 -----------------------------------------------------------------------------------


class NoOffset(tzinfo):
    """A tzinfo whose utcoffset() is None: such a datetime is naive by Python's definition."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "none"


class Exploding(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        raise ValueError("no offset today")

    def dst(self, dt: datetime | None) -> timedelta:
        raise ValueError("no dst today")


class MyDatetime(datetime):
    pass


class MyTimedelta(timedelta):
    pass


FAR = datetime(2999, 1, 1)
EXOTIC_EXPIRIES = {
    "aware-utc": FAR.replace(tzinfo=UTC),
    "aware+14": FAR.replace(tzinfo=timezone(timedelta(hours=14))),
    "aware-14": FAR.replace(tzinfo=timezone(timedelta(hours=-14))),
    "aware+05:45": FAR.replace(tzinfo=timezone(timedelta(hours=5, minutes=45))),
    "utcoffset-none": FAR.replace(tzinfo=NoOffset()),
    "utcoffset-none-past": datetime(2000, 1, 1, tzinfo=NoOffset()),
    "utcoffset-raises": FAR.replace(tzinfo=Exploding()),
    "naive": FAR,
    "naive-past": datetime(2000, 1, 1),
    "datetime-subclass": MyDatetime(2999, 1, 1, tzinfo=UTC),
    "timedelta-subclass": MyTimedelta(hours=1),
    "aware-max-minus14": datetime.max.replace(tzinfo=timezone(timedelta(hours=-14))),
    "aware-min-plus14": datetime.min.replace(tzinfo=timezone(timedelta(hours=14))),
    "aware-max-utc": datetime.max.replace(tzinfo=UTC),
    "naive-max": datetime.max,
    "naive-min": datetime.min,
    "timedelta-max": timedelta.max,
    "timedelta-min": timedelta.min,
    "timedelta-zero": timedelta(0),
}


def _assert_runtime_healthy(rt: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    """Workers alive, no run() exception logged, and a fresh message still gets through."""
    probe = Inbox()
    Channel("probe", probe, runtime=rt)
    m = Channel("probe", runtime=rt).send({"probe": True})
    assert rt.join(10)
    assert [x.seq for x in probe.user()] == [m.seq]
    assert all(t.is_alive() for t in rt.pool.threads)
    errors = [
        r for r in caplog.records if r.name == "refimpl.channels" and r.levelno >= logging.ERROR
    ]
    assert errors == []


@pytest.mark.spec("V2", "V1", "D2", "E1")
@pytest.mark.parametrize("name", list(EXOTIC_EXPIRIES))
def test_no_expiry_can_break_a_worker_thread(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="refimpl.channels")
    expiry = EXOTIC_EXPIRIES[name]
    inbox, events = Inbox(), Events()
    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 1}, observer=events) as rt:
        Channel("x", inbox, runtime=rt)
        try:
            m = Channel("x", runtime=rt).send({"n": 1}, expiry=expiry)
        except (TypeError, ValueError, OverflowError):
            m = None  # refused at the call site: fine, as long as nothing was accepted
        assert rt.join(10)
        if m is not None:
            assert m.expiry is not None
            assert m.expiry.utcoffset() == timedelta(0)
            delivered = [x.seq for x in inbox.user()] == [m.seq]
            dropped = [(e[3], e[1].seq) for e in events.drops()] == [("expired", m.seq)]
            assert delivered != dropped  # exactly one of them: no silent loss
            assert m.is_dropped() == dropped
        else:
            assert inbox.user() == []
        _assert_runtime_healthy(rt, caplog)


class Payload(dict):
    """A dict subclass with its own attribute."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.note = "kept"


class Callable:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def __call__(self, message: Message) -> None:
        self.inbox(message)

    def method(self, message: Message) -> None:
        self.inbox(message)


@pytest.mark.spec("V2", "H1")
def test_odd_but_valid_payloads_handlers_and_topics(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="refimpl.channels")
    inbox = Inbox()
    holder = Callable(inbox)
    handlers = [
        holder,
        holder.method,
        functools.partial(lambda tag, message: inbox(message), "tag"),
        dict,  # a class is callable: dict(message) raises TypeError inside the handler
    ]
    payloads = [
        Payload(a=1),
        {(1, 2): "tuple key", None: 0, 3.5: [1, 2]},
        {"nested": {"deep": [{"x": object()}]}},
        {},
        None,
    ]
    topics = ["é.Ω", "[[]x", "a]b", "x" * 500, "lona.channels.subscribe.not"]
    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 2}) as rt:
        for topic in topics:
            for handler in handlers:
                Channel(topic, handler, runtime=rt)
        for topic in topics:
            for payload in payloads:
                Channel(topic, runtime=rt).send(payload)
        assert rt.join(10)
        # three recording handlers per topic and payload
        assert len(inbox.user()) == len(topics) * len(payloads) * 3
        raised = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(raised) == len(topics) * len(payloads)  # dict(message), logged (H1)
        caplog.clear()
        _assert_runtime_healthy(rt, caplog)
