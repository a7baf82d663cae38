"""The subscription window (W2, W3, section 17): which (message, subscription) pairs are
MUST, MAY or MUST NOT, and the starts that the window forbids.

For every message *m* and subscription *s* whose topics match (T4), the pair is

* MUST NOT when *m*'s ``send_ret`` precedes *s*'s ``sub_call``, or *m*'s ``send_call``
  follows *s*'s ``unsub_ret``, or *m* was rejected (``send_err``);
* MUST when *m* was accepted, its ``send_call`` follows ``sub_ret`` and (*s* was never
  unsubscribed or *m*'s ``send_ret`` precedes ``unsub_call``);
* MAY otherwise (the send was concurrent with subscribe or unsubscribe).

``SubWindow`` says which unsubscribe calls count (several subscriptions may share one
channel object). A subscription whose ``subscribe()`` raised (``sub_err``) has no window.

Rules:

* [W2] a ``start`` of a MUST NOT pair, or before the subscription's ``sub_call``; for a
  rejected message [S5] if its ``send_call`` follows ``shutdown_ret``, else [S4]. When the
  message was sent before a *re-subscription* of the same channel object began, the text
  says so: the new handler ran a message of an earlier subscription.
* [W2] a ``start`` of a subscription whose ``subscribe()`` raised.
* [W3] (section 17, step 4) a ``start`` of *s* after ``unsubscribe()`` certainly ended
  *s* (its ``unsub_ret``), of a message sent before that: no handler of a subscription
  starts after its ``unsubscribe()`` returned. On real threads a start recorded less
  than the tolerance after ``unsub_ret`` is excused (the handler records its start a
  moment after the implementation's last check).
* [W3] a ``drop`` ``unsubscribed`` of the whole message, or of a subscription without an
  ``unsub_call`` before the drop.
"""

from __future__ import annotations

import bisect

from sim.oracle import delivery
from sim.oracle.index import KEY, HistoryIndex, SubWindow
from sim.oracle.verdict import Findings, Obligations

__all__ = ["CLAUSES", "check_after_unsubscribe", "check_pairs", "check_unsubscribed_drop"]

CLAUSES = ("W2", "W3")


def check_pairs(
    ix: HistoryIndex,
    found: Findings,
    ob: Obligations,
    complete: bool,
    pair_drops: dict[int, list[int]],
    msg_drops: dict[int, list[int]],
) -> int:
    """Classify every matching pair, judge its start and (MUST pairs) its loss.

    Returns how many starts belong to matching, sent pairs (the rest may be T4).
    """
    first_start, send_ret = ix.first_start, ix.send_ret
    quiet = delivery.QuiescentPoints(ix)
    quiet_calls, quiet_rets, n_quiet, sdr = (
        quiet.calls,
        quiet.rets,
        len(quiet.calls),
        ix.shutdown_ret,
    )
    paired = 0
    must = may = must_not = unchecked = 0
    for m, c in ix.send_call.items():
        recs = ix.matching.get(ix.msg_topic[m], ())
        if not recs:
            continue
        r = send_ret.get(m)
        base = m * KEY
        if r is None:  # rejected, or the history ends inside the send
            rejected = m in ix.send_err
            for w in recs:
                st = first_start.get(base + w.sub)
                if rejected or c > w.unsub_ret:
                    must_not += 1
                    if st is not None:
                        paired += 1
                        _forbidden_start(ix, found, m, w, st)
                else:
                    may += 1
                    if st is not None:
                        paired += 1
                        if st < w.sub_call:
                            _forbidden_start(ix, found, m, w, st)
            continue
        if not complete:
            q = -1
        else:  # quiet.after(r), inlined
            k = bisect.bisect_right(quiet_calls, r)
            q = quiet_rets[k] if k < n_quiet else (sdr if r < sdr else -1)
        for w in recs:
            s = w.sub
            st = first_start.get(base + s)
            if st is not None:
                paired += 1
                if r < w.sub_call or c > w.unsub_ret or st < w.sub_call:
                    _forbidden_start(ix, found, m, w, st)
            if r < w.sub_call or c > w.unsub_ret:
                must_not += 1
            elif c > w.sub_ret and r < w.unsub_call:
                must += 1
                if q < 0:
                    unchecked += 1
                elif st is None or st > q:
                    delivery.check_loss(
                        ix,
                        found,
                        m,
                        w,
                        st,
                        r,
                        q,
                        pair_drops.get(base + s, ()),
                        msg_drops.get(m, ()),
                    )
            else:
                may += 1
    ob.must, ob.may, ob.must_not, ob.unchecked = must, may, must_not, unchecked
    return paired


