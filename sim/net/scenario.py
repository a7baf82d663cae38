"""A multi-process scenario with faults, drawn from a seed, and its strict JSON form.

A scenario says how many processes run, what each subscribes to and sends (some of it
``local=True``), the network's latency and random drop rate, the broker's retry timeout,
and the faults, each at a virtual time counted from the moment every process is ready:

* ``cut``     -- one process's connection carries nothing for ``for`` seconds;
* ``delay``   -- one process's round trips are ``extra`` seconds slower for ``for`` seconds;
* ``kill``    -- a process dies (SIGKILL); with ``rejoin`` a new process takes its place
  ``for`` seconds later, starting at the stream's end;
* ``restart`` -- the server is down for ``for`` seconds, then back with its data
  (``persist``) or without (at most one restart per scenario: the oracle's excuse for the
  lost stream, P7, names one moment).

``generate(seed)`` draws one (``random.Random(seed)``: the same on every machine).
``NetScenario.from_json`` checks every field, so a trace file can only ever describe a
scenario, never run code.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Fault", "NetScenario", "ScenarioError", "generate"]

SUB_TOPICS = ("chat", "chat.*", "news", "*")
SEND_TOPICS = ("chat", "chat.room", "news", "other")
KINDS = ("cut", "delay", "kill", "restart")


class ScenarioError(ValueError):
    """Not a valid ``sim.net`` scenario; the message names the field."""


@dataclass(frozen=True)
class Fault:
    kind: str
    at: float
    seconds: float
    proc: str = ""
    extra: float = 0.0
    persist: bool = False
    rejoin: bool = False


@dataclass(frozen=True)
class NetScenario:
    seed: int
    procs: int = 3
    senders: int = 1  #: sender threads per process
    sends: int = 12  #: messages per sender thread
    local_every: int = 3  #: every k-th message is local=True (0: none)
    pause: float = 0.01  #: virtual seconds between two sends of one thread
    topics: tuple[str, ...] = ("chat", "chat.*", "news")
    retry: float = 2.0  #: CHANNEL_REDIS_RETRY_TIMEOUT
    latency: float = 0.001
    drop_rate: float = 0.0
    faults: tuple[Fault, ...] = field(default_factory=tuple)

    def names(self) -> list[str]:
        return [f"p{i}" for i in range(self.procs)]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["topics"] = list(self.topics)
        data["faults"] = [asdict(f) for f in self.faults]
        return data

    @classmethod
    def from_json(cls, data: Any) -> NetScenario:
        if not isinstance(data, dict):
            raise ScenarioError("scenario: not a JSON object")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ScenarioError(f"scenario: unknown field {sorted(unknown)[0]!r}")
        seed = _int(data, "seed", 0, 2**63)
        topics = data.get("topics", list(cls.topics))
        if not (isinstance(topics, list) and 1 <= len(topics) <= 8
                and all(isinstance(t, str) and t in SUB_TOPICS for t in topics)):
            raise ScenarioError(f"scenario: topics must be 1-8 of {list(SUB_TOPICS)}")
        procs = _int(data, "procs", 1, 8)
        faults_raw = data.get("faults", [])
        if not isinstance(faults_raw, list) or len(faults_raw) > 8:
            raise ScenarioError("scenario: faults must be a list of at most 8")
        faults = tuple(_fault(f, procs) for f in faults_raw)
        if sum(f.kind == "restart" for f in faults) > 1:
            raise ScenarioError("scenario: at most one server restart")
        return cls(
            seed=seed,
            procs=procs,
            senders=_int(data, "senders", 1, 4),
            sends=_int(data, "sends", 1, 200),
            local_every=_int(data, "local_every", 0, 100),
            pause=_num(data, "pause", 0.0, 1.0),
            topics=tuple(topics),
            retry=_num(data, "retry", 0.0, 30.0),
            latency=_num(data, "latency", 1e-5, 0.5),
            drop_rate=_num(data, "drop_rate", 0.0, 0.5),
            faults=faults,
        )


def _int(data: dict[str, Any], name: str, low: int, high: int) -> int:
    value = data.get(name, NetScenario.__dataclass_fields__[name].default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ScenarioError(f"scenario: {name} must be an integer in [{low}, {high}]")
    return value


def _num(data: dict[str, Any], name: str, low: float, high: float) -> float:
    value = data.get(name, NetScenario.__dataclass_fields__[name].default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise ScenarioError(f"scenario: {name} must be a number in [{low}, {high}]")
    return float(value)


def _fault(raw: Any, procs: int) -> Fault:
    if not isinstance(raw, dict) or set(raw) - set(Fault.__dataclass_fields__):
        raise ScenarioError(f"scenario: a fault is an object with fields "
                            f"{sorted(Fault.__dataclass_fields__)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ScenarioError(f"scenario: fault kind must be one of {list(KINDS)}")
    proc = raw.get("proc", "")
    names = {f"p{i}" for i in range(procs)}
    if (kind == "restart" and proc != "") or (kind != "restart" and proc not in names):
        raise ScenarioError(f"scenario: {kind} fault names no valid process: {str(proc)[:20]!r}")
    flags = [raw.get(k, False) for k in ("persist", "rejoin")]
    if not all(isinstance(v, bool) for v in flags):
        raise ScenarioError("scenario: persist and rejoin are booleans")
    fields = {"at": (0.0, 60.0), "seconds": (0.0, 10.0), "extra": (0.0, 5.0)}
    values = {}
    for name, (low, high) in fields.items():
        value = raw.get(name, 0.0)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not (
            low <= value <= high
        ):
            raise ScenarioError(f"scenario: fault {name} must be a number in [{low}, {high}]")
        values[name] = float(value)
    return Fault(kind, values["at"], values["seconds"], proc, values["extra"], flags[0], flags[1])


def generate(seed: int) -> NetScenario:
    """A scenario drawn from *seed*: 2-4 processes, 0-3 faults of every kind, some of them
    at the same moment."""
    r = random.Random(seed)
    procs = r.choice((2, 3, 3, 4))
    senders = r.choice((1, 1, 2))
    sends = r.randint(6, 16)
    pause = r.choice((0.002, 0.005, 0.01, 0.02))
    span = sends * pause  # roughly how long the sending phase lasts
    names = [f"p{i}" for i in range(procs)]
    faults: list[Fault] = []
    restarted = False
    for _ in range(r.choice((0, 1, 1, 2, 2, 3))):
        kind = r.choice(KINDS)
        at = round(r.uniform(0.0, span), 4)
        if kind == "restart" and not restarted:
            restarted = True
            faults.append(Fault("restart", at, round(r.uniform(0.01, 0.3), 4),
                                persist=r.random() < 0.5))
        elif kind == "kill":
            faults.append(Fault("kill", at, round(r.uniform(0.0, 0.2), 4), r.choice(names),
                                rejoin=r.random() < 0.6))
        elif kind == "delay":
            faults.append(Fault("delay", at, round(r.uniform(0.02, 0.5), 4), r.choice(names),
                                extra=round(r.uniform(0.005, 0.2), 4)))
        else:
            faults.append(Fault("cut", at, round(r.uniform(0.01, 0.4), 4), r.choice(names)))
    faults = _coincide(r, faults)
    topics = r.sample(SUB_TOPICS, r.randint(2, 4))
    return NetScenario(
        seed=seed,
        procs=procs,
        senders=senders,
        sends=sends,
        local_every=r.choice((0, 2, 3, 4)),
        pause=pause,
        topics=tuple(topics),
        retry=r.choice((0.3, 1.0, 2.0)),
        latency=r.choice((0.0005, 0.001, 0.003)),
        drop_rate=r.choice((0.0, 0.0, 0.01, 0.05)),
        faults=tuple(faults),
    )


def _coincide(r: random.Random, faults: list[Fault]) -> list[Fault]:
    """Often let a replacement process start right at the server's restart (within 3 ms):
    where its start position and the stream's loss race each other."""
    restart = next((f for f in faults if f.kind == "restart"), None)
    if restart is None or r.random() < 0.5:
        return faults
    out = []
    for f in faults:
        if f.kind == "kill" and f.rejoin and f.at <= restart.at:
            delay = restart.at - f.at + r.uniform(-0.003, 0.003)
            f = Fault("kill", f.at, round(max(0.0, delay), 4), f.proc, rejoin=True)
        out.append(f)
    return out
