"""Progress: is the implementation still working on something the history makes certain?

``unresolved(history)`` counts the MUST pairs of section 17 recorded so far that have
neither a ``start`` nor any ``drop`` (of the pair or of the whole message). The
simulated settle (``sim.env.SimEnv.settle``) keeps the virtual clock moving while it
is not zero, so that an implementation whose idle workers poll -- making progress only
as time passes -- is judged after it had the time to finish, not before. The loss
rules themselves (``delivery``) decide what an unresolved pair means.
"""

from __future__ import annotations

from sim.history import History
from sim.oracle.index import KEY, build_index

__all__ = ["unresolved"]


def unresolved(history: History) -> int:
    ix = build_index(history)
    dropped_pairs = {ix.events[i].msg * KEY + ix.events[i].sub for i in ix.drops}
    dropped_msgs = {ix.events[i].msg for i in ix.drops if ix.events[i].sub < 0}
    count = 0
    for m, c in ix.send_call.items():
        r = ix.send_ret.get(m)
        if r is None or m in dropped_msgs:
            continue
        for w in ix.matching.get(ix.msg_topic[m], ()):
            key = m * KEY + w.sub
            if (
                c > w.sub_ret
                and r < w.unsub_call
                and key not in ix.first_start
                and key not in dropped_pairs
            ):
                count += 1
    return count
