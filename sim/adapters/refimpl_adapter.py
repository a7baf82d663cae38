"""The reference implementation behind the adapter protocol."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from refimpl import Channel, Message, Runtime
from refimpl._seam import Platform
from sim.adapters.base import FEATURES, Handler, Report

__all__ = ["RefimplAdapter", "RefimplSession"]


class RefimplSession:
    #: refimpl is called with the driver's arguments unchanged (see ``sim.adapters.base``)
    features = FEATURES

    def __init__(self, runtime: Runtime, report: Report) -> None:
        self.runtime = runtime
        self._report = report

    def start(self) -> None:
        self.runtime.start()

    def channel(self, topic: str) -> Channel:
        return Channel(topic, runtime=self.runtime)

    def subscribe(self, channel: Channel, handler: Handler) -> None:
        if not callable(handler):  # bad input: let refimpl see it as given
            channel.subscribe(handler)
            return
        channel.subscribe(lambda message: handler(message.topic, message.data))

    def unsubscribe(self, channel: Channel) -> None:
        channel.unsubscribe()

    def send(
        self,
        channel: Channel,
        data: dict[str, Any],
        expiry: timedelta | None,
        local: bool,
        droppable: bool,
    ) -> str:
        return str(channel.send(data, expiry=expiry, local=local, droppable=droppable).seq)

    def settle(self) -> None:
        self.runtime.join()

    def shutdown(self) -> None:
        self.runtime.shutdown()


class RefimplAdapter:
    """``runtime_class`` lets a mutant substitute a broken ``Runtime`` subclass."""

    name = "refimpl"

    def __init__(self, runtime_class: type[Runtime] = Runtime, name: str = "refimpl") -> None:
        self.runtime_class = runtime_class
        self.name = name

    def open(
        self, settings: dict[str, Any], platform: Platform | None, report: Report
    ) -> RefimplSession:
        def observer(
            kind: str, message: Message | None, channel: Channel | None, detail: str
        ) -> None:
            if kind in ("drop", "route") and message is not None:
                report(kind, message.data, channel, detail)

        runtime = self.runtime_class(settings, platform=platform, observer=observer)
        return RefimplSession(runtime, report)
