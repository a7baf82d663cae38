"""Delivery (D1, D2, and the loss rules of W1, S1, S2, V2): exactly once, nothing lost silently.

* [D1] two ``start`` of one pair; a ``start`` and a ``drop`` of the pair or of the whole
  message (``drop`` with sub -1) -- the latter judged in ``drops``.
* Loss. Every MUST pair must be *resolved* -- a ``start``, or a ``drop`` of the pair or
  of the whole message with a permitted reason (``expired``: the message has an expiry;
  ``shutdown``: it is droppable; ``unsubscribed``: a pair drop after the subscription's
  ``unsub_call``; ``error``: the payload's copy failed, D2) -- no later than its
  *quiescent point*: the first ``settle_ret`` whose ``settle_call`` follows
  ``send_ret(m)`` and at which no handler is running, else
  ``shutdown_ret`` if it follows ``send_ret(m)``. Without a quiescent point, or with
  ``complete=False`` (the history may lack events), the pair is not checked for loss
  (counted as ``unchecked``). Each unresolved pair is reported once, under exactly one
  clause, the first that applies:

  * [V2] a ``fault`` (an exception escaped inside the implementation, or one of its
    threads ended) precedes the quiescent point: the loss is the fault's consequence,
    and the violation names the fault;
  * resolved, but only after the quiescent point: [S1] at ``shutdown_ret``
    (``shutdown()`` returned before it drained), [D2] at a ``settle_ret``;
  * [W1] never resolved, and it has drops, none with a permitted reason (those drops
    are also reported by the drop rules);
  * never resolved and no drop at all: at ``shutdown_ret``, [S2] if the message had no
    excuse (non-droppable, no expiry), else [D2]; at a ``settle_ret``, [D2] (silent
    loss). A settle that gave up after its bound of virtual time (info ``bound=<s>``)
    says so: the implementation made no progress within the bound.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from sim.oracle.index import HistoryIndex, SubWindow
from sim.oracle.verdict import Findings

__all__ = ["CLAUSES", "QuiescentPoints", "check_loss", "check_twice"]

CLAUSES = ("W1", "D1", "D2", "S1", "V2")


class QuiescentPoints:
    """Quiescent settles ordered by ``settle_call``; ``after(r)``: the quiescent point of a
    send that returned at event *r* (-1: none)."""

    def __init__(self, ix: HistoryIndex) -> None:
        quiet = sorted((c, r) for c, r, ok in ix.settles if ok and c >= 0)
        self.calls = [c for c, _ in quiet]
        self.rets = [r for _, r in quiet]  # made a suffix minimum below
        for j in range(len(self.rets) - 2, -1, -1):
            if self.rets[j + 1] < self.rets[j]:
                self.rets[j] = self.rets[j + 1]
        self.shutdown_ret = ix.shutdown_ret

    def after(self, r: int) -> int:
        k = bisect.bisect_right(self.calls, r)
        if k < len(self.calls):
            return self.rets[k]
        if r < self.shutdown_ret:
            return self.shutdown_ret
        return -1


def check_twice(ix: HistoryIndex, found: Findings) -> None:
    events = ix.events
    for first, i in ix.twice:
        m, s = events[i].msg, events[i].sub
        found.add(
            "D1", m, s, (first, i), f"{found.sub(s)} received message {m} twice (exactly once)"
        )


def check_loss(
    ix: HistoryIndex,
    found: Findings,
    m: int,
    w: SubWindow,
    st: int | None,
    r: int,
    q: int,
    pair: Iterable[int],
    whole: Iterable[int],
) -> None:
    """MUST pair (*m*, *w.sub*) has no start by its quiescent point *q*."""
    events = ix.events
    s = w.sub
    info = ix.messages.get(m)
    expiring = info is not None and info.expiry is not None
    droppable = info is not None and info.droppable
    resolved = st  # earliest start or permitted drop
    any_drop = -1
    for i in pair:
        reason = events[i].info
        if any_drop < 0:
            any_drop = i
        if (
            (reason == "expired" and expiring)
            or (reason == "shutdown" and droppable)
            or (reason == "unsubscribed" and w.unsub_call < i)
            or reason == "error"
        ) and (resolved is None or i < resolved):
            resolved = i
    for i in whole:
        reason = events[i].info
        if any_drop < 0 or i < any_drop:
            any_drop = i
        if (
            (reason == "expired" and expiring)
            or (reason == "shutdown" and droppable)
            or reason == "error"
        ) and (resolved is None or i < resolved):
            resolved = i
    if resolved is not None and resolved <= q:
        return
    at_shutdown = q == ix.shutdown_ret
    point = "shutdown() returned" if at_shutdown else "the settle"
    who = f"{found.sub(s)} and message {m}"
    if ix.faults and ix.faults[0] < q:
        f = ix.faults[0]
        found.add(
            "V2",
            m,
            s,
            (f, r, q),
            f"{who}: not delivered by the time {point} (event {q}) after a fault inside the "
            f"implementation at event {f} (thread {events[f].thread}: {events[f].info}); "
            f"nothing accepted may break a worker thread",
        )
        return
    bound = events[q].info
    if bound.startswith("bound="):
        point = f"the settle gave up after {bound[6:]} s of virtual time without progress"
    if resolved is not None:
        how = "started" if resolved == st else "dropped"
        if at_shutdown:
            found.add(
                "S1",
                m,
                s,
                (r, q, resolved),
                f"{who}: shutdown() returned (event {q}) before it drained; the pair was "
                f"{how} only at event {resolved}",
            )
        else:
            found.add(
                "D2",
                m,
                s,
                (r, q, resolved),
                f"{who}: not delivered and no drop reported by {point} (event {q}); "
                f"{how} only at event {resolved}",
            )
    elif any_drop >= 0:
        found.add(
            "W1",
            m,
            s,
            (r, q, any_drop),
            f"{who}: required delivery was dropped ({events[any_drop].info}) for a reason "
            f"no rule permits here",
        )
    elif at_shutdown and not droppable and not expiring:
        found.add(
            "S2",
            m,
            s,
            (r, q),
            f"{who}: non-droppable message without expiry neither delivered nor "
            f"dropped when {point} (event {q})",
        )
    else:
        found.add(
            "D2",
            m,
            s,
            (r, q),
            f"{who}: not delivered and no drop reported by the time {point} "
            f"(event {q}): silent loss",
        )
