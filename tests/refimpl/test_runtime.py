"""Runtime, settings and threads (R1-R6); the networked-broker seam (L2)."""

from __future__ import annotations

import logging
import math
import queue
import random
import threading
import time
import types
from datetime import timedelta

import pytest

from refimpl import (
    Channel,
    Message,
    MessageBroker,
    Runtime,
    Settings,
    ShutdownError,
    State,
    TaskWorker,
    default_runtime,
    set_default_runtime,
)
from tests.refimpl.helpers import INTERNAL, Inbox

# --- R1 -----------------------------------------------------------------------------------


@pytest.mark.spec("R1")
def test_default_settings() -> None:
    s = Settings()
    assert s.MAX_CHANNEL_MESSAGE_BROKER_THREADS == 1
    assert s.MAX_CHANNEL_TASK_WORKER_THREADS == 4
    assert s.CHANNEL_WORKER_TIMEOUT == 1.0
    assert Runtime().settings == s
    with Runtime() as rt:
        assert len(rt.pool.threads) == 5
        assert isinstance(rt.workers[0], MessageBroker)
        assert all(isinstance(w, TaskWorker) for w in rt.workers[1:])


@pytest.mark.spec("R1")
@pytest.mark.parametrize(
    "form",
    ["Settings", "mapping", "object", "partial-object"],
)
def test_settings_forms(form: str) -> None:
    values = {
        "MAX_CHANNEL_MESSAGE_BROKER_THREADS": 2,
        "MAX_CHANNEL_TASK_WORKER_THREADS": 3,
        "CHANNEL_MESSAGE_BROKER_CLASS": "refimpl.worker.MessageBroker",
        "CHANNEL_TASK_WORKER_CLASS": TaskWorker,
        "CHANNEL_WORKER_TIMEOUT": 0.5,
    }
    if form == "Settings":
        given: object = Settings(**values)
    elif form == "mapping":
        given = dict(values)
    elif form == "object":
        given = types.SimpleNamespace(**values, UNRELATED_SETTING=1)  # like a settings module
    else:
        given = types.SimpleNamespace(MAX_CHANNEL_TASK_WORKER_THREADS=2)
    rt = Runtime(given)
    with rt:
        if form == "partial-object":
            assert rt.settings == Settings(MAX_CHANNEL_TASK_WORKER_THREADS=2)
            assert len(rt.pool.threads) == 3
        else:
            assert rt.settings.MAX_CHANNEL_TASK_WORKER_THREADS == 3
            assert rt.settings.CHANNEL_WORKER_TIMEOUT == 0.5
            assert len(rt.pool.threads) == 5
            assert [type(w) for w in rt.workers] == [MessageBroker] * 2 + [TaskWorker] * 3


BAD_SETTINGS = [
    ({"MAX_CHANNEL_MESSAGE_BROKER_THREADS": 0}, ValueError),
    ({"MAX_CHANNEL_MESSAGE_BROKER_THREADS": -1}, ValueError),
    ({"MAX_CHANNEL_MESSAGE_BROKER_THREADS": 1.5}, ValueError),
    ({"MAX_CHANNEL_MESSAGE_BROKER_THREADS": "2"}, ValueError),
    ({"MAX_CHANNEL_MESSAGE_BROKER_THREADS": True}, ValueError),
    ({"MAX_CHANNEL_TASK_WORKER_THREADS": 0}, ValueError),
    ({"MAX_CHANNEL_TASK_WORKER_THREADS": None}, ValueError),
    ({"CHANNEL_WORKER_TIMEOUT": 0}, ValueError),
    ({"CHANNEL_WORKER_TIMEOUT": -1.0}, ValueError),
    ({"CHANNEL_WORKER_TIMEOUT": "1"}, ValueError),
    ({"CHANNEL_WORKER_TIMEOUT": True}, ValueError),
    ({"CHANNEL_WORKER_TIMEOUT": math.nan}, ValueError),
    ({"CHANNEL_MESSAGE_BROKER_CLASS": 5}, TypeError),
    ({"CHANNEL_TASK_WORKER_CLASS": None}, TypeError),
    ({"CHANNEL_MESSAGE_BROKER_CLASS": "nodots"}, ValueError),
    ({"CHANNEL_MESSAGE_BROKER_CLASS": "no_such_module_xyz.Broker"}, ValueError),
    ({"CHANNEL_MESSAGE_BROKER_CLASS": "refimpl.NoSuchBroker"}, ValueError),
    ({"CHANNEL_TASK_WORKER_CLASS": "refimpl.match"}, ValueError),
    ({"CHANNEL_TASK_WORKER_CLASS": "collections.OrderedDict"}, TypeError),
    ({"CHANNEL_MESSAGE_BROKER_CLASS": dict}, TypeError),
    ({"UNKNOWN_SETTING": 1}, TypeError),
]


