"""The driver of a multi-process workload: start the nodes, inject a fault, merge, judge.

Each node is ``python -m tests.redis.node`` with its own runtime (spec P1-P8); the
driver steers phases through files, injects the fault (kill a node; restart the
server, with a node paused across the restart), then merges the nodes' histories and
hands them to ``sim.oracle.processes``. A failure prints the command that replays it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from examples.redis_server import RedisServer
from sim.oracle.processes import ProcessHistory, Violation, check_processes, load_process

ROOT = Path(__file__).resolve().parents[2]
BROKER = "refimpl.redis_broker.RedisMessageBroker"


@dataclass
class Outcome:
    violations: list[Violation]
    counts: dict[str, int]
    histories: list[ProcessHistory] = field(default_factory=list)

    def report(self, replay: str) -> str:
        lines = [f"{v.clause}: {v.text}" for v in self.violations[:20]]
        return "\n".join([*lines, f"counts: {self.counts}", f"replay: {replay}"])


def _sent(run: Path, name: str) -> int:
    path = run / f"{name}.jsonl"
    return path.read_text(encoding="utf-8").count('"send_ret"') if path.exists() else 0


def _wait(what: str, ready: object, procs: dict[str, subprocess.Popen[bytes]], run: Path,
          seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not ready():  # type: ignore[operator]
        for name, proc in procs.items():
            if proc.poll() not in (None, 0, -signal.SIGKILL):
                err = (run / f"{name}.err").read_text(encoding="utf-8")[-2000:]
                raise AssertionError(f"node {name} failed while waiting for {what}:\n{err}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def run_workload(
    run: Path,
    server: RedisServer,
    *,
    nodes: int = 3,
    sends: int = 40,
    fault: str = "none",
    broker: str = BROKER,
) -> Outcome:
    """One workload of *nodes* processes; *fault*: ``none``, ``kill`` or ``restart``."""
    names = [f"p{i}" for i in range(nodes)]
    config = {
        "dir": str(run),
        "url": server.url,
        "stream": f"chanspec-test-{uuid.uuid4().hex[:12]}",
        "broker": broker,
        "retry": 10.0,
        "topics": ["chat", "chat.*", "news"],
        "send_topics": ["chat", "chat.room", "news", "other"],
        "sends": sends,
        "local_every": 4,
        "unsubscribe": True,
        "pause": 0.01,
    }
    config_path = run / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "tests.redis.node", str(config_path), name],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(run / f"{name}.err").open("wb"),
        )
        for name in names
    }
    killed: set[str] = set()
    lost_before: tuple[int, int] | None = None
    try:
        _wait("ready", lambda: all((run / f"{n}.ready").exists() for n in names), procs, run)
        (run / "go").touch()
        if fault == "kill":
            victim = names[1]
            _wait("half the sends", lambda: _sent(run, victim) >= sends // 2, procs, run)
            procs[victim].kill()
            procs[victim].wait()
            killed.add(victim)
        elif fault == "restart":
            paused, others = names[-1], names[:-1]
            _wait("a third", lambda: all(_sent(run, n) >= sends // 3 for n in names), procs, run)
            procs[paused].send_signal(signal.SIGSTOP)
            stopped_at = server.restart()
            if not server.persist:
                lost_before = (stopped_at, 0)
            _wait("two thirds", lambda: all(_sent(run, n) >= 2 * sends // 3 for n in others),
                  procs, run)
            procs[paused].send_signal(signal.SIGCONT)
        live = [n for n in names if n not in killed]
        _wait("sent", lambda: all((run / f"{n}.sent").exists() for n in live), procs, run)
        (run / "stop").touch()
        for name in live:
            assert procs[name].wait(60) == 0, (run / f"{name}.err").read_text(encoding="utf-8")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait()
    histories = [load_process(run / f"{n}.jsonl", killed=n in killed) for n in names]
    violations, counts = check_processes(histories, lost_before=lost_before)
    return Outcome(violations, counts, histories)
