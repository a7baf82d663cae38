"""Copies (C1-C3): what a handler saw in its payload, as the driver's handler recorded it.

Every message carries ``{"_id", "v", "n"}``; the sender changes its dict right after
``send()`` and every handler marks its own copy, so a handler that sees the sender's
change (C1), another holder's mark (C2) or a copied nested list (C3) records its
``start`` with ``bad:<what>``. Other infos are ignored.
"""

from __future__ import annotations

from sim.oracle.index import HistoryIndex
from sim.oracle.verdict import Findings

__all__ = ["CLAUSES", "check_copies"]

CLAUSES = ("C1", "C2", "C3")

_BAD_INFO = {
    "bad:sender-change-seen": (
        "C1",
        "saw the sender's change made after send() (the broker's copy was not taken at the call)",
    ),
    "bad:other-holder-change-seen": (
        "C2",
        "saw another holder's top-level change (copies are shared between holders)",
    ),
    "bad:nested-not-shared": (
        "C3",
        "got a copied nested object (copies must be shallow: nested objects shared)",
    ),
}


def check_copies(ix: HistoryIndex, found: Findings) -> None:
    events = ix.events
    for starts in ix.starts_of_sub.values():
        for i in starts:
            info = events[i].info
            if info:
                bad = _BAD_INFO.get(info)
                if bad is not None:
                    m, s = events[i].msg, events[i].sub
                    found.add(
                        bad[0], m, s, (i,), f"{found.sub(s)}'s handler of message {m} {bad[1]}"
                    )