@pytest.mark.spec("R1")
@pytest.mark.parametrize(("values", "exc"), BAD_SETTINGS, ids=[repr(v) for v, _ in BAD_SETTINGS])
def test_bad_settings_fail_at_runtime_construction(values: dict, exc: type) -> None:
    before = set(threading.enumerate())
    with pytest.raises(exc):
        Runtime(values)
    assert set(threading.enumerate()) <= before


# --- R2 -----------------------------------------------------------------------------------


@pytest.mark.spec("R2")
@pytest.mark.parametrize(("brokers", "workers"), [(1, 1), (2, 3), (3, 4)])
def test_started_runtime_uses_exactly_b_plus_w_named_daemon_threads(
    brokers: int, workers: int
) -> None:
    settings = {
        "MAX_CHANNEL_MESSAGE_BROKER_THREADS": brokers,
        "MAX_CHANNEL_TASK_WORKER_THREADS": workers,
    }
    inbox = Inbox()
    before = set(threading.enumerate())
    rt = Runtime(settings)
    Channel("x", inbox, runtime=rt)
    sender = Channel("x", runtime=rt)
    for _ in range(50):
        sender.send()  # not started yet: send() starts no thread
    assert set(threading.enumerate()) <= before  # no new thread
    with rt:
        started = set(threading.enumerate()) - before
        assert started == set(rt.pool.threads)
        names = sorted(t.name for t in rt.pool.threads)
        assert names == sorted(f"channel_worker-{i}" for i in range(brokers + workers))
        assert all(t.daemon for t in rt.pool.threads)
        for _ in range(50):
            sender.send()
        assert rt.join(10)
        assert set(threading.enumerate()) - before == started  # sends started none
        assert inbox.threads <= {t.name for t in rt.pool.threads}
    assert len(inbox.user()) == 100
    assert not any(t.is_alive() for t in rt.pool.threads)


# --- R3 -----------------------------------------------------------------------------------


@pytest.mark.spec("R3", "A1", "A4")
def test_default_runtime() -> None:
    previous = set_default_runtime(None)
    created: list[Runtime] = []
    try:
        inbox = Inbox()
        ch = Channel("r3.topic", inbox)  # no runtime=: the default one, created now
        rt = ch.runtime
        created.append(rt)
        assert rt is default_runtime()
        assert rt.state is State.RUNNING
        assert Channel.get_channels("r3.topic") == [ch]
        m = Channel("r3.*").send({"via": "default"})
        assert rt.join(10)
        assert [g.seq for g in inbox.user()] == [m.seq]
        # an explicit runtime is independent of the default
        with Runtime() as own:
            mine = Channel("r3.topic", Inbox(), runtime=own)
            assert mine.runtime is own
            assert Channel.get_channels("r3.topic") == [ch]
            assert own.get_channels("r3.topic") == [mine]
            Channel("r3.topic", runtime=own).send()
            assert own.join(10)
        assert len(inbox.user()) == 1
        # replacing the default
        replacement = Runtime().start()
        created.append(replacement)
        assert set_default_runtime(replacement) is rt
        assert Channel("z").runtime is replacement
        assert Channel.get_channels("r3.topic") == []
        with pytest.raises(TypeError):
            set_default_runtime("not a runtime")  # type: ignore[arg-type]
        # a stopped default is replaced by a fresh one on next use
        replacement.shutdown()
        fresh = default_runtime()
        created.append(fresh)
        assert fresh is not replacement and fresh.state is State.RUNNING
    finally:
        set_default_runtime(None)
        for made in created:
            made.shutdown()
        if previous is not None:
            set_default_runtime(previous)


# --- R4 -----------------------------------------------------------------------------------


class ShufflingBroker(MessageBroker):
    """A custom run(): slow and jittery, schedules channels in reverse order."""

    def run(self) -> None:
        message = self.get_message()
        time.sleep(random.random() * 0.0005)
        for channel in reversed(self.get_channels(message)):
            self.schedule_task(channel, message)


