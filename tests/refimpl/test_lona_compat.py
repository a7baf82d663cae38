"""Lona's API shapes on refimpl: hand-built messages, tasks, workers as Lona's server makes
them, and ``refimpl.lona`` (install, the script runner). Spec §18 lists what differs."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

import refimpl
import refimpl.lona
from refimpl import Channel, Message, MessageBroker, Runtime, State, TaskWorker, TopicError
from refimpl.worker import Task


@pytest.mark.spec("C1", "E1")
def test_a_hand_built_message_is_lona_shaped_and_checked() -> None:
    data = {"k": [1]}
    message = Message("a.b", data)
    assert (message.topic, message.data, message.expiry) == ("a.b", data, None)
    assert message.data is not data and message.data["k"] is data["k"]  # copy.copy
    assert (message.local, message.droppable, message.seq) == (False, False, -1)
    assert Message("a", None).data == {}
    due = Message("a", expiry=timedelta(hours=1)).expiry
    assert due is not None and due.tzinfo is UTC and not Message("a", expiry=due).is_expired()
    assert Message("a", expiry=datetime(1970, 1, 2)).is_expired()  # naive: local time
    with pytest.raises(TypeError):
        Message("a", [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Message("a", {}, local=1)  # type: ignore[arg-type]
    with pytest.raises(TopicError):
        Message("a[")


@pytest.mark.spec("C2", "E4")
def test_message_copy_has_its_own_data_and_reports_drops_to_the_original() -> None:
    original = Message("a", {"k": 1})
    copy = original.copy()
    copy.data["k"] = 2
    assert original.data == {"k": 1}
    copy._mark_dropped()
    assert copy.is_dropped() and original.is_dropped()
    assert not original.copy().is_dropped()  # drop state is per copy


@pytest.mark.spec("A1")
def test_channels_and_messages_take_attributes_as_in_lona() -> None:
    with Runtime() as rt:
        channel = Channel("a", runtime=rt)
        channel.view = "the view"  # type: ignore[attr-defined]
        message = channel.send({})
        message.note = 1  # type: ignore[attr-defined]
    assert channel.view == "the view" and message.note == 1  # type: ignore[attr-defined]


@pytest.mark.spec("W3", "R4")
def test_a_task_is_built_from_a_channel_and_a_message() -> None:
    with Runtime() as rt:
        channel = Channel("a", print, runtime=rt)
        task = Task(channel, Message("a"))
        assert task.channel is channel and task.handler is print
        channel.unsubscribe()
        assert Task(channel, Message("a")).handler is None  # an ended subscription
        assert task.handler is None


@pytest.mark.spec("R4", "C1")
def test_a_custom_broker_can_deliver_messages_it_builds_or_copies() -> None:
    class Relabel(MessageBroker):
        def run(self) -> None:
            message = self.get_message()
            for channel in self.get_channels(message):
                if channel.topic.endswith("copy"):
                    self.schedule_task(channel, message.copy())
                else:
                    self.schedule_task(channel, Message(message.topic, {"built": True}))

    got: dict[str, list[Any]] = {"copy": [], "built": []}
    with Runtime({"CHANNEL_MESSAGE_BROKER_CLASS": Relabel}) as rt:
        Channel("x.copy", lambda m: got["copy"].append(m.data), runtime=rt)
        Channel("x.built", lambda m: got["built"].append(m.data), runtime=rt)
        Channel("x.*", runtime=rt).send({"n": 1})
        rt.join()
    assert got == {"copy": [{"n": 1}], "built": [{"built": True}]}


@pytest.mark.spec("R2", "R4", "S1", "S2")
def test_workers_built_as_lonas_server_builds_them_run_on_its_executor() -> None:
    rt = Runtime({"MAX_CHANNEL_MESSAGE_BROKER_THREADS": 1, "MAX_CHANNEL_TASK_WORKER_THREADS": 2})
    server = SimpleNamespace(channel_runtime=rt)
    got: list[Any] = []
    with ThreadPoolExecutor(3, thread_name_prefix="LonaChannelWorker") as executor:
        workers = [MessageBroker(server=server, executor=executor, timeout=0.05)]
        workers += [TaskWorker(server=server, executor=executor, timeout=0.05) for _ in range(2)]
        assert rt.state is State.RUNNING and [w.queue_name for w in workers] == [
            "messages",
            "ready",
            "ready",
        ]
        Channel("a", got.append, runtime=rt)
        for worker in workers:  # what Lona's Server._stop does: marks, stops nothing
            worker.shutdown()
        assert not any(w.running for w in workers)
        Channel("a", runtime=rt).send({"after": "shutdown()"})
        rt.shutdown()  # drains, then the loops end and the executor can be joined
    assert [m.data for m in got] == [{"after": "shutdown()"}]
    with pytest.raises(TypeError, match=r"refimpl\.lona"):
        MessageBroker(server=SimpleNamespace(), executor=executor, timeout=1.0)


@pytest.mark.spec("R8", "R3")
def test_install_rebinds_lonas_names_and_uninstall_puts_them_back() -> None:
    import lona
    import lona.channels
    import lona.pytest
    import lona.view

    original = lona.channels.Channel
    assert not refimpl.lona.is_installed() and original is not refimpl.Channel
    with refimpl.lona.installed():
        refimpl.lona.install()  # idempotent
        assert lona.Channel is lona.view.Channel is lona.pytest.Channel is refimpl.Channel
        assert lona.channels.Worker is refimpl.Worker and lona.channels.Task is refimpl.Task
    assert lona.Channel is lona.channels.Channel is lona.view.Channel is original
    assert lona.channels.Message is not refimpl.Message


@pytest.mark.spec("R1")
def test_server_settings_take_lonas_names_and_defaults() -> None:
    class LonaSettings(dict[str, Any]):
        pass  # Lona's Settings: get() works, attribute access raises KeyError when missing

    settings = refimpl.lona.server_settings(
        LonaSettings(MAX_CHANNEL_TASK_WORKER_THREADS=3, CHANNEL_WORKER_TIMEOUT=0.5, OTHER=1)
    )
    assert settings.MAX_CHANNEL_TASK_WORKER_THREADS == 3
    assert settings.CHANNEL_WORKER_TIMEOUT == 0.5
    assert settings.MAX_CHANNEL_MESSAGE_BROKER_THREADS == 1


@pytest.mark.spec("V2")
@pytest.mark.parametrize("args", [[], ["--help"], ["no/such/script.py"]])
def test_the_script_runner_fails_in_one_line(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "refimpl.lona", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and not done.stdout


@pytest.mark.spec("R2", "R4")
def test_a_subclass_on_lonas_executor_runs_only_once_its_init_is_done() -> None:
    # Lona's server builds its workers on its executor; a subclass that sets itself up
    # after super().__init__() (as RedisMessageBroker does) must not see run() before.
    rt = Runtime({"MAX_CHANNEL_MESSAGE_BROKER_THREADS": 1, "MAX_CHANNEL_TASK_WORKER_THREADS": 1})
    server = SimpleNamespace(channel_runtime=rt)
    early: list[str] = []

    class SlowToBuild(MessageBroker):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            time.sleep(0.2)  # the loop would call run() meanwhile, every 0.05 s
            self.ready = True

        def run(self) -> None:
            if not getattr(self, "ready", False):
                early.append("run() before __init__ returned")
            super().run()

    with ThreadPoolExecutor(2) as executor:
        SlowToBuild(server=server, executor=executor, timeout=0.05)
        TaskWorker(server=server, executor=executor, timeout=0.05)
        time.sleep(0.1)
        rt.shutdown()
    assert not early
