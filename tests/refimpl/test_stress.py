"""A real-thread stress run: several brokers and task workers, overlapping wildcard
subscribers, concurrent senders, subscribe/unsubscribe racing with the sends, a blocked
handler, and a graceful shutdown. Checked per subscription afterwards: order (O2),
serialisation (O3), progress around a blocked handler (O4), the window (W1, W2),
exactly-once and drop accounting (D1, D2), and the senders' program order (O1)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import pytest

from refimpl import Channel, Message, Runtime
from tests.refimpl.helpers import INTERNAL, preempt_often


@pytest.fixture(autouse=True)
def _preempt_often():
    """Every test here runs under :func:`preempt_often`, to make real-thread races happen."""
    with preempt_often():
        yield


SENT_TOPICS = [
    "chat.rooms.lona",
    "chat.rooms.lona-releases",
    "chat.rooms.x",
    "news.sport",
    "news.tech",
    "chat.*",
    "news.?port",
    "misc",
]
STABLE = [
    "*",
    "chat.*",
    "chat.rooms.*",
    "chat.rooms.lona*",
    "chat.rooms.lona",
    "news.*",
    "news.sport",
    "*.sport",
    "chat.rooms.[lx]*",
    "n*",
    "?hat.*",
    "news.[!s]*",
]
CHURN = ["chat.rooms.*", "news.*", "*", "chat.rooms.x"]
LATE = ["chat.*", "news.?port"]
SENDERS, PER_SENDER, CHURN_OPS = 3, 250, 60


def spec_match(a: str, b: str) -> bool:
    """Spec T4, written out."""
    return a == b or fnmatchcase(a, b) or fnmatchcase(b, a)


def now() -> int:
    return time.perf_counter_ns()


@dataclass
class Sent:
    seq: int
    sender: int
    index: int
    topic: str
    begin: int
    end: int


@dataclass
class Sub:
    """One subscription (one subscribe() of one channel) and what its handler saw."""

    kind: str
    channel: Channel
    sub_begin: int = 0
    sub_end: int = 0
    unsub_begin: int | None = None
    unsub_end: int | None = None
    received: list[Message] = field(default_factory=list)
    active: int = 0
    overlaps: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Harness:
    def __init__(self) -> None:
        self.subs: list[Sub] = []
        self.drops: dict[int, set[int]] = {}  # id(channel) -> seqs reported dropped
        self.drop_reasons: set[str] = set()
        self.sent: list[Sent] = []
        self.lock = threading.Lock()
        self.sent_cond = threading.Condition()
        self.progress = threading.Condition()
        self.notices_expected = 0  # subscribe/unsubscribe calls after the stable '*'
        self.count_notices = False
        self.senders_left = SENDERS
        self.senders_done = False
        self.star: Sub | None = None

    def observe(self, kind, message, channel, detail) -> None:
        """The runtime's observer (called on runtime threads, maybe under its lock)."""
        if kind == "drop":
            with self.lock:
                self.drop_reasons.add(detail)
                if channel is not None:
                    self.drops.setdefault(id(channel), set()).add(message.seq)

    def handler_for(self, sub: Sub):
        def handler(message: Message) -> None:
            with sub.lock:
                sub.active += 1
                if sub.active > 1:
                    sub.overlaps += 1
                sub.received.append(message)
                n = len(sub.received)
            if n % 7 == 0:
                time.sleep(0.0005)  # a slow handler now and then
            with sub.lock:
                sub.active -= 1
            with self.progress:
                self.progress.notify_all()

        return handler

    def subscribe(self, kind: str, channel: Channel) -> Sub:
        sub = Sub(kind, channel)
        handler = self.handler_for(sub)
        sub.sub_begin = now()
        channel.subscribe(handler)
        sub.sub_end = now()
        with self.lock:
            self.subs.append(sub)
            if self.count_notices:
                self.notices_expected += 1
        return sub

    def unsubscribe(self, sub: Sub) -> None:
        sub.unsub_begin = now()
        sub.channel.unsubscribe()
        sub.unsub_end = now()
        with self.lock:
            if self.count_notices:
                self.notices_expected += 1

    def send(self, channel: Channel, sender: int, index: int, data: dict) -> None:
        begin = now()
        m = channel.send(data)
        end = now()
        with self.sent_cond:
            self.sent.append(Sent(m.seq, sender, index, channel.topic, begin, end))
            self.sent_cond.notify_all()

    def wait_caught_up(self, lag: int) -> None:
        """Flow control: let deliveries catch up with the sends (the stable '*' sees all)."""
        with self.progress:
            assert self.progress.wait_for(
                lambda: len(self.star.received) + lag >= len(self.sent), 10
            )

    def wait_sent(self, n: int) -> None:
        """Pace another thread by the senders' progress."""
        with self.sent_cond:
            assert self.sent_cond.wait_for(lambda: len(self.sent) >= n, 10)


