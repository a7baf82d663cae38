"""Faults (V2, H1): an exception escaped inside the implementation, or one of its threads ended.

The driver records a ``fault`` event when a thread the implementation started raises
(info ``raised:<thread>: <exception>``), ends before ``shutdown()`` began
(``ended:<thread>: ...``), or ends because a scenario handler raised in it
(``handler:<thread>: ...``); adapters report exceptions the implementation swallowed
(a dead worker kept in a ``Future``) as ``raised:``.

* [V2] a ``raised:`` fault: nothing accepted may cause an exception in a worker thread.
* [H1] a ``handler:`` fault: a raising handler must not end its task-worker thread.
* A quiet early end (``ended:``) is no violation by itself; ``delivery`` reports the
  losses after any fault under the fault's clause (``clause_of``), naming it.
"""

from __future__ import annotations

from sim.oracle.index import HistoryIndex
from sim.oracle.verdict import Findings

__all__ = ["CLAUSES", "check_faults", "clause_of", "describe"]

CLAUSES = ("V2", "H1")


def clause_of(info: str) -> str:
    return "H1" if info.startswith("handler:") else "V2"


def describe(info: str) -> str:
    """The fault's text without its tag."""
    tag, sep, rest = info.partition(":")
    return rest if sep and tag in ("raised", "ended", "handler") else info


def check_faults(ix: HistoryIndex, found: Findings) -> None:
    events = ix.events
    for i in ix.faults:
        info = events[i].info
        if info.startswith("raised:"):
            found.add(
                "V2",
                -1,
                -1,
                (i,),
                f"an exception escaped inside the implementation ({describe(info)}): nothing "
                f"accepted may raise in, or end, a worker thread",
            )
        elif info.startswith("handler:"):
            found.add(
                "H1",
                -1,
                -1,
                (i,),
                f"a raising handler ended its worker thread ({describe(info)}): the worker "
                f"must log it and go on",
            )
