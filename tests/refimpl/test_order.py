"""Order (O1-O4), the subscription window (W1-W4) and delivery accounting (D1-D2)."""

from __future__ import annotations

import logging
import threading

import pytest

from refimpl import Channel, Message, Runtime, TaskWorker
from tests.refimpl.helpers import INTERNAL, Events, UserInbox, block_only_worker, preempt_often


@pytest.fixture(autouse=True)
def _preempt_often():
    """Every test here runs under :func:`preempt_often`, to make real-thread races happen."""
    with preempt_often():
        yield


# --- O1 -----------------------------------------------------------------------------------


@pytest.mark.spec("O1")
def test_seq_follows_real_time_order_across_threads_and_channels() -> None:
    with Runtime() as rt:
        a, b = Channel("a", runtime=rt), Channel("b.*", runtime=rt)
        for _ in range(50):
            seqs = _send_in_real_time_order(a, b)
            assert seqs["first"] < seqs["second"]


def _send_in_real_time_order(a: Channel, b: Channel) -> dict[str, int]:
    """a.send() on one thread; b.send() on another, begun after a.send() returned."""
    first_returned = threading.Event()
    seqs: dict[str, int] = {}

    def first() -> None:
        seqs["first"] = a.send().seq
        first_returned.set()

    def second() -> None:
        assert first_returned.wait(10)
        seqs["second"] = b.send().seq

    threads = [threading.Thread(target=second), threading.Thread(target=first)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return seqs


@pytest.mark.spec("O1")
def test_concurrent_senders_get_distinct_seqs_in_program_order() -> None:
    results: dict[int, list[int]] = {}
    start = threading.Barrier(4)
    with Runtime() as rt:

        def sender(k: int) -> None:
            ch = Channel(f"s{k}", runtime=rt)
            start.wait(10)
            results[k] = [ch.send({"i": i}).seq for i in range(200)]

        threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    everything = [s for seqs in results.values() for s in seqs]
    assert len(set(everything)) == len(everything) == 800
    for seqs in results.values():
        assert seqs == sorted(seqs)


# --- O2 / O3 ------------------------------------------------------------------------------


@pytest.mark.spec("O2", "O3", "D1")
@pytest.mark.parametrize(("brokers", "workers"), [(1, 4), (3, 1), (3, 4)])
def test_each_subscription_sees_seq_order_one_at_a_time(brokers: int, workers: int) -> None:
    active: dict[str, int] = {}
    overlaps: list[str] = []
    lock = threading.Lock()
    inboxes = {t: UserInbox(sleep_every=7) for t in ("x.*", "x.a", "*", "x.?", "[xy].b")}

    def serialised(topic: str):
        inbox = inboxes[topic]

        def handler(message: Message) -> None:
            with lock:
                active[topic] = active.get(topic, 0) + 1
                if active[topic] > 1:
                    overlaps.append(topic)
            try:
                inbox(message)
            finally:
                with lock:
                    active[topic] -= 1

        return handler

    settings = {
        "MAX_CHANNEL_MESSAGE_BROKER_THREADS": brokers,
        "MAX_CHANNEL_TASK_WORKER_THREADS": workers,
    }
    sent: list[Message] = []
    sent_lock = threading.Lock()
    go = threading.Barrier(2)
    with Runtime(settings) as rt:
        for topic in inboxes:
            Channel(topic, serialised(topic), runtime=rt)

        def sender(topics: tuple[str, ...]) -> None:
            chans = [Channel(t, runtime=rt) for t in topics]
            go.wait(10)
            for i in range(150):
                m = chans[i % len(chans)].send({"i": i})
                with sent_lock:
                    sent.append(m)

        threads = [
            threading.Thread(target=sender, args=(("x.a", "x.b"),)),
            threading.Thread(target=sender, args=(("y.b", "x.*"),)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert rt.join(10)
    assert overlaps == []
    from refimpl import match

    for topic, inbox in inboxes.items():
        got = inbox.seqs()
        assert got == sorted(set(got)), topic  # increasing: ordered, no duplicates
        expected = sorted(m.seq for m in sent if match(topic, m.topic))
        assert got == expected, topic


# --- O4 -----------------------------------------------------------------------------------


@pytest.mark.spec("O4")
def test_different_subscriptions_run_in_parallel() -> None:
    both = threading.Barrier(2)
    outcomes: list[str] = []

    def handler(message: Message) -> None:
        if message.topic in INTERNAL:
            return
        try:
            both.wait(5)  # passes only if the other handler runs at the same time
            outcomes.append("together")
        except threading.BrokenBarrierError:
            outcomes.append("alone")

    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 2}) as rt:
        Channel("a", handler, runtime=rt)
        Channel("b", handler, runtime=rt)
        Channel("*", runtime=rt).send()  # not subscribed itself: reaches 'a' and 'b'
        assert rt.join(10)
    assert outcomes == ["together", "together"]


@pytest.mark.spec("O4")
def test_a_blocked_handler_delays_only_its_own_subscription() -> None:
    release, blocked = threading.Event(), threading.Event()
    slow = UserInbox()

    def stuck(message: Message) -> None:
        if message.topic in INTERNAL:
            return
        blocked.set()
        assert release.wait(10)
        slow(message)

    fast = UserInbox()
    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 2}) as rt:
        Channel("t", stuck, runtime=rt)
        Channel("t", fast, runtime=rt)
        sender = Channel("t", runtime=rt)
        sent = [sender.send({"i": i}) for i in range(30)]
        assert blocked.wait(10)
        try:
            assert fast.wait_count(30)  # all of them, while 'stuck' is still blocked
            assert not release.is_set()
            assert slow.seqs() == []
        finally:
            release.set()
        assert rt.join(10)
    assert fast.seqs() == [m.seq for m in sent]
    assert slow.seqs() == [m.seq for m in sent]


