"""One delivery workload on real threads, run against refimpl and against Lona 1.16.2.

Both implementations get the *same* workload: one sender thread (the caller) sends
``{"i": i}`` for i = 0 .. n-1 on one topic that *subscribers* channels subscribe to,
each with the same handler, which appends ``i`` to its own list (``list.append`` is
atomic under the GIL, so the list is the order in which handlers *started*) and,
if asked, sleeps every *block_every*-th message. The clock runs from just before
the first ``send()`` to the moment the last delivery is known done:

* refimpl: ``Runtime.join()`` returns (every delivery finished);
* Lona: every subscriber's handler has seen its n-th message (Lona has no join;
  each handler sets its own ``threading.Event`` once its list holds n entries).

Lona is driven directly, the way its server does it and ``sim.adapters.lona_adapter``
does on real threads, but without that adapter's observation (which lowers
Lona's logger to DEBUG and reads every record, which would slow Lona down): fresh
``Channel._channels/_messages/_tasks/_lock`` class state for the run, a
``ThreadPoolExecutor(1 + 4)``, one ``MessageBroker`` and four ``TaskWorker``s
(Lona's defaults), Lona's shutdown flags afterwards, and the old state put back.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from bench.figure import Figure, Measurement, Table, ratio

__all__ = [
    "LONA_PEER",
    "RunStats",
    "SubStats",
    "analyse",
    "compare",
    "lona_system",
    "run_lona",
    "run_refimpl",
]

TOPIC = "bench.delivery"
LONA_PEER = "Lona 1.16.2"
BROKERS, WORKERS = 1, 4  # Lona's defaults, and refimpl's
STALL_SECONDS = 15.0  # Lona: give up when no delivery arrived for this long (a loss)
JOIN_TIMEOUT = 600.0

Handler = Callable[[Any], None]


@dataclass
class SubStats:
    received: int
    violations: int  #: messages that arrived after one with a higher send index
    losses: int  #: expected minus distinct received
    duplicates: int


@dataclass
class RunStats:
    impl: str
    seconds: float
    messages: int
    subs: list[SubStats] = field(default_factory=list)
    completed: bool = True  #: False: join timed out (refimpl) or deliveries stalled (Lona)

    @property
    def delivered(self) -> int:
        return sum(s.received for s in self.subs)

    @property
    def per_second(self) -> float:
        """Deliveries (one message reaching one subscriber) per second."""
        return self.delivered / self.seconds if self.seconds > 0 else 0.0

    @property
    def violations(self) -> int:
        return sum(s.violations for s in self.subs)

    @property
    def losses(self) -> int:
        return sum(s.losses for s in self.subs)


def analyse(record: list[int], expected: int) -> SubStats:
    """Order violations, losses and duplicates in one subscriber's arrival list."""
    violations = 0
    high = -1
    for index in record:
        if index < high:
            violations += 1
        else:
            high = index
    distinct = len(set(record))
    return SubStats(len(record), violations, expected - distinct, len(record) - distinct)


def _handler(
    record: list[int], done: threading.Event, expected: int, block_every: int, block_s: float
) -> Handler:
    append = record.append
    if block_every:
        last = block_every - 1

        def blocking(message: Any) -> None:
            i = message.data["i"]
            append(i)
            if i % block_every == last:
                time.sleep(block_s)
            if len(record) >= expected:
                done.set()

        return blocking

    def trivial(message: Any) -> None:
        append(message.data["i"])
        if len(record) >= expected:
            done.set()

    return trivial


def _handlers(
    subscribers: int, messages: int, block_every: int, block_s: float
) -> tuple[list[list[int]], list[threading.Event], list[Handler]]:
    records: list[list[int]] = [[] for _ in range(subscribers)]
    events = [threading.Event() for _ in range(subscribers)]
    handlers = [
        _handler(r, e, messages, block_every, block_s) for r, e in zip(records, events, strict=True)
    ]
    return records, events, handlers


