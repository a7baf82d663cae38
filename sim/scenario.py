"""Scenarios: a declarative, serialisable description of one run (format: specs/scenario-format.md).

A scenario names the runtime settings, the channels (each a *role*: a topic and how
its handler behaves), and one list of operations per sender thread. The driver
(``sim.driver``) plays it against any implementation, in simulation or on real
threads. ``Scenario.to_json``/``from_json`` round-trip exactly, so a scenario can be
stored in a trace and replayed; version-1 scenarios (positional lists) still load.

Reading a scenario never runs code: ``from_json`` accepts only the documented JSON
shapes and raises ``ScenarioError`` (a ``ValueError``) with a one-line reason otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "BAD_INPUTS",
    "EXPIRY_KINDS",
    "RAISES",
    "SCENARIO_VERSION",
    "Advance",
    "Bad",
    "ChannelSpec",
    "Expiry",
    "Op",
    "Scenario",
    "ScenarioError",
    "Send",
    "Settle",
    "Shutdown",
    "Subscribe",
    "Unsubscribe",
]

SCENARIO_VERSION = 2

#: How an expiry is passed to ``send()`` (spec E1): a ``timedelta``, a naive ``datetime``
#: (local time), an aware one in UTC, or an aware one with another fixed UTC offset.
EXPIRY_KINDS = ("timedelta", "naive", "utc", "offset")

#: Bad input, each rejected at the call (spec V1): what the operation passes.
BAD_INPUTS = (
    "data-list",  #: send([1, 2])
    "data-str",  #: send("text")
    "expiry-str",  #: send(..., expiry="soon")
    "expiry-number",  #: send(..., expiry=5)
    "local-int",  #: send(..., local=1)
    "droppable-none",  #: send(..., droppable=None)
    "topic-int",  #: Channel(42)
    "topic-unclosed",  #: Channel("a[*")
    "topic-empty",  #: Channel("")
    "handler-none",  #: channel.subscribe(None)
)

#: What a raising handler raises: nothing, an ``Exception``, or a ``BaseException`` that is
#: not an ``Exception`` (spec H1 covers both).
RAISES = ("", "exception", "base")


class ScenarioError(ValueError):
    """A scenario file that does not have the documented shape."""


@dataclass(frozen=True)
class Expiry:
    """An expiry *seconds* after the send (negative: already past), passed as *kind*."""

    kind: str = "timedelta"
    seconds: float = 0.0
    offset_minutes: int = 0  #: kind ``offset`` only: the datetime's UTC offset

    def __post_init__(self) -> None:
        if self.kind not in EXPIRY_KINDS:
            raise ScenarioError(f"unknown expiry kind {self.kind!r}; known: {EXPIRY_KINDS}")
        if not -1440 < self.offset_minutes < 1440:
            raise ScenarioError(f"expiry offset_minutes out of range: {self.offset_minutes}")


@dataclass(frozen=True)
class Send:
    channel: int  #: index of the sending channel role
    #: None, an ``Expiry``, or a number of seconds (a ``timedelta``, as in version 1)
    expiry: Expiry | float | None = None
    droppable: bool = False
    local: bool = False

    def __post_init__(self) -> None:
        if self.expiry is not None and not isinstance(self.expiry, Expiry):
            object.__setattr__(self, "expiry", Expiry("timedelta", float(self.expiry)))

    def expiry_spec(self) -> Expiry | None:
        """The expiry, normalised (a number was read as a ``timedelta`` in seconds)."""
        e = self.expiry
        assert e is None or isinstance(e, Expiry)
        return e


@dataclass(frozen=True)
class Subscribe:
    """Subscribe the role.

    Plain (``direct=False``, version 1): a fresh channel object, and only if the driver
    believes the role is neither subscribed nor being (un)subscribed. ``direct=True``: the
    role's current channel object, whatever its state -- a re-subscription of the same
    object, possibly from two threads at once, possibly rejected (A2: already subscribed).
    """

    channel: int
    direct: bool = False


@dataclass(frozen=True)
class Unsubscribe:
    """Unsubscribe the role's channel object (``direct``: whatever the driver believes)."""

    channel: int
    direct: bool = False


@dataclass(frozen=True)
class Advance:
    seconds: float  #: the thread sleeps this long on the (virtual) clock


@dataclass(frozen=True)
class Settle:
    """Wait until nothing is left to do (section 17 and specs/adapter-protocol.md)."""


@dataclass(frozen=True)
class Shutdown:
    """Graceful shutdown, from this thread, at this point."""


@dataclass(frozen=True)
class Bad:
    """A call with bad input (one of ``BAD_INPUTS``) on the role: it must be rejected at
    the call (V1), and the system must go on working (V2)."""

    channel: int
    what: str

    def __post_init__(self) -> None:
        if self.what not in BAD_INPUTS:
            raise ScenarioError(f"unknown bad input {self.what!r}; known: {BAD_INPUTS}")