@pytest.mark.spec("O4")
def test_fairness_subscription_goes_to_the_back_of_the_ready_queue() -> None:
    order: list[str] = []
    x, y = UserInbox("x", order), UserInbox("y", order)
    events = Events()
    settings = {"MAX_CHANNEL_TASK_WORKER_THREADS": 1, "CHANNEL_TASK_BATCH": 1}
    with Runtime(settings, observer=events) as rt:
        Channel("x", x, runtime=rt)
        Channel("y", y, runtime=rt)
        gate = block_only_worker(rt)
        sx, sy = Channel("x", runtime=rt), Channel("y", runtime=rt)
        sent = [sx.send() for _ in range(3)] + [sy.send() for _ in range(3)]
        assert events.wait_routed(sent[-1].seq)
        gate.open.set()
        assert rt.join(10)
    assert order == ["x", "y", "x", "y", "x", "y"]


@pytest.mark.spec("O4", "R1")
def test_a_worker_runs_at_most_a_batch_of_one_subscription_before_the_next() -> None:
    order: list[str] = []
    x, y = UserInbox("x", order), UserInbox("y", order)
    events = Events()
    settings = {"MAX_CHANNEL_TASK_WORKER_THREADS": 1, "CHANNEL_TASK_BATCH": 2}
    with Runtime(settings, observer=events) as rt:
        Channel("x", x, runtime=rt)
        Channel("y", y, runtime=rt)
        gate = block_only_worker(rt)
        sx, sy = Channel("x", runtime=rt), Channel("y", runtime=rt)
        sent = [sx.send() for _ in range(5)] + [sy.send() for _ in range(3)]
        assert events.wait_routed(sent[-1].seq)
        gate.open.set()
        assert rt.join(10)
    assert order == ["x", "x", "y", "y", "x", "x", "y", "x"]


# --- W1-W4 --------------------------------------------------------------------------------


@pytest.mark.spec("W1")
def test_messages_sent_inside_the_window_are_delivered() -> None:
    inbox = UserInbox()
    with Runtime({"MAX_CHANNEL_MESSAGE_BROKER_THREADS": 2}) as rt:
        ch = Channel("w", runtime=rt)
        sender = Channel("w", runtime=rt)
        for round_ in range(20):
            ch.subscribe(inbox)
            m = sender.send({"round": round_})  # began after subscribe() returned
            ch.unsubscribe()  # ... and ended before unsubscribe() began
            assert rt.join(10)
            # delivered, or (W3) dropped as unsubscribed: the handler may not have started
            assert m.seq in inbox.seqs() or m.is_dropped()
        ch.subscribe(inbox)
        kept = [sender.send({"i": i}) for i in range(20)]
        assert rt.join(10)
    assert inbox.seqs()[-20:] == [m.seq for m in kept]


@pytest.mark.spec("W2", "W4")
def test_message_sent_before_subscribe_is_not_delivered_even_if_routed_later() -> None:
    late = UserInbox()
    rt = Runtime()  # not started: routing happens long after the send
    try:
        m = Channel("w", runtime=rt).send({"early": True})
        Channel("w", late, runtime=rt)  # subscribe() begins after send() returned
        rt.start()
        assert rt.join(10)
        m2 = Channel("w", runtime=rt).send()
        assert rt.join(10)
    finally:
        rt.shutdown()
    assert late.seqs() == [m2.seq]
    assert m.seq not in late.seqs()


@pytest.mark.spec("W2")
def test_message_sent_after_unsubscribe_is_not_delivered() -> None:
    inbox, events = UserInbox(), Events()
    rt = Runtime(observer=events)
    try:
        ch = Channel("w", inbox, runtime=rt)
        ch.unsubscribe()
        m = Channel("w", runtime=rt).send()
        rt.start()
        assert rt.join(10)
    finally:
        rt.shutdown()
    assert inbox.seqs() == []
    assert events.drops() == []  # not a receiver at all, so nothing to report
    assert not m.is_dropped()