@pytest.mark.spec("O1", "O2", "O3", "O4", "W1", "W2", "W3", "D1", "D2", "S1", "S2", "I1", "I2")
@pytest.mark.parametrize(("brokers", "workers"), [(1, 1), (1, 4), (2, 2), (3, 1), (3, 4)])
def test_stress(brokers: int, workers: int) -> None:
    settings = {
        "MAX_CHANNEL_MESSAGE_BROKER_THREADS": brokers,
        "MAX_CHANNEL_TASK_WORKER_THREADS": workers,
    }
    rng = random.Random(brokers * 10 + workers)
    release, blocked = threading.Event(), threading.Event()
    third_sent, late_done = threading.Event(), threading.Event()
    h = Harness()
    rt = Runtime(settings, observer=h.observe)
    o4_ok: bool | None = None
    with rt:
        try:
            # O4: with two or more workers, one handler blocks for most of the run
            if workers >= 2:

                def block(message: Message) -> None:
                    blocked.set()
                    release.wait(30)

                Channel("blocker", block, runtime=rt)
            h.count_notices = True  # from the stable '*' on, every notice must reach it
            stable = [h.subscribe("stable", Channel(t, runtime=rt)) for t in STABLE]
            h.star = stable[0]
            if workers >= 2:
                h.send(Channel("blocker", runtime=rt), -1, 0, {})
                assert blocked.wait(10)
            go = threading.Barrier(SENDERS + 2)

            def sender(k: int) -> None:
                local_rng = random.Random(k)
                chans = {t: Channel(t, runtime=rt) for t in SENT_TOPICS}
                go.wait(10)
                for i in range(PER_SENDER):
                    if i % 20 == 0:
                        h.wait_caught_up(60)
                    h.send(chans[local_rng.choice(SENT_TOPICS)], k, i, {"k": k, "i": i})
                    if k == 0 and i == PER_SENDER // 3:
                        # the others go on sending while the late channels subscribe
                        third_sent.set()
                        assert late_done.wait(10)
                with h.progress:
                    h.senders_left -= 1
                    h.senders_done = h.senders_left == 0
                    h.progress.notify_all()

            def churner() -> None:
                chans = [Channel(t, runtime=rt) for t in CHURN]
                current: dict[int, Sub] = {}
                go.wait(10)
                for op in range(CHURN_OPS):
                    h.wait_sent(op * SENDERS * PER_SENDER // CHURN_OPS)  # spread over the run
                    j = rng.randrange(len(chans))
                    if j in current:
                        sub = current.pop(j)
                        # pacing, not a correctness sync: let some deliveries happen first
                        with h.progress:
                            h.progress.wait_for(
                                lambda s=sub: len(s.received) >= 2 or h.senders_done, 0.5
                            )
                        h.unsubscribe(sub)
                    else:
                        current[j] = h.subscribe("churn", chans[j])

            def late() -> None:
                go.wait(10)
                assert third_sent.wait(10)
                for t in LATE:
                    h.subscribe("late", Channel(t, runtime=rt))
                late_done.set()

            threads = [threading.Thread(target=sender, args=(k,)) for k in range(SENDERS)]
            threads += [threading.Thread(target=churner), threading.Thread(target=late)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
                assert not t.is_alive()

            if workers >= 2:
                # every stable subscriber gets everything while 'blocker' still blocks
                sent_now = list(h.sent)
                expected = sum(
                    1 for s in stable for m in sent_now if spec_match(s.channel.topic, m.topic)
                )

                def stable_done() -> bool:
                    got = 0
                    for s in stable:
                        with s.lock:
                            got += sum(1 for m in s.received if m.topic not in INTERNAL)
                    return got >= expected

                with h.progress:
                    o4_ok = h.progress.wait_for(stable_done, 20) and not release.is_set()
                release.set()
        finally:
            release.set()  # never leave the blocker blocked, even on failure
    # the with-block's exit was a graceful shutdown: check it drained and stopped
    assert not any(t.is_alive() for t in rt.pool.threads)
    if workers >= 2:
        assert o4_ok, "a blocked handler held up other subscriptions"

    _check(h, stable)


def _check(h: Harness, stable: list[Sub]) -> None:
    by_seq = {m.seq: m for m in h.sent}
    # O1: each sender's messages got increasing seqs
    for k in range(SENDERS):
        mine = sorted((m.index, m.seq) for m in h.sent if m.sender == k)
        assert [s for _, s in mine] == sorted(s for _, s in mine)
        assert len(mine) == PER_SENDER
    received_by_channel: dict[int, list[int]] = {}
    for sub in h.subs:
        assert sub.overlaps == 0, "O3: concurrent invocations of one subscription"
        seqs = [m.seq for m in sub.received]
        assert seqs == sorted(set(seqs)), "O2/D1: out of order or duplicated"
        received_by_channel.setdefault(id(sub.channel), []).extend(seqs)
        user = [by_seq[m.seq] for m in sub.received if m.seq in by_seq]
        for m in user:
            assert spec_match(sub.channel.topic, m.topic)
            # W2: nothing sent wholly before subscribe() began ...
            assert m.end >= sub.sub_begin, "W2: received a message sent before subscribing"
            # ... and nothing sent wholly after unsubscribe() returned
            if sub.unsub_end is not None:
                assert m.begin <= sub.unsub_end, "W2: received a message sent after unsubscribe"
        # per-sender program order within this subscription
        for k in range(SENDERS):
            idx = [m.index for m in user if m.sender == k]
            assert idx == sorted(idx)
        # W1: everything sent wholly inside the window, unless dropped as unsubscribed;
        # a subscription that was never unsubscribed may drop nothing at all
        required = {
            m.seq
            for m in h.sent
            if spec_match(sub.channel.topic, m.topic)
            and m.begin > sub.sub_end
            and (sub.unsub_begin is None or m.end < sub.unsub_begin)
        }
        missing = required - set(seqs)
        if sub.unsub_begin is None:
            assert not missing, f"W1: {sub.kind} {sub.channel.topic!r} missed {len(missing)}"
        else:
            # D2: whatever it missed was reported dropped (and marked on the message)
            dropped = h.drops.get(id(sub.channel), set())
            assert missing <= dropped, f"D2: silent loss of {sorted(missing - dropped)}"
    # D1 / W3: per channel, across its subscriptions, each message at most once
    for key, seqs in received_by_channel.items():
        assert len(seqs) == len(set(seqs))
        assert not set(seqs) & h.drops.get(key, set()), "both received and dropped"
    # nothing here is droppable or expires: an unsubscribe is the only reason to drop
    assert h.drop_reasons <= {"unsubscribed"}
    # I1 / I2: the stable '*' saw every subscribe and unsubscribe notice
    star = stable[0]
    assert star.channel.topic == "*"
    notices = [m for m in star.received if m.topic in INTERNAL]
    assert len(notices) == h.notices_expected
