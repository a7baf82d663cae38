"""Small behaviours of refimpl's parts: the real seam's queue, the pool,
custom brokers scheduling unsubscribed channels, and the readable reprs used in logs."""

from __future__ import annotations

import queue

import pytest

from refimpl import Channel, Message, MessageBroker, Runtime, Scope, Worker
from refimpl._seam import RealPlatform
from refimpl.pool import WorkerPool


def test_real_queue_get_with_zero_timeout_never_blocks() -> None:
    q = RealPlatform().queue()
    with pytest.raises(queue.Empty):
        q.get(timeout=0)
    q.put("x")
    assert q.get(timeout=0) == "x"


@pytest.mark.spec("R2")
def test_the_pool_refuses_more_threads_than_its_size() -> None:
    pool = WorkerPool("p", 1, RealPlatform())
    pool.spawn(lambda: None)
    with pytest.raises(RuntimeError, match="is full"):
        pool.spawn(lambda: None)
    pool.join()
    assert [t.name for t in pool.threads] == ["p-0"]


@pytest.mark.spec("R4", "D2")
def test_a_custom_broker_scheduling_an_unsubscribed_channel_gets_a_reported_drop() -> None:
    drops: list[str] = []
    strays: list[Channel] = []

    class Stray(MessageBroker):
        def run(self) -> None:
            message = self.get_message()
            self.schedule_task(strays[0], message)

    def observer(kind: str, message: Message | None, channel: Channel | None, detail: str) -> None:
        if kind == "drop" and channel is strays[0]:
            drops.append(detail)

    with Runtime({"CHANNEL_MESSAGE_BROKER_CLASS": Stray}, observer=observer) as rt:
        strays.append(Channel("elsewhere", runtime=rt))  # never subscribed
        sent = Channel("x", runtime=rt).send({})
        rt.join()
    assert drops == ["unsubscribed"]
    assert sent.is_dropped()


@pytest.mark.spec("R4")
def test_the_base_worker_has_no_run() -> None:
    with pytest.raises(NotImplementedError):
        Worker(Runtime(), 1.0).run()


@pytest.mark.spec("H2")
def test_scope_rejects_a_handler_that_is_not_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        Scope(runtime=Runtime()).subscribe("a", 42)  # type: ignore[arg-type]


def test_reprs_name_what_logs_need() -> None:
    rt = Runtime()
    assert repr(rt) == "<Runtime NEW sent=0 routed=0>"
    from refimpl.worker import Task

    channel = Channel("a.b", print, runtime=rt)
    message = channel.send({"k": 1})
    assert "a.b" in repr(Task(channel, message)) and "seq=" in repr(Task(channel, message))
    rt.shutdown()


@pytest.mark.spec("R1")
@pytest.mark.parametrize("name", ["CHANNEL_TASK_BATCH", "CHANNEL_ROUTE_BATCH"])
@pytest.mark.parametrize("value", [0, -1, 1.5, True, "8"])
def test_batch_settings_must_be_positive_ints(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        Runtime({name: value})


@pytest.mark.spec("O2", "R1")
@pytest.mark.parametrize("route_batch", [1, 3, 64])
def test_order_holds_with_every_route_batch_and_several_brokers(route_batch: int) -> None:
    got: list[int] = []
    settings = {"MAX_CHANNEL_MESSAGE_BROKER_THREADS": 3, "CHANNEL_ROUTE_BATCH": route_batch}
    with Runtime(settings) as rt:
        Channel("o", lambda m: got.append(m.seq), runtime=rt)
        sender = Channel("o", runtime=rt)
        sent = [sender.send({"i": i}).seq for i in range(500)]
        assert rt.join(10)
    assert got == sent


@pytest.mark.spec("T2")
def test_is_pattern_names_the_wildcard_topics() -> None:
    from refimpl.topics import is_pattern

    assert [t for t in ("a.b", "a.*", "a.?", "a.[bc]", "é.b", "a]") if is_pattern(t)] == [
        "a.*",
        "a.?",
        "a.[bc]",
    ]
