"""The history oracle: does one recorded run (``sim.history.History``) obey the spec?

``check(history, tolerance=0.0, complete=True)`` returns a ``Verdict``: the violations
found (each names its clause from ``notes/clauses.md``, the message and subscription,
the event indices that show it, and one line of text), the verdict per clause, and
counts of the delivery obligations. The oracle trusts only the driver's events; the
implementation's ``drop`` reports tell a reported drop from a silent loss.

Obligations. For every message *m* and subscription *s* whose topics match (T4, with
``refimpl.topics.match``), the pair is

* MUST NOT when *m*'s ``send_ret`` precedes *s*'s ``sub_call``, or *m*'s ``send_call``
  follows *s*'s ``unsub_ret``, or *m* was rejected (``send_err``);
* MUST when *m* was accepted, its ``send_call`` follows ``sub_ret`` and (*s* was never
  unsubscribed or *m*'s ``send_ret`` precedes ``unsub_call``);
* MAY otherwise (the send was concurrent with subscribe or unsubscribe).

An unsubscribe whose ``unsub_call`` precedes the subscription's ``sub_ret`` (the driver
can unsubscribe a channel while another thread is still subscribing it) may take effect
first and do nothing (A2: a no-op when not subscribed); such a subscription is never
certainly over, so its ``unsub_ret`` makes no later send MUST NOT.

Rules, clause in brackets (at most one violation per clause, message and subscription;
violations sorted by their first witness):

1. [T4] a ``start`` of a non-matching pair; an ``internal`` event of a subscription
   whose topic does not match the internal message's topic (the event's info).
2. [W2] a ``start`` of a MUST NOT pair, or before the subscription's ``sub_call``. For
   a rejected message: [S5] if its ``send_call`` follows ``shutdown_ret``, else [S4].
3. [D1] two ``start`` of one pair; a ``start`` and a ``drop`` of the pair or of the
   whole message (``drop`` with sub -1).
4. [O3] a ``start`` of *s* while an earlier ``start`` of *s* has no ``end``.
5. [O2] per subscription, in ``start`` order: (a) seqs must increase: a start whose
   seq is below the largest seq started before at that subscription; (b) real time,
   with or without seqs: a start of *m2* after a start of *m1* although *m2*'s
   ``send_ret`` precedes *m1*'s ``send_call`` (that is, ``send_ret(m2)`` is below the
   largest ``send_call`` index of the messages started before at the subscription —
   exactly the pairwise condition, in one pass over each subscription's starts).
   Messages without an integer seq (``send_ret`` info not an int) take no part in (a).
6. [O1] ``send_ret(m1)`` precedes ``send_call(m2)`` but ``seq(m1) >= seq(m2)`` (the
   largest seq returned so far is captured at every ``send_call``); also two messages
   given the same seq (a total order has none).
7. [C1]/[C2]/[C3] a ``start`` whose info is ``bad:sender-change-seen`` /
   ``bad:other-holder-change-seen`` / ``bad:nested-not-shared`` (other infos: ignored).
8. [E2] a ``start`` at a time >= expiry + tolerance. [E3] a ``drop`` ``expired`` at a
   time < expiry - tolerance, or of a message without expiry. Times are compared on a
   1 microsecond grid, the resolution of the implementations' ``datetime`` clock, so
   a deadline such as 0.1 + 0.2 compares equal to the implementation's 0.3.
9. [S6] a ``start`` after ``shutdown_ret``. [S3] a ``drop`` ``shutdown`` before
   ``shutdown_call``. [S2] a ``drop`` ``shutdown`` of a non-droppable message. [W3] a
   ``drop`` ``unsubscribed`` of the whole message, or of a subscription without an
   ``unsub_call`` before the drop. [D2] a ``drop`` with an unknown reason (the known ones:
   ``expired``, ``shutdown``, ``unsubscribed``, and ``error`` for a payload whose copy failed).
10. [S4] a rejected send (``send_err``) although no ``shutdown_call`` precedes the
    ``send_err``; or, for a send made inside a handler (the sending thread is between
    a ``start`` and its ``end`` at ``send_call``), although no ``shutdown_ret``
    precedes the ``send_err``. (Measured at ``send_err``, not ``send_call``: a send
    concurrent with ``shutdown()`` may take effect after it.) [S5] an accepted send
    whose ``send_call`` follows ``shutdown_ret``.
11. Loss. Every MUST pair must be *resolved* -- a ``start``, or a ``drop`` of the pair
    or of the whole message with a permitted reason (``expired``: the message has an
    expiry; ``shutdown``: it is droppable; ``unsubscribed``: a pair drop after the
    subscription's ``unsub_call``) -- no later than its *quiescent point*: the first
    ``settle_ret`` whose ``settle_call`` follows ``send_ret(m)`` and at which no handler
    is running, else ``shutdown_ret`` if it follows ``send_ret(m)``. A ``settle_ret``
    with a handler still running is not quiescent: in simulation, settling waits only
    until no thread is runnable, which a handler sleeping on the virtual clock allows.
    Without a quiescent point, or with ``complete=False`` (the history may lack events),
    the pair is not checked for loss (counted as ``unchecked``). Each unresolved pair
    is reported once, under exactly one clause, the first that applies:

    * resolved, but only after the quiescent point: [S1] at ``shutdown_ret``
      (``shutdown()`` returned before it drained), [D2] at a ``settle_ret``;
    * [W1] never resolved, and it has drops, none with a permitted reason (those drops
      are also reported by rules 8 and 9);
    * never resolved and no drop at all: at ``shutdown_ret``, [S2] if the message had
      no excuse (non-droppable, no expiry: S2 says it is delivered, also when a
      handler sent it while draining), else [D2] (droppable or expiring: it could have
      been dropped, but only with a report); at a ``settle_ret``, [D2] (silent loss).

    Witnesses of a loss: the ``send_ret``, the quiescent point, and the late resolution
    or the first non-permitted drop if any.

The first ``shutdown_call`` and ``shutdown_ret`` count; unknown event kinds are ignored.

Performance: one forward pass over the events records indices and checks what depends
on the moment (rules 3 twice-started, 4, 6 real time, 7, 8 E2, 9 S6, 10 S5); then one
pass over the starts of each subscription (rule 5), one over the drops (3, 8 E3, 9) and
rejected sends (10 S4), and one over the matching pairs (1, 2, 11), with the
subscriptions matching each distinct topic computed once. Event ``i`` must be
``history.events[i]`` (``Event.index == i``), as ``History.add`` makes it.
"""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from refimpl.topics import match
from sim.history import History, MessageInfo

