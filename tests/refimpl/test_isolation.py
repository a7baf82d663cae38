"""Runtimes never cross (spec R8): a broker delivers only to its own runtime's channels."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from refimpl import Channel, Message, MessageBroker, Runtime, Worker, set_default_runtime
from refimpl.runtime import current_runtime


@pytest.fixture
def default() -> Iterator[Runtime]:
    """A fresh default runtime for the test (the process-wide one is put back after)."""
    fresh = Runtime().start()
    old = set_default_runtime(fresh)
    yield fresh
    set_default_runtime(old)
    fresh.shutdown()


class SeedBroker(Worker):
    """The seed's broker listing: a bare ``Channel.get_channels(topic=...)`` in ``run()``."""

    def run(self) -> None:
        message = self.get_message()
        channels = Channel.get_channels(topic=message.topic)
        for channel in channels:
            self.schedule_task(channel=channel, message=message)


def check_isolation(runtime_cls: type[Runtime], settings: Any, default: Runtime) -> None:
    """Messages sent on a runtime reach its subscribers and nobody else's."""
    got: dict[str, list[Any]] = {"own": [], "default": [], "other": []}
    with Runtime() as other, runtime_cls(settings) as rt:
        Channel("room.*", lambda m: got["default"].append(m.data["n"]), runtime=default)
        Channel("room.*", lambda m: got["other"].append(m.data["n"]), runtime=other)
        Channel("room.*", lambda m: got["own"].append(m.data["n"]), runtime=rt)
        for n in range(20):
            Channel("room.a", runtime=rt).send({"n": n})
        rt.join()
        default.join()
        other.join()
    assert got == {"own": list(range(20)), "default": [], "other": []}


@pytest.mark.spec("R8")
@pytest.mark.parametrize("broker", [MessageBroker, SeedBroker])
def test_a_runtime_delivers_only_to_its_own_channels(broker: type, default: Runtime) -> None:
    check_isolation(Runtime, {"CHANNEL_MESSAGE_BROKER_CLASS": broker}, default)


@pytest.mark.spec("R8", "R4")
def test_schedule_task_refuses_a_channel_of_another_runtime(default: Runtime) -> None:
    refused: list[str] = []
    foreign = Channel("room.a", print, runtime=default)

    class Stray(MessageBroker):
        def run(self) -> None:
            message = self.get_message()
            try:
                self.schedule_task(foreign, message)
            except ValueError as exc:
                refused.append(str(exc))
            for channel in self.get_channels(message):
                self.schedule_task(channel, message)

    got: list[Message] = []
    with Runtime({"CHANNEL_MESSAGE_BROKER_CLASS": Stray}) as rt:
        Channel("room.a", got.append, runtime=rt)
        Channel("room.a", runtime=rt).send()
        rt.join()
    assert len(got) == 1 and len(refused) >= 1 and "R8" in refused[-1]


@pytest.mark.spec("R8", "R3")
def test_bare_channels_in_a_handler_belong_to_the_handlers_runtime(default: Runtime) -> None:
    replies: dict[str, list[Any]] = {"rt": [], "default": []}
    seen: list[Runtime] = []
    Channel("reply", lambda m: replies["default"].append(m.data), runtime=default)

    def answer(message: Message) -> None:
        seen.append(current_runtime())
        Channel("reply").send({"to": message.data["n"]})  # a bare Channel(), as Lona code has

    with Runtime() as rt:
        Channel("reply", lambda m: replies["rt"].append(m.data), runtime=rt)
        Channel("ask", answer, runtime=rt)
        Channel("ask", runtime=rt).send({"n": 1})
        rt.join()
    assert seen == [rt] and replies == {"rt": [{"to": 1}], "default": []}
    assert current_runtime() is default  # off the runtime's threads: the default one


@pytest.mark.spec("R8")
def test_channels_by_topic_show_the_current_runtime(default: Runtime) -> None:
    with Runtime() as rt:
        mine = Channel("t", print, runtime=rt)
        theirs = Channel("t", print)  # the default runtime's
        assert Channel._channels == {"t": [theirs]}
        assert mine._channels == {"t": [mine]}  # read on a channel: that channel's runtime
        Channel._clear_state(runtime=rt)
        assert mine._channels == {} and Channel._channels == {"t": [theirs]}


@pytest.mark.spec("R8")
def test_a_refused_channel_is_logged_by_the_broker(
    default: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    foreign = Channel("x", print, runtime=default)

    class Stray(MessageBroker):
        def run(self) -> None:
            self.get_message()
            self.schedule_task(foreign, self._message)  # type: ignore[arg-type]

    caplog.set_level(logging.ERROR, logger="refimpl")
    with Runtime({"CHANNEL_MESSAGE_BROKER_CLASS": Stray}) as rt:
        Channel("x", runtime=rt).send()
        rt.join()
    assert any("R8" in r.getMessage() or "R8" in str(r.exc_info) for r in caplog.records)
