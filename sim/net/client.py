"""What one simulated process imports instead of ``redis``, ``time`` and ``uuid``.

The networked broker (``refimpl.redis_broker``) is loaded per process as a private module
copy (``sim.interpose.loader.PrivateModules``) whose ``import redis`` gets ``redis_module``
below, ``import time`` a clock on the scheduler and ``import uuid`` seeded ids: the broker's
own code runs unchanged, and every wait it makes is virtual.

The client implements the subset of redis-py the broker uses (``Redis.from_url``,
``xadd``, ``xread``, ``xrange``, ``xrevrange``, ``set``, ``get``, ``info``, and
``pipeline`` with ``execute``), raising redis-py's exception types. Every command (a
pipeline: all its commands, atomically, as ``MULTI``/``EXEC`` runs them; the broker's
read pipeline is read-only, so this is also what ``transaction=False`` would give it) is one
round trip on ``Network``:

1. the request travels (a virtual sleep: a scheduling point where others run);
2. if the server is down, or this process's connection is cut (a ``cut`` fault or a random
   drop: ``drop_rate`` per round trip, per entry for one that carries several), the call fails
   with ``ConnectionError`` and the command was *not* done;
3. the server runs the commands atomically;
4. the reply travels; if the connection is cut meanwhile, or the server restarted, the
   call fails although the command *was* done (a lost reply: the case of an ``XADD``
   retried after its reply was lost, P3);
5. a round trip longer than the client's ``socket_timeout`` fails with ``TimeoutError``
   at the timeout (done or not, as the request had arrived or not).

A connection made to a server that has restarted since is broken: like redis-py, which
replaces a dead pooled connection silently when it notices, the next call either fails
or silently reconnects (drawn). A killed process's threads stop for good at their next
network call (``Node.dead``): a SIGKILLed process does nothing more.
"""

from __future__ import annotations

import random
import types
import uuid as _uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sim.net.server import StreamServer
from sim.primitives import EPOCH
from sim.scheduler import Scheduler

__all__ = ["Link", "Network", "Window", "redis_module", "time_module", "uuid_module"]


@dataclass(frozen=True)
class Window:
    """A fault on one process's connection: ``cut`` (no traffic) or ``delay`` (slow)."""

    kind: str
    proc: str
    start: float
    end: float
    extra: float = 0.0


@dataclass
class Network:
    """The simulated network between the processes and the one server."""

    sched: Scheduler
    server: StreamServer
    rng: random.Random
    latency: float  #: one-way base latency in virtual seconds (> 0)
    drop_rate: float = 0.0  #: chance that a round trip loses its connection
    windows: list[Window] = field(default_factory=list)
    calls: int = 0
    failures: int = 0
    batches: int = 0  #: round trips that added several entries (a broker's batch)
    lost_batches: int = 0  #: ... whose reply was lost although the server added them

    def one_way(self, proc: str) -> float:
        now = self.sched.time
        extra = sum(w.extra for w in self.windows
                    if w.kind == "delay" and w.proc == proc and w.start <= now < w.end)
        return self.latency * (0.5 + self.rng.random()) + extra

    def drop(self, entries: int) -> float:
        """The chance that a round trip carrying *entries* stream entries loses its connection."""
        return 1.0 - (1.0 - self.drop_rate) ** max(1, entries)

    def cut(self, proc: str) -> bool:
        now = self.sched.time
        return any(w.kind == "cut" and w.proc == proc and w.start <= now < w.end
                   for w in self.windows)


class Link:
    """One process's end of the network; ``dead`` once the process was killed."""

    def __init__(self, net: Network, proc: str) -> None:
        self.net = net
        self.proc = proc
        self.dead = False
        #: the server incarnation that answered this process's latest command
        self.last_contact: int | None = None

    def halt_if_dead(self) -> None:
        while self.dead:
            self.net.sched.block("killed")  # for good: the teardown ends it

    def sleep(self, seconds: float) -> None:
        self.net.sched.sleep(seconds)
        self.halt_if_dead()


