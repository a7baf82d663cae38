"""Cross-process fan-out on one Redis server: refimpl's networked broker vs raw redis-py.

One sender process and 1, 2, 4 receiving processes (``bench.redis_child``), for each of:
refimpl (``RedisMessageBroker``: ``Channel.send`` in one process, a ``Channel`` handler in
each other), raw redis-py ``XADD``/``XREAD BLOCK`` on a stream (the same Redis mechanism
without refimpl) and raw Redis pub/sub (``PUBLISH``/``SUBSCRIBE``: no history, at most once,
the usual "fast" choice). All on one server started here on a free loopback port (or
``CHANSPEC_REDIS_URL``), in one run, so the ratios compare like with like.

Two phases per run: a *burst* (``messages`` sent at once: throughput = deliveries across all
receivers / time from the first send to the last delivery) and a *paced* phase (one message
every ``interval`` s: delivery latency, send call to handler, p50 and p99 over all receivers).

Targets (ratios to raw XADD/XREAD, the named peer): throughput >= 1/3 of it at every process
count; p99 latency <= 10x (a network hop should cost about what it costs raw Redis). The raw
sender makes one ``XADD`` round trip per message, as a plain redis-py loop does; refimpl's adds
the messages waiting in its queue in one ``MULTI``/``XADD``.../``EXEC`` and reads them back
with one ``XREAD`` (P1), so under a burst it can beat it. Pub/sub rows are informational (a
weaker delivery guarantee).
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from statistics import quantiles
from typing import Any

import redis

from bench.figure import Figure, Measurement, Table, ratio
from examples.redis_server import RedisServer

__all__ = ["NAME", "measure", "run"]

NAME = "redis"
KINDS = ("refimpl", "streams", "streams-pipelined", "pubsub")
PEER = {
    "streams": "redis-py XADD/XREAD",
    "streams-pipelined": "redis-py XADD/XREAD, XADDs pipelined 256 at a time",
    "pubsub": "redis-py pub/sub",
}
THROUGHPUT_TARGET = 1 / 3
P99_TARGET = 10.0
ROOT = Path(__file__).resolve().parents[1]


class _Child:
    """A ``bench.redis_child`` process whose stdout lines are read by a thread."""

    def __init__(self, config: dict[str, Any], role: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.redis_child", json.dumps(config), role],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put("")  # end of output

    def line(self, timeout: float) -> str:
        try:
            text = self.lines.get(timeout=timeout)
        except queue.Empty:
            text = ""
        if not text:
            self.proc.kill()
            error = self.proc.communicate()[1] if self.proc.stderr else ""
            raise RuntimeError(f"bench.redis_child gave no answer: {error[-1500:]}")
        return text

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def one_run(url: str, kind: str, receivers: int, config: dict[str, Any]) -> dict[str, Any]:
    """Both phases for *kind* with *receivers* processes: the figures of each phase."""
    config = {**config, "kind": kind, "url": url, "stream": f"bench:{uuid.uuid4().hex[:12]}"}
    timeout = float(config["idle"]) * 3 + 30
    recv = [_Child(config, "recv") for _ in range(receivers)]
    sender = _Child(config, "send")
    try:
        for child in (*recv, sender):
            if child.line(timeout) != "ready":
                raise RuntimeError("bench.redis_child did not start")
        result: dict[str, Any] = {}
        for phase in ("burst", "paced"):
            sender.tell(phase)
            sent = json.loads(sender.line(timeout))
            got = [json.loads(child.line(timeout)) for child in recv]
            result[phase] = _phase(sent, got)
        return result
    finally:
        for child in (sender, *recv):
            child.finish()


def _phase(sent: dict[str, int], got: list[dict[str, Any]]) -> dict[str, Any]:
    delivered = sum(g["received"] for g in got)
    last = max((g["last_ns"] for g in got if g["last_ns"]), default=None)
    seconds = (last - sent["start_ns"]) / 1e9 if last else None
    latencies = sorted(x for g in got for x in g["lat_us"])
    cuts = quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else None
    return {
        "deliveries_per_s": delivered / seconds if seconds else None,
        "p50_ms": cuts[49] / 1000 if cuts else None,
        "p99_ms": cuts[98] / 1000 if cuts else None,
        "lost": sum(g["expected"] - g["received"] for g in got),
        "duplicates": sum(g["duplicates"] for g in got),
        "out_of_order": sum(g["out_of_order"] for g in got),
    }


def measure(
    messages: int = 4000,
    paced: int = 400,
    interval: float = 0.005,
    processes: tuple[int, ...] = (1, 2, 4),
    idle: float = 10.0,
) -> Measurement:
    config = {"messages": messages, "paced": paced, "interval": interval, "idle": idle}
    runs: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in KINDS}
    with tempfile.TemporaryDirectory() as tmp, RedisServer(Path(tmp), persist=False) as server:
        for n in processes:
            for kind in KINDS:
                runs[kind][n] = one_run(server.url, kind, n, config)
        external = bool(server.external)
        client = redis.Redis.from_url(server.url)
        versions = (
            f"redis-server {client.info('server')['redis_version']}, redis-py {redis.__version__}"
        )
        client.close()
    m = Measurement(NAME, "Cross-process fan-out on one Redis server (refimpl vs raw redis-py)")
    m.raw = {"config": config, "processes": list(processes), "runs": runs}
    m.notes += [
        f"1 sender process + N receiving processes (N = {', '.join(map(str, processes))}), one "
        f"subscription each; burst of {messages:,} messages, then {paced:,} paced every "
        f"{interval * 1000:g} ms; {versions} "
        f"({'at CHANSPEC_REDIS_URL' if external else 'started here, no persistence'}). "
        "All kinds run in this one run: read the ratios, not the absolute figures.",
        "Latency is send() call to handler start, on CLOCK_MONOTONIC (one clock for all "
        "processes of this machine). refimpl's broker polls the stream between waits for a "
        "local message: 1 ms after a read that found entries, doubling up to 20 ms while none "
        "come (POLL_MIN, POLL in refimpl/redis_broker.py), so under traffic a remote message is "
        "noticed within a few ms and an idle process makes at most 50 reads a second.",
        "Throughput: the raw streams sender makes one XADD round trip per message (a plain "
        "redis-py loop), the pipelined one sends a burst's XADDs 256 to a pipeline (the "
        "fairer ceiling for a batching broker); refimpl's sender adds the messages waiting "
        "in its queue in one MULTI/XADD.../EXEC and reads them back with one XREAD, and a "
        "receiver reads again only once it has taken the entries read before.",
    ]
    top = max(processes)

    def throughput(n: int, kind: str, key: str, label: str, target: float | None) -> Figure:
        """refimpl's burst deliveries/s to *n* processes against *kind*'s."""
        ours = runs["refimpl"][n]["burst"]["deliveries_per_s"]
        peer = runs[kind][n]["burst"]["deliveries_per_s"]
        r = ratio(ours, peer)
        return Figure(
            f"{NAME}.{key}",
            label,
            ours,
            "deliveries/s",
            PEER[kind],
            peer,
            r,
            "none set" if target is None else f">= {target:.2g}x raw XADD/XREAD",
            None if target is None else r is not None and r >= target,
        )

    for n in processes:
        label = f"Redis fan-out to {n} process(es): deliveries/s"
        m.figures.append(
            throughput(n, "streams", f"deliveries_per_s_{n}", label, THROUGHPUT_TARGET)
        )
    for n in processes:  # the fairer ceiling: raw streams that batch their XADDs as refimpl does
        label = f"Redis fan-out to {n} process(es): deliveries/s, against pipelined XADDs"
        m.figures.append(
            throughput(n, "streams-pipelined", f"deliveries_per_s_{n}_pipelined", label, None)
        )
    label = f"Redis fan-out to {top} processes: deliveries/s"
    m.figures.append(throughput(top, "pubsub", "deliveries_per_s_pubsub", label, None))
    for kind in ("streams", "pubsub"):
        for q in ("p50", "p99"):
            ours = runs["refimpl"][top]["paced"][f"{q}_ms"]
            peer = runs[kind][top]["paced"][f"{q}_ms"]
            r = ratio(ours, peer)
            scored = kind == "streams" and q == "p99"
            m.figures.append(
                Figure(
                    f"{NAME}.latency_{q}" + ("" if kind == "streams" else "_pubsub"),
                    f"Redis delivery latency {q}, {top} processes",
                    ours,
                    "ms",
                    PEER[kind],
                    peer,
                    r,
                    f"<= {P99_TARGET:g}x raw XADD/XREAD" if scored else "none set",
                    (r is not None and r <= P99_TARGET) if scored else None,
                )
            )
    exact = sum(
        runs["refimpl"][n][phase][k]
        for n in processes
        for phase in ("burst", "paced")
        for k in ("lost", "duplicates", "out_of_order")
    )
    peer_exact = sum(
        runs["streams"][n][phase][k]
        for n in processes
        for phase in ("burst", "paced")
        for k in ("lost", "duplicates", "out_of_order")
    )
    m.figures.append(
        Figure(
            f"{NAME}.losses",
            "Redis fan-out: lost + duplicated + out-of-order deliveries (all runs)",
            exact,
            "deliveries",
            PEER["streams"],
            peer_exact,
            None,
            "0 for refimpl",
            exact == 0,
        )
    )
    table = Table(
        "Every run (burst: deliveries/s; paced: latency)",
        [
            "kind",
            "processes",
            "deliveries/s",
            "p50 ms",
            "p99 ms",
            "lost",
            "duplicates",
            "out of order",
        ],
    )
    for n in processes:
        for kind in KINDS:
            b, p = runs[kind][n]["burst"], runs[kind][n]["paced"]
            table.rows.append(
                [
                    kind,
                    n,
                    _round(b["deliveries_per_s"]),
                    _round(p["p50_ms"], 3),
                    _round(p["p99_ms"], 3),
                    b["lost"] + p["lost"],
                    b["duplicates"] + p["duplicates"],
                    b["out_of_order"] + p["out_of_order"],
                ]
            )
    m.tables.append(table)
    return m


def _round(value: float | None, digits: int = 0) -> float | None:
    return None if value is None else round(value, digits)


def run(quick: bool) -> Measurement:
    if quick:
        return measure(messages=200, paced=40, idle=5.0)
    return measure()