Op = Send | Subscribe | Unsubscribe | Advance | Settle | Shutdown | Bad
#: what a handler may do on its first-hop messages
HandlerOp = Send | Subscribe | Unsubscribe


@dataclass(frozen=True)
class ChannelSpec:
    topic: str
    subscribed: bool = True  #: subscribed by the main thread before the senders start
    raises: bool | str = False  #: the handler raises after recording: one of ``RAISES``
    sleep: float = 0.0  #: the handler sleeps this long (a slow handler)
    reply: int | None = None  #: the handler sends once on this role per first-hop message
    reply_droppable: bool = False
    #: what the handler does on each first-hop message, after ``reply``: sends, subscribes,
    #: unsubscribes (on its own role or others)
    actions: tuple[HandlerOp, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.raises, bool):
            object.__setattr__(self, "raises", "exception" if self.raises else "")
        if self.raises not in RAISES:
            raise ScenarioError(f"unknown handler raise {self.raises!r}; known: {RAISES}")


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

    @property
    def settle_bound(self) -> float:
        """Virtual seconds a simulated settle lets pass without progress before it gives up."""
        return 10.0 * self.timeout

    # serialisation -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "version": SCENARIO_VERSION,
            "brokers": self.brokers,
            "workers": self.workers,
            "timeout": self.timeout,
            "shutdown": self.shutdown,
            "task_batch": self.task_batch,
            "route_batch": self.route_batch,
            "channels": [_channel_to_json(c) for c in self.channels],
            "threads": [[_op_to_json(op) for op in ops] for ops in self.threads],
        }

    @classmethod
    def from_json(cls, data: Any) -> Scenario:
        """Load version 2 (named fields) or version 1 (positional lists); ScenarioError if bad."""
        if not isinstance(data, dict):
            raise ScenarioError(f"a scenario is a JSON object, not {type(data).__name__}")
        version = data.get("version", 1)
        if version not in (1, 2):
            raise ScenarioError(
                f"scenario format version {version!r} is not supported (this chanspec reads "
                f"versions 1 and 2; see specs/scenario-format.md)"
            )
        try:
            channels = tuple(
                _channel_from_json(c, version) for c in _list(data.get("channels"), "channels")
            )
            threads = tuple(
                tuple(_op_from_json(o, version) for o in _list(ops, "thread"))
                for ops in _list(data.get("threads"), "threads")
            )
            scenario = cls(
                channels=channels,
                threads=threads,
                brokers=_int(data.get("brokers"), "brokers", 1),
                workers=_int(data.get("workers"), "workers", 1),
                timeout=_number(data.get("timeout"), "timeout", positive=True),
                shutdown=_bool(data.get("shutdown"), "shutdown"),
                task_batch=_int(data.get("task_batch", 128), "task_batch", 1),
                route_batch=_int(data.get("route_batch", 128), "route_batch", 1),
            )
        except (TypeError, KeyError) as exc:
            raise ScenarioError(f"malformed scenario: {exc}") from None
        _check_roles(scenario)
        return scenario


# JSON helpers ------------------------------------------------------------------------------


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ScenarioError(f"{what}: expected a list, not {type(value).__name__}")
    return value


def _int(value: Any, what: str, lo: int | None = None) -> int:
    if type(value) is not int or (lo is not None and value < lo):
        floor = "" if lo is None else f" >= {lo}"
        raise ScenarioError(f"{what}: expected an integer{floor}, not {value!r}")
    return value


def _bool(value: Any, what: str) -> bool:
    if type(value) is not bool:
        raise ScenarioError(f"{what}: expected true or false, not {value!r}")
    return value


def _number(value: Any, what: str, positive: bool = False) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or (positive and value <= 0):
        raise ScenarioError(f"{what}: expected a finite number, not {value!r}")
    return float(value)


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"{what}: expected a string, not {value!r}")
    return value


def _check_roles(scenario: Scenario) -> None:
    n = len(scenario.channels)
    if n == 0:
        raise ScenarioError("a scenario needs at least one channel role")

    def role(op: Any) -> None:
        r = getattr(op, "channel", 0)
        if not 0 <= r < n:
            raise ScenarioError(f"{type(op).__name__} names role {r}, but there are {n} roles")

    for ops in scenario.threads:
        for op in ops:
            role(op)
    for c in scenario.channels:
        if c.reply is not None and not 0 <= c.reply < n:
            raise ScenarioError(f"reply names role {c.reply}, but there are {n} roles")
        for op in c.actions:
            role(op)


def _channel_to_json(c: ChannelSpec) -> dict[str, Any]:
    return {
        "topic": c.topic,
        "subscribed": c.subscribed,
        "raises": c.raises,
        "sleep": c.sleep,
        "reply": c.reply,
        "reply_droppable": c.reply_droppable,
        "actions": [_op_to_json(op) for op in c.actions],
    }


