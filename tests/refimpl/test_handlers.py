"""Handlers and scopes (H1-H3)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from refimpl import Channel, Message, Runtime, Scope
from tests.refimpl.helpers import INTERNAL, Events, UserInbox


class Boom(Exception):
    pass


@contextmanager
def running(settings: dict, **kwargs) -> Iterator[Runtime]:
    """Like ``with Runtime(...)``, but a shutdown that cannot drain (say, because a
    worker thread died) fails the test instead of hanging it."""
    rt = Runtime(settings, **kwargs).start()
    try:
        yield rt
    finally:
        closer = threading.Thread(target=rt.shutdown, daemon=True)
        closer.start()
        closer.join(20)
        assert not closer.is_alive(), "shutdown() never returned: did a worker thread die?"


@pytest.mark.spec("H1", "V2")
def test_raising_handler_is_logged_reported_and_harmless(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="refimpl.channels")
    events, other, survivors = Events(), UserInbox(), UserInbox()

    def explode(message: Message) -> None:
        if message.topic in INTERNAL:
            return
        survivors(message)
        if message.data.get("boom"):
            raise Boom(f"boom {message.seq}")

    # one task worker: if a raising handler killed it, nothing would be delivered after
    with running({"MAX_CHANNEL_TASK_WORKER_THREADS": 1}, observer=events) as rt:
        bad = Channel("h", explode, runtime=rt)
        Channel("h", other, runtime=rt)
        sender = Channel("h", runtime=rt)
        m1 = sender.send({"boom": True})
        m2 = sender.send({"boom": False})
        m3 = sender.send({"boom": True})
        m4 = sender.send()
        assert rt.join(10)
        assert all(t.is_alive() for t in rt.pool.threads)
    # the same subscriber still received later messages; the other one received all
    assert survivors.seqs() == [m1.seq, m2.seq, m3.seq, m4.seq]
    assert other.seqs() == [m1.seq, m2.seq, m3.seq, m4.seq]
    assert len(set(survivors.threads)) == 1  # the one worker thread survived both errors
    errors = events.of("error")
    assert [(e[1].seq, e[2]) for e in errors] == [(m1.seq, bad), (m3.seq, bad)]
    assert errors[0][3] == repr(Boom(f"boom {m1.seq}"))
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 2
    for record, m in zip(logged, (m1, m3), strict=True):
        assert record.name == "refimpl.channels"
        assert record.exc_info is not None and isinstance(record.exc_info[1], Boom)
        text = record.getMessage()
        assert repr(explode) in text
        assert repr(bad) in text
        assert repr(m) in text
    assert bad.handler is explode  # a plain channel stays subscribed


@pytest.mark.spec("H1", "O4")
def test_raising_handlers_on_every_worker_do_not_stall_the_runtime() -> None:
    inbox = UserInbox()

    def always_raises(message: Message) -> None:
        raise Boom("always")

    with running({"MAX_CHANNEL_TASK_WORKER_THREADS": 2}) as rt:
        for i in range(4):
            Channel(f"bad{i}", always_raises, runtime=rt)
        Channel("good", inbox, runtime=rt)
        for _ in range(25):
            Channel("bad*", runtime=rt).send()
        sent = [Channel("good", runtime=rt).send() for _ in range(25)]
        assert rt.join(10)
    assert inbox.seqs() == [m.seq for m in sent]


@pytest.mark.spec("H2")
def test_scope_reports_to_on_error_and_unsubscribes_the_channel() -> None:
    events = Events()
    reported: list[tuple] = []
    calls: list[int] = []
    other = UserInbox()

    def on_error(exc: BaseException, channel: Channel, message: Message) -> None:
        reported.append((exc, channel, message.seq, channel.handler))

    def flaky(message: Message) -> None:
        calls.append(message.seq)
        raise Boom("scoped")

    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 1}, observer=events) as rt:
        scope = Scope(rt, on_error=on_error)
        ch = scope.subscribe("s", flaky)
        assert isinstance(ch, Channel) and ch.topic == "s" and ch.runtime is rt
        assert scope.channels == (ch,)
        Channel("s", other, runtime=rt)
        # queue three messages behind a blocked worker, so the later two are pending
        gate, entered = threading.Event(), threading.Event()
        Channel("gate", lambda m: (entered.set(), gate.wait(10)), runtime=rt)
        Channel("gate", runtime=rt).send()
        assert entered.wait(10)
        sent = [Channel("s", runtime=rt).send({"i": i}) for i in range(3)]
        assert events.wait_routed(sent[-1].seq)
        gate.set()
        assert rt.join(10)
        assert ch not in rt.get_channels("s")
        later = Channel("s", runtime=rt).send()
        assert rt.join(10)
    assert calls == [sent[0].seq]  # once raised, the channel got nothing more
    assert len(reported) == 1
    exc, channel, seq, handler_then = reported[0]
    assert isinstance(exc, Boom) and channel is ch and seq == sent[0].seq
    assert handler_then is None  # already unsubscribed when on_error ran
    assert ch.handler is None
    # the pending deliveries of the unsubscribed channel were reported, not lost
    drops = [(e[1].seq, e[2], e[3]) for e in events.of("drop")]
    assert drops == [(sent[1].seq, ch, "unsubscribed"), (sent[2].seq, ch, "unsubscribed")]
    # the exception was handled by the scope: not a runtime-level error
    assert events.of("error") == []
    assert other.seqs() == [m.seq for m in sent] + [later.seq]


@pytest.mark.spec("H2")
def test_scope_default_on_error_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="refimpl.channels")

    def flaky(message: Message) -> None:
        raise Boom("default")

    with Runtime() as rt:
        ch = Scope(rt).subscribe("s", flaky)
        m = Channel("s", runtime=rt).send()
        assert rt.join(10)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].name == "refimpl.channels"
    assert isinstance(errors[0].exc_info[1], Boom)
    assert repr(ch) in errors[0].getMessage() and repr(m) in errors[0].getMessage()
    assert ch.handler is None


@pytest.mark.spec("H3")
def test_scope_close_unsubscribes_everything() -> None:
    inbox = UserInbox()
    with Runtime() as rt:
        scope = Scope(rt)
        chans = [scope.subscribe(t, inbox) for t in ("a", "b.*", "*")]
        outside = Channel("a", inbox, runtime=rt)
        assert rt.get_channels("a") == [chans[0], chans[2], outside]
        scope.close()
        assert all(c.handler is None for c in chans)
        assert rt.get_channels("a") == [outside]
        scope.close()  # idempotent
        with pytest.raises(RuntimeError):
            scope.subscribe("c", inbox)
        assert rt.get_channels("c") == []
        m = Channel("a", runtime=rt).send()
        assert rt.join(10)
    assert inbox.seqs() == [m.seq]  # only the channel outside the scope


@pytest.mark.spec("H3")
def test_leaving_a_scope_block_unsubscribes() -> None:
    inbox = UserInbox()
    with Runtime() as rt:
        with Scope(rt) as scope:
            ch = scope.subscribe("x", inbox)
            first = Channel("x", runtime=rt).send()
            assert rt.join(10)
        assert ch.handler is None and scope.closed
        with pytest.raises(RuntimeError):
            scope.subscribe("x", inbox)
        Channel("x", runtime=rt).send()
        assert rt.join(10)
        # also when the block is left by an exception
        with pytest.raises(Boom), Scope(rt) as scope2:
            ch2 = scope2.subscribe("y", inbox)
            raise Boom("leave")
        assert ch2.handler is None
    assert inbox.seqs() == [first.seq]