class ManualTaskWorker(TaskWorker):
    """A custom run() that calls the handler itself."""

    def run(self) -> None:
        task = self.get_task()
        if task.handler is not None:
            if task.message.seq % 5 == 0:
                time.sleep(0.0003)
            task.handler(task.message)


@pytest.mark.spec("R4", "O2", "O3")
def test_custom_run_methods_keep_order_and_serialisation() -> None:
    active: dict[str, int] = {}
    overlaps: list[str] = []
    lock = threading.Lock()
    inboxes = {t: Inbox() for t in ("a.*", "*", "a.b", "?.b")}

    def wrap(topic: str):
        def handler(message: Message) -> None:
            with lock:
                active[topic] = active.get(topic, 0) + 1
                if active[topic] > 1:
                    overlaps.append(topic)
            inboxes[topic](message)
            with lock:
                active[topic] -= 1

        return handler

    settings = {
        "MAX_CHANNEL_MESSAGE_BROKER_THREADS": 3,
        "MAX_CHANNEL_TASK_WORKER_THREADS": 4,
        "CHANNEL_MESSAGE_BROKER_CLASS": ShufflingBroker,
        "CHANNEL_TASK_WORKER_CLASS": ManualTaskWorker,
    }
    with Runtime(settings) as rt:
        for topic in inboxes:
            Channel(topic, wrap(topic), runtime=rt)
        senders = [Channel(t, runtime=rt) for t in ("a.b", "c.b", "a.c")]
        sent = [senders[i % 3].send({"i": i}) for i in range(300)]
        assert rt.join(10)
    assert overlaps == []
    from refimpl import match

    for topic, inbox in inboxes.items():
        assert inbox.seqs() == [m.seq for m in sent if match(topic, m.topic)], topic


@pytest.mark.spec("R4")
def test_get_message_and_get_task_time_out_with_queue_empty() -> None:
    timings: dict[str, list[float]] = {"broker": [], "worker": []}
    seen = {"broker": threading.Event(), "worker": threading.Event()}

    def timed(kind: str, base: type) -> type:
        class Timed(base):  # type: ignore[misc, valid-type]
            def run(self) -> None:
                t0 = time.monotonic()
                try:
                    super().run()
                except queue.Empty:
                    timings[kind].append(time.monotonic() - t0)
                    if len(timings[kind]) >= 2:  # called repeatedly
                        seen[kind].set()
                    raise

        return Timed

    settings = {
        "CHANNEL_MESSAGE_BROKER_CLASS": timed("broker", MessageBroker),
        "CHANNEL_TASK_WORKER_CLASS": timed("worker", TaskWorker),
        "MAX_CHANNEL_TASK_WORKER_THREADS": 1,
        "CHANNEL_WORKER_TIMEOUT": 0.05,
    }
    with Runtime(settings):
        assert seen["broker"].wait(10)
        assert seen["worker"].wait(10)
    for kind in ("broker", "worker"):
        first_two = timings[kind][:2]
        assert all(0.03 <= t < 1.0 for t in first_two), (kind, first_two)


@pytest.mark.spec("R4", "E3")
def test_get_message_raises_empty_for_a_dropped_message() -> None:
    raised: list[object] = []

    class Recording(MessageBroker):
        def run(self) -> None:
            try:
                super().run()
            except queue.Empty as exc:
                raised.append(exc)
                raise

    inbox = Inbox()
    # a timeout far longer than the test: every Empty raised here comes from the drop
    settings = {"CHANNEL_MESSAGE_BROKER_CLASS": Recording, "CHANNEL_WORKER_TIMEOUT": 600}
    with Runtime(settings) as rt:
        Channel("x", inbox, runtime=rt)
        m = Channel("x", runtime=rt).send(expiry=-timedelta(hours=1))
        kept = Channel("x", runtime=rt).send()
        assert rt.join(10)
    assert len(raised) == 1
    assert m.is_dropped() and inbox.seqs() == [kept.seq]


@pytest.mark.spec("R4", "V2")
def test_exception_from_run_is_logged_and_the_thread_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="refimpl.channels")

    class Fragile(MessageBroker):
        def run(self) -> None:
            message = self.get_message()
            if message.data.get("poison"):
                raise RuntimeError("custom broker bug")
            for channel in self.get_channels(message):
                self.schedule_task(channel, message)

    inbox = Inbox()
    with Runtime({"CHANNEL_MESSAGE_BROKER_CLASS": Fragile}) as rt:
        Channel("x", inbox, runtime=rt)
        sender = Channel("x", runtime=rt)
        sender.send({"poison": True})
        after = [sender.send({"i": i}) for i in range(5)]
        assert rt.join(10)  # the failed message was still committed: nothing hangs
        assert all(t.is_alive() for t in rt.pool.threads)
    assert inbox.seqs() == [m.seq for m in after]
    logged = [r for r in caplog.records if "run() raised" in r.getMessage()]
    assert len(logged) == 1 and isinstance(logged[0].exc_info[1], RuntimeError)