def _channel_from_json(data: Any, version: int) -> ChannelSpec:
    if version == 1:
        fields = _list(data, "channel")
        names = ("topic", "subscribed", "raises", "sleep", "reply", "reply_droppable")
        if not 1 <= len(fields) <= len(names):
            raise ScenarioError(f"channel: expected 1 to 6 fields, got {len(fields)}")
        data = dict(zip(names, fields, strict=False))
    if not isinstance(data, dict):
        raise ScenarioError(f"channel: expected an object, not {type(data).__name__}")
    raises = data.get("raises", "")
    if not isinstance(raises, (bool, str)):
        raise ScenarioError(f"channel raises: expected one of {RAISES}, not {raises!r}")
    reply = data.get("reply")
    actions = tuple(_op_from_json(o, 2) for o in _list(data.get("actions", []), "actions"))
    for op in actions:
        if not isinstance(op, (Send, Subscribe, Unsubscribe)):
            raise ScenarioError(f"a handler action is a send, sub or unsub, not {op!r}")
    return ChannelSpec(
        topic=_str(data.get("topic"), "channel topic"),
        subscribed=_bool(data.get("subscribed", True), "channel subscribed"),
        raises=raises,
        sleep=_number(data.get("sleep", 0.0), "channel sleep"),
        reply=None if reply is None else _int(reply, "channel reply", 0),
        reply_droppable=_bool(data.get("reply_droppable", False), "channel reply_droppable"),
        actions=actions,  # type: ignore[arg-type]
    )


def _expiry_to_json(e: Expiry | float | None) -> Any:
    if e is None:
        return None
    if not isinstance(e, Expiry):
        e = Expiry("timedelta", float(e))
    return {"kind": e.kind, "seconds": e.seconds, "offset_minutes": e.offset_minutes}


def _op_to_json(op: Op) -> dict[str, Any]:
    if isinstance(op, Send):
        return {
            "op": "send",
            "channel": op.channel,
            "expiry": _expiry_to_json(op.expiry),
            "droppable": op.droppable,
            "local": op.local,
        }
    if isinstance(op, Subscribe):
        return {"op": "sub", "channel": op.channel, "direct": op.direct}
    if isinstance(op, Unsubscribe):
        return {"op": "unsub", "channel": op.channel, "direct": op.direct}
    if isinstance(op, Advance):
        return {"op": "advance", "seconds": op.seconds}
    if isinstance(op, Settle):
        return {"op": "settle"}
    if isinstance(op, Bad):
        return {"op": "bad", "channel": op.channel, "what": op.what}
    return {"op": "shutdown"}


_V1_OPS = {"send": 4, "sub": 1, "unsub": 1, "advance": 1, "settle": 0, "shutdown": 0}


def _op_from_json(data: Any, version: int) -> Op:
    if version == 1:
        fields = _list(data, "op")
        if not fields or fields[0] not in _V1_OPS:
            raise ScenarioError(f"unknown scenario op {fields[:1]!r}")
        tag, args = fields[0], fields[1:]
        if len(args) > _V1_OPS[tag] or (tag in ("sub", "unsub", "advance") and not args):
            raise ScenarioError(f"op {tag!r}: wrong number of fields ({len(args)})")
        names = {"send": ("channel", "expiry", "droppable", "local")}.get(
            tag, ("seconds",) if tag == "advance" else ("channel",)
        )
        data = {"op": tag, **dict(zip(names, args, strict=False))}
    if not isinstance(data, dict):
        raise ScenarioError(f"op: expected an object, not {type(data).__name__}")
    tag = data.get("op")
    if tag == "send":
        return Send(
            _int(data.get("channel"), "send channel", 0),
            _expiry_from_json(data.get("expiry")),
            _bool(data.get("droppable", False), "send droppable"),
            _bool(data.get("local", False), "send local"),
        )
    if tag in ("sub", "unsub"):
        kind = Subscribe if tag == "sub" else Unsubscribe
        return kind(
            _int(data.get("channel"), f"{tag} channel", 0),
            _bool(data.get("direct", False), f"{tag} direct"),
        )
    if tag == "advance":
        return Advance(_number(data.get("seconds"), "advance seconds"))
    if tag == "settle":
        return Settle()
    if tag == "shutdown":
        return Shutdown()
    if tag == "bad":
        return Bad(_int(data.get("channel"), "bad channel", 0), _str(data.get("what"), "bad what"))
    raise ScenarioError(f"unknown scenario op {tag!r}")


def _expiry_from_json(data: Any) -> Expiry | None:
    if data is None:
        return None
    if type(data) in (int, float):  # version 1: seconds, as a timedelta
        return Expiry("timedelta", _number(data, "expiry"))
    if not isinstance(data, dict):
        raise ScenarioError(f"expiry: expected null, a number or an object, not {data!r}")
    return Expiry(
        _str(data.get("kind", "timedelta"), "expiry kind"),
        _number(data.get("seconds"), "expiry seconds"),
        _int(data.get("offset_minutes", 0), "expiry offset_minutes"),
    )
