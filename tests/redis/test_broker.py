"""The Redis broker inside one test process: expiry, duplicates, an unreachable server, settings.

Two runtimes in one process stand for two processes here (each has its own broker and
connection); the multi-process workloads are in test_processes.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from examples.redis_server import RedisServer
from refimpl import Channel, Message
from refimpl.runtime import Runtime

BROKER = "refimpl.redis_broker.RedisMessageBroker"


def _settings(server: RedisServer, **more: Any) -> dict[str, Any]:
    return {
        "CHANNEL_MESSAGE_BROKER_CLASS": BROKER,
        "CHANNEL_REDIS_URL": server.url,
        "CHANNEL_REDIS_STREAM": "unit",
        **more,
    }


class Seen:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.drops: list[tuple[str, str]] = []
        self.event = threading.Event()

    def handler(self, message: Message) -> None:
        self.messages.append(message)
        self.event.set()

    def observer(self, kind: str, message: Any, channel: Any, detail: str) -> None:
        if kind == "drop" and message is not None:
            self.drops.append((str(message.data.get("id")), detail))


@pytest.fixture
def runtime(server: RedisServer) -> Iterator[tuple[Runtime, Seen]]:
    seen = Seen()
    rt = Runtime(_settings(server), observer=seen.observer).start()
    yield rt, seen
    rt.shutdown()


def _entry(server: RedisServer, origin: str, seq: int, expiry: str, ident: str) -> None:
    client = redis.Redis.from_url(server.url)
    fields = {"origin": origin, "seq": str(seq), "topic": "t", "expiry": expiry,
              "data": json.dumps({"id": ident}), "droppable": "0"}
    client.xadd("unit", fields)  # type: ignore[arg-type]


@pytest.mark.spec("P5", "E3")
def test_expiry_is_the_senders_deadline_on_the_readers_clock(
    server: RedisServer, runtime: tuple[Runtime, Seen]
) -> None:
    rt, seen = runtime
    Channel("t", runtime=rt).subscribe(seen.handler)
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    future = datetime.now(UTC) + timedelta(hours=1)
    _entry(server, "other", 0, past, "late")  # a sender whose clock ran ahead
    _entry(server, "other", 1, future.isoformat(), "fine")
    assert seen.event.wait(10)
    rt.join()
    assert [m.data["id"] for m in seen.messages] == ["fine"]
    assert seen.messages[0].expiry == future and seen.messages[0].local is False
    assert ("late", "expired") in seen.drops


@pytest.mark.spec("P3")
def test_an_entry_added_twice_is_delivered_once(
    server: RedisServer, runtime: tuple[Runtime, Seen]
) -> None:
    rt, seen = runtime
    Channel("t", runtime=rt).subscribe(seen.handler)
    for seq, ident in [(0, "a"), (0, "a"), (1, "b"), (0, "a"), (1, "b"), (2, "c")]:
        _entry(server, "retrying-sender", seq, "", ident)  # XADDs retried after lost replies
    _entry(server, "another-sender", 0, "", "d")  # its own seqs: not a repeat
    while len(seen.messages) < 4:
        assert seen.event.wait(10)
        seen.event.clear()
    rt.join()
    assert [m.data["id"] for m in seen.messages] == ["a", "b", "c", "d"]


@pytest.mark.spec("P8", "D2")
def test_unreachable_server_send_returns_then_drop_is_reported(server: RedisServer) -> None:
    seen = Seen()
    rt = Runtime(_settings(server, CHANNEL_REDIS_RETRY_TIMEOUT=0.3), observer=seen.observer)
    rt.start()
    try:
        Channel("t", runtime=rt).subscribe(seen.handler)
        server.stop()
        message = Channel("t", runtime=rt).send({"id": "lost"})  # no error at the call
        rt.join()
        assert message.is_dropped() and ("lost", "error") in seen.drops
        server.start()  # back: the next message goes through
        Channel("t", runtime=rt).send({"id": "back"})
        assert seen.event.wait(10)
        rt.join()
        assert [m.data["id"] for m in seen.messages] == ["back"]
    finally:
        rt.shutdown()


@pytest.mark.spec("P8")
def test_data_that_cannot_cross_processes_is_dropped_and_reported(
    runtime: tuple[Runtime, Seen],
) -> None:
    rt, seen = runtime
    message = Channel("t", runtime=rt).send({"id": "tuple", "value": (1, 2)})
    rt.join()
    assert message.is_dropped() and ("tuple", "error") in seen.drops
    local = Channel("t", runtime=rt).send({"id": "here", "value": (1, 2)}, local=True)
    rt.join()
    assert not local.is_dropped()  # a local message never crosses (P4): any dict goes


@pytest.mark.spec("R1")
def test_settings_are_checked(server: RedisServer) -> None:
    with pytest.raises(TypeError, match="CHANNEL_REDIS_URL"):
        Runtime(_settings(server, CHANNEL_REDIS_URL=5))
    with pytest.raises(ValueError, match="CHANNEL_REDIS_RETRY_TIMEOUT"):
        Runtime(_settings(server, CHANNEL_REDIS_RETRY_TIMEOUT=-1))
    rt = Runtime(_settings(server, MAX_CHANNEL_MESSAGE_BROKER_THREADS=2))
    with pytest.raises(ValueError, match="MAX_CHANNEL_MESSAGE_BROKER_THREADS = 1"):
        rt.start()


@pytest.mark.spec("P5", "P2")
def test_reading_goes_on_after_an_entry_read_was_dropped(
    server: RedisServer, runtime: tuple[Runtime, Seen]
) -> None:
    """The broker reads again once every entry it read was taken: one it dropped when
    taking it (expired) counts as taken, or nothing more would ever be read."""
    rt, seen = runtime
    Channel("t", runtime=rt).subscribe(seen.handler)
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    _entry(server, "other", 0, past, "late")
    deadline = time.monotonic() + 10
    while ("late", "expired") not in seen.drops:
        assert time.monotonic() < deadline, "the expired entry was never read"
        time.sleep(0.01)
    _entry(server, "other", 1, "", "later")  # read only by a read after the drop
    assert seen.event.wait(10)
    rt.join()
    assert [m.data["id"] for m in seen.messages] == ["later"]
