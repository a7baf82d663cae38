"""Internal topics (I1, I2): subscribers of ``lona.channels.*`` (or ``*``) hear of subscriptions.

The driver's handler records a delivery without a driver message id as ``internal``,
with the delivered topic and, after a newline, the data's ``topic``. Notices carry no
id, so they are counted, per subscription and data topic:

* [I1] every ``subscribe()`` of topic *X* that returned sends one notice
  ``lona.channels.subscribe`` ``{'topic': X}``; a subscription *s* matching that topic
  must receive it when *s* subscribed before the call began and did not begin to
  unsubscribe before the call's quiescent point (a notice queued for a subscription that
  is being unsubscribed may be dropped, W3), and *s* itself must receive its own. Not
  when the call returned after ``shutdown()`` began (I3 suppresses
  notices while closing) or without a quiescent point after it.
* [I2] likewise for every ``unsubscribe()`` that certainly ended a subscription of topic
  *X* (no other call on the same channel object overlaps it), except that the channel
  that unsubscribed must not receive its own notice.

Checked only in histories whose recorder says it records notices (``History.notices``).
A subscription that received fewer notices for *X* than it must is reported once, with
the calls it should have heard of. (Counting is sound, not complete: an extra notice
for one call can hide a missing one for another.)
"""

from __future__ import annotations

from refimpl.topics import match
from sim.oracle.delivery import QuiescentPoints
from sim.oracle.index import HistoryIndex, SubWindow
from sim.oracle.topics import notice_topic
from sim.oracle.verdict import Findings

__all__ = ["CLAUSES", "SUBSCRIBE", "UNSUBSCRIBE", "check_internal"]

CLAUSES = ("I1", "I2")
SUBSCRIBE = "lona.channels.subscribe"
UNSUBSCRIBE = "lona.channels.unsubscribe"


def check_internal(ix: HistoryIndex, found: Findings, complete: bool) -> None:
    if not complete or not ix.history.notices:
        return
    listeners = [
        w
        for w in ix.windows.values()
        if w.sub not in ix.sub_err
        and (match(ix.sub_topic[w.sub], SUBSCRIBE) or match(ix.sub_topic[w.sub], UNSUBSCRIBE))
    ]
    if not listeners:
        return
    received: dict[tuple[int, str, str], int] = {}
    for i in ix.internals:
        e = ix.events[i]
        topic, about = notice_topic(e.info)
        key = (e.sub, topic, about)
        received[key] = received.get(key, 0) + 1
    quiet = QuiescentPoints(ix)
    closing = ix.shutdown_call if ix.shutdown_call >= 0 else ix.never
    calls = _subscribe_calls(ix, closing) + _unsubscribe_calls(ix, closing)
    for w in listeners:
        own = ix.sub_topic[w.sub]
        owed: dict[tuple[str, str], list[int]] = {}
        for notice, sub, call, ret in calls:
            q = quiet.after(ret)
            if not match(own, notice) or q < 0 or w.unsub_call < q:
                continue  # no quiescent point, or it may have been dropped as unsubscribed
            itself = notice == SUBSCRIBE and sub == w.sub
            if itself or (sub != w.sub and w.sub_ret < call):
                owed.setdefault((notice, ix.sub_topic[sub]), []).append(ret)
        for (notice, about), rets in sorted(owed.items()):
            got = received.get((w.sub, notice, about), 0)
            if got < len(rets):
                clause = "I1" if notice == SUBSCRIBE else "I2"
                verb = "subscribe" if notice == SUBSCRIBE else "unsubscribe"
                found.add(
                    clause,
                    -1,
                    w.sub,
                    (rets[0], quiet.after(rets[-1])),
                    f"{found.sub(w.sub)} received {got} {notice!r} notice(s) about {about!r}, "
                    f"but {len(rets)} {verb}() call(s) of that topic returned while it was "
                    f"subscribed (events {', '.join(map(str, rets))})",
                )


def _subscribe_calls(ix: HistoryIndex, closing: int) -> list[tuple[str, int, int, int]]:
    """(notice, sub, call, ret) of every subscribe() that returned before closing began."""
    return [
        (SUBSCRIBE, s, ix.sub_call.get(s, -1), ret)
        for s, ret in ix.sub_ret.items()
        if ret < closing and s in ix.sub_call
    ]


def _unsubscribe_calls(ix: HistoryIndex, closing: int) -> list[tuple[str, int, int, int]]:
    """(notice, sub, call, ret) of every unsubscribe() that certainly ended subscription sub."""
    by_object: dict[int, list[SubWindow]] = {}
    for w in ix.windows.values():
        if w.sub not in ix.sub_err:
            by_object.setdefault(ix.obj(w.sub), []).append(w)
    calls_of: dict[int, list[tuple[int, int]]] = {}
    for s, call in ix.unsub_calls:
        calls_of.setdefault(ix.obj(s), []).append((call, ix.unsub_rets.get(call, ix.never)))
    out = []
    for obj, unsubs in calls_of.items():
        subs = by_object.get(obj, [])
        for call, ret in unsubs:
            if ret >= closing:
                continue
            if any(w.sub_call < ret and w.sub_ret > call for w in subs) or any(
                (c, r) != (call, ret) and c < ret and r > call for c, r in unsubs
            ):
                continue  # a concurrent call on the object: which one ended what is unknown
            before = [w for w in subs if w.sub_ret < call]
            if not before:
                continue
            last = max(before, key=lambda w: w.sub_ret)
            # it ended `last` only if nothing else can have ended it first: an earlier
            # unsubscribe() that returned after `last`'s subscribe() began may have
            # taken effect after it (even one that began before it returned)
            if any(
                (c, r) != (call, ret) and c < call and r > last.sub_call for c, r in unsubs
            ):
                continue
            out.append((UNSUBSCRIBE, last.sub, call, ret))
    return out
