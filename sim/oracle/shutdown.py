"""Shutdown (S2-S6): graceful drain, only handlers send while draining, nothing afterwards.

* [S6] a ``start`` after ``shutdown_ret``.
* [S5] an accepted send whose ``send_call`` follows ``shutdown_ret``; a start of a
  message whose send after ``shutdown_ret`` was rejected.
* [S4] a rejected send (``send_err``) although no ``shutdown_call`` precedes the
  ``send_err``; or, for a send made inside a handler (the sending thread was between a
  ``start`` and its ``end`` at ``send_call``), although no ``shutdown_ret`` precedes it.
  Measured at ``send_err``, not ``send_call``: a send concurrent with ``shutdown()`` may
  take effect after it. The accepted path too: a send from a non-handler thread whose
  ``send_call`` follows *proof that the runtime was closing* and precedes
  ``shutdown_ret``, yet was accepted (``send_ret``). Proof is the first event, after
  ``shutdown_call``, that only a closing runtime produces: a ``drop`` with reason
  ``shutdown``, or the ``send_err`` of a non-handler send that began after
  ``shutdown_call``. (``shutdown_call`` alone proves nothing: the runtime may begin
  closing at any instant inside the call.)
* [S3] a ``drop`` ``shutdown`` before ``shutdown_call``. [S2] a ``drop`` ``shutdown`` of
  a non-droppable message. (Losses at ``shutdown_ret`` are judged by ``delivery``.)
"""

from __future__ import annotations

from sim.history import Event
from sim.oracle.index import HistoryIndex
from sim.oracle.verdict import Findings

__all__ = ["CLAUSES", "check_shutdown", "check_shutdown_drop", "closing_proof"]

CLAUSES = ("S2", "S3", "S4", "S5", "S6")


def check_shutdown(ix: HistoryIndex, found: Findings) -> None:
    events, sdc, sdr = ix.events, ix.shutdown_call, ix.shutdown_ret
    for i in ix.late_starts:
        m, s = events[i].msg, events[i].sub
        found.add(
            "S6",
            m,
            s,
            (sdr, i),
            f"{found.sub(s)} started message {m} after shutdown() returned",
        )
    for i in ix.accepted_after_shutdown:
        m = events[i].msg
        found.add(
            "S5",
            m,
            -1,
            (sdr, ix.send_call.get(m, i), i),
            f"send of message {m} began after shutdown() returned but was accepted",
        )
    for m, i in ix.send_err.items():
        if m in ix.from_handler:
            if sdr < 0 or sdr > i:
                found.add(
                    "S4",
                    m,
                    -1,
                    (ix.send_call.get(m, -1), i),
                    f"send of message {m} from a handler was rejected before shutdown() "
                    f"returned (handlers may send while draining)",
                )
        elif sdc < 0 or sdc > i:
            found.add(
                "S4",
                m,
                -1,
                (ix.send_call.get(m, -1), i),
                f"send of message {m} was rejected ({events[i].info}) although shutdown() "
                f"had not begun",
            )
    proof = closing_proof(ix)
    if proof < 0:
        return
    for m, r in ix.send_ret.items():
        c = ix.send_call.get(m, r)
        if m in ix.from_handler or c < proof or (0 <= sdr < c):
            continue
        found.add(
            "S4",
            m,
            -1,
            (proof, c, r),
            f"send of message {m} from a non-handler thread began after the runtime was "
            f"certainly closing (event {proof}: {_what(events[proof])}) and was accepted; "
            f"it must raise ShutdownError",
        )


def closing_proof(ix: HistoryIndex) -> int:
    """The first event after ``shutdown_call`` that only a closing runtime produces, or -1."""
    sdc = ix.shutdown_call
    if sdc < 0:
        return -1
    events = ix.events
    proofs = [i for i in ix.drops if i > sdc and events[i].info == "shutdown"]
    proofs += [
        i
        for m, i in ix.send_err.items()
        if m not in ix.from_handler and ix.send_call.get(m, i) > sdc
    ]
    return min(proofs, default=-1)


def _what(e: Event) -> str:
    if e.kind == "drop":
        return f"message {e.msg} dropped for shutdown"
    return f"the send of message {e.msg} was rejected ({e.info})"


def check_shutdown_drop(ix: HistoryIndex, found: Findings, i: int, where: str) -> None:
    """Drop event *i* has reason ``shutdown``: had shutdown begun, and was it droppable?"""
    e, sdc = ix.events[i], ix.shutdown_call
    if sdc < 0 or i < sdc:
        found.add(
            "S3",
            e.msg,
            e.sub,
            (i,) if sdc < 0 else (i, sdc),
            f"message {e.msg} was dropped {where} for shutdown before shutdown() began",
        )
    info = ix.messages.get(e.msg)
    if info is not None and not info.droppable:
        found.add(
            "S2",
            e.msg,
            e.sub,
            (i,),
            f"non-droppable message {e.msg} was dropped {where} for shutdown",
        )