def _forbidden_start(ix: HistoryIndex, found: Findings, m: int, w: SubWindow, st: int) -> None:
    """*w*'s subscription started *m* although the pair is MUST NOT (or before subscribing)."""
    s = w.sub
    c = ix.send_call[m]
    r = ix.send_ret.get(m)
    sdr = ix.shutdown_ret
    if m in ix.send_err:
        e = ix.send_err[m]
        if sdr >= 0 and c > sdr:
            found.add(
                "S5",
                m,
                s,
                (sdr, c, e, st),
                f"{found.sub(s)} received message {m}, whose send after shutdown() "
                f"returned was rejected",
            )
        else:
            found.add(
                "S4",
                m,
                s,
                (c, e, st),
                f"{found.sub(s)} received message {m}, whose send was rejected",
            )
    elif r is not None and r < w.sub_call:
        found.add(
            "W2",
            m,
            s,
            (r, w.sub_call, st),
            f"{found.sub(s)} received message {m}, whose send returned before subscribe() began"
            + _earlier_subscription(ix, m, s),
        )
    elif c > w.unsub_ret:
        found.add(
            "W2",
            m,
            s,
            (w.unsub_ret, c, st),
            f"{found.sub(s)} received message {m}, whose send began after unsubscribe() returned",
        )
    elif st < w.sub_call:
        found.add(
            "W2", m, s, (st,), f"{found.sub(s)} received message {m} before subscribe() began"
        )


def _earlier_subscription(ix: HistoryIndex, m: int, s: int) -> str:
    """Names the earlier subscription of the same channel object that *m* was meant for."""
    obj = ix.obj(s)
    r = ix.send_ret.get(m, -1)
    earlier = [
        e for e in ix.windows.values() if e.sub != s and ix.obj(e.sub) == obj and e.sub_call < r
    ]
    if not earlier:
        return ""
    old = max(earlier, key=lambda e: e.sub_call).sub
    return (
        f" (it was sent to subscription {old}, an earlier subscription of the same channel "
        f"object: the new handler ran an old message)"
    )


def check_after_unsubscribe(ix: HistoryIndex, found: Findings) -> None:
    """Section 17 step 4 / W3: no start of a subscription after its unsubscribe() returned."""
    events, never, tol = ix.events, ix.never, ix.tolerance
    for s, starts in ix.starts_of_sub.items():
        w = ix.windows.get(s)
        if w is None or w.unsub_ret == never or starts[-1] < w.unsub_ret:
            continue
        end_time = events[w.unsub_ret].time
        k = bisect.bisect_right(starts, w.unsub_ret)
        for i in starts[k:]:
            m = events[i].msg
            c = ix.send_call.get(m)
            if c is not None and c > w.unsub_ret:
                continue  # sent after the unsubscribe returned: a W2 start, judged there
            if tol and events[i].time - end_time <= tol:
                continue
            found.add(
                "W3",
                m,
                s,
                (w.unsub_ret, i),
                f"{found.sub(s)} started message {m} after its unsubscribe() returned "
                f"(event {w.unsub_ret}): a queued delivery ran a released handler",
            )
            break


def check_failed_subscribe_starts(ix: HistoryIndex, found: Findings) -> None:
    """A handler passed to a ``subscribe()`` that raised must never run."""
    for s, err in ix.sub_err.items():
        for i in ix.starts_of_sub.get(s, ()):
            m = ix.events[i].msg
            found.add(
                "W2",
                m,
                s,
                (err, i),
                f"the handler of {found.sub(s)} ran message {m}, but its subscribe() raised "
                f"({ix.events[err].info}): it never was a subscription",
            )
            break


def check_unsubscribed_drop(ix: HistoryIndex, found: Findings, i: int) -> None:
    """Drop event *i* has reason ``unsubscribed``: had an unsubscribe of it begun?"""
    e = ix.events[i]
    if e.sub < 0:
        found.add(
            "W3",
            e.msg,
            e.sub,
            (i,),
            f"message {e.msg} was dropped as a whole with reason 'unsubscribed'",
        )
        return
    w = ix.windows.get(e.sub)
    if w is None or w.unsub_call > i:
        found.add(
            "W3",
            e.msg,
            e.sub,
            (i,),
            f"message {e.msg} was dropped for {found.sub(e.sub)} as 'unsubscribed' before "
            f"its unsubscribe() began",
        )
