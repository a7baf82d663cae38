"""``check(history)``: run every checker over one index of the history; the verdict.

Cost: one forward pass builds the index (``index``); then each checker reads only the
facts it needs -- the starts of each subscription (order, copies, expiry, shutdown,
step 4), the drops (``drops``), and the matching pairs (``window``, which hands the
MUST pairs to ``delivery``), with the subscriptions matching each distinct topic
computed once.
"""

from __future__ import annotations

from sim.history import History
from sim.oracle import copies, delivery, drops, expiry, order, shutdown, topics, window
from sim.oracle.clauses import spec_order
from sim.oracle.index import build_index
from sim.oracle.verdict import Findings, Obligations, Verdict

__all__ = ["CLAUSES", "check"]

#: Every clause the oracle checks, in the spec's order.
CLAUSES: tuple[str, ...] = spec_order(
    frozenset(
        topics.CLAUSES
        + window.CLAUSES
        + delivery.CLAUSES
        + drops.CLAUSES
        + order.CLAUSES
        + copies.CLAUSES
        + expiry.CLAUSES
        + shutdown.CLAUSES
    )
)


def check(history: History, *, tolerance: float = 0.0, complete: bool = True) -> Verdict:
    """Check *history* against the spec; each checker module's docstring states its rules.

    *tolerance*: seconds of slack for clock comparisons (real threads: the driver's clock
    and the implementation's are read at slightly different moments). *complete*: False
    when the history may lack events (nothing is then called lost).
    """
    ix = build_index(history, tolerance)
    found = Findings(history)
    ob = Obligations(delivered=ix.n_starts)
    for i in ix.skips:
        kind = ix.events[i].info
        ob.skipped[kind] = ob.skipped.get(kind, 0) + 1
    delivery.check_twice(ix, found)
    order.check_order(ix, found)
    copies.check_copies(ix, found)
    expiry.check_late_starts(ix, found)
    shutdown.check_shutdown(ix, found)
    window.check_after_unsubscribe(ix, found)
    window.check_failed_subscribe_starts(ix, found)
    pair_drops, msg_drops = drops.check_drops(ix, found, ob)
    paired = window.check_pairs(ix, found, ob, complete, pair_drops, msg_drops)
    topics.check_topics(ix, found, paired)
    violations = found.sorted()
    broken = {v.clause for v in violations}
    clauses = {c: ("violated" if c in broken else "pass") for c in CLAUSES}
    for c in sorted(broken - set(clauses)):
        clauses[c] = "violated"
    return Verdict(violations, clauses, ob)
