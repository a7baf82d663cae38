"""plain_channels behind adapter protocol version 2 (specs/adapter-protocol.md), run unmodified.

Drops are observed through the bus's own ``on_drop`` hook.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any


class PlainChannelsAdapter:
    protocol = 2
    name = "plain_channels"
    #: none of scenario format 2's extras: the bus has no channel objects (the handle here
    #: stands in for one), and it neither validates input nor takes datetime expiries
    features: frozenset[str] = frozenset()
    modules: tuple[str, ...] = ("examples.plain_channels",)
    bus_module, bus_class = "examples.plain_channels", "Bus"

    def open(self, mods: Any, settings: dict[str, Any], report: Any) -> Any:
        logging.getLogger("plain_channels").setLevel(logging.CRITICAL)  # handlers raise on purpose
        handles: dict[Any, Any] = {}  # Subscription -> the driver's channel handle

        def on_drop(data: dict[str, Any], sub: Any, reason: str) -> None:
            report("drop", data, handles.get(sub), reason)

        bus_class = getattr(mods[self.bus_module], self.bus_class)
        workers = int(settings.get("MAX_CHANNEL_TASK_WORKER_THREADS", 4))
        return SimpleNamespace(bus=bus_class(workers, on_drop), handles=handles)

    def channel(self, system: Any, topic: str) -> Any:
        return SimpleNamespace(topic=topic, sub=None)

    def subscribe(self, system: Any, handle: Any, handler: Any) -> None:
        handle.sub = system.bus.subscribe(handle.topic, lambda m: handler(m.topic, m.data))
        system.handles[handle.sub] = handle

    def unsubscribe(self, system: Any, handle: Any) -> None:
        system.bus.unsubscribe(handle.sub)

    def send(self, system: Any, handle: Any, data: Any, expiry: Any, local: Any, drop: Any) -> int:
        return int(system.bus.publish(handle.topic, data, expiry, drop))

    def settle(self, system: Any) -> None:
        system.bus.join()

    def shutdown(self, system: Any) -> None:
        system.bus.shutdown()


class UnorderedAdapter(PlainChannelsAdapter):  # the broken variant: see broken.py
    name = "plain_channels-unordered"
    bus_class = "UnorderedBus"


factory, broken_factory = PlainChannelsAdapter, UnorderedAdapter