def run_refimpl(
    messages: int, subscribers: int, block_every: int = 0, block_s: float = 0.0
) -> RunStats:
    from refimpl import Channel, Runtime

    records, _events, handlers = _handlers(subscribers, messages, block_every, block_s)
    runtime = Runtime(
        {"MAX_CHANNEL_MESSAGE_BROKER_THREADS": BROKERS, "MAX_CHANNEL_TASK_WORKER_THREADS": WORKERS}
    ).start()
    try:
        keep = [Channel(TOPIC, h, runtime=runtime) for h in handlers]
        runtime.join()  # the internal subscribe notifications are routed before the clock starts
        send = Channel(TOPIC, runtime=runtime).send
        gc.collect()
        begin = time.perf_counter()
        for i in range(messages):
            send({"i": i})
        completed = runtime.join(JOIN_TIMEOUT)
        seconds = time.perf_counter() - begin
    finally:
        runtime.shutdown()
    del keep
    return RunStats(
        "refimpl", seconds, messages, [analyse(r, messages) for r in records], completed
    )


@contextmanager
def lona_system(
    brokers: int = BROKERS, workers: int = WORKERS, timeout: float = 1.0
) -> Iterator[Any]:
    """A fresh Lona channel system on real threads; yields ``lona.channels.Channel``."""
    import lona.channels as lona_channels

    channel_class = lona_channels.Channel
    saved = (
        channel_class._channels,
        channel_class._messages,
        channel_class._tasks,
        channel_class._lock,
    )
    channel_class._channels = {}
    channel_class._messages = queue.Queue()
    channel_class._tasks = queue.Queue()
    channel_class._lock = threading.Lock()
    # (threads start on submit: with no workers at all, none is started)
    executor = ThreadPoolExecutor(max(1, brokers + workers), thread_name_prefix="LonaChannelWorker")
    # As lona.server.Server does at startup: brokers first, then task workers.
    lona_workers = [lona_channels.MessageBroker(None, executor, timeout) for _ in range(brokers)]
    lona_workers += [lona_channels.TaskWorker(None, executor, timeout) for _ in range(workers)]
    try:
        yield channel_class
    finally:
        for worker in lona_workers:
            worker.shutdown()  # flags only: each loop ends at its first empty non-blocking get
        executor.shutdown(wait=True)
        (
            channel_class._channels,
            channel_class._messages,
            channel_class._tasks,
            channel_class._lock,
        ) = saved


def _lona_idle(channel_class: Any) -> None:
    """Wait until the internal subscribe notifications have been taken and routed."""
    while not (channel_class._messages.empty() and channel_class._tasks.empty()):
        time.sleep(0.005)
    time.sleep(0.05)  # the broker may still be between get() and its last put()


def run_lona(
    messages: int, subscribers: int, block_every: int = 0, block_s: float = 0.0
) -> RunStats:
    records, events, handlers = _handlers(subscribers, messages, block_every, block_s)
    with lona_system() as channel_class:
        keep = [channel_class(TOPIC, h) for h in handlers]
        _lona_idle(channel_class)
        send = channel_class(TOPIC).send
        gc.collect()
        begin = time.perf_counter()
        for i in range(messages):
            send({"i": i})
        completed = _wait_all(events, records)
        seconds = time.perf_counter() - begin
    del keep
    return RunStats("lona", seconds, messages, [analyse(r, messages) for r in records], completed)


def _wait_all(events: list[threading.Event], records: list[list[int]]) -> bool:
    """True once every event is set; False if no delivery arrived for STALL_SECONDS."""
    seen = -1
    last_progress = time.monotonic()
    for event in events:
        while not event.wait(0.5):
            count = sum(len(r) for r in records)
            if count != seen:
                seen, last_progress = count, time.monotonic()
            elif time.monotonic() - last_progress > STALL_SECONDS:
                return False
    return True


RUNNERS: dict[str, Callable[..., RunStats]] = {"refimpl": run_refimpl, "lona": run_lona}


