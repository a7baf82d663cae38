"""One simulated fault run: the world, its coordinator, the verdict, and the trace file.

``run(scenario, broker)`` builds one world -- a ``Scheduler`` (random walk seeded with the
scenario's seed), the simulated server and network, a node per process -- and runs it: the
coordinator (virtual thread 0) starts the nodes, waits until each has subscribed, lets them
send, applies the scenario's faults at their virtual times (kill a process and maybe let a
new one join, restart the server with or without persistence; connection cuts and delays
are windows the network consults), waits until every live process has sent and then shut
down, and hands the merged histories to ``sim.oracle.processes``.

The trace file (``chanspec-simnet/1``, JSON Lines) holds the scenario and broker, every
process's events, the scheduler's decisions and the verdict. Everything in it follows from
the seed: the same seed gives the same file byte for byte, and ``replay`` re-runs a trace
with its recorded decisions and says whether it came out the same.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sim.net.client import Network, Window
from sim.net.node import STREAM, BrokerSpec, Node
from sim.net.scenario import NetScenario, ScenarioError
from sim.net.server import StreamServer
from sim.oracle.processes import ProcessHistory, Violation, check_processes
from sim.primitives import SimPlatform
from sim.scheduler import Scheduler, SchedulingStrategy
from sim.strategies.random_walk import RandomWalk
from sim.strategies.replay import Replay

__all__ = ["BROKERS", "CONTROLS", "FORMAT", "MUTANTS", "Outcome", "TraceError", "replay", "run"]

FORMAT = "chanspec-simnet/1"
#: the longest (virtual seconds) the coordinator waits for a phase before calling it a hang
PHASE_LIMIT = 120.0
MAX_STEPS = 3_000_000

#: correct variants: the broker as it is, and with other module constants (must pass)
CONTROLS: dict[str, BrokerSpec] = {
    "plain": BrokerSpec("refimpl.redis_broker", "RedisMessageBroker"),
    "one-entry-reads": BrokerSpec("refimpl.redis_broker", "RedisMessageBroker",
                                  {"READ_COUNT": 1}),
    "slow-poll": BrokerSpec("refimpl.redis_broker", "RedisMessageBroker", {"POLL": 0.1}),
}
#: mutants of the networked broker (``sim.net.mutants``), each with the clause it breaks
MUTANTS: dict[str, tuple[BrokerSpec, str]] = {
    "resume-from-end": (BrokerSpec("sim.net.mutants", "ResumeFromEnd"), "P2"),
    "forward-local": (BrokerSpec("sim.net.mutants", "ForwardLocal"), "P4"),
    "ack-before-handling": (BrokerSpec("sim.net.mutants", "AckBeforeHandling"), "P6"),
    "remote-before-local": (BrokerSpec("sim.net.mutants", "RemoteBeforeLocal"), "P1"),
    "silent-reset": (BrokerSpec("sim.net.mutants", "SilentReset"), "P2"),
    "blind-retry": (BrokerSpec("sim.net.mutants", "BlindRetry"), "P3"),
    "commit-before-adding": (BrokerSpec("sim.net.mutants", "CommitBeforeAdding"), "R5"),
    "deliver-own-at-once": (BrokerSpec("sim.net.mutants", "DeliverOwnAtOnce"), "P1"),
    "skip-read-back-closing": (BrokerSpec("sim.net.mutants", "SkipReadBackWhileClosing"), "P6"),
    "forget-unread-back": (BrokerSpec("sim.net.mutants", "ForgetUnreadBack"), "P6"),
}
BROKERS: dict[str, BrokerSpec] = {**CONTROLS, **{k: v[0] for k, v in MUTANTS.items()}}


class TraceError(ValueError):
    """Not a ``chanspec-simnet/1`` trace; the message names the line."""


@dataclass
class Outcome:
    scenario: NetScenario
    broker: str
    violations: list[Violation] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    trace: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.violations) or self.error is not None

    def replay_command(self) -> str:
        return f"python -m sim.net run --seed {self.scenario.seed} --broker {self.broker}"

    def headline(self) -> str:
        if self.error is not None:
            return f"seed {self.scenario.seed} [{self.broker}]: error: {self.error}"
        first = self.violations[0] if self.violations else None
        what = f"{first.clause}: {first.text}" if first else "clean"
        return f"seed {self.scenario.seed} [{self.broker}]: {what}"


class World:
    """The processes, the server and the network of one run."""

    def __init__(self, scenario: NetScenario, broker: str, strategy: SchedulingStrategy) -> None:
        self.scenario = scenario
        self.broker = BROKERS[broker]
        self.sched = Scheduler(strategy, max_steps=MAX_STEPS)
        rng = random.Random(f"sim.net {scenario.seed}")
        self.server = StreamServer(lambda: self.sched.time, rng)
        self.net = Network(self.sched, self.server, rng, scenario.latency, scenario.drop_rate)
        self.platform = SimPlatform(self.sched)
        self.nodes: list[Node] = []
        self.go = self.stop = False
        self.lost_before: tuple[int, int] | None = None
        self.lost_incarnation: int | None = None  # the server's first one without the stream
        #: what the run itself saw: a phase that hung (P6), a ``join()`` that returned early (R5)
        self.harness: list[Violation] = []

    def add(self, name: str) -> Node:
        node = Node(name, self.scenario, self.net, self.platform, self.broker, self)
        self.nodes.append(node)
        node.thread = self.sched.spawn(name, node.main)
        return node

    def live(self) -> list[Node]:
        return [n for n in self.nodes if not (n.killed or n.failed)]

    def wait(self, ready: Callable[[], bool], what: str) -> bool:
        deadline = self.sched.time + PHASE_LIMIT
        while not ready():
            if self.sched.time >= deadline:
                stuck = ", ".join(n.name for n in self.live() if not (n.sent if what == "sent"
                                                                        else n.done))
                self.harness.append(Violation("P6", f"{stuck} did not finish ({what}) within "
                                                  f"{PHASE_LIMIT:g} s of virtual time"))
                return False
            self.sched.sleep(0.002)
        return True

    def _actions(self, t0: float) -> list[tuple[float, int, Callable[[], None]]]:
        actions: list[tuple[float, int, Callable[[], None]]] = []
        rejoins: dict[str, int] = {}
        for order, f in enumerate(self.scenario.faults):
            at = t0 + f.at
            if f.kind in ("cut", "delay"):
                self.net.windows.append(Window(f.kind, f.proc, at, at + f.seconds, f.extra))
            elif f.kind == "restart":
                actions.append((at, order, self._stop_server))
                actions.append((at + f.seconds, order, partial(self.server.start, f.persist)))
            else:
                actions.append((at, order, partial(self._kill, f.proc)))
                if f.rejoin:
                    k = rejoins[f.proc] = rejoins.get(f.proc, 0) + 1
                    actions.append((at + f.seconds, order, partial(self._rejoin, f"{f.proc}.{k}")))
        return sorted(actions, key=lambda a: (a[0], a[1]))

    def _stop_server(self) -> None:
        self.server.stop()
        if not any(f.kind == "restart" and f.persist for f in self.scenario.faults):
            self.lost_before = (self.server.now_ms(), 0)
            self.lost_incarnation = self.server.incarnation + 1

    def began_after_loss(self) -> frozenset[str]:
        """Processes that started on the server after it lost the stream (their start
        position is one of the new stream: ``start()``'s last command went to it)."""
        lost = self.lost_incarnation
        return frozenset(n.name for n in self.nodes if lost is not None
                         and n.started_on is not None and n.started_on >= lost)

    def _kill(self, proc: str) -> None:
        for node in self.nodes:
            if node.name.split(".")[0] == proc:
                node.kill()

    def _rejoin(self, name: str) -> None:
        self.add(name)

    def main(self) -> None:
        for name in self.scenario.names():
            self.add(name)
        if not self.wait(lambda: all(n.ready or n.failed for n in self.nodes), "ready"):
            return
        actions = self._actions(self.sched.time)
        self.go = True
        for at, _, act in actions:
            self.sched.sleep(max(0.0, at - self.sched.time))
            act()
        if self.wait(lambda: all(n.sent for n in self.live()), "sent"):
            self.stop = True
            self.wait(lambda: all(n.done for n in self.live()), "done")


def run(scenario: NetScenario, broker: str = "plain",
        decisions: list[int] | None = None) -> Outcome:
    """Run *scenario* with *broker* (a name of ``BROKERS``); *decisions*: replay them."""
    if broker not in BROKERS:
        raise ValueError(f"unknown broker {broker!r}; known: {', '.join(BROKERS)}")
    strategy: SchedulingStrategy = (RandomWalk(scenario.seed) if decisions is None
                                    else Replay(decisions))
    world = World(scenario, broker, strategy)
    outcome = Outcome(scenario, broker)
    try:
        world.sched.run(world.main)
    except Exception as exc:  # a hang, a divergence, or an exception that escaped a thread
        outcome.error = f"{type(exc).__name__}: {exc}"
    histories = [ProcessHistory(n.name, n.events, killed=n.killed or n.failed)
                 for n in world.nodes]
    if outcome.error is None:
        outcome.violations, outcome.counts = check_processes(
            histories, lost_before=world.lost_before,
            began_after_loss=world.began_after_loss())
        outcome.violations = world.harness + _repeats(world) + outcome.violations
    outcome.counts.update(steps=world.sched.steps, calls=world.net.calls,
                          net_failures=world.net.failures, batches=world.net.batches,
                          lost_batches=world.net.lost_batches)
    outcome.trace = _trace(world, outcome, histories)
    return outcome


def _repeats(world: World) -> list[Violation]:
    """P3 on the server: no message has two entries in the stream as it ends (a broker
    looks for its entries before it adds a batch again whose reply was lost)."""
    seen: set[tuple[bytes, bytes]] = set()
    found = []
    for _sid, fields in world.server.streams.get(STREAM.encode(), []):
        key = (fields.get(b"origin", b""), fields.get(b"seq", b""))
        if key in seen:
            mid = json.loads(fields.get(b"data", b"{}")).get("id")
            found.append(Violation("P3", f"message {mid} has two entries in the stream (added "
                                         "again after a lost reply)"))
        seen.add(key)
    return found


def _line(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n"


def _trace(world: World, outcome: Outcome, histories: list[ProcessHistory]) -> str:
    lines = [_line({"format": FORMAT, "broker": outcome.broker,
                    "scenario": world.scenario.to_json()})]
    for h in histories:
        lines.append(_line({"proc": h.name, "killed": h.killed, "events": len(h.events)}))
        lines += [_line({"p": h.name, **e}) for e in h.events]
    lines.append(_line({"decisions": world.sched.decisions}))
    lines.append(_line({"verdict": {
        "error": outcome.error,
        "violations": [[v.clause, v.text] for v in outcome.violations],
        "counts": outcome.counts,
        "time": round(world.sched.time, 6),
    }}))
    return "".join(lines)


def load_trace(text: str) -> tuple[NetScenario, str, list[int]]:
    """The scenario, broker name and decisions of a trace; nothing in it runs code."""
    lines = text.split("\n")
    try:
        head = json.loads(lines[0])
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            raise TraceError(f"line 1: not a {FORMAT} trace")
        broker = head.get("broker")
        if not isinstance(broker, str) or broker not in BROKERS:  # a list is unhashable
            raise TraceError(f"line 1: unknown broker {str(broker)[:40]!r}")
        scenario = NetScenario.from_json(head.get("scenario"))
        for number, line in enumerate(lines[1:], 2):
            if line.startswith('{"decisions":'):
                decisions = json.loads(line)["decisions"]
                if not (isinstance(decisions, list) and all(
                        isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 10_000
                        for d in decisions)):
                    raise TraceError(f"line {number}: decisions must be thread ids")
                return scenario, str(broker), decisions
    except RecursionError:
        raise TraceError("JSON nested too deeply") from None
    except (ValueError, ScenarioError) as exc:
        if isinstance(exc, TraceError):
            raise
        raise TraceError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    raise TraceError("no decisions line")


def replay(text: str) -> tuple[Outcome, bool]:
    """Re-run a trace with its decisions; True if the new trace is the same byte for byte."""
    scenario, broker, decisions = load_trace(text)
    outcome = run(scenario, broker, decisions)
    return outcome, outcome.trace == text
