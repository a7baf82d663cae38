"""Drop reports: each ``drop`` is judged by the rule of its reason, and indexed for loss.

Known reasons: ``expired`` (E3, in ``expiry``), ``shutdown`` (S2/S3, in ``shutdown``),
``unsubscribed`` (W3, in ``window``), and ``error``. D2 permits ``error`` only when
something failed inside the implementation first (a payload's copy, a custom ``run()``,
the threads' start): the history must show that failure as a ``fault`` before the drop,
or the drop is [D2] a loss blamed on an error that never happened. [D2] any other
reason. [D1] a drop of a pair, or of the whole message, that was also started.
"""

from __future__ import annotations

from sim.oracle import expiry, shutdown, window
from sim.oracle.index import KEY, HistoryIndex
from sim.oracle.verdict import Findings, Obligations

__all__ = ["CLAUSES", "check_drops"]

CLAUSES = ("D1", "D2")


def check_drops(
    ix: HistoryIndex, found: Findings, ob: Obligations
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Judge every drop; return (pair key -> drops of the pair, msg -> whole-message drops)."""
    events, first_start = ix.events, ix.first_start
    dropped = ob.dropped
    pair_drops: dict[int, list[int]] = {}
    msg_drops: dict[int, list[int]] = {}
    starts_of_msg: dict[int, list[int]] | None = None
    for i in ix.drops:
        _, _, _, _, m, s, reason = events[i]
        dropped[reason] = dropped.get(reason, 0) + 1
        if s >= 0:
            pair_drops.setdefault(m * KEY + s, []).append(i)
            st = first_start.get(m * KEY + s)
            if st is not None:
                found.add(
                    "D1",
                    m,
                    s,
                    (st, i),
                    f"{found.sub(s)} both started message {m} and reported it dropped ({reason})",
                )
        else:
            msg_drops.setdefault(m, []).append(i)
            if starts_of_msg is None:
                starts_of_msg = {}
                for j in first_start.values():
                    starts_of_msg.setdefault(events[j].msg, []).append(j)
            for j in starts_of_msg.get(m, ()):
                found.add(
                    "D1",
                    m,
                    events[j].sub,
                    (j, i),
                    f"message {m} was reported dropped as a whole ({reason}) but "
                    f"{found.sub(events[j].sub)} started it",
                )
        where = f"for {found.sub(s)}" if s >= 0 else "as a whole"
        if reason == "expired":
            expiry.check_expired_drop(ix, found, i, where)
        elif reason == "shutdown":
            shutdown.check_shutdown_drop(ix, found, i, where)
        elif reason == "unsubscribed":
            window.check_unsubscribed_drop(ix, found, i)
        elif reason == "error":
            if not ix.faults or ix.faults[0] > i:
                found.add(
                    "D2",
                    m,
                    s,
                    (i,),
                    f"message {m} was dropped {where} with reason 'error', but nothing had "
                    "failed inside the implementation before it (no fault in the history)",
                )
        else:
            found.add(
                "D2",
                m,
                s,
                (i,),
                f"message {m} was dropped {where} with reason {reason!r}, which no rule permits",
            )
    return pair_drops, msg_drops
