"""Version-2 adapters (specs/adapter-protocol.md) for the corpus, one per design; the planted
bugs reuse their design's adapter with another class name. ``CORPUS`` (``__init__.py``) names
them all for ``python -m sim conform --impl examples.corpus.adapters:<name>``.
"""

from __future__ import annotations

import logging
from typing import Any

#: the format-2 operations every design passes on unchanged: datetime expiries, and one
#: channel object subscribed again, or from two threads at once (none validates its input)
FEATURES = frozenset({"expiry-datetime", "same-object"})


class _Adapter:
    protocol = 2
    features = FEATURES
    modules: tuple[str, ...] = ("examples.corpus",)
    name = "corpus"
    module = ""  #: the module of the class that builds the system
    cls = ""

    def built(self, mods: Any) -> Any:
        logging.getLogger("corpus").setLevel(logging.CRITICAL)  # handlers raise on purpose
        return getattr(mods[self.module], self.cls)

    def subscribe(self, system: Any, channel: Any, handler: Any) -> None:
        channel.subscribe(lambda m: handler(m.topic, m.data))

    def unsubscribe(self, system: Any, channel: Any) -> None:
        channel.unsubscribe()

    def send(self, system: Any, ch: Any, data: Any, expiry: Any, local: Any, drop: Any) -> int:
        return int(ch.send(data, expiry, local, drop).seq)

    def shutdown(self, system: Any) -> None:
        system.shutdown()


class mailbox(_Adapter):
    """A thread and a ``queue.Queue`` per subscription; drops reach an ``on_drop`` callback."""

    name = "corpus-mailbox"
    module, cls = "examples.corpus.mailbox", "Hub"

    def open(self, mods: Any, settings: dict[str, Any], report: Any) -> Any:
        return self.built(mods)(lambda m, ch, why: report("drop", m.data, ch, why))

    def channel(self, system: Any, topic: str) -> Any:
        return system.channel(topic)

    def settle(self, system: Any) -> None:
        system.join()


class pollpool(_Adapter):
    """Lona-style loops on a ``ThreadPoolExecutor``, polling every 5 ms; drops reach listeners."""

    name = "corpus-pollpool"
    module, cls = "examples.corpus.pollpool", "Runtime"

    def open(self, mods: Any, settings: dict[str, Any], report: Any) -> Any:
        brokers = int(settings.get("MAX_CHANNEL_MESSAGE_BROKER_THREADS", 1))
        workers = int(settings.get("MAX_CHANNEL_TASK_WORKER_THREADS", 4))
        runtime = self.built(mods)(brokers, workers)
        runtime.listeners.append(lambda kind, m, ch, why: report(kind, m.data, ch, why))
        return runtime

    def channel(self, system: Any, topic: str) -> Any:
        return system.channel(topic)

    def settle(self, system: Any) -> None:
        system.join()


class relay(_Adapter):
    """A copy-on-write registry, one relay thread, workers woken by a condition variable."""

    name = "corpus-relay"
    module, cls = "examples.corpus.relay", "Bus"

    def open(self, mods: Any, settings: dict[str, Any], report: Any) -> Any:
        workers = int(settings.get("MAX_CHANNEL_TASK_WORKER_THREADS", 2))
        return self.built(mods)(workers, lambda kind, m, ch, why: report(kind, m.data, ch, why))

    def channel(self, system: Any, topic: str) -> Any:
        return system.channel(topic)

    def settle(self, system: Any) -> None:
        system.wait_idle()


class reorder(_Adapter):
    """A ``ThreadPoolExecutor`` with a reorder buffer; validates its input (``bad-input``)."""

    name = "corpus-reorder"
    module, cls = "examples.corpus.reorder", "Bus"
    features = FEATURES | {"bad-input"}

    def open(self, mods: Any, settings: dict[str, Any], report: Any) -> Any:
        workers = int(settings.get("MAX_CHANNEL_TASK_WORKER_THREADS", 4))
        return self.built(mods)(workers, lambda m, ch, why: report("drop", m.data, ch, why))

    def channel(self, system: Any, topic: str) -> Any:
        return system.channel(topic)

    def settle(self, system: Any) -> None:
        system.wait_idle()


# the planted bugs (examples/corpus/planted.py), each on its design's adapter ---------------------
def _planted(design: type[_Adapter], cls: str, label: str) -> type[_Adapter]:
    attrs = {"name": f"{design.name}-{label}", "module": "examples.corpus.planted", "cls": cls}
    return type(f"{design.__name__}_{label}", (design,), attrs)


pollpool_out_of_order = _planted(pollpool, "OutOfOrderRuntime", "out-of-order")
pollpool_stranding = _planted(pollpool, "StrandingRuntime", "stranding")
pollpool_channel_handler = _planted(pollpool, "ChannelHandlerRuntime", "channel-handler")
mailbox_leaves_queued = _planted(mailbox, "LeavesQueuedHub", "leaves-queued")
mailbox_naive_clock = _planted(mailbox, "NaiveClockHub", "naive-clock")
relay_copy_outside_lock = _planted(relay, "CopyOutsideLockBus", "copy-outside-lock")
relay_lost_wakeup = _planted(relay, "LostWakeupBus", "lost-wakeup")
reorder_no_buffer = _planted(reorder, "NoBufferBus", "no-buffer")
reorder_deep_copy = _planted(reorder, "DeepCopyBus", "deep-copy")
reorder_strict_expiry = _planted(reorder, "StrictExpiryBus", "strict-expiry")
