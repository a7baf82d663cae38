"""A process's own non-local messages after their ``EXEC``: read back, or reported (P6, D2).

The broker adds a batch and then reads it back from the stream: only then does it deliver
the messages to the process's own subscribers (P1). Here the read-back is cut off after
the server ran the ``EXEC`` (``Blind``: every read fails, as against a server gone away),
for longer than ``CHANNEL_REDIS_RETRY_TIMEOUT`` or for less, while the runtime runs
(``join()``) or closes (``shutdown()``). Two runtimes in this test process stand for two
processes. Every case is decided by events, not by timing.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis

from examples.redis_server import RedisServer
from refimpl import Channel, Message
from refimpl.runtime import Runtime, State

BROKER = "refimpl.redis_broker.RedisMessageBroker"
RETRY = 0.4  # CHANNEL_REDIS_RETRY_TIMEOUT of the sender


class Blind:
    """Wraps a broker's ``client.pipeline``: once ``closed`` is set (by the first batch's
    ``EXEC`` when *after_exec*), every read pipeline fails with ``ConnectionError`` until
    ``opened`` is set; ``exec_done`` says the server ran a batch."""

    def __init__(self, broker: Any, *, after_exec: bool = True) -> None:
        self.closed = threading.Event()
        self.opened = threading.Event()
        self.exec_done = threading.Event()
        self.failed_reads = 0
        real = broker.client.pipeline

        def pipeline(transaction: bool = True) -> Any:
            pipe = real(transaction=transaction)
            execute = pipe.execute

            def run() -> Any:
                adds = any(args[0] == "XADD" for args, _ in pipe.command_stack)
                if adds:
                    reply = execute()
                    if after_exec:
                        self.closed.set()
                    self.exec_done.set()
                    return reply
                if self.closed.is_set() and not self.opened.is_set():
                    self.failed_reads += 1
                    pipe.reset()
                    raise redis.ConnectionError("server gone (test)")
                return execute()

            pipe.execute = run
            return pipe

        broker.client.pipeline = pipeline


class Process:
    def __init__(self, server: RedisServer, retry: float = RETRY) -> None:
        self.started: list[str] = []
        self.drops: list[tuple[str, str]] = []
        self.published: list[str] = []
        self.runtime = Runtime(
            {"CHANNEL_MESSAGE_BROKER_CLASS": BROKER, "CHANNEL_REDIS_URL": server.url,
             "CHANNEL_REDIS_STREAM": "readback", "CHANNEL_REDIS_RETRY_TIMEOUT": retry,
             "MAX_CHANNEL_TASK_WORKER_THREADS": 1},
            observer=self.observer,
        ).start()
        Channel("t", runtime=self.runtime).subscribe(self.handler)
        self.broker: Any = self.runtime.workers[0]

    def handler(self, message: Message) -> None:
        if message.data.get("id") is not None:
            self.started.append(message.data["id"])

    def observer(self, kind: str, message: Any, channel: Any, detail: str) -> None:
        if kind == "publish":
            self.published.append(message.data["id"])
        elif kind == "drop" and message is not None:
            self.drops.append((message.data.get("id"), detail))

    def send(self, *ids: str) -> None:
        for ident in ids:
            Channel("t", runtime=self.runtime).send({"id": ident})


def _settle(process: Process, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(process.started) < count and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.spec("P6", "R5", "D2", "P8")
def test_join_returns_only_once_a_message_not_read_back_is_reported(server: RedisServer) -> None:
    """The server is gone after the ``EXEC`` for longer than the retry timeout: join()
    returns with the message reported dropped here (``error``), never with it in limbo;
    the other process, which can read, delivers it; read later here, it is not delivered
    (one outcome per pair)."""
    sender, other = Process(server), Process(server)
    try:
        blind = Blind(sender.broker)
        sender.send("a")
        assert sender.runtime.join(30)
        assert sender.published == ["a"] and blind.failed_reads > 0
        assert sender.started == [] and sender.drops == [("a", "error")]
        _settle(other, 1)
        assert other.started == ["a"]
        blind.opened.set()  # readable again: "a" is read now, and skipped here
        sender.send("b")
        _settle(sender, 1)
        assert sender.runtime.join(30)
        assert sender.started == ["b"] and sender.drops == [("a", "error")]
    finally:
        for p in (sender, other):
            p.runtime.shutdown()


@pytest.mark.spec("P6", "S1", "S2", "D2")
def test_shutdown_reports_a_message_it_cannot_read_back(server: RedisServer) -> None:
    """The same while closing: shutdown() returns with the message reported dropped."""
    sender = Process(server)
    Blind(sender.broker)
    sender.send("a", "b")
    sender.runtime.shutdown()
    assert sorted(sender.published) == ["a", "b"] and sender.started == []
    assert sorted(sender.drops) == [("a", "error"), ("b", "error")]


@pytest.mark.spec("P6", "S1", "S2")
def test_shutdown_keeps_reading_back_through_a_short_outage(server: RedisServer) -> None:
    """The server is gone after the ``EXEC`` for less than the retry timeout, and
    shutdown() is called meanwhile: it returns only once its own subscriber got them."""
    sender = Process(server, retry=30.0)
    blind = Blind(sender.broker)
    sender.send("a", "b")
    assert blind.exec_done.wait(30)
    closer = threading.Thread(target=sender.runtime.shutdown)
    closer.start()
    deadline = time.monotonic() + 10
    while sender.runtime.state is not State.CLOSING and time.monotonic() < deadline:
        time.sleep(0.005)
    while blind.failed_reads < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert closer.is_alive() and sender.started == []  # waiting for the read-back
    blind.opened.set()
    closer.join(30)
    assert not closer.is_alive()
    assert sender.started == ["a", "b"] and sender.drops == []


@pytest.mark.spec("P6", "P2")
def test_a_closing_process_delivers_up_to_its_own_last_entry_not_beyond(
    server: RedisServer,
) -> None:
    """While closing, the read-back's ``XREAD`` also returns another process's entries
    after this process's last one: they are not delivered here (P6), and its own are.
    An entry of the other process before its own last one is delivered."""
    sender, other = Process(server, retry=30.0), Process(server)
    try:
        other.send("before")  # first in the stream
        _settle(other, 1)
        blind = Blind(sender.broker)
        sender.send("own")
        assert blind.exec_done.wait(30)
        other.send("after")  # in the stream after "own"
        _settle(other, 3)
        assert other.started == ["before", "own", "after"]
        closer = threading.Thread(target=sender.runtime.shutdown)
        closer.start()
        deadline = time.monotonic() + 10
        while sender.runtime.state is not State.CLOSING and time.monotonic() < deadline:
            time.sleep(0.005)
        blind.opened.set()
        closer.join(30)
        assert not closer.is_alive()
        assert sender.started == ["before", "own"] and sender.drops == []
    finally:
        sender.runtime.shutdown()
        other.runtime.shutdown()