__all__ = [
    "CLAUSES",
    "Obligations",
    "Verdict",
    "Violation",
    "bench_events_per_second",
    "check",
    "synthetic_history",
]

#: Every clause the oracle checks, in report order.
CLAUSES: tuple[str, ...] = (
    "T4",
    "W1",
    "W2",
    "W3",
    "D1",
    "D2",
    "O1",
    "O2",
    "O3",
    "C1",
    "C2",
    "C3",
    "E2",
    "E3",
    "S1",
    "S2",
    "S3",
    "S4",
    "S5",
    "S6",
)

INTERNAL_TOPICS = ("lona.channels.subscribe", "lona.channels.unsubscribe")

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

_PERMITTED_REASONS = ("expired", "shutdown", "unsubscribed", "error")

_KEY = 1 << 32  # pair key: msg * _KEY + sub (sub ids are small non-negative ints)


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``witness``: ascending event indices that together show it."""

    clause: str
    msg: int
    sub: int
    witness: tuple[int, ...]
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "clause": self.clause,
            "msg": self.msg,
            "sub": self.sub,
            "witness": list(self.witness),
            "text": self.text,
        }


@dataclass
class Obligations:
    """Counts over matching (message, subscription) pairs and deliveries."""

    must: int = 0
    may: int = 0
    must_not: int = 0
    unchecked: int = 0  #: MUST pairs not checked for loss (no quiescent point, or incomplete)
    delivered: int = 0  #: ``start`` events
    dropped: dict[str, int] = field(default_factory=dict)  #: ``drop`` events by reason

    def to_json(self) -> dict[str, Any]:
        return {
            "must": self.must,
            "may": self.may,
            "must_not": self.must_not,
            "unchecked": self.unchecked,
            "delivered": self.delivered,
            "dropped": dict(sorted(self.dropped.items())),
        }


@dataclass
class Verdict:
    violations: list[Violation]
    clauses: dict[str, str]  #: every checked clause -> "pass" or "violated"
    obligations: Obligations

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        o = self.obligations
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(o.dropped.items())) or "none"
        lines = [
            f"{'OK' if self.ok else 'VIOLATED'}: {len(self.violations)} violation(s); "
            f"pairs must {o.must} (unchecked {o.unchecked}), may {o.may}, must-not {o.must_not}; "
            f"delivered {o.delivered}; dropped: {dropped}",
        ]
        bad = [c for c, v in self.clauses.items() if v != "pass"]
        if bad:
            lines.append("violated clauses: " + " ".join(bad))
        for v in self.violations:
            lines.append(f"  [{v.clause}] {v.text} (events {', '.join(map(str, v.witness))})")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "violations": [v.to_json() for v in self.violations],
            "clauses": dict(self.clauses),
            "obligations": self.obligations.to_json(),
        }


# the check --------------------------------------------------------------------------------


class _Found:
    """Violations keyed by (clause, msg, sub); the one with the earliest witness wins."""

    def __init__(self, history: History) -> None:
        self.found: dict[tuple[str, int, int], Violation] = {}
        self.history = history

    def add(self, clause: str, msg: int, sub: int, witness: Iterable[int], text: str) -> None:
        w = tuple(sorted({i for i in witness if i >= 0}))
        key = (clause, msg, sub)
        old = self.found.get(key)
        if old is None or w < old.witness:
            self.found[key] = Violation(clause, msg, sub, w, text)

    def sub(self, s: int) -> str:
        topic = self.history.topics.get(s)
        return f"subscription {s}" if topic is None else f"subscription {s} ({topic!r})"

    def msg(self, m: int) -> str:
        info = self.history.messages.get(m)
        return f"message {m}" if info is None else f"message {m} ({info.topic!r})"

    def sorted(self) -> list[Violation]:
        return sorted(
            self.found.values(),
            key=lambda v: (v.witness[0] if v.witness else -1, v.clause, v.msg, v.sub, v.witness),
        )


def _us(x: float) -> int:
    """A time on the 1-microsecond grid of the implementations' clocks."""
    return round(x * 1_000_000)


