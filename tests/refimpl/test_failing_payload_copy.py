"""A payload whose copy fails in the broker, and a handler that raises SystemExit."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from refimpl import Channel, Message, Runtime


class CopiesTwice(dict[str, Any]):
    """Copies fine at send() (twice), then fails in the broker."""

    copies = 0

    def __copy__(self) -> CopiesTwice:
        type(self).copies += 1
        if type(self).copies > 2:
            raise RuntimeError("this payload cannot be copied again")
        return CopiesTwice(self)


@pytest.mark.spec("D2", "V2")
def test_a_failed_copy_in_the_broker_is_reported_as_a_drop_for_each_subscriber() -> None:
    drops: list[tuple[str, str]] = []

    def observer(kind: str, message: Message | None, channel: Channel | None, detail: str) -> None:
        if kind == "drop" and channel is not None:
            drops.append((channel.topic, detail))

    got: list[Message] = []
    with Runtime(observer=observer) as rt:
        for topic in ("a.b", "a.*", "*.b"):
            Channel(topic, got.append, runtime=rt)
        sent = Channel("a.b", runtime=rt).send(CopiesTwice(k=1))
        rt.join()
    assert [m for m in got if m.topic == "a.b" and m.seq == sent.seq] == []
    assert sorted(drops) == [("*.b", "error"), ("a.*", "error"), ("a.b", "error")]
    assert sent.is_dropped()


@pytest.mark.spec("H1")
def test_a_handler_raising_system_exit_does_not_end_its_worker() -> None:
    got: list[int] = []
    done = threading.Event()

    def handler(message: Message) -> None:
        if message.data["i"] == 0:
            raise SystemExit("a handler asked to exit")
        got.append(message.data["i"])
        if message.data["i"] == 2:
            done.set()

    with Runtime({"MAX_CHANNEL_TASK_WORKER_THREADS": 1}) as rt:
        Channel("x", handler, runtime=rt)
        for i in range(3):
            Channel("x", runtime=rt).send({"i": i})
        assert done.wait(10)
        assert all(t.is_alive() for t in rt.pool.threads)
    assert got == [1, 2]


@pytest.mark.spec("D2", "W3")
def test_a_drop_is_still_reported_when_the_payload_cannot_be_copied_for_the_report() -> None:
    class CopiesOnlyAtSend(dict[str, Any]):
        copies = 0

        def __copy__(self) -> CopiesOnlyAtSend:
            type(self).copies += 1
            if type(self).copies > 2:
                raise RuntimeError("no more copies")
            return CopiesOnlyAtSend(self)

    drops: list[tuple[str, dict[str, Any]]] = []

    def observer(kind: str, message: Message | None, channel: Channel | None, detail: str) -> None:
        if kind == "drop" and message is not None:
            drops.append((detail, message.data))

    rt = Runtime(observer=observer)  # not started: routing happens after the unsubscribe
    try:
        channel = Channel("a", print, runtime=rt)
        sent = Channel("a", runtime=rt).send(CopiesOnlyAtSend(k=1))
        channel.unsubscribe()
        rt.start()
        assert rt.join(10)
    finally:
        rt.shutdown()
    assert drops == [("unsubscribed", {})]  # reported, with the payload left out
    assert sent.is_dropped()
