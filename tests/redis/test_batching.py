"""The Redis broker's batches on a real server: order within and across a batch, lost replies.

A burst of sends is added to the stream in batches (one ``MULTI``/``XADD``.../``EXEC`` per
batch). Two runtimes in this test process stand for two processes. The broker's first batch
is held at the server's door (``Door``) while the rest of the burst is sent, so the second
batch is the rest of the burst, every time; the second is held too while ``join()`` must
wait for it. ``Door`` can also lose a batch's reply after the server ran it (the ``XADD``
retried after a lost reply of P3, for a whole batch).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis

from examples.redis_server import RedisServer
from refimpl import Channel, Message
from refimpl.runtime import Runtime

BROKER = "refimpl.redis_broker.RedisMessageBroker"
SENDS = 60


class Door:
    """Wraps a broker's ``client.pipeline``: holds the first and the second batch until
    ``open[0]``, ``open[1]`` are set, and loses the reply of the batches numbered in *lose*
    (1 = the first) after the server ran them. Counts each batch's entries."""

    def __init__(self, broker: Any, lose: frozenset[int] = frozenset()) -> None:
        self.open = (threading.Event(), threading.Event())
        self.held = (threading.Event(), threading.Event())  # a batch waits at the door
        self.lose = lose
        self.sizes: list[int] = []  # entries per batch the server ran
        real = broker.client.pipeline

        def pipeline(transaction: bool = True) -> Any:
            pipe = real(transaction=transaction)
            execute = pipe.execute

            def run() -> Any:
                adds = sum(args[0] == "XADD" for args, _ in pipe.command_stack)
                if not adds:
                    return execute()
                if len(self.sizes) < 2:
                    self.held[len(self.sizes)].set()
                    assert self.open[len(self.sizes)].wait(30)
                reply = execute()
                self.sizes.append(adds)
                if len(self.sizes) in self.lose:
                    raise redis.ConnectionError("reply lost")  # done on the server, reply lost
                return reply

            pipe.execute = run
            return pipe

        broker.client.pipeline = pipeline


class Process:
    """A runtime standing for one process: its subscriber's starts and its publishes."""

    def __init__(self, server: RedisServer, broker: str = BROKER) -> None:
        self.started: list[str] = []
        self.published: dict[str, str] = {}
        self.dropped: list[str] = []
        self.runtime = Runtime(
            {"CHANNEL_MESSAGE_BROKER_CLASS": broker, "CHANNEL_REDIS_URL": server.url,
             "CHANNEL_REDIS_STREAM": "batch", "MAX_CHANNEL_TASK_WORKER_THREADS": 1},
            observer=self.observer,
        ).start()
        Channel("t", runtime=self.runtime).subscribe(self.handler)
        self.broker: Any = self.runtime.workers[0]

    def handler(self, message: Message) -> None:
        ident = message.data.get("id")
        if ident is not None:  # not a subscribe notice
            self.started.append(ident)

    def observer(self, kind: str, message: Any, channel: Any, detail: str) -> None:
        if kind == "publish":
            self.published[message.data["id"]] = detail
        elif kind == "drop" and channel is None:  # the message as a whole
            self.dropped.append(message.data.get("id"))


