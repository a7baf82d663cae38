"""The public API (A1-A4), overlapping deliveries (D1) and the default broker's local flag (L1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from refimpl import Channel, Message, Runtime
from tests.refimpl.helpers import Inbox


@pytest.mark.spec("A1")
def test_channel_attributes_and_binding() -> None:
    def handler(message: Message) -> None:
        pass

    with Runtime() as rt, Runtime() as other:
        ch = Channel("chat.rooms.lona", handler, runtime=rt)
        assert ch.topic == "chat.rooms.lona"
        assert ch.handler is handler
        assert ch.runtime is rt
        plain = Channel("chat.rooms.lona", runtime=other)
        assert plain.handler is None
        assert plain.runtime is other
        assert rt.get_channels("chat.rooms.lona") == [ch]
        assert other.get_channels("chat.rooms.lona") == []
        ch.unsubscribe()
        assert ch.handler is None
        assert ch.topic == "chat.rooms.lona"
        with pytest.raises(TypeError):
            Channel("x", runtime="not a runtime")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            Channel("x", handler, rt)  # type: ignore[misc]  # runtime is keyword-only


@pytest.mark.spec("A2")
def test_subscribe_twice_raises_and_changes_nothing() -> None:
    first, second, watcher = Inbox(), Inbox(), Inbox()
    with Runtime() as rt:
        Channel("lona.channels.subscribe", watcher, runtime=rt)
        ch = Channel("x", first, runtime=rt)
        with pytest.raises(RuntimeError):
            ch.subscribe(second)
        assert ch.handler is first
        assert rt.get_channels("x") == [ch]
        Channel("x", runtime=rt).send({"n": 1})
        assert rt.join(10)
    assert [m.data for m in first.messages] == [{"n": 1}]
    assert second.messages == []
    # exactly one subscribe notification: the failed subscribe published nothing
    assert [m.data["topic"] for m in watcher.messages] == ["lona.channels.subscribe", "x"]


@pytest.mark.spec("A2", "V1")
@pytest.mark.parametrize("handler", [None, 1, "handler", object()])
def test_subscribe_non_callable_raises_type_error(handler: object) -> None:
    with Runtime() as rt:
        ch = Channel("x", runtime=rt)
        with pytest.raises(TypeError):
            ch.subscribe(handler)  # type: ignore[arg-type]
        assert ch.handler is None
        assert rt.get_channels("x") == []
        if handler is not None:  # None means "no handler" in the constructor
            with pytest.raises(TypeError):
                Channel("x", handler, runtime=rt)  # type: ignore[arg-type]
        assert rt.get_channels("x") == []


@pytest.mark.spec("A2")
def test_unsubscribe_is_a_noop_when_not_subscribed() -> None:
    watcher = Inbox()
    with Runtime() as rt:
        Channel("lona.channels.unsubscribe", watcher, runtime=rt)
        ch = Channel("x", runtime=rt)
        ch.unsubscribe()
        ch.unsubscribe()
        sub = Channel("y", lambda m: None, runtime=rt)
        sub.unsubscribe()
        sub.unsubscribe()
        assert rt.join(10)
    # only the one real unsubscribe was published
    assert [m.data["topic"] for m in watcher.messages] == ["y"]


@pytest.mark.spec("A2", "W2")
def test_subscribe_again_is_a_new_subscription() -> None:
    old, new = Inbox(), Inbox()
    with Runtime() as rt:
        ch = Channel("x", old, runtime=rt)
        sender = Channel("x", runtime=rt)
        m1 = sender.send({"n": 1})
        assert rt.join(10)
        ch.unsubscribe()
        m2 = sender.send({"n": 2})
        assert rt.join(10)
        ch.subscribe(new)
        assert ch.handler is new
        m3 = sender.send({"n": 3})
        assert rt.join(10)
    assert [m.seq for m in old.messages] == [m1.seq]
    assert [m.seq for m in new.messages] == [m3.seq]
    assert m2.seq not in {m.seq for m in old.messages + new.messages}


@pytest.mark.spec("A3")
def test_send_returns_a_message() -> None:
    inbox = Inbox()
    with Runtime() as rt:
        Channel("chat.*", inbox, runtime=rt)
        sender = Channel("chat.rooms.lona", runtime=rt)
        m = sender.send({"k": "v"})
        assert isinstance(m, Message)
        assert m.topic == "chat.rooms.lona"
        assert m.data == {"k": "v"}
        assert m.expiry is None
        assert m.local is False
        assert m.droppable is False
        assert isinstance(m.seq, int)
        assert m.is_expired() is False
        assert m.is_dropped() is False
        m2 = sender.send(None, None, True, True)  # positional order of the seed
        assert (m2.data, m2.expiry, m2.local, m2.droppable) == ({}, None, True, True)
        assert m2.seq > m.seq
        assert rt.join(10)
        got = inbox.user()
    assert [g.seq for g in got] == [m.seq, m2.seq]
    first, second = got
    # the receiver sees the sender's topic, not its own
    assert first.topic == "chat.rooms.lona"
    assert (first.data, first.local, first.droppable) == ({"k": "v"}, False, False)
    assert (second.data, second.local, second.droppable) == ({}, True, True)
    assert not first.is_expired() and not first.is_dropped()
    assert m.is_dropped() is False


@pytest.mark.spec("A3", "T4")
def test_pattern_sender_topic_is_passed_through() -> None:
    inbox = Inbox()
    with Runtime() as rt:
        Channel("chat.rooms.lona", inbox, runtime=rt)
        m = Channel("chat.rooms.*", runtime=rt).send({"x": 1})
        assert rt.join(10)
    assert [(g.topic, g.seq) for g in inbox.user()] == [("chat.rooms.*", m.seq)]


@pytest.mark.spec("A3", "E1")
def test_message_expiry_is_absolute_aware_utc() -> None:
    with Runtime() as rt:
        deadline = datetime(2999, 1, 1, tzinfo=UTC)
        m = Channel("x", runtime=rt).send(expiry=deadline)
        assert m.expiry == deadline
        assert m.expiry.utcoffset().total_seconds() == 0
        assert m.is_expired() is False


@pytest.mark.spec("A4")
def test_get_channels_in_subscription_order() -> None:
    with Runtime() as rt:
        c1 = Channel("chat.rooms.lona", lambda m: None, runtime=rt)
        c2 = Channel("chat.*", lambda m: None, runtime=rt)
        Channel("news.*", lambda m: None, runtime=rt)
        c4 = Channel("*", lambda m: None, runtime=rt)
        Channel("chat.rooms.lona", runtime=rt)  # never subscribed
        c6 = Channel("chat.rooms.?ona", lambda m: None, runtime=rt)
        assert rt.get_channels("chat.rooms.lona") == [c1, c2, c4, c6]
        assert Channel.get_channels("chat.rooms.lona", runtime=rt) == [c1, c2, c4, c6]
        # the queried topic may itself be a pattern
        assert rt.get_channels("chat.rooms.*") == [c1, c2, c4, c6]
        assert rt.get_channels("chat.rooms.lona-releases") == [c2, c4]
        c2.unsubscribe()
        assert rt.get_channels("chat.rooms.lona") == [c1, c4, c6]
        c2.subscribe(lambda m: None)  # back in, at the end
        assert rt.get_channels("chat.rooms.lona") == [c1, c4, c6, c2]
        assert rt.get_channels("other") == [c4]


@pytest.mark.spec("D1")
def test_overlapping_wildcards_each_get_their_own_delivery() -> None:
    inboxes = {t: Inbox() for t in ("chat.*", "*", "chat.rooms.?ona", "chat.rooms.lona", "x")}
    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 3}) as rt:
        for topic, inbox in inboxes.items():
            Channel(topic, inbox, runtime=rt)
        sent = [Channel("chat.rooms.lona", runtime=rt).send({"i": i}) for i in range(50)]
        assert rt.join(10)
    seqs = [m.seq for m in sent]
    for topic, inbox in inboxes.items():
        got = [m.seq for m in inbox.user()]
        assert got == ([] if topic == "x" else seqs), topic
    # each subscriber has its own copy object
    copies = [inboxes[t].user()[0] for t in ("chat.*", "*", "chat.rooms.?ona", "chat.rooms.lona")]
    assert len({id(c) for c in copies}) == 4
    assert len({id(c.data) for c in copies}) == 4


@pytest.mark.spec("L1")
def test_default_broker_ignores_local() -> None:
    inbox = Inbox()
    with Runtime() as rt:
        Channel("x", inbox, runtime=rt)
        sender = Channel("x", runtime=rt)
        sent = [sender.send({"i": i}, local=(i % 2 == 0)) for i in range(10)]
        assert rt.join(10)
    got = inbox.user()
    assert [m.seq for m in got] == [m.seq for m in sent]
    assert [m.local for m in got] == [i % 2 == 0 for i in range(10)]
