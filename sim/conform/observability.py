"""Clause by clause: which observable events decide each MUST of the spec, and who judges it.

``TABLE`` is the one source of ``specs/observability.md`` (regenerate it with
``python -m tests.sim.test_observability > specs/observability.md``; that test checks it
is current and that every clause of ``specs/channels.md`` has a row). Conformance uses
it for the verdict of every clause it cannot judge: such a clause is "not observable",
never "conforms".

Judges: ``oracle`` (``sim.oracle.check`` on every history), ``probe`` (a targeted
scenario in ``sim.conform.probes``), ``via X`` (decided by clause X's check), ``none``
(the adapter protocol does not carry
what would decide it; the reference implementation's own tests check it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ALL_CLAUSES", "TABLE", "Row", "markdown"]


@dataclass(frozen=True)
class Row:
    clause: str
    judge: str  #: "oracle", "probe", "oracle+probe" or "none"
    decided_by: str  #: the observable events that decide it (or why none can)


_ROWS = (
    Row(
        "T1",
        "none",
        "bad topics are `bad` operations (scenario format 2) judged as V1; which error "
        "class is raised is the reference implementation's own tests' business",
    ),
    Row(
        "T2",
        "probe",
        "differential matching probe: thousands of generated (sender, subscriber) "
        "pairs over the whole grammar; a `start` of a pair, or its absence after `settle`, "
        "compared with `fnmatchcase`",
    ),
    Row(
        "T3", "probe", "the same probe's pairs that differ only by case or by Unicode normalisation"
    ),
    Row(
        "T4",
        "oracle+probe",
        "oracle: a `start` of a (message, subscription) whose topics do not "
        "match; probe: every generated pair, both directions",
    ),
    Row(
        "T5",
        "probe",
        "probe: a topic that does not receive its own message (reflexive); a pair "
        "delivered in one direction only (symmetric)",
    ),
    Row("T6", "via D1", "two `start` of one pair (D1) when a pattern is sent to the same pattern"),
    Row("A1", "none", "API shape (attributes, default runtime binding)"),
    Row(
        "A2",
        "oracle",
        "re-subscription of one channel object and two threads on one object (scenario "
        "format 2, adapters with `same-object`): a `sub_err` while the object was not "
        "subscribed, two subscribe() of one object that both returned with no unsubscribe "
        "between, or an unsubscribe() that raised; probe: two threads on one object at once. "
        "A `subscribe()`/`unsubscribe()` that never returns is a liveness finding",
    ),
    Row("A3", "none", "attributes of the returned `Message`; only `seq` travels (O1)"),
    Row("A4", "none", "`get_channels()` is not in the adapter protocol"),
    Row(
        "V1",
        "oracle",
        "`bad` operations (scenario format 2, adapters with `bad-input`): a `bad_ret`, "
        "bad input accepted instead of raising at the call",
    ),
    Row(
        "V2",
        "oracle",
        "a `fault` event (an exception escaped inside the implementation, or one of its "
        "threads died) followed by a MUST pair that is never resolved; without a `fault`, "
        "a dead worker shows as a loss (W1/D2)",
    ),
    Row("V3", "none", "the command-line tools, not an implementation's behaviour"),
    Row(
        "W1",
        "oracle",
        "MUST pairs (send inside the subscription window) without a `start` or "
        "a permitted `drop` by the quiescent point (`settle_ret` or `shutdown_ret`)",
    ),
    Row(
        "W2",
        "oracle",
        "a `start` of a MUST NOT pair (send returned before `sub_call`, or began "
        "after `unsub_ret`)",
    ),
    Row(
        "W3",
        "oracle",
        "a `start` after the subscription's `unsub_ret` (section 17 step 4; real threads: "
        "beyond the tolerance); a `drop unsubscribed` before `unsub_call`",
    ),
    Row(
        "W4",
        "probe",
        "a `start` after a subscribe that began after the send returned "
        "(W2); probe: subscribe right after sends to a busy runtime",
    ),
    Row("D1", "oracle", "two `start` of one pair; a `start` and a `drop` of one pair"),
    Row(
        "D2",
        "oracle",
        "a MUST pair unresolved at the quiescent point with no drop (silent "
        "loss), or a `drop` with a reason no rule permits",
    ),
    Row("O1", "oracle", "`send_ret(m1)` before `send_call(m2)` but seq(m1) >= seq(m2)"),
    Row(
        "O2",
        "oracle",
        "per subscription, `start` order against seq order and against real-time send order",
    ),
    Row("O3", "oracle", "a `start` of a subscription while its previous `start` has no `end`"),
    Row(
        "O4",
        "none",
        "fairness and parallelism need timing the oracle does not judge; a handler "
        "that never returns is a liveness finding",
    ),
    Row(
        "C1",
        "oracle",
        "the handler sees the sender's change made after `send()` returned "
        "(`start` info `bad:sender-change-seen`)",
    ),
    Row("C2", "oracle", "the handler sees another holder's mark (`bad:other-holder-change-seen`)"),
    Row("C3", "oracle", "the nested object is not the sender's (`bad:nested-not-shared`)"),
    Row("C4", "none", "`message_data=None` and non-dict data are not in scenario language v1"),
    Row(
        "E1",
        "none",
        "every expiry kind (timedelta, naive, aware UTC, another offset, past) is passed "
        "(scenario format 2); a deadline read wrongly shows as E2/E3, one the workers cannot "
        "compare as a V2 fault",
    ),
    Row(
        "E2",
        "oracle+probe",
        "a `start` at or after the deadline (in simulation exactly; on real "
        "threads beyond the run's measured tolerance); probe: a slow handler with expiring "
        "messages queued behind it, simulated and on real threads",
    ),
    Row(
        "E3",
        "oracle+probe",
        "a `drop expired` before the deadline, or of a message without expiry; an "
        "expired message never reported is a loss (D2); probe: the expiry probe's deadline "
        "far ahead must not be dropped early",
    ),
    Row("E4", "none", "`is_dropped()` is not in the adapter protocol"),
    Row(
        "S1",
        "oracle",
        "a MUST pair resolved only after `shutdown_ret`; a `shutdown()` that "
        "never returns is a liveness finding",
    ),
    Row(
        "S2",
        "oracle",
        "a non-droppable message without expiry unresolved at `shutdown_ret`, or "
        "dropped for shutdown",
    ),
    Row(
        "S3",
        "oracle+probe",
        "a `drop shutdown` before `shutdown_call`; probe: droppable "
        "messages lost while no shutdown began (their non-droppable twins delivered)",
    ),
    Row(
        "S4",
        "oracle+probe",
        "a rejected send (`send_err`) before `shutdown_call` (or, from a "
        "handler, before `shutdown_ret`); an *accepted* send from a non-handler thread whose "
        "`send_call` follows proof that the runtime was closing (a `drop shutdown`, or a rejected "
        "send that began after `shutdown_call`); probe: sends from another thread while a "
        "shutdown drains",
    ),
    Row("S5", "oracle", "an accepted send whose `send_call` follows `shutdown_ret`"),
    Row("S6", "oracle", "a `start` after `shutdown_ret`"),
    Row("L1", "via W1, D2", "`local=True` sends are held to W1/D2 like every other send"),
    Row(
        "L2",
        "none",
        "a session is one process; the networked broker's P4 is judged on merged process "
        "histories by `sim.oracle.processes` (tests/redis)",
    ),
    Row(
        "I1",
        "oracle",
        "a subscriber of `*` or `lona.channels.*` receives (`internal` events) fewer "
        "subscribe notices about a topic than subscribe() calls of it returned while it was "
        "subscribed, by their quiescent point",
    ),
    Row(
        "I2",
        "oracle",
        "the same for unsubscribe notices, of unsubscribe() calls that certainly ended a "
        "subscription",
    ),
    Row(
        "I3",
        "none",
        "notices suppressed while closing: no event tells a suppressed notice from a late one",
    ),
    Row(
        "H1",
        "oracle+probe",
        "oracle: a `fault` tagged `handler` (a raising handler ended its thread) and the "
        "losses after it; probe: a raising handler's subscription still receives every "
        "later message once, "
        "in order (O2, D1, W1 after the raise), and so does every other subscriber; the same "
        "scenario without the raise as a control",
    ),
    Row("H2", "none", "scopes are not in the adapter protocol"),
    Row("H3", "none", "scopes are not in the adapter protocol"),
    Row("R1", "none", "settings validation"),
    Row(
        "R2",
        "none",
        "thread counts and names are not observable; a `send()` that never returns "
        "is a liveness finding",
    ),
    Row("R3", "none", "the default runtime is not in the adapter protocol"),
    Row("R4", "none", "custom worker classes are not in the adapter protocol"),
    Row(
        "R5",
        "none",
        "`join()` is what the adapter's `settle()` may use; its contract is not judged separately",
    ),
    Row("R6", "none", "life cycle (`start()` twice, restart) is not in the adapter protocol"),
    Row(
        "R7",
        "none",
        "interpreter exit concerns the default runtime; sessions of the adapter protocol are "
        "explicit runtimes, shut down by the driver",
    ),
    Row(
        "R8",
        "none",
        "a session is one runtime; the adapter protocol has no second runtime to cross into",
    ),
    Row(
        "P1",
        "none",
        "multi-process, not in the adapter protocol; judged in tests/redis: per "
        "subscription, the entry ids (`publish`) of the non-local messages it starts",
    ),
    Row(
        "P2",
        "none",
        "multi-process, not in the adapter protocol; judged in tests/redis: the "
        "process's stream position at `sub_call`, `sub_ret`, `unsub_call`, `unsub_ret` "
        "and `shutdown_call` against the entry ids of published messages",
    ),
    Row(
        "P3",
        "none",
        "multi-process, not in the adapter protocol; judged in tests/redis: two `start`"
        " of one (message, subscription) in one process's history",
    ),
    Row(
        "P4",
        "none",
        "multi-process, not in the adapter protocol; judged in tests/redis: a `publish`"
        " of a local message, or its `start` in another process",
    ),
    Row(
        "P5",
        "none",
        "multi-process, not in the adapter protocol; judged in tests/redis: a `drop "
        "expired` in the reading process for an entry whose deadline passed on its "
        "clock",
    ),
    Row(
        "P6",
        "none",
        "multi-process, not in the adapter protocol; judged in tests/redis and sim.net: after "
        "`shutdown_ret`, each non-local send of that process has a `publish` or a "
        "whole-message `drop`; and at `shutdown_ret` (and each `join_ret`, for sends "
        "returned before its `join_call`) each published one was started, or dropped, by "
        "each own subscription whose `sub_ret` preceded its `send_call` (unless it "
        "unsubscribed at a position before the entry)",
    ),
    Row(
        "P7",
        "none",
        "multi-process, not in the adapter protocol; judged in tests/redis: P2 and P3 "
        "across a server restart; a `reset` event excuses only entries before the loss",
    ),
    Row(
        "P8",
        "none",
        "multi-process, not in the adapter protocol; judged in tests/redis: `send()` "
        "returns while the server is down; a `drop error` follows within the retry "
        "bound",
    ),
)

TABLE: dict[str, Row] = {r.clause: r for r in _ROWS}
ALL_CLAUSES: tuple[str, ...] = tuple(r.clause for r in _ROWS)


def markdown() -> str:
    lines = [
        "# Observability of the spec's clauses",
        "",
        "Generated by `python -m tests.sim.test_observability` from",
        "`sim/conform/observability.py`; that test checks that it is",
        "current. For every clause of [channels.md](channels.md): who judges it in",
        "`python -m sim conform`, and which observable events of a history (see",
        "`sim/history.py`) decide it. A clause judged by nobody is reported",
        '"not observable"; a judged clause that no run exercised is "not exercised"; only a',
        'judged, exercised clause without a violation "conforms".',
        "",
        "| clause | judged by | decided by |",
        "|---|---|---|",
    ]
    lines += [f"| {r.clause} | {r.judge} | {r.decided_by} |" for r in _ROWS]
    return "\n".join(lines) + "\n"
