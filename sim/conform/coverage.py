"""What a history exercised, clause by clause: a clause is "conforms" only if it was tested.

A clean verdict on a clause means nothing if no history gave the clause a chance to
break: O2 needs a subscription that ran two messages, S4 a send that began while the
runtime was draining, E2 a message whose deadline passed while it waited. ``exercise``
counts, in one history, the occasions each clause's obligations were put to the test,
read from the same events the oracle judges (see ``specs/observability.md``, generated
from ``sim.conform.observability``). Conformance reports "not exercised" for a checked
clause that no run exercised.
"""

from __future__ import annotations

from collections import Counter

from refimpl.topics import is_pattern, match
from sim.history import History
from sim.oracle import Verdict

__all__ = ["exercise"]


def exercise(history: History, verdict: Verdict) -> Counter[str]:
    """Occasions, per clause, on which *history* could have shown a violation."""
    n: Counter[str] = Counter()
    ob = verdict.obligations
    n["W1"] += ob.must - ob.unchecked
    n["D2"] += ob.must - ob.unchecked
    n["V2"] += ob.must - ob.unchecked  # a worker killed by accepted input shows as a loss here
    n["W2"] += ob.must_not
    n["T4"] += ob.must + ob.may + ob.must_not
    n["W3"] += ob.may
    events = history.events
    messages = history.messages
    sdc = next((e.index for e in events if e.kind == "shutdown_call"), -1)
    sdr = next((e.index for e in events if e.kind == "shutdown_ret"), -1)
    starts_per_sub: Counter[int] = Counter()
    started: set[int] = set()
    resolved: set[int] = set()  # messages started or dropped somewhere
    accepted: list[int] = []
    depth: Counter[int] = Counter()
    in_flight = 0  # accepted, neither started nor dropped yet
    for e in events:
        kind = e.kind
        if kind == "send_call":
            if sdc >= 0 and e.index > sdc and (sdr < 0 or e.index < sdr):
                n["S4"] += 1  # a send while draining: accepted or rejected, both decide S4
            if sdr >= 0 and e.index > sdr:
                n["S5"] += 1
        elif kind == "send_ret":
            accepted.append(e.msg)
            in_flight += 1
            if len(accepted) >= 2:
                n["O1"] += 1
        elif kind == "sub_call" or kind == "unsub_call":
            if in_flight > 0:
                n["W4"] += 1  # the registry changes while a sent message may not be routed
        elif kind == "start":
            depth[e.thread] += 1
            starts_per_sub[e.sub] += 1
            started.add(e.msg)
            if e.msg not in resolved:
                resolved.add(e.msg)
                in_flight -= 1
            n["D1"] += 1
            n["C1"] += 1
            n["C2"] += 1
            n["C3"] += 1
            if starts_per_sub[e.sub] >= 2:
                n["O2"] += 1
                n["O3"] += 1
            info = messages.get(e.msg)
            topic = history.topics.get(e.sub)
            if info is not None:
                if info.expiry is not None:
                    n["E2"] += 1
                if info.local:
                    n["L1"] += 1
                if topic is not None and topic == info.topic and is_pattern(topic):
                    n["T6"] += 1  # a pattern sent to itself matches in more than one way
            if sdr >= 0 and e.index > sdr:
                n["S6"] += 1
        elif kind == "end":
            depth[e.thread] -= 1
        elif kind == "drop":
            reason = e.info
            if e.msg not in resolved:
                resolved.add(e.msg)
                in_flight -= 1
            if reason == "expired":
                n["E2"] += 1
                n["E3"] += 1
            elif reason == "shutdown":
                n["S3"] += 1
            elif reason == "unsubscribed":
                n["W3"] += 1
        elif kind == "internal":
            topic = history.topics.get(e.sub, "")
            if match(e.info, topic):
                n["I1" if e.info.endswith(".subscribe") else "I2"] += 1
    for info in messages.values():
        if info.expiry is not None:
            n["E3"] += 1  # an expiring message: an early or unreported expiry drop shows
    if sdr >= 0:
        n["S1"] += len(accepted)  # each accepted message had to be drained before the return
        n["S6"] += 1
        for m in accepted:
            info = messages.get(m)
            if info is not None and not info.droppable and info.expiry is None:
                n["S2"] += 1
    for m in accepted:
        info = messages.get(m)
        if info is not None and info.droppable:
            n["S3"] += 1  # droppable: a drop while running (S3) or at shutdown shows
    return n
