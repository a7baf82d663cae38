"""Internal topics (I1-I3): 'lona.channels.subscribe' and 'lona.channels.unsubscribe'."""

from __future__ import annotations

import threading

import pytest

from refimpl import Channel, Message, Runtime, State
from tests.refimpl.helpers import SUB, UNSUB, Events, Inbox


@pytest.mark.spec("I1")
def test_subscribe_publishes_a_local_message_with_the_subscriber_topic() -> None:
    star, subs, family, plain = Inbox(), Inbox(), Inbox(), Inbox()
    with Runtime() as rt:
        Channel("*", star, runtime=rt)
        Channel(SUB, subs, runtime=rt)
        Channel("lona.channels.*", family, runtime=rt)
        Channel("x", plain, runtime=rt)
        Channel("chat.rooms.lona-*", lambda m: None, runtime=rt)
        assert rt.join(10)
    # every matching channel, including the new one when its topic matches
    assert star.internal() == [
        (SUB, "*"),
        (SUB, SUB),
        (SUB, "lona.channels.*"),
        (SUB, "x"),
        (SUB, "chat.rooms.lona-*"),
    ]
    assert subs.internal() == star.internal()[1:]
    assert family.internal() == star.internal()[2:]
    assert plain.messages == []
    for m in star.messages:
        assert m.local is True and m.droppable is False and m.expiry is None
        assert m.data == {"topic": m.data["topic"]}


@pytest.mark.spec("I1", "O1")
def test_subscribe_message_is_sent_after_the_subscribe_took_effect() -> None:
    watcher = Inbox()
    with Runtime() as rt:
        Channel(SUB, watcher, runtime=rt)
        before = Channel("y", runtime=rt).send()
        Channel("y", lambda m: None, runtime=rt)
        after = Channel("y", runtime=rt).send()
        assert rt.join(10)
    notices = [m for m in watcher.messages if m.data["topic"] == "y"]
    assert len(notices) == 1
    assert before.seq < notices[0].seq < after.seq
    # each receiver has its own copy of the notice's data
    assert notices[0].data is not watcher.messages[0].data


@pytest.mark.spec("I2")
def test_unsubscribe_publishes_a_local_message_not_received_by_the_leaver() -> None:
    leaver, stayer, unsubs = Inbox(), Inbox(), Inbox()
    with Runtime() as rt:
        a = Channel("*", leaver, runtime=rt)
        Channel("*", stayer, runtime=rt)
        Channel(UNSUB, unsubs, runtime=rt)
        x = Channel("x", lambda m: None, runtime=rt)
        assert rt.join(10)
        a.unsubscribe()
        x.unsubscribe()
        x.unsubscribe()  # a no-op: publishes nothing
        assert rt.join(10)
    assert [t for t in leaver.internal() if t[0] == UNSUB] == []
    assert [t for t in stayer.internal() if t[0] == UNSUB] == [(UNSUB, "*"), (UNSUB, "x")]
    assert unsubs.internal() == [(UNSUB, "*"), (UNSUB, "x")]
    for m in unsubs.messages:
        assert m.local is True


@pytest.mark.spec("I3", "S4")
def test_no_internal_messages_while_closing() -> None:
    star, events = Inbox(), Events()
    entered, gate = threading.Event(), threading.Event()

    def block(message: Message) -> None:
        entered.set()
        assert gate.wait(10)

    rt = Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 2}, observer=events).start()
    try:
        Channel("*", star, runtime=rt)
        Channel("gate", block, runtime=rt)
        Channel("gate", runtime=rt).send()
        assert entered.wait(10)
        closer = threading.Thread(target=rt.shutdown)
        closer.start()
        try:
            assert events.wait_kind("shutdown_begin")
            assert rt.state is State.CLOSING
            late = Channel("late", lambda m: None, runtime=rt)  # from outside a handler
            assert late.handler is not None
            assert late in rt.get_channels("late")
            gone = rt.get_channels("gate")[-1]
            gone.unsubscribe()
            assert gone.handler is None
        finally:
            gate.set()
            closer.join(10)
        assert not closer.is_alive()
    finally:
        gate.set()
        rt.shutdown()
    assert star.internal() == [(SUB, "*"), (SUB, "gate")]


@pytest.mark.spec("I3", "S5")
def test_no_internal_messages_when_stopped() -> None:
    star = Inbox()
    rt = Runtime()
    with rt:
        Channel("*", star, runtime=rt)
    n = len(star.messages)
    ch = Channel("after", lambda m: None, runtime=rt)
    ch.unsubscribe()
    assert rt.join(timeout=0.5)  # nothing was queued that could never be delivered
    assert len(star.messages) == n
