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

from refimpl.topics import is_pattern
from sim.history import History
from sim.oracle import Verdict
from sim.oracle.internal import SUBSCRIBE, UNSUBSCRIBE
from sim.oracle.topics import notice_topic

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
    objects_seen: set[int] = set()  # channel objects subscribed so far (A2)
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
            obj = history.objects.get(e.sub)
            if kind == "sub_call" and obj is not None:
                if obj in objects_seen:
                    n["A2"] += 1  # a re-subscription, or a second subscribe(), of one object
                objects_seen.add(obj)
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
            # info is "<delivered topic>\n<the data's topic>": the notice kind is the first part
            notice, _ = notice_topic(e.info)
            if notice == SUBSCRIBE:
                n["I1"] += 1
            elif notice == UNSUBSCRIBE:
                n["I2"] += 1
        elif kind == "bad_call":
            n["V1"] += 1  # bad input at a call: accepted (bad_ret) or rejected, both decide V1
        elif kind == "sub_err":
            n["A2"] += 1  # a subscribe() that raised: justified only if the object was subscribed
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
