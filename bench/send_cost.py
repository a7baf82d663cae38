"""The cost of one ``Channel.send()`` call, refimpl vs Lona 1.16.2.

Only the sender's side is measured: no thread drains the queue while the batch runs.
refimpl: a ``Runtime`` that was never started (state NEW: sends are validated, copied,
numbered and queued exactly as when running). Lona: fresh class state and no workers
at all. Both have 10 subscribed channels on the topic (irrelevant to send's cost in
either: both route later, in the broker). Each batch gets a fresh system, so queues
never grow beyond one batch; batches alternate refimpl, Lona, refimpl, ...; the cyclic
garbage collector is off during a batch (as ``timeit`` does). The figure is the median
over batches of the batch's mean ns per call; the loop's own overhead (a ``for`` over
``range`` calling a bound method) is included for both.

Target: refimpl no slower than Lona (ratio <= 1.0).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from statistics import median
from typing import Any

from bench.figure import Figure, Measurement, Table, ratio
from bench.realthreads import LONA_PEER, lona_system

__all__ = ["NAME", "measure", "run"]

NAME = "send"
TOPIC = "bench.send"
SUBSCRIBERS = 10


def _noop(message: Any) -> None:
    return None


def _timed(send: Callable[[dict[str, int]], Any], calls: int) -> float:
    """Mean ns per call over one batch."""
    payload = {"i": 0}
    enabled = gc.isenabled()
    gc.disable()
    try:
        begin = time.perf_counter_ns()
        for _ in range(calls):
            send(payload)
        elapsed = time.perf_counter_ns() - begin
    finally:
        if enabled:
            gc.enable()
    return elapsed / calls


def _refimpl_batch(calls: int) -> float:
    from refimpl import Channel, Runtime

    runtime = Runtime()  # never started: nothing drains the queue meanwhile
    keep = [Channel(TOPIC, _noop, runtime=runtime) for _ in range(SUBSCRIBERS)]
    ns = _timed(Channel(TOPIC, runtime=runtime).send, calls)
    del keep
    return ns


def _lona_batch(calls: int) -> float:
    with lona_system(workers=0, brokers=0) as channel_class:
        keep = [channel_class(TOPIC, _noop) for _ in range(SUBSCRIBERS)]
        ns = _timed(channel_class(TOPIC).send, calls)
        del keep
    return ns


def measure(batches: int = 20, calls: int = 10_000) -> Measurement:
    samples: dict[str, list[float]] = {"refimpl": [], "lona": []}
    _refimpl_batch(min(calls, 1000))  # warm up imports and caches, not counted
    _lona_batch(min(calls, 1000))
    for _ in range(batches):
        samples["refimpl"].append(_refimpl_batch(calls))
        samples["lona"].append(_lona_batch(calls))
    ours, theirs = median(samples["refimpl"]), median(samples["lona"])
    m = Measurement(NAME, "Cost of Channel.send()")
    m.notes.append(
        f"{batches} interleaved batches of {calls:,} calls each, time.perf_counter_ns; "
        "figure = median "
        "over batches of the batch mean. refimpl: Runtime never started; Lona: no broker or task "
        "worker threads at all (nothing drains the queue during a batch); 10 subscribers; "
        "payload {'i': 0}; gc disabled during a batch."
    )
    r = ratio(ours, theirs)
    m.figures.append(
        Figure(
            f"{NAME}.ns_per_call",
            "Channel.send(): ns per call",
            ours,
            "ns/call",
            LONA_PEER,
            theirs,
            r,
            "<= 1.0x Lona (no slower)",
            r is not None and r <= 1.0,
            f"median of {batches} batch means",
        )
    )
    table = Table("Batch means (ns/call)", ["batch", "refimpl", "Lona"])
    for i, (a, b) in enumerate(zip(samples["refimpl"], samples["lona"], strict=True)):
        table.rows.append([i, round(a, 1), round(b, 1)])
    m.tables.append(table)
    m.raw = {"ns_per_call": samples}
    return m


def run(quick: bool) -> Measurement:
    return measure(calls=500 if quick else 10_000)