def compare(
    name: str,
    title: str,
    *,
    messages: int,
    subscribers: int,
    repeats: int,
    block_every: int = 0,
    block_s: float = 0.0,
    target_ratio: float,
) -> Measurement:
    """Interleaved runs (refimpl, Lona, refimpl, Lona, ...); the median run of each counts."""
    runs: dict[str, list[RunStats]] = {"refimpl": [], "lona": []}
    for _ in range(repeats):
        for impl, runner in RUNNERS.items():
            runs[impl].append(runner(messages, subscribers, block_every, block_s))
    ref = median(r.per_second for r in runs["refimpl"])
    lona = median(r.per_second for r in runs["lona"])
    expected = messages * subscribers
    m = Measurement(name, title)
    m.notes.append(
        f"{messages:,} messages x {subscribers} subscribers = {expected:,} deliveries per run; "
        f"{BROKERS} broker + {WORKERS} task workers (Lona's defaults) for both; "
        f"{repeats} interleaved repetitions (refimpl, Lona, refimpl, Lona, ...); the figure is the "
        "median of the repetitions' deliveries/s (a delivery = one message reaching one "
        "subscriber)."
    )
    if block_every:
        m.notes.append(
            f"Every handler sleeps {block_s * 1000:g} ms on every {block_every}th message "
            f"(send index i with i % {block_every} == {block_every - 1})."
        )
    m.notes.append(
        "Order violations: per subscriber, messages whose send index is lower than one that "
        "arrived (started its handler) before it; losses: expected minus distinct received. "
        f"Both summed over all {repeats} repetitions."
    )
    spread = {impl: sorted(r.per_second for r in rs) for impl, rs in runs.items()}
    best = ratio(spread["refimpl"][-1], spread["lona"][-1])
    m.notes.append(
        "Spread of deliveries/s over the repetitions: refimpl "
        f"{spread['refimpl'][0]:,.0f} .. {spread['refimpl'][-1]:,.0f}, Lona "
        f"{spread['lona'][0]:,.0f} .. {spread['lona'][-1]:,.0f}; best vs best: ratio "
        f"{'—' if best is None else f'{best:.2f}'} (the figure of record is the median)."
    )
    incomplete = [
        f"{r.impl} run {i}" for impl in runs for i, r in enumerate(runs[impl]) if not r.completed
    ]
    if incomplete:
        m.notes.append(
            "INCOMPLETE runs (join timed out / deliveries stalled): " + ", ".join(incomplete)
        )
    speed = ratio(ref, lona)
    m.figures.append(
        Figure(
            f"{name}.deliveries_per_s",
            f"{title}: deliveries/s",
            ref,
            "deliveries/s",
            LONA_PEER,
            lona,
            speed,
            f">= {target_ratio:g}x Lona",
            speed is not None and speed >= target_ratio,
            f"median of {repeats}",
        )
    )
    for what, attr in (("order violations", "violations"), ("losses", "losses")):
        ours = sum(getattr(r, attr) for r in runs["refimpl"])
        theirs = sum(getattr(r, attr) for r in runs["lona"])
        m.figures.append(
            Figure(
                f"{name}.{attr}",
                f"{title}: {what} (all subscribers, {repeats} runs)",
                ours,
                "messages",
                LONA_PEER,
                theirs,
                ratio(ours, theirs),
                "0 for refimpl",
                ours == 0,
            )
        )
    runs_table = Table("Runs", ["run", "impl", "seconds", "deliveries", "deliveries/s", "complete"])
    for i in range(repeats):
        for impl in RUNNERS:
            r = runs[impl][i]
            runs_table.rows.append(
                [i, impl, round(r.seconds, 3), r.delivered, round(r.per_second), r.completed]
            )
    subs_table = Table(
        f"Per subscriber, summed over {repeats} runs",
        ["subscriber", "refimpl violations", "refimpl losses", "Lona violations", "Lona losses"],
    )
    for s in range(subscribers):
        row: list[Any] = [s]
        for impl in RUNNERS:
            row += [
                sum(r.subs[s].violations for r in runs[impl]),
                sum(r.subs[s].losses for r in runs[impl]),
            ]
        subs_table.rows.append(row)
    m.tables += [runs_table, subs_table]
    m.raw = {
        impl: [
            {
                "seconds": r.seconds,
                "deliveries_per_s": r.per_second,
                "completed": r.completed,
                "subscribers": [vars(s) for s in r.subs],
            }
            for r in rs
        ]
        for impl, rs in runs.items()
    }
    return m