def check(history: History, *, tolerance: float = 0.0, complete: bool = True) -> Verdict:
    """Check *history* against the spec; see the module docstring for the rules.

    *tolerance*: seconds of slack for expiry (real threads: the driver's clock and the
    implementation's are read at slightly different moments). *complete*: False when the
    history may lack events (nothing is then called lost).
    """
    events = history.events
    messages = history.messages
    found = _Found(history)
    add = found.add
    K = _KEY

    expiries: dict[int, float] = {m: i.expiry for m, i in messages.items() if i.expiry is not None}

    sc: dict[int, int] = {}  # msg -> send_call index
    sr: dict[int, int] = {}  # msg -> send_ret index
    se: dict[int, int] = {}  # msg -> send_err index
    seqs: dict[int, int] = {}  # msg -> seq
    cap: dict[int, int] = {}  # msg -> msg with the largest seq returned before its send_call
    max_seq_msg = -1
    max_seq = 0
    from_handler: set[int] = set()  # msgs whose send_call was inside a handler
    subc: dict[int, int] = {}
    subr: dict[int, int] = {}
    uc: dict[int, int] = {}
    ur: dict[int, int] = {}
    starts: dict[int, int] = {}  # pair key -> first start index
    per_sub: dict[int, tuple[list[int], list[int]]] = {}  # sub -> (open starts, started msgs)
    depth: dict[int, int] = {}  # thread -> handlers it is running
    running = 0  # handlers running (starts without end)
    drops: list[int] = []
    internals: list[int] = []
    settle_open: dict[int, int] = {}  # thread -> settle_call index
    settles: list[tuple[int, int, bool]] = []  # (settle_call, settle_ret, quiescent)
    sdc = -1  # shutdown_call
    sdr = -1  # shutdown_ret

    for i, t, th, kind, m, s, info in events:
        if kind == "start":
            first = starts.setdefault(m * K + s, i)
            if first != i:
                add(
                    "D1",
                    m,
                    s,
                    (first, i),
                    f"{found.sub(s)} received message {m} twice (exactly once)",
                )
            rec = per_sub.get(s)
            if rec is None:
                rec = per_sub[s] = ([], [])
            stk = rec[0]
            if stk:
                add(
                    "O3",
                    m,
                    s,
                    (stk[-1], i),
                    f"{found.sub(s)} started message {m} while message "
                    f"{events[stk[-1]][4]} was still running (one at a time)",
                )
            stk.append(i)
            rec[1].append(m)
            depth[th] = depth.get(th, 0) + 1
            running += 1
            if info:
                bad = _BAD_INFO.get(info)
                if bad is not None:
                    add(bad[0], m, s, (i,), f"{found.sub(s)}'s handler of message {m} {bad[1]}")
            if sdr >= 0:
                add(
                    "S6",
                    m,
                    s,
                    (sdr, i),
                    f"{found.sub(s)} started message {m} after shutdown() returned",
                )
            if m in expiries:
                exp = expiries[m]
                if _us(t) >= _us(exp + tolerance):
                    add(
                        "E2",
                        m,
                        s,
                        (i,),
                        f"{found.sub(s)} started message {m} at {t:g}, at or after its "
                        f"expiry {exp:g} (tolerance {tolerance:g})",
                    )
        elif kind == "end":
            rec = per_sub.get(s)
            if rec is not None:
                stk = rec[0]
                if stk and events[stk[-1]][4] == m:
                    stk.pop()
                else:
                    for j in range(len(stk) - 1, -1, -1):
                        if events[stk[j]][4] == m:
                            del stk[j]
                            break
                    else:
                        continue  # an end without a start: nothing to close
                running -= 1
                depth[th] = depth.get(th, 1) - 1
        elif kind == "route":
            continue
        elif kind == "send_call":
            if m in sc:
                continue
            sc[m] = i
            if depth.get(th):
                from_handler.add(m)
            cap[m] = max_seq_msg
        elif kind == "send_ret":
            sr[m] = i
            if info:
                try:
                    q = int(info)
                except ValueError:
                    pass
                else:
                    seqs[m] = q
                    c = cap.get(m, -1)
                    if c >= 0 and q <= seqs[c]:
                        add(
                            "O1",
                            m,
                            -1,
                            (sr[c], sc[m], i),
                            f"message {m} got seq {q} although message {c} (seq {seqs[c]}) "
                            f"returned before message {m} was sent (seq order must follow "
                            f"real time)",
                        )
                    if max_seq_msg < 0 or q > max_seq:
                        max_seq = q
                        max_seq_msg = m
            c = sc.get(m, i)
            if 0 <= sdr < c:
                add(
                    "S5",
                    m,
                    -1,
                    (sdr, c, i),
                    f"send of message {m} began after shutdown() returned but was accepted",
                )
        elif kind == "drop":
            drops.append(i)
        elif kind == "sub_call":
            subc.setdefault(s, i)
        elif kind == "sub_ret":
            subr.setdefault(s, i)
        elif kind == "unsub_call":
            uc.setdefault(s, i)
        elif kind == "unsub_ret":
            ur.setdefault(s, i)
        elif kind == "send_err":
            se.setdefault(m, i)
        elif kind == "internal":
            internals.append(i)
        elif kind == "settle_call":
            settle_open[th] = i
        elif kind == "settle_ret":
            settles.append((settle_open.pop(th, -1), i, running == 0))
        elif kind == "shutdown_call":
            sdc = i if sdc < 0 else sdc
        elif kind == "shutdown_ret":
            sdr = i if sdr < 0 else sdr

    # topics and matching ------------------------------------------------------------------
    sub_topic: dict[int, str] = dict(history.topics)
    for s, i in subc.items():
        if s not in sub_topic:
            sub_topic[s] = events[i][6]
    msg_topic: dict[int, str] = {m: info.topic for m, info in messages.items()}
    for m, i in sc.items():
        if m not in msg_topic:
            msg_topic[m] = events[i][6]
    big = len(events) + 1
    # per subscription: (sub, sub_call, sub_ret, unsub_call, unsub_ret), missing = never; an
    # unsubscribe that began before its subscribe returned may have been a no-op (A2)
    sub_recs = [
        (
            s,
            subc.get(s, big),
            subr.get(s, big),
            uc.get(s, big),
            ur.get(s, big) if uc.get(s, big) > subr.get(s, big) else big,
        )
        for s in sorted(sub_topic)
    ]
    matching: dict[str, list[tuple[int, int, int, int, int]]] = {}
    for topic in set(msg_topic.values()):
        matching[topic] = [r for r in sub_recs if match(topic, sub_topic[r[0]])]

    # rule 1: internal events --------------------------------------------------------------
    for i in internals:
        s = events[i][5]
        own = sub_topic.get(s)
        internal = events[i][6]
        if own is not None and not match(own, internal):
            add(
                "T4",
                -1,
                s,
                (i,),
                f"{found.sub(s)} received an internal-topic message on {internal!r}, "
                f"which its topic does not match",
            )

    # rule 5: per-subscription start order -------------------------------------------------
    for s, (_, started) in per_sub.items():
        best_c = -1
        best_c_msg = -1
        best_q = 0
        best_q_msg = -1
        for m in started:
            ret = sr.get(m)
            if ret is not None and ret < best_c:
                add(
                    "O2",
                    m,
                    s,
                    (starts[best_c_msg * K + s], starts[m * K + s], ret, best_c),
                    f"{found.sub(s)} received message {best_c_msg} before message {m}, but the "
                    f"send of message {m} returned (event {ret}) before the send of message "
                    f"{best_c_msg} began (event {best_c})",
                )
            mseq = seqs.get(m)
            if mseq is not None:
                if best_q_msg >= 0 and mseq < best_q:
                    add(
                        "O2",
                        m,
                        s,
                        (starts[best_q_msg * K + s], starts[m * K + s], sr[m], sr[best_q_msg]),
                        f"{found.sub(s)} received message {best_q_msg} before message {m}, but "
                        f"message {m} was sent first (seq {mseq} < {best_q})",
                    )
                if best_q_msg < 0 or mseq > best_q:
                    best_q = mseq
                    best_q_msg = m
            c = sc.get(m, -1)
            if c > best_c:
                best_c = c
                best_c_msg = m

    # rule 6, second half: duplicate seqs --------------------------------------------------
    by_seq: dict[int, int] = {}
    for m, q in seqs.items():
        other = by_seq.setdefault(q, m)
        if other != m:
            add(
                "O1",
                m,
                -1,
                (sr[other], sr[m]),
                f"messages {other} and {m} were both given seq {q} (seqs are a total order)",
            )

    # rules 8, 9, 3 (drops) ----------------------------------------------------------------
    ob = Obligations(delivered=sum(len(r[1]) for r in per_sub.values()))
    dropped = ob.dropped
    pair_drops: dict[int, list[int]] = {}
    msg_drops: dict[int, list[int]] = {}
    starts_of_msg: dict[int, list[int]] | None = None
    for i in drops:
        _, t, _, _, m, s, reason = events[i]
        dropped[reason] = dropped.get(reason, 0) + 1
        info_m: MessageInfo | None = messages.get(m)
        if s >= 0:
            pair_drops.setdefault(m * K + s, []).append(i)
            st = starts.get(m * K + s)
            if st is not None:
                add(
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
                for j in starts.values():
                    starts_of_msg.setdefault(events[j][4], []).append(j)
            for j in starts_of_msg.get(m, ()):
                add(
                    "D1",
                    m,
                    events[j][5],
                    (j, i),
                    f"message {m} was reported dropped as a whole ({reason}) but "
                    f"{found.sub(events[j][5])} started it",
                )
        where = f"for {found.sub(s)}" if s >= 0 else "as a whole"
        if reason == "expired":
            deadline = expiries.get(m)
            if deadline is None:
                add(
                    "E3",
                    m,
                    s,
                    (i,),
                    f"message {m} was dropped {where} as expired, but it has no expiry",
                )
            elif _us(t) < _us(deadline - tolerance):
                add(
                    "E3",
                    m,
                    s,
                    (i,),
                    f"message {m} was dropped {where} as expired at {t:g}, before its "
                    f"expiry {deadline:g} (tolerance {tolerance:g})",
                )
        elif reason == "shutdown":
            if sdc < 0 or i < sdc:
                add(
                    "S3",
                    m,
                    s,
                    (i,) if sdc < 0 else (i, sdc),
                    f"message {m} was dropped {where} for shutdown before shutdown() began",
                )
            if info_m is not None and not info_m.droppable:
                add("S2", m, s, (i,), f"non-droppable message {m} was dropped {where} for shutdown")
        elif reason == "unsubscribed":
            if s < 0:
                add(
                    "W3",
                    m,
                    s,
                    (i,),
                    f"message {m} was dropped as a whole with reason 'unsubscribed'",
                )
            elif uc.get(s, big) > i:
                add(
                    "W3",
                    m,
                    s,
                    (i,),
                    f"message {m} was dropped for {found.sub(s)} as 'unsubscribed' before "
                    f"its unsubscribe() began",
                )
        else:
            add(
                "D2",
                m,
                s,
                (i,),
                f"message {m} was dropped {where} with reason {reason!r}, which no rule permits",
            )

    # rule 10: rejected sends --------------------------------------------------------------
    for m, i in se.items():
        if m in from_handler:
            if sdr < 0 or sdr > i:
                add(
                    "S4",
                    m,
                    -1,
                    (sc.get(m, -1), i),
                    f"send of message {m} from a handler was rejected before shutdown() "
                    f"returned (handlers may send while draining)",
                )
        elif sdc < 0 or sdc > i:
            add(
                "S4",
                m,
                -1,
                (sc.get(m, -1), i),
                f"send of message {m} was rejected ({events[i][6]}) although shutdown() "
                f"had not begun",
            )

    # rules 1, 2, 11: the matching pairs ---------------------------------------------------
    check_loss = complete
    # quiescent settles, ordered by settle_call; suffix minimum of settle_ret
    quiet = sorted((c, r) for c, r, ok in settles if ok and c >= 0)
    quiet_calls = [c for c, _ in quiet]
    suffix_ret = [r for _, r in quiet]
    for j in range(len(suffix_ret) - 2, -1, -1):
        if suffix_ret[j + 1] < suffix_ret[j]:
            suffix_ret[j] = suffix_ret[j + 1]
    n_quiet = len(quiet_calls)
    seen_starts = 0
    must = may = must_not = unchecked = 0
    for m, c in sc.items():
        recs = matching.get(msg_topic[m], ())
        if not recs:
            continue
        r = sr.get(m)
        base = m * K
        if r is None:
            rejected = m in se
            for s, s_call, _, _, s_uret in recs:
                st = starts.get(base + s)
                if rejected or c > s_uret:
                    must_not += 1
                    if st is not None:
                        seen_starts += 1
                        _forbidden_start(found, events, m, s, st, c, r, se, sdr, s_call, s_uret)
                else:
                    may += 1
                    if st is not None:
                        seen_starts += 1
                        if st < s_call:
                            _forbidden_start(found, events, m, s, st, c, r, se, sdr, s_call, s_uret)
            continue
        q = -1
        if check_loss:
            k = bisect.bisect_right(quiet_calls, r)
            if k < n_quiet:
                q = suffix_ret[k]
            elif r < sdr:
                q = sdr
        for s, s_call, s_ret, s_ucall, s_uret in recs:
            st = starts.get(base + s)
            if st is not None:
                seen_starts += 1
                if r < s_call or c > s_uret or st < s_call:
                    _forbidden_start(found, events, m, s, st, c, r, se, sdr, s_call, s_uret)
            if r < s_call or c > s_uret:
                must_not += 1
            elif c > s_ret and r < s_ucall:
                must += 1
                if q < 0:
                    unchecked += 1
                elif st is None or st > q:
                    _check_loss(
                        found,
                        events,
                        messages,
                        m,
                        s,
                        st,
                        r,
                        q,
                        sdr,
                        s_ucall,
                        pair_drops.get(base + s, ()),
                        msg_drops.get(m, ()),
                    )
            else:
                may += 1
    ob.must, ob.may, ob.must_not, ob.unchecked = must, may, must_not, unchecked
    if seen_starts != len(starts):  # some start is not of a matching, sent pair
        for j in starts.values():
            _, _, _, _, m, s, _ = events[j]
            mt = msg_topic.get(m)
            st_ = sub_topic.get(s)
            if mt is not None and st_ is not None and not match(mt, st_):
                add(
                    "T4",
                    m,
                    s,
                    (j,),
                    f"{found.sub(s)} received message {m} ({mt!r}), whose topic does not match",
                )

    violations = found.sorted()
    broken = {v.clause for v in violations}
    clauses = {c: ("violated" if c in broken else "pass") for c in CLAUSES}
    return Verdict(violations, clauses, ob)


def _forbidden_start(
    found: _Found,
    events: list[Any],
    m: int,
    s: int,
    st: int,
    c: int,
    r: int | None,
    se: dict[int, int],
    sdr: int,
    s_call: int,
    s_uret: int,
) -> None:
    """Rule 2: *s* started *m* although the pair is MUST NOT (or before subscribing)."""
    if m in se:
        e = se[m]
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
    elif r is not None and r < s_call:
        found.add(
            "W2",
            m,
            s,
            (r, s_call, st),
            f"{found.sub(s)} received message {m}, whose send returned before subscribe() began",
        )
    elif c > s_uret:
        found.add(
            "W2",
            m,
            s,
            (s_uret, c, st),
            f"{found.sub(s)} received message {m}, whose send began after unsubscribe() returned",
        )
    elif st < s_call:
        found.add(
            "W2", m, s, (st,), f"{found.sub(s)} received message {m} before subscribe() began"
        )


def _check_loss(
    found: _Found,
    events: list[Any],
    messages: dict[int, MessageInfo],
    m: int,
    s: int,
    st: int | None,
    r: int,
    q: int,
    sdr: int,
    s_ucall: int,
    pair: Iterable[int],
    whole: Iterable[int],
) -> None:
    """Rule 11: MUST pair (*m*, *s*) has no start by its quiescent point *q*."""
    info = messages.get(m)
    expiring = info is not None and info.expiry is not None
    droppable = info is not None and info.droppable
    resolved = st  # earliest start or permitted drop
    any_drop = -1
    for i in pair:
        reason = events[i][6]
        if any_drop < 0:
            any_drop = i
        if (
            (reason == "expired" and expiring)
            or (reason == "shutdown" and droppable)
            or (reason == "unsubscribed" and s_ucall < i)
        ) and (resolved is None or i < resolved):
            resolved = i
    for i in whole:
        reason = events[i][6]
        if any_drop < 0 or i < any_drop:
            any_drop = i
        if ((reason == "expired" and expiring) or (reason == "shutdown" and droppable)) and (
            resolved is None or i < resolved
        ):
            resolved = i
    if resolved is not None and resolved <= q:
        return
    at_shutdown = q == sdr
    point = "shutdown() returned" if at_shutdown else "the settle"
    who = f"{found.sub(s)} and message {m}"
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
                f"{who}: not delivered and no drop reported by the settle (event {q}); "
                f"{how} only at event {resolved}",
            )
    elif any_drop >= 0:
        found.add(
            "W1",
            m,
            s,
            (r, q, any_drop),
            f"{who}: required delivery was dropped ({events[any_drop][6]}) for a reason "
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


# benchmark --------------------------------------------------------------------------------

_BENCH_TOPICS = ("a.*", "a.b", "*", "a.?", "b.c", "b.*", "c")
_BENCH_SEND_TOPICS = ("a.b", "a.c", "b.c", "a.bc", "c", "b.d")


def synthetic_history(n_events: int = 200_000, seed: int = 0) -> History:
    """A legal history of about *n_events* events, deterministic for a given *seed*.

    Four sender threads send on a handful of topics; each message is routed by one of
    two brokers and delivered to every matching subscription by one of three workers,
    each subscription's deliveries in send order and one at a time; a delivery is
    sometimes deferred past later sends. One subscription unsubscribes half-way (its
    pending deliveries are dropped as unsubscribed); every 500 messages the driver
    settles; the run ends with a shutdown.
    """
    rnd = random.Random(seed)
    h = History()
    add = h.add
    now = 0.0
    for s, topic in enumerate(_BENCH_TOPICS):
        h.topics[s] = topic
        add(now, 0, "sub_call", sub=s, info=topic)
        add(now, 0, "sub_ret", sub=s)
    subs = list(range(len(_BENCH_TOPICS)))
    matches = {t: [s for s in subs if match(t, _BENCH_TOPICS[s])] for t in _BENCH_SEND_TOPICS}
    pending: list[tuple[int, list[int], bool]] = []  # (msg, subs, expiring) not yet delivered
    unsubscribed = -1
    msg = 0
    seq = 0

    def deliver(m: int, targets: list[int], expiring: bool) -> None:
        add(now, 10 + m % 2, "route", m, info=str(len(targets)))
        for s in targets:
            if s == unsubscribed:
                add(now, 10 + m % 2, "drop", m, s, "unsubscribed")
                continue
            worker = 20 + rnd.randrange(3)
            add(now, worker, "start", m, s)
            add(now, worker, "end", m, s)

    while len(h.events) < n_events:
        thread = 1 + rnd.randrange(4)
        topic = _BENCH_SEND_TOPICS[rnd.randrange(len(_BENCH_SEND_TOPICS))]
        expiring = rnd.random() < 0.1
        expiry = now + 1000.0 if expiring else None
        h.messages[msg] = MessageInfo(topic, expiry, False, False, thread)
        add(now, thread, "send_call", msg, info=topic)
        add(now, thread, "send_ret", msg, info=str(seq))
        pending.append((msg, matches[topic], expiring))
        msg += 1
        seq += 1 + (rnd.random() < 0.05)  # internal messages take seqs too
        while pending and (len(pending) > 3 or rnd.random() < 0.6):
            deliver(*pending.pop(0))
        if msg == 2000:  # pending deliveries to subscription 2 are dropped from now on
            unsubscribed = 2
            add(now, 1, "unsub_call", sub=2)
            add(now, 1, "unsub_ret", sub=2)
            matches = {t: [s for s in v if s != 2] for t, v in matches.items()}
        if msg % 500 == 0:
            while pending:
                deliver(*pending.pop(0))
            add(now, 0, "settle_call")
            add(now, 0, "settle_ret")
            now += 0.5
    while pending:
        deliver(*pending.pop(0))
    add(now, 0, "shutdown_call")
    add(now, 0, "shutdown_ret")
    return h


def bench_events_per_second(n_events: int = 200_000) -> float:
    """Check a synthetic legal history of about *n_events* events; return events per second.

    The best of three checks, so that a busy machine disturbs the figure less.
    """
    history = synthetic_history(n_events)
    elapsed = float("inf")
    for _ in range(3):
        begin = time.perf_counter()
        verdict = check(history)
        elapsed = min(elapsed, time.perf_counter() - begin)
        if not verdict.ok:
            raise AssertionError("the synthetic history should be legal:\n" + verdict.summary())
    return len(history.events) / max(elapsed, 1e-9)
