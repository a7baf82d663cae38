"""The oracle's benchmark fixture: a large legal history, and the rate at which it is checked.

``synthetic_history`` builds a deterministic legal history of any size, shaped like a
busy run (four senders, two brokers, three workers, an unsubscribe half-way, a settle
every 500 messages, a shutdown at the end); ``bench_events_per_second`` checks it.
"""

from __future__ import annotations

import random
import time

from refimpl.topics import match
from sim.history import History, MessageInfo
from sim.oracle import check

__all__ = ["bench_events_per_second", "synthetic_history"]

_BENCH_TOPICS = ("a.*", "a.b", "*", "a.?", "b.c", "b.*", "c")
_BENCH_SEND_TOPICS = ("a.b", "a.c", "b.c", "a.bc", "c", "b.d")


def synthetic_history(n_events: int = 200_000, seed: int = 0) -> History:
    """A legal history of about *n_events* events, deterministic for a given *seed*.

    Four sender threads send on a handful of topics; each message is routed by one of
    two brokers and delivered to every matching subscription by one of three workers,
    each subscription's deliveries in send order and one at a time; a delivery is
    sometimes deferred past later sends. One subscription unsubscribes half-way (its
    pending deliveries are dropped as unsubscribed); every 500 messages the driver
    settles; the run ends with a shutdown.
    """
    rnd = random.Random(seed)
    h = History()
    add = h.add
    now = 0.0
    for s, topic in enumerate(_BENCH_TOPICS):
        h.topics[s] = topic
        add(now, 0, "sub_call", sub=s, info=topic)
        add(now, 0, "sub_ret", sub=s)
    subs = list(range(len(_BENCH_TOPICS)))
    matches = {t: [s for s in subs if match(t, _BENCH_TOPICS[s])] for t in _BENCH_SEND_TOPICS}
    pending: list[tuple[int, list[int], bool]] = []  # (msg, subs, expiring) not yet delivered
    unsubscribed = -1
    msg = 0
    seq = 0

    def deliver(m: int, targets: list[int], expiring: bool) -> None:
        add(now, 10 + m % 2, "route", m, info=str(len(targets)))
        for s in targets:
            if s == unsubscribed:
                add(now, 10 + m % 2, "drop", m, s, "unsubscribed")
                continue
            worker = 20 + rnd.randrange(3)
            add(now, worker, "start", m, s)
            add(now, worker, "end", m, s)

    while len(h.events) < n_events:
        thread = 1 + rnd.randrange(4)
        topic = _BENCH_SEND_TOPICS[rnd.randrange(len(_BENCH_SEND_TOPICS))]
        expiring = rnd.random() < 0.1
        expiry = now + 1000.0 if expiring else None
        h.messages[msg] = MessageInfo(topic, expiry, False, False, thread)
        add(now, thread, "send_call", msg, info=topic)
        add(now, thread, "send_ret", msg, info=str(seq))
        pending.append((msg, matches[topic], expiring))
        msg += 1
        seq += 1 + (rnd.random() < 0.05)  # internal messages take seqs too
        while pending and (len(pending) > 3 or rnd.random() < 0.6):
            deliver(*pending.pop(0))
        if msg == 2000:  # pending deliveries to subscription 2 are dropped from now on
            unsubscribed = 2
            add(now, 1, "unsub_call", sub=2)
            add(now, 1, "unsub_ret", sub=2)
            matches = {t: [s for s in v if s != 2] for t, v in matches.items()}
        if msg % 500 == 0:
            while pending:
                deliver(*pending.pop(0))
            add(now, 0, "settle_call")
            add(now, 0, "settle_ret")
            now += 0.5
    while pending:
        deliver(*pending.pop(0))
    add(now, 0, "shutdown_call")
    add(now, 0, "shutdown_ret")
    return h


def bench_events_per_second(n_events: int = 200_000) -> float:
    """Check a synthetic legal history of about *n_events* events; return events per second.

    The best of three checks, so that a busy machine disturbs the figure less.
    """
    history = synthetic_history(n_events)
    elapsed = float("inf")
    for _ in range(3):
        begin = time.perf_counter()
        verdict = check(history)
        elapsed = min(elapsed, time.perf_counter() - begin)
        if not verdict.ok:
            raise AssertionError("the synthetic history should be legal:\n" + verdict.summary())
    return len(history.events) / max(elapsed, 1e-9)
