"""On real threads, an implementation thread that dies is a fault in the history, not a
traceback on stderr (which used to open `conform`'s report, above its summary line)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sim.driver import play_real
from sim.scenario import ChannelSpec, Scenario, Settle


class _DyingSession:
    """A (version-1) session whose one worker thread raises as soon as it starts."""

    def __init__(self) -> None:
        self.worker = threading.Thread(target=self._work, name="dying-worker")

    def _work(self) -> None:
        raise ValueError("the worker broke")

    def start(self) -> None:
        self.worker.start()
        self.worker.join()

    def channel(self, topic: str) -> Any:
        return topic

    def subscribe(self, handle: Any, handler: Any) -> None:
        pass

    def unsubscribe(self, handle: Any) -> None:
        pass

    def send(self, handle: Any, data: Any, expiry: Any, local: Any, droppable: Any) -> str:
        return ""

    def settle(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


class _DyingAdapter:
    name = "dying"

    def open(self, settings: Any, platform: Any, report: Any) -> _DyingSession:
        return _DyingSession()


@pytest.mark.spec("V2")
def test_a_dying_worker_is_recorded_and_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    printed: list[str] = []  # the hook that would print the traceback (Python's default)
    monkeypatch.setattr(threading, "excepthook", lambda args: printed.append(args.thread.name))
    scenario = Scenario((ChannelSpec("a", subscribed=False),), ((Settle(),),))
    history = play_real(scenario, _DyingAdapter())  # type: ignore[arg-type]
    faults = [e.info for e in history.events if e.kind == "fault"]
    assert faults == ["raised:dying-worker: ValueError: the worker broke"]
    assert printed == []
