"""Scenarios: a declarative, serialisable description of one run.

A scenario names the runtime settings, the channels (each a *role*: a topic and how
its handler behaves), and one list of operations per sender thread. The driver
(``sim.driver``) plays it against any implementation, in simulation or on real
threads. ``Scenario.to_json``/``from_json`` round-trip exactly, so a scenario can be
stored in a trace and replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "Advance",
    "ChannelSpec",
    "Op",
    "Scenario",
    "Send",
    "Settle",
    "Shutdown",
    "Subscribe",
    "Unsubscribe",
]


@dataclass(frozen=True)
class Send:
    channel: int  #: index of the sending channel role
    expiry: float | None = None  #: seconds from the send (a timedelta), or None
    droppable: bool = False
    local: bool = False


@dataclass(frozen=True)
class Subscribe:
    channel: int  #: subscribe a fresh channel object of this role (no-op if subscribed)


@dataclass(frozen=True)
class Unsubscribe:
    channel: int  #: unsubscribe this role's channel (no-op if not subscribed)


@dataclass(frozen=True)
class Advance:
    seconds: float  #: the thread sleeps this long on the (virtual) clock


@dataclass(frozen=True)
class Settle:
    """Wait until nothing is left to do (in simulation: until no other thread can run)."""


@dataclass(frozen=True)
class Shutdown:
    """Graceful shutdown, from this thread, at this point."""


Op = Send | Subscribe | Unsubscribe | Advance | Settle | Shutdown


@dataclass(frozen=True)
class ChannelSpec:
    topic: str
    subscribed: bool = True  #: subscribed by the main thread before the senders start
    raises: bool = False  #: the handler raises after recording (H1)
    sleep: float = 0.0  #: the handler sleeps this long (a slow handler)
    reply: int | None = None  #: the handler sends once on this role per first-hop message
    reply_droppable: bool = False


@dataclass(frozen=True)
class Scenario:
    channels: tuple[ChannelSpec, ...]
    threads: tuple[tuple[Op, ...], ...]
    brokers: int = 1
    workers: int = 4
    timeout: float = 1.0
    shutdown: bool = True  #: shut down at the end unless an op already did
    task_batch: int = 128  #: CHANNEL_TASK_BATCH (refimpl's; other implementations may ignore it)
    route_batch: int = 128  #: CHANNEL_ROUTE_BATCH
    label: str = field(default="", compare=False)

    def settings(self) -> dict[str, Any]:
        return {
            "MAX_CHANNEL_MESSAGE_BROKER_THREADS": self.brokers,
            "MAX_CHANNEL_TASK_WORKER_THREADS": self.workers,
            "CHANNEL_WORKER_TIMEOUT": self.timeout,
            "CHANNEL_TASK_BATCH": self.task_batch,
            "CHANNEL_ROUTE_BATCH": self.route_batch,
        }

    def with_config(self, brokers: int, workers: int) -> Scenario:
        return replace(self, brokers=brokers, workers=workers)

    @property
    def sends(self) -> int:
        return sum(isinstance(op, Send) for ops in self.threads for op in ops)

    # serialisation -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "brokers": self.brokers,
            "workers": self.workers,
            "timeout": self.timeout,
            "shutdown": self.shutdown,
            "task_batch": self.task_batch,
            "route_batch": self.route_batch,
            "channels": [
                [c.topic, c.subscribed, c.raises, c.sleep, c.reply, c.reply_droppable]
                for c in self.channels
            ],
            "threads": [[_op_to_json(op) for op in ops] for ops in self.threads],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scenario:
        return cls(
            channels=tuple(ChannelSpec(*c) for c in data["channels"]),
            threads=tuple(tuple(_op_from_json(o) for o in ops) for ops in data["threads"]),
            brokers=data["brokers"],
            workers=data["workers"],
            timeout=data["timeout"],
            shutdown=data["shutdown"],
            task_batch=data.get("task_batch", 128),
            route_batch=data.get("route_batch", 128),
        )


def _op_to_json(op: Op) -> list[Any]:
    if isinstance(op, Send):
        return ["send", op.channel, op.expiry, op.droppable, op.local]
    if isinstance(op, Subscribe):
        return ["sub", op.channel]
    if isinstance(op, Unsubscribe):
        return ["unsub", op.channel]
    if isinstance(op, Advance):
        return ["advance", op.seconds]
    if isinstance(op, Settle):
        return ["settle"]
    return ["shutdown"]


def _op_from_json(data: list[Any]) -> Op:
    tag, *args = data
    ops: dict[str, Any] = {
        "send": Send,
        "sub": Subscribe,
        "unsub": Unsubscribe,
        "advance": Advance,
        "settle": Settle,
        "shutdown": Shutdown,
    }
    if tag not in ops:
        raise ValueError(f"unknown scenario op {tag!r}")
    op: Op = ops[tag](*args)
    return op
