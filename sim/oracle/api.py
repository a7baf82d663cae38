"""The API under bad input and concurrency (V1, A2).

* [V1] a ``bad_ret``: a call with bad input (the scenario's ``Bad`` operations) was
  accepted instead of raising at the call site. Whether the system still works after it
  is judged by every other rule (an accepted input that breaks a worker is V2).
* [A2] a ``subscribe()`` that raised (``sub_err``) although its channel object could not
  have been subscribed at the time: no other subscription of the object had begun
  before the call returned and was still possibly active when the call began.
* [A2] an ``unsubscribe()`` that raised (``unsub_ret`` info ``raised ...``): it ends the
  current subscription, or is a no-op; it never fails.
* [A2] two ``subscribe()`` calls of one channel object that both returned, with no
  unsubscribe of the object that could lie between them: a channel has one handler.
"""

from __future__ import annotations

from itertools import pairwise

from sim.oracle.index import HistoryIndex, SubWindow
from sim.oracle.verdict import Findings

__all__ = ["CLAUSES", "check_api"]

CLAUSES = ("A2", "V1")


def check_api(ix: HistoryIndex, found: Findings) -> None:
    events = ix.events
    for op, i in ix.bad_rets.items():
        call = ix.bad_calls.get(op, i)
        found.add(
            "V1",
            -1,
            -1 - op,
            (call, i),
            f"bad input {events[i].info!r} was accepted; it must raise at the call",
        )
    for call, i in ix.unsub_rets.items():
        if events[i].info.startswith("raised"):
            found.add(
                "A2",
                -1,
                events[call].sub,
                (call, i),
                f"unsubscribe() of {found.sub(events[call].sub)} {events[i].info}; it must end "
                f"the subscription or be a no-op",
            )
    if not ix.objects:
        return
    by_object: dict[int, list[SubWindow]] = {}
    for w in ix.windows.values():
        by_object.setdefault(ix.obj(w.sub), []).append(w)
    unsubs: dict[int, list[tuple[int, int]]] = {}
    for s, call in ix.unsub_calls:
        unsubs.setdefault(ix.obj(s), []).append((call, ix.unsub_rets.get(call, ix.never)))
    for obj, subs in by_object.items():
        if len(subs) < 2:
            continue
        ok = [w for w in subs if w.sub not in ix.sub_err]
        for w in subs:
            err = ix.sub_err.get(w.sub)
            if err is None:
                continue
            if not any(o.sub_call < err and o.unsub_ret > w.sub_call for o in ok):
                found.add(
                    "A2",
                    -1,
                    w.sub,
                    (w.sub_call, err),
                    f"subscribe() of {found.sub(w.sub)} raised {events[err].info} although its "
                    f"channel object was not subscribed",
                )
        ok.sort(key=lambda w: w.sub_call)
        for a, b in pairwise(ok):
            lo, hi = min(a.sub_call, b.sub_call), max(a.sub_ret, b.sub_ret)
            if hi >= ix.never:
                continue
            between = any(c < hi and r > lo for c, r in unsubs.get(obj, ()))
            if not between:
                found.add(
                    "A2",
                    -1,
                    b.sub,
                    (a.sub_call, b.sub_call, a.sub_ret, b.sub_ret),
                    f"{found.sub(a.sub)} and {found.sub(b.sub)} of one channel object were both "
                    f"subscribed, with no unsubscribe between: the second subscribe() must raise",
                )