def redis_module(link: Link) -> dict[str, types.ModuleType]:
    """The modules ``redis``, ``redis.backoff``, ``redis.retry`` for one process."""
    mod = types.ModuleType("redis", "redis-py's subset, on the simulated network (sim.net)")

    class RedisError(Exception):
        pass

    class ConnectionError(RedisError):  # redis-py's name
        pass

    class TimeoutError(RedisError):  # redis-py's name
        pass

    net = link.net

    class Connection:
        """A connection: it belongs to one incarnation of the server."""

        def __init__(self) -> None:
            self.incarnation: int | None = None

    class Redis:
        def __init__(self, socket_timeout: float | None = None, **_: Any) -> None:
            self.timeout = socket_timeout
            self.conn = Connection()

        @classmethod
        def from_url(cls, url: str, **kw: Any) -> Redis:
            if not url.startswith("sim://"):
                raise ValueError(f"the simulated network serves sim:// URLs, not {url!r}")
            return cls(**kw)

        def pipeline(self, transaction: bool = True) -> Pipeline:
            return Pipeline(self)

        def round_trip(self, commands: list[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> Any:
            link.halt_if_dead()
            net.calls += 1
            server = net.server
            up, down = net.one_way(link.proc), net.one_way(link.proc)
            limit = self.timeout if self.timeout is not None else float("inf")
            link.sleep(min(up, limit))
            if up >= limit:
                net.failures += 1
                raise TimeoutError("Timeout reading from socket")
            conn = self.conn
            if conn.incarnation is not None and conn.incarnation != server.incarnation:
                conn.incarnation = None  # the old server's socket: broken
                if net.rng.random() < 0.5:  # redis-py noticed it first and reconnected
                    net.failures += 1
                    raise ConnectionError("Connection closed by server.")
            # A round trip that carries n entries (added, or read back) risks its connection
            # as n round trips of one entry would: batching alone must not hide the lost
            # requests and replies this simulation exists to inject.
            adds = sum(name == "xadd" for name, _, _ in commands)
            if not server.up or net.cut(link.proc) or net.rng.random() < net.drop(adds):
                net.failures += 1
                raise ConnectionError("Error 111 connecting to sim. Connection refused.")
            conn.incarnation = server.incarnation
            replies = [server.execute(name, args, kw) for name, args, kw in commands]
            batch = adds > 1
            carried = adds + sum(len(entries) for name, reply in zip(
                (c[0] for c in commands), replies, strict=True) if name == "xread"
                for _, entries in reply)
            net.batches += batch
            link.sleep(min(down, limit - up))
            if up + down >= limit:
                net.failures += 1
                net.lost_batches += batch
                raise TimeoutError("Timeout reading from socket")
            lost = net.drop_rate > 0 and net.rng.random() < net.drop(carried)
            if lost or server.incarnation != conn.incarnation or not server.up or net.cut(
                link.proc
            ):
                conn.incarnation = None
                net.failures += 1
                net.lost_batches += batch
                raise ConnectionError("Connection reset by peer")
            link.last_contact = conn.incarnation
            return replies

        def _one(self, name: str, *args: Any, **kw: Any) -> Any:
            return self.round_trip([(name, args, kw)])[0]

        def xadd(self, name: Any, fields: Any, id: str = "*") -> Any:
            return self._one("xadd", name, fields, id=id)

        def xread(self, streams: Any, count: int | None = None, block: int | None = None) -> Any:
            return self._one("xread", streams, count=count, block=block)

        def xrange(self, name: Any, min: str = "-", max: str = "+",
                   count: int | None = None) -> Any:
            return self._one("xrange", name, min=min, max=max, count=count)

        def xrevrange(self, name: Any, max: str = "+", min: str = "-",
                      count: int | None = None) -> Any:
            return self._one("xrevrange", name, max=max, min=min, count=count)

        def set(self, name: Any, value: Any, nx: bool = False) -> Any:
            return self._one("set", name, value, nx=nx)

        def get(self, name: Any) -> Any:
            return self._one("get", name)

        def info(self, section: str | None = None) -> Any:
            return self._one("info", section)

    class Pipeline:
        """Commands queued, then sent in one round trip by ``execute``."""

        def __init__(self, client: Redis) -> None:
            self.client = client
            self.commands: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

        def __getattr__(self, name: str) -> Callable[..., Pipeline]:
            if name not in ("xadd", "xread", "xrange", "xrevrange", "set", "get", "info"):
                raise AttributeError(name)

            def queue(*args: Any, **kw: Any) -> Pipeline:
                self.commands.append((name, args, kw))
                return self

            return queue

        def execute(self) -> list[Any]:
            commands, self.commands = self.commands, []
            return list(self.client.round_trip(commands))

    backoff = types.ModuleType("redis.backoff")
    backoff.NoBackoff = lambda: None  # type: ignore[attr-defined]
    retry = types.ModuleType("redis.retry")
    retry.Retry = lambda backoff, retries: None  # type: ignore[attr-defined]
    for name, value in [("Redis", Redis), ("RedisError", RedisError),
                        ("ConnectionError", ConnectionError), ("TimeoutError", TimeoutError),
                        ("backoff", backoff), ("retry", retry)]:
        setattr(mod, name, value)
    return {"redis": mod, "redis.backoff": backoff, "redis.retry": retry}


def time_module(link: Link) -> types.ModuleType:
    """``time`` on the virtual clock: ``sleep`` parks the virtual thread."""
    mod = types.ModuleType("time", "virtual time (sim.net)")
    sched = link.net.sched
    base = EPOCH.timestamp()
    mod.monotonic = lambda: sched.time  # type: ignore[attr-defined]
    mod.time = lambda: base + sched.time  # type: ignore[attr-defined]
    mod.sleep = link.sleep  # type: ignore[attr-defined]
    return mod


def uuid_module(rng: random.Random) -> types.ModuleType:
    """``uuid`` whose ``uuid4`` draws from the run's seeded generator."""
    mod = types.ModuleType("uuid", "seeded uuid4 (sim.net)")
    mod.UUID = _uuid.UUID  # type: ignore[attr-defined]
    mod.uuid4 = lambda: _uuid.UUID(int=rng.getrandbits(128), version=4)  # type: ignore[attr-defined]
    return mod
