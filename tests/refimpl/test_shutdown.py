"""Graceful shutdown (S1-S6), with the drop reporting it relies on (D2)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from refimpl import Channel, Message, Runtime, ShutdownError, State
from tests.refimpl.helpers import Events, Gate, Inbox


def start_shutdown(rt: Runtime, events: Events) -> threading.Thread:
    """Call ``rt.shutdown()`` on another thread and wait until it has begun."""
    t = threading.Thread(target=rt.shutdown, daemon=True)
    t.start()
    assert events.wait_kind("shutdown_begin")
    assert rt.state is State.CLOSING
    return t


def finish(t: threading.Thread) -> None:
    t.join(10)
    assert not t.is_alive(), "shutdown() did not return"


@contextmanager
def closing(rt: Runtime, *gates: threading.Event) -> Iterator[Runtime]:
    """Shut *rt* down on the way out, whatever happened (opening any gates first)."""
    try:
        yield rt
    finally:
        for gate in gates:
            gate.set()
        rt.shutdown()


@pytest.mark.spec("S2", "S3", "D2")
def test_queued_droppable_dropped_non_droppable_delivered() -> None:
    events, gate, inbox = Events(), Gate(), Inbox()
    with closing(
        Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 1}, observer=events).start(), gate.open
    ) as rt:
        Channel("gate", gate, runtime=rt)
        x = Channel("x", inbox, runtime=rt)
        Channel("gate", runtime=rt).send()
        assert gate.entered.wait(10)  # the only task worker is blocked
        sender = Channel("x", runtime=rt)
        sent = [sender.send({"i": i}, droppable=(i % 2 == 1)) for i in range(10)]
        assert events.wait_routed(sent[-1].seq)  # all of them wait in x's mailbox
        t = start_shutdown(rt, events)
        gate.open.set()
        finish(t)
        keep = [m for m in sent if not m.droppable]
        gone = [m for m in sent if m.droppable]
        assert [g.seq for g in inbox.user()] == [m.seq for m in keep]
        drops = [(d[1].seq, d[2], d[3]) for d in events.drops()]
        assert drops == [(m.seq, x, "shutdown") for m in gone]
        assert all(m.is_dropped() for m in gone)
        assert not any(m.is_dropped() for m in keep)
        assert events.kinds()[-1] == "shutdown_end"


@pytest.mark.spec("S1", "S2", "S3", "D2")
def test_never_started_runtime_is_started_to_drain() -> None:
    events, inbox = Events(), Inbox()
    rt = Runtime({"MAX_CHANNEL_MESSAGE_BROKER_THREADS": 2}, observer=events)
    assert rt.state is State.NEW
    Channel("x", inbox, runtime=rt)
    sender = Channel("x", runtime=rt)
    sent = [sender.send({"i": i}, droppable=(i % 3 == 0)) for i in range(30)]
    assert rt.pool.threads == []
    rt.shutdown()
    assert rt.state is State.STOPPED
    assert len(rt.pool.threads) == 2 + 4
    assert not any(t.is_alive() for t in rt.pool.threads)
    keep = [m.seq for m in sent if not m.droppable]
    assert [g.seq for g in inbox.user()] == keep
    # shutdown began before anything ran: every droppable message is dropped, reported
    gone = sorted((d[1].seq, d[3]) for d in events.drops())
    assert gone == [(m.seq, "shutdown") for m in sent if m.droppable]
    assert all(m.is_dropped() == m.droppable for m in sent)


@pytest.mark.spec("S2", "S3", "S4", "D2")
def test_handlers_may_send_while_draining() -> None:
    events, b_inbox, c_inbox = Events(), Inbox(), Inbox()
    gate_open, entered = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def relay(message: Message) -> None:
        entered.set()
        assert gate_open.wait(10)
        # the runtime is closing now: handlers may still send
        results["state"] = rt.state
        results["b"] = Channel("b", runtime=rt).send({"from": "handler"})
        results["c"] = Channel("c", runtime=rt).send({"from": "handler"}, droppable=True)

    with closing(
        Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 2}, observer=events).start(), gate_open
    ) as rt:
        Channel("a", relay, runtime=rt)
        Channel("b", b_inbox, runtime=rt)
        c = Channel("c", c_inbox, runtime=rt)
        Channel("a", runtime=rt).send()
        assert entered.wait(10)
        t = start_shutdown(rt, events)
        gate_open.set()
        finish(t)
        assert results["state"] is State.CLOSING
        b_msg, c_msg = results["b"], results["c"]
        assert isinstance(b_msg, Message) and isinstance(c_msg, Message)
        assert [g.seq for g in b_inbox.user()] == [b_msg.seq]  # S2: delivered
        assert c_inbox.user() == []  # S3: dropped ...
        drops = [(d[1].seq, d[3]) for d in events.drops()]
        assert drops == [(c_msg.seq, "shutdown")]  # ... and reported
        assert c_msg.is_dropped() and not b_msg.is_dropped()
        assert c.handler is not None


@pytest.mark.spec("S4")
def test_send_from_outside_while_closing_raises() -> None:
    events, gate, inbox = Events(), Gate(), Inbox()
    with closing(Runtime(observer=events).start(), gate.open) as rt:
        Channel("gate", gate, runtime=rt)
        Channel("x", inbox, runtime=rt)
        Channel("gate", runtime=rt).send()
        assert gate.entered.wait(10)
        t = start_shutdown(rt, events)
        try:
            sender = Channel("x", runtime=rt)
            with pytest.raises(ShutdownError):
                sender.send({"n": 1})
            with pytest.raises(ShutdownError):
                sender.send({"n": 1}, droppable=True)
            errors: list[BaseException] = []

            def other_thread() -> None:
                try:
                    sender.send()
                except BaseException as exc:
                    errors.append(exc)

            helper = threading.Thread(target=other_thread)
            helper.start()
            helper.join(10)
            assert len(errors) == 1 and isinstance(errors[0], ShutdownError)
        finally:
            gate.open.set()
            finish(t)
        assert inbox.user() == []


@pytest.mark.spec("S5", "I3")
def test_after_shutdown_send_raises_and_subscriptions_do_nothing() -> None:
    events, inbox = Events(), Inbox()
    rt = Runtime(observer=events)
    with rt:
        watcher = Channel("*", inbox, runtime=rt)
        Channel("x", runtime=rt).send()
    assert rt.state is State.STOPPED
    n_events = len(events.items)
    n_received = len(inbox.messages)
    with pytest.raises(ShutdownError):
        Channel("x", runtime=rt).send()
    ch = Channel("x", inbox, runtime=rt)  # subscribe still works
    assert ch.handler is inbox
    assert rt.get_channels("x") == [watcher, ch]
    ch.unsubscribe()
    assert ch.handler is None
    watcher.unsubscribe()
    assert rt.get_channels("x") == []
    # nothing was published: nothing is pending, no event, no delivery
    assert rt.join(timeout=0.5) is True
    assert len(events.items) == n_events
    assert len(inbox.messages) == n_received


@pytest.mark.spec("S1")
def test_shutdown_from_a_handler_raises_runtime_error() -> None:
    caught: list[BaseException] = []
    done = threading.Event()

    def handler(message: Message) -> None:
        try:
            message_rt.shutdown()
        except BaseException as exc:
            caught.append(exc)
        finally:
            done.set()

    with Runtime() as message_rt:
        Channel("x", handler, runtime=message_rt)
        Channel("x", runtime=message_rt).send()
        assert done.wait(10)
        assert message_rt.state is State.RUNNING
    assert len(caught) == 1 and isinstance(caught[0], RuntimeError)
    assert not isinstance(caught[0], ShutdownError)


@pytest.mark.spec("S1", "S6")
def test_shutdown_is_idempotent_and_concurrent_callers_return_after_the_drain() -> None:
    events, gate, inbox = Events(), Gate(), Inbox()
    with closing(
        Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 2}, observer=events).start(), gate.open
    ) as rt:
        Channel("gate", gate, runtime=rt)
        Channel("x", inbox, runtime=rt)
        Channel("gate", runtime=rt).send()
        assert gate.entered.wait(10)
        sent = [Channel("x", runtime=rt).send({"i": i}) for i in range(20)]
        observations: list[tuple[int, bool]] = []
        lock = threading.Lock()
        ready = threading.Barrier(4)

        def caller() -> None:
            ready.wait(10)
            rt.shutdown()
            # after return: everything drained and every runtime thread gone
            with lock:
                observations.append((len(inbox.user()), any(t.is_alive() for t in rt.pool.threads)))

        callers = [threading.Thread(target=caller) for _ in range(4)]
        for t in callers:
            t.start()
        assert events.wait_kind("shutdown_begin")
        gate.open.set()
        for t in callers:
            finish(t)
        assert observations == [(len(sent), False)] * 4
        assert events.kinds().count("shutdown_begin") == 1
        assert events.kinds().count("shutdown_end") == 1
        rt.shutdown()  # and again, from the main thread
        assert rt.state is State.STOPPED


@pytest.mark.spec("S1")
def test_shutdown_and_join_after_stop_work_from_any_thread() -> None:
    rt = Runtime({"MAX_CHANNEL_MESSAGE_BROKER_THREADS": 2, "MAX_CHANNEL_TASK_WORKER_THREADS": 4})
    with rt:
        Channel("x", lambda m: None, runtime=rt)
        Channel("x", runtime=rt).send()
    # fresh threads (which may reuse the identifiers of the dead workers) are not handlers
    outcomes: list[object] = []

    def again() -> None:
        try:
            rt.shutdown()
            outcomes.append(rt.join(timeout=1))
        except BaseException as exc:
            outcomes.append(exc)

    for _ in range(8):
        t = threading.Thread(target=again)
        t.start()
        t.join(10)
    assert outcomes == [True] * 8


@pytest.mark.spec("S1", "S2", "S6")
def test_no_handler_starts_after_shutdown_returned() -> None:
    returned = threading.Event()
    late_starts: list[int] = []
    chain: list[int] = []
    lock = threading.Lock()
    entered, gate_open = threading.Event(), threading.Event()
    events = Events()

    def link(message: Message) -> None:
        if returned.is_set():
            late_starts.append(message.seq)
        n = message.data["n"]
        if n == 0:
            entered.set()
            assert gate_open.wait(10)
        with lock:
            chain.append(n)
        if n < 50:
            Channel("chain", runtime=rt).send({"n": n + 1})  # sent while draining

    with closing(
        Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 3}, observer=events).start(), gate_open
    ) as rt:
        Channel("chain", link, runtime=rt)
        Channel("other", link, runtime=rt)
        Channel("chain", runtime=rt).send({"n": 0})
        assert entered.wait(10)
        t = threading.Thread(target=lambda: (rt.shutdown(), returned.set()))
        t.start()
        assert events.wait_kind("shutdown_begin")
        gate_open.set()
        finish(t)
        assert chain == list(range(51))  # S2: everything handlers sent was delivered
        assert late_starts == []
        assert not any(th.is_alive() for th in rt.pool.threads)