@pytest.mark.spec("W4", "W3", "D2")
def test_receivers_are_fixed_at_send_not_at_routing() -> None:
    a, b, events = UserInbox(), UserInbox(), Events()
    rt = Runtime(observer=events)
    try:
        ca = Channel("w", a, runtime=rt)
        m = Channel("w", runtime=rt).send()  # receivers: exactly {ca}
        ca.unsubscribe()
        cb = Channel("w", b, runtime=rt)  # matching now, at routing time
        rt.start()
        assert rt.join(10)
    finally:
        rt.shutdown()
    assert b.seqs() == []
    assert cb.handler is not None
    # ca unsubscribed before its handler started: delivered or reported, exactly once
    drops = [(d[1].seq, d[2], d[3]) for d in events.drops()]
    assert (a.seqs() == [m.seq]) != (drops == [(m.seq, ca, "unsubscribed")])
    assert len(drops) <= 1


@pytest.mark.spec("W3", "D2", "A2")
def test_unsubscribe_drops_queued_deliveries_and_reports_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="refimpl.channels")
    old, new, events = UserInbox(), UserInbox(), Events()
    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 1}, observer=events) as rt:
        x = Channel("x", old, runtime=rt)
        gate = block_only_worker(rt)
        sent = [Channel("x", runtime=rt).send({"i": i}) for i in range(3)]
        assert events.wait_routed(sent[-1].seq)  # in x's mailbox, not started
        x.unsubscribe()
        x.subscribe(new)  # a new subscription: the old deliveries are not its business
        gate.open.set()
        assert rt.join(10)
    assert old.seqs() == [] and new.seqs() == []
    drops = [(d[1].seq, d[2], d[3]) for d in events.drops()]
    assert drops == [(m.seq, x, "unsubscribed") for m in sent]
    assert all(m.is_dropped() for m in sent)
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert sum("dropped" in t and "unsubscribed" in t for t in logged) == 3


class UnsubscribeAfterCheck(TaskWorker):
    """Lets an unsubscribe take effect after get_task()'s checks, before the handler starts."""

    def get_task(self):
        task = super().get_task()
        if task.channel.topic == "victim" and task.message.topic not in INTERNAL:
            task.channel.unsubscribe()
        return task


@pytest.mark.spec("W3", "D2", "R4")
def test_unsubscribe_just_before_the_handler_starts_is_reported() -> None:
    victim, events = UserInbox(), Events()
    with Runtime({"CHANNEL_TASK_WORKER_CLASS": UnsubscribeAfterCheck}, observer=events) as rt:
        ch = Channel("victim", victim, runtime=rt)
        m = Channel("victim", runtime=rt).send()
        assert rt.join(10)
    assert victim.seqs() == []
    drops = [(d[1].seq, d[2], d[3]) for d in events.drops()]
    assert drops == [(m.seq, ch, "unsubscribed")]  # not a silent loss
    assert m.is_dropped()


# --- D1 / D2 ------------------------------------------------------------------------------


@pytest.mark.spec("D1", "D2")
def test_every_required_delivery_is_handled_or_reported_exactly_once() -> None:
    events = Events()
    inboxes = {t: UserInbox() for t in ("d.*", "*", "d.?", "d.x")}
    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 1}, observer=events) as rt:
        chans = {t: Channel(t, i, runtime=rt) for t, i in inboxes.items()}
        gate = block_only_worker(rt)
        sender = Channel("d.x", runtime=rt)
        sent = [sender.send({"i": i}, droppable=(i % 4 == 3)) for i in range(12)]
        assert events.wait_routed(sent[-1].seq)
        chans["d.?"].unsubscribe()  # its pending deliveries: dropped as unsubscribed
        shutting = threading.Thread(target=rt.shutdown)
        shutting.start()
        with events.cond:
            assert events.cond.wait_for(
                lambda: any(e[0] == "shutdown_begin" for e in events.items), 10
            )
        gate.open.set()
        shutting.join(10)
        assert not shutting.is_alive()
    drops = events.drops()
    for topic, ch in chans.items():
        handled = [s for s in inboxes[topic].seqs() if s in {m.seq for m in sent}]
        dropped = [d[1].seq for d in drops if d[2] is ch]
        assert len(handled) == len(set(handled))
        assert sorted(handled + dropped) == [m.seq for m in sent], topic
        for d in drops:
            if d[2] is ch:
                if topic != "d.?":
                    assert d[3] == "shutdown"
                elif d[1].droppable:  # both reasons apply to it
                    assert d[3] in ("unsubscribed", "shutdown")
                else:
                    assert d[3] == "unsubscribed"
    # every dropped copy says so, and so does its sender's message
    assert all(d[1].is_dropped() for d in drops)
    assert all(m.is_dropped() for m in sent if m.droppable)