# --- L2 -----------------------------------------------------------------------------------


@pytest.mark.spec("L2", "L1", "I1", "I2", "R4")
def test_networked_broker_does_not_forward_local_messages() -> None:
    forwarded: list[Message] = []
    lock = threading.Lock()

    class NetworkedBroker(MessageBroker):
        """Routes locally and forwards non-local messages to 'other processes'."""

        def run(self) -> None:
            message = self.get_message()
            if not message.local:
                with lock:
                    forwarded.append(message)
            for channel in self.get_channels(message):
                self.schedule_task(channel, message)

    inbox = Inbox()
    with Runtime({"CHANNEL_MESSAGE_BROKER_CLASS": NetworkedBroker}) as rt:
        assert isinstance(rt.workers[0], NetworkedBroker)
        star = Channel("*", inbox, runtime=rt)  # publishes a (local) subscribe notice
        sender = Channel("net.x", runtime=rt)
        remote = [sender.send({"i": i}) for i in range(3)]
        local = [sender.send({"i": i}, local=True) for i in range(3)]
        temp = Channel("net.tmp", lambda m: None, runtime=rt)
        temp.unsubscribe()  # another subscribe and an unsubscribe notice
        assert rt.join(10)
        star.unsubscribe()
        assert rt.join(10)
    # only the non-local user messages went over the "network"
    assert sorted(m.seq for m in forwarded) == [m.seq for m in remote]
    # ... while every message, local or not, was delivered locally
    got = inbox.messages
    assert [m.seq for m in got if m.topic == "net.x"] == sorted(m.seq for m in remote + local)
    notices = [m for m in got if m.topic in INTERNAL]
    assert len(notices) == 3 and all(m.local for m in notices)


# --- R5 -----------------------------------------------------------------------------------


@pytest.mark.spec("R5")
def test_join_waits_for_routing_and_delivery() -> None:
    finished: list[int] = []

    def slow(message: Message) -> None:
        time.sleep(0.002)
        finished.append(message.seq)

    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 2}) as rt:
        Channel("j", slow, runtime=rt)
        sent = [Channel("j", runtime=rt).send() for _ in range(20)]
        assert rt.join() is True
        assert finished == [m.seq for m in sent]  # every delivery had finished


@pytest.mark.spec("R5")
def test_join_timeout_and_join_from_a_handler() -> None:
    entered, gate = threading.Event(), threading.Event()
    caught: list[BaseException] = []

    def block(message: Message) -> None:
        try:
            rt.join()
        except BaseException as exc:
            caught.append(exc)
        entered.set()
        assert gate.wait(10)

    with Runtime() as rt:
        Channel("j", block, runtime=rt)
        Channel("j", runtime=rt).send()
        assert entered.wait(10)
        t0 = time.monotonic()
        assert rt.join(timeout=0.1) is False
        assert 0.05 <= time.monotonic() - t0 < 5
        gate.set()
        assert rt.join(timeout=10) is True
    assert len(caught) == 1 and type(caught[0]) is RuntimeError


# --- R6 -----------------------------------------------------------------------------------


@pytest.mark.spec("R6", "S1")
def test_context_manager_and_restart() -> None:
    inbox = Inbox()
    rt = Runtime()
    assert rt.state is State.NEW and rt.pool.threads == []
    with rt as entered:
        assert entered is rt
        assert rt.state is State.RUNNING
        threads = list(rt.pool.threads)
        assert len(threads) == 5 and all(t.is_alive() for t in threads)
        assert rt.start() is rt  # idempotent
        assert rt.pool.threads == threads
        Channel("x", inbox, runtime=rt)
        sent = [Channel("x", runtime=rt).send() for _ in range(10)]
    assert rt.state is State.STOPPED  # left the block: graceful shutdown
    assert [m.seq for m in inbox.user()] == [m.seq for m in sent]
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(ShutdownError):
        rt.start()
    with pytest.raises(ShutdownError), rt:
        pass
    assert rt.pool.threads == threads