def _burst(server: RedisServer, broker: str = BROKER, lose: int = 0) -> list[str]:
    """Two processes; the sender sends SENDS messages, every third local, the first
    waiting at the door while the others are sent; the batch numbered *lose* loses its
    reply. What went wrong: order, duplicates, an early join() (empty: nothing)."""
    sender, other = Process(server, broker), Process(server)
    try:
        door = Door(sender.broker, lose=frozenset({lose}))
        channel = Channel("t", runtime=sender.runtime)
        ids = [f"m{i}" for i in range(SENDS)]
        for i, ident in enumerate(ids):
            channel.send({"id": ident}, local=i % 3 == 1)
            if i == 0:
                assert door.held[0].wait(30)
        door.open[0].set()
        assert door.held[1].wait(30)  # the rest of the burst, at the door
        early = sender.runtime.join(0.3)  # idle while a batch is not in the stream?
        door.open[1].set()
        assert sender.runtime.join(30)
        remote = [m for i, m in enumerate(ids) if i % 3 != 1]
        # join() returned: the sender's own subscriber started every message (R5)
        problems = [] if sorted(sender.started) == sorted(ids) and not early else [
            f"join() returned early (within 0.3 s: {early}, with {len(sender.started)} of "
            f"{SENDS} started)"]
        _settle(sender, len(ids))
        _settle(other, len(remote))
        entries: Any = redis.Redis.from_url(server.url).xrange("batch")
        if [sid.decode() for sid, _ in entries] != [sender.published.get(m) for m in remote]:
            problems.append(f"{len(entries)} entries for {len(remote)} non-local messages, "
                            "or not the ones their sender named (P1, P3)")
        if door.sizes[:2] != [1, len(remote) - 1]:  # the second batch: the rest of the burst
            problems.append(f"batches of {door.sizes}")
        # P1: non-local messages in stream order in both processes; the sender's locals
        # are started before every non-local message sent after them. P4: none crossed.
        if [m for m in sender.started if m in remote] != remote or other.started != remote:
            problems.append(f"order: {sender.started} here, {other.started} there")
        for i in range(1, SENDS, 3):
            later = [m for m in remote if int(m[1:]) > i and m in sender.started]
            if any(sender.started.index(f"m{i}") > sender.started.index(m) for m in later):
                problems.append(f"m{i} (local) started after a later non-local message")
        return problems
    finally:
        for p in (sender, other):
            p.runtime.shutdown()


def _settle(process: Process, count: int) -> None:
    """Wait until *process* started *count* messages (it reads the stream on its own
    poll; at most 10 s), then until it is idle."""
    deadline = time.monotonic() + 10
    while len(process.started) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.runtime.join(30)


@pytest.mark.spec("P1", "P4", "R5")
def test_a_burst_goes_in_batches_each_in_send_order_locals_first(server: RedisServer) -> None:
    assert _burst(server) == []


@pytest.mark.parametrize("lose", [1, 2], ids=["single", "batch"])
@pytest.mark.spec("P1", "P3")
def test_a_batch_whose_reply_is_lost_is_added_once(server: RedisServer, lose: int) -> None:
    assert _burst(server, lose=lose) == []


@pytest.mark.parametrize(("mutant", "lose"), [("BlindRetry", 2), ("CommitBeforeAdding", 0)])
@pytest.mark.spec("P3", "R5")
def test_these_checks_catch_the_batching_mutants(
    server: RedisServer, mutant: str, lose: int
) -> None:
    assert _burst(server, f"sim.net.mutants.{mutant}", lose) != []


@pytest.mark.spec("D2", "P8")
def test_a_batch_the_server_refuses_is_reported_dropped_message_by_message(
    server: RedisServer,
) -> None:
    """A refusal (here ``-OOM``) is not retried; every message of the batch is reported
    dropped, not only the one taken last, and the next batch goes through."""
    sender = Process(server)
    try:
        door = Door(sender.broker)
        real = sender.broker.client.pipeline

        def refusing(transaction: bool = True) -> Any:
            pipe = real(transaction=transaction)
            execute = pipe.execute

            def run() -> Any:
                adds = any(args[0] == "XADD" for args, _ in pipe.command_stack)
                if adds and len(door.sizes) == 1:  # the second batch: refused
                    door.sizes.append(-1)
                    raise redis.ResponseError("OOM command not allowed")
                return execute()

            pipe.execute = run
            return pipe

        sender.broker.client.pipeline = refusing
        door.open[1].set()
        channel = Channel("t", runtime=sender.runtime)
        for i in range(SENDS):
            channel.send({"id": f"m{i}"})
            if i == 0:
                assert door.held[0].wait(30)
        door.open[0].set()
        assert sender.runtime.join(30)
        assert sender.dropped == [f"m{i}" for i in range(1, SENDS)]
        channel.send({"id": "after"})
        _settle(sender, 2)
        assert sender.started == ["m0", "after"]
    finally:
        sender.runtime.shutdown()
