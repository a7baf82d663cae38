"""One simulated process: its own runtime, broker, subscribers and sender threads.

A node is a group of virtual threads on the run's one scheduler: its main thread, its
sender threads, and its runtime's broker and task workers. Its broker class comes from a
private copy of the broker's module (``sim.net.client`` explains the imports it gets), so
the networked broker's own code is what runs. The node records what it does as the
``chanspec-procs/1`` events of ``sim.oracle.processes`` -- the same events
``tests/redis/node.py`` writes for a real process -- and the run merges them.

Killing a node (``kill``) is a SIGKILL: from that step on it records nothing and its
threads stop for good at their next network call or harness wait.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from refimpl import Channel
from refimpl.runtime import Runtime
from sim.interpose.loader import PrivateModules
from sim.net.client import Link, Network, redis_module, time_module, uuid_module
from sim.net.scenario import SEND_TOPICS, NetScenario
from sim.oracle.processes import Violation
from sim.primitives import SimPlatform
from sim.scheduler import VThread

__all__ = ["STREAM", "BrokerSpec", "Node"]

STREAM = "chanspec-sim"
#: how long (virtual seconds) a node waits to catch up with the stream's end before shutdown
CATCH_UP = 20.0


class BrokerSpec:
    """A broker class by module and name, with module constants set on the private copy."""

    def __init__(self, module: str, cls: str, constants: dict[str, Any] | None = None) -> None:
        self.module = module
        self.cls = cls
        self.constants = dict(constants or {})

    def load(self, virtual: dict[str, Any]) -> type:
        mods = PrivateModules(("refimpl.redis_broker", "sim.net.mutants"), virtual)
        for name, value in self.constants.items():
            setattr(mods["refimpl.redis_broker"], name, value)
        cls: type = getattr(mods[self.module], self.cls)
        return cls


class Node:
    """A process named *name*; ``start_after`` True for one that joins a running workload."""

    def __init__(
        self,
        name: str,
        scenario: NetScenario,
        net: Network,
        platform: SimPlatform,
        broker: BrokerSpec,
        world: Any,
    ) -> None:
        self.name = name
        self.scenario = scenario
        self.net = net
        self.platform = platform
        self.world = world
        self.link = Link(net, name)
        client = redis_module(self.link)
        errors = client["redis"]
        self.network_errors = (errors.ConnectionError, errors.TimeoutError)
        virtual = {"time": time_module(self.link), "uuid": uuid_module(net.rng), **client}
        self.broker_cls = broker.load(virtual)
        self.events: list[dict[str, Any]] = []
        self.killed = False
        self.ready = self.sent = self.done = self.failed = False
        self.runtime: Runtime | None = None
        self.channels: list[tuple[str, Channel]] = []
        self.thread: VThread | None = None
        #: the server incarnation that answered the last command of ``start()`` (its start position)
        self.started_on: int | None = None

    # recording ------------------------------------------------------------------------------
    def record(self, **event: Any) -> None:
        if not self.link.dead:
            self.events.append(event)

    def observer(self, kind: str, message: Any, channel: Any, detail: str) -> None:
        mid = message.data.get("id") if message is not None else None
        if kind == "publish" and mid:
            self.record(ev="publish", msg=mid, id=detail)
        elif kind == "drop" and mid:
            sub = next((s for s, c in self.channels if c is channel), None)
            self.record(ev="drop", msg=mid, sub=sub, reason=detail)
        elif kind == "error" and detail == "stream-reset":
            self.record(ev="reset")

    def kill(self) -> None:
        self.link.dead = self.killed = True

    def wait(self, ready: Callable[[], bool], seconds: float) -> bool:
        """Poll *ready* in virtual time; False after *seconds*."""
        sched = self.net.sched
        deadline = sched.time + seconds
        while not ready():
            if sched.time >= deadline:
                return False
            self.link.sleep(0.002)
        return True

    def _pos(self, which: str) -> str:
        sid = getattr(self.runtime.workers[0], which) if self.runtime else (0, 0)
        return f"{sid[0]}-{sid[1]}"

    # the process's life ----------------------------------------------------------------------
    def main(self) -> None:
        sc = self.scenario
        settings = {
            "CHANNEL_MESSAGE_BROKER_CLASS": self.broker_cls,
            "CHANNEL_REDIS_URL": "sim://server",
            "CHANNEL_REDIS_STREAM": STREAM,
            "CHANNEL_REDIS_RETRY_TIMEOUT": sc.retry,
            "MAX_CHANNEL_TASK_WORKER_THREADS": 2,
        }
        try:
            self.runtime = Runtime(settings, platform=self.platform, observer=self.observer).start()
        except self.network_errors:  # unreachable at start: start() raises (P8); never began
            self.failed = True
            return
        self.started_on = self.link.last_contact
        runtime = self.runtime
        self.record(ev="begin", proc=self.name)
        for k, topic in enumerate(sc.topics):
            sub = f"{self.name}/s{k}"
            channel = Channel(topic, runtime=runtime)
            self.channels.append((sub, channel))
            self.record(ev="sub_call", sub=sub, topic=topic, pos=self._pos("injected"))
            channel.subscribe(self._handler(sub))
            self.record(ev="sub_ret", sub=sub, pos=self._pos("position"))
        self.ready = True
        self.link.halt_if_dead()
        self.wait(lambda: self.world.go, 3600.0)
        sched = self.net.sched
        senders = [sched.spawn(f"{self.name}/send{k}", self._sender(k)) for k in range(sc.senders)]
        for thread in senders:
            sched.join_thread(thread)
        self.link.halt_if_dead()
        self._join()  # every message of this process is in the stream or reported dropped
        self._check_join()
        self.sent = True
        self.wait(lambda: self.world.stop, 3600.0)
        # Catch up with the stream's end as it is now, so that every entry added before is
        # a MUST of this process's subscriptions (P2), then settle and shut down.
        target = self.net.server.last_id(STREAM)
        broker: Any = runtime.workers[0]
        self.wait(lambda: bool(broker.injected >= target), CATCH_UP)
        self._join()
        # A last burst right before shutdown(): it returns only once these are in the
        # stream or reported dropped (P6).
        for i in range(3):
            self._send(f"{self.name}/bye{i}", "chat", False)
        self.record(ev="shutdown_call", pos=self._pos("injected"))
        runtime.shutdown()
        self.link.halt_if_dead()
        self.record(ev="shutdown_ret")
        self.done = True

    def _join(self) -> None:
        """``runtime.join()``, recorded: its own subscribers have its own messages (P6, R5)."""
        assert self.runtime is not None
        self.record(ev="join_call")
        self.runtime.join()
        self.link.halt_if_dead()
        self.record(ev="join_ret")

    def _check_join(self) -> None:
        """R5 across processes: once ``join()`` returned, each non-local message sent before
        it is in the stream (its entry read back) or reported dropped."""
        settled = {e["msg"] for e in self.events if e["ev"] == "publish"
                   or (e["ev"] == "drop" and e["sub"] is None)}
        for e in self.events:
            if e["ev"] == "send_call" and not e["local"] and e["msg"] not in settled:
                self.world.harness.append(Violation(
                    "R5", f"{self.name}: join() returned before its message {e['msg']} was added "
                          "to the stream or reported dropped"))
                return

    def _handler(self, sub: str) -> Callable[[Any], None]:
        def handle(message: Any) -> None:
            mid = message.data.get("id")
            if mid is None:  # an internal notice (I1, I2): local by rule
                return
            self.record(ev="start", msg=mid, sub=sub)
            self.record(ev="end", msg=mid, sub=sub)

        return handle

    def _send(self, mid: str, topic: str, local: bool) -> None:
        assert self.runtime is not None
        self.record(ev="send_call", msg=mid, topic=topic, local=local)
        Channel(topic, runtime=self.runtime).send({"id": mid, "from": self.name}, local=local)
        self.record(ev="send_ret", msg=mid)

    def _sender(self, k: int) -> Callable[[], None]:
        sc = self.scenario

        def send_all() -> None:
            for i in range(sc.sends):
                if self.link.dead:
                    return
                topic = SEND_TOPICS[(i + k) % len(SEND_TOPICS)]
                local = sc.local_every > 0 and i % sc.local_every == 0
                self._send(f"{self.name}/m{k}.{i}", topic, local)
                if k == 0 and i == sc.sends // 2 and len(self.channels) > 1:
                    self._unsubscribe_last()
                self.link.sleep(sc.pause)

        return send_all

    def _unsubscribe_last(self) -> None:
        sub, channel = self.channels[-1]
        self.record(ev="unsub_call", sub=sub, pos=self._pos("injected"))
        channel.unsubscribe()
        self.record(ev="unsub_ret", sub=sub, pos=self._pos("position"))
