"""Order (O1-O3): one total send order that respects real time, followed per subscription.

* [O1] ``send_ret(m1)`` precedes ``send_call(m2)`` but ``seq(m1) >= seq(m2)`` (the
  largest seq returned so far is captured at every ``send_call``); also two messages
  given the same seq (a total order has none). Messages whose ``send_ret`` info is not
  an integer (the implementation has no seq) take no part.
* [O2] per subscription, in ``start`` order: (a) seqs must increase: a start whose seq
  is below the largest seq started before at that subscription; (b) real time, with or
  without seqs: a start of *m2* after a start of *m1* although *m2*'s ``send_ret``
  precedes *m1*'s ``send_call`` -- exactly the pairwise condition, in one pass over each
  subscription's starts, keeping the largest ``send_call`` seen.
* [O3] a ``start`` of *s* while an earlier ``start`` of *s* has no ``end``.
"""

from __future__ import annotations

from sim.oracle.index import KEY, HistoryIndex
from sim.oracle.verdict import Findings

__all__ = ["CLAUSES", "check_order"]

CLAUSES = ("O1", "O2", "O3")


def check_order(ix: HistoryIndex, found: Findings) -> None:
    _total_order(ix, found)
    _per_subscription(ix, found)
    events = ix.events
    for open_start, i in ix.overlaps:
        m, s = events[i].msg, events[i].sub
        found.add(
            "O3",
            m,
            s,
            (open_start, i),
            f"{found.sub(s)} started message {m} while message "
            f"{events[open_start].msg} was still running (one at a time)",
        )


def _total_order(ix: HistoryIndex, found: Findings) -> None:
    seq, send_ret, send_call = ix.seq, ix.send_ret, ix.send_call
    for m, q in seq.items():
        c = ix.seq_cap.get(m, -1)
        if c >= 0 and q <= seq[c]:
            found.add(
                "O1",
                m,
                -1,
                (send_ret[c], send_call[m], send_ret[m]),
                f"message {m} got seq {q} although message {c} (seq {seq[c]}) returned before "
                f"message {m} was sent (seq order must follow real time)",
            )
    by_seq: dict[int, int] = {}
    for m, q in seq.items():
        other = by_seq.setdefault(q, m)
        if other != m:
            found.add(
                "O1",
                m,
                -1,
                (send_ret[other], send_ret[m]),
                f"messages {other} and {m} were both given seq {q} (seqs are a total order)",
            )


def _per_subscription(ix: HistoryIndex, found: Findings) -> None:
    events, seq, send_ret, send_call, first = (
        ix.events,
        ix.seq,
        ix.send_ret,
        ix.send_call,
        ix.first_start,
    )
    for s, starts in ix.starts_of_sub.items():
        best_c = -1  # the largest send_call of the messages started so far
        best_c_msg = -1
        best_q = 0  # the largest seq started so far
        best_q_msg = -1
        for i in starts:
            m = events[i].msg
            ret = send_ret.get(m)
            if ret is not None and ret < best_c:
                found.add(
                    "O2",
                    m,
                    s,
                    (first[best_c_msg * KEY + s], first[m * KEY + s], ret, best_c),
                    f"{found.sub(s)} received message {best_c_msg} before message {m}, but the "
                    f"send of message {m} returned (event {ret}) before the send of message "
                    f"{best_c_msg} began (event {best_c})",
                )
            mseq = seq.get(m)
            if mseq is not None:
                if best_q_msg >= 0 and mseq < best_q:
                    found.add(
                        "O2",
                        m,
                        s,
                        (
                            first[best_q_msg * KEY + s],
                            first[m * KEY + s],
                            send_ret[m],
                            send_ret[best_q_msg],
                        ),
                        f"{found.sub(s)} received message {best_q_msg} before message {m}, but "
                        f"message {m} was sent first (seq {mseq} < {best_q})",
                    )
                if best_q_msg < 0 or mseq > best_q:
                    best_q = mseq
                    best_q_msg = m
            c = send_call.get(m, -1)
            if c > best_c:
                best_c = c
                best_c_msg = m
