"""Expiry (E2, E3): no handler starts at or after its message's deadline; no early drops.

[E2] a ``start`` at a time >= expiry + tolerance. [E3] a ``drop`` ``expired`` at a time
< expiry - tolerance, or of a message without expiry. Times are compared on a
1 microsecond grid, the resolution of the implementations' ``datetime`` clock, so a
deadline such as 0.1 + 0.2 compares equal to the implementation's 0.3. The tolerance
(real threads) covers the driver's and the implementation's clocks being read at
slightly different moments.
"""

from __future__ import annotations

from sim.oracle.index import HistoryIndex
from sim.oracle.verdict import Findings

__all__ = ["CLAUSES", "check_expired_drop", "check_late_starts", "us"]

CLAUSES = ("E2", "E3")


def us(x: float) -> int:
    """A time on the 1-microsecond grid of the implementations' clocks."""
    return round(x * 1_000_000)


def check_late_starts(ix: HistoryIndex, found: Findings) -> None:
    events, messages, tolerance = ix.events, ix.messages, ix.tolerance
    for i in ix.expiring_starts:
        e = events[i]
        exp = messages[e.msg].expiry
        assert exp is not None
        if us(e.time) >= us(exp + tolerance):
            found.add(
                "E2",
                e.msg,
                e.sub,
                (i,),
                f"{found.sub(e.sub)} started message {e.msg} at {e.time:g}, at or after "
                f"its expiry {exp:g} (tolerance {tolerance:g})",
            )


def check_expired_drop(ix: HistoryIndex, found: Findings, i: int, where: str) -> None:
    """Drop event *i* has reason ``expired``: was the message expired by then?"""
    e = ix.events[i]
    info = ix.messages.get(e.msg)
    deadline = None if info is None else info.expiry
    if deadline is None:
        found.add(
            "E3",
            e.msg,
            e.sub,
            (i,),
            f"message {e.msg} was dropped {where} as expired, but it has no expiry",
        )
    elif us(e.time) < us(deadline - ix.tolerance):
        found.add(
            "E3",
            e.msg,
            e.sub,
            (i,),
            f"message {e.msg} was dropped {where} as expired at {e.time:g}, before its "
            f"expiry {deadline:g} (tolerance {ix.tolerance:g})",
        )
