"""Targeted probes: small scenarios for clauses whose breakage a generated run shows rarely.

Each probe builds the situation a clause is about and checks what the clause promises,
through the oracle's verdict on the probe's histories, with a *control* where a symptom
could have another cause:

* ``probe_handler_errors`` (H1): a raising handler with messages queued behind it and
  newer ones arriving; every later message must still arrive once and in order (O2,
  D1, W1/D2), at that subscriber and the others. The same scenario with a handler that
  does not raise is the control: a violation both show is not H1's.
* ``probe_snapshot`` (W4): subscribe right after sends to a busy runtime.
* ``probe_registry`` (W1, W2): several threads subscribe and unsubscribe different
  channels at once, then messages are sent: a registry change lost to a race shows as a
  subscription that receives nothing (W1) or an unsubscribed one that still receives (W2).
* ``probe_same_object`` (A2, D1, W2, ...): two threads subscribe, unsubscribe, or subscribe
  and unsubscribe *one* channel object at once, then messages are sent: a check-then-act
  race in ``subscribe()``/``unsubscribe()`` shows as two registrations (A2, and D1 when the
  object then receives each message twice), a lost or extra one (W1/W2), or an exception.
  Played with line points where the candidate has them (race-directed, and the random walk
  at every line): such a race often has no synchronisation between its two lines. The same
  operations on two different objects are the control: what both show is not the race's.
  Also a re-subscription of one object while its old subscription's deliveries are queued
  (W2: the new handler must not run them; the control subscribes another object).
* ``probe_droppable`` (S3): droppable and non-droppable messages, no shutdown; a
  droppable one lost or dropped while its non-droppable neighbours arrive is S3.
* ``probe_draining_sends`` (S4): another thread sends while a shutdown drains a slow
  handler; the oracle judges the accepted path (a send accepted after the history
  proves the runtime was closing) and the rejected one.
* ``probe_expiry`` (E2): a slow handler with expiring messages queued behind it, so that
  deadlines pass while they wait; on real threads too, with expiries well outside the
  run's clock tolerance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sim.conform.runner import Run
from sim.scenario import (
    Advance,
    ChannelSpec,
    Op,
    Scenario,
    Send,
    Settle,
    Shutdown,
    Subscribe,
    Unsubscribe,
)

__all__ = [
    "Finding",
    "ProbeResult",
    "probe_draining_sends",
    "probe_droppable",
    "probe_expiry",
    "probe_handler_errors",
    "probe_registry",
    "probe_same_object",
    "probe_snapshot",
    "same_object_scenarios",
]

Play = Callable[[Scenario, str, int], Run]


@dataclass
class Finding:
    clause: str
    text: str
    run: Run


@dataclass
class ProbeResult:
    findings: list[Finding] = field(default_factory=list)
    exercised: Counter[str] = field(default_factory=Counter)
    runs: list[Run] = field(default_factory=list)

    def add(self, clause: str, text: str, run: Run) -> None:
        if all(f.clause != clause for f in self.findings):
            self.findings.append(Finding(clause, text, run))


def _schedules(
    seeds: int, strategies: tuple[str, ...] = ("random", "pct")
) -> list[tuple[str, int]]:
    return [(s, seed) for seed in range(seeds) for s in strategies]


# H1 ---------------------------------------------------------------------------------------------
def handler_error_scenario(raises: bool, workers: int, batch: int) -> Scenario:
    """A slow raising handler; messages queue behind it while newer ones keep arriving."""
    channels = (
        ChannelSpec("h.a", raises=raises, sleep=0.5),
        ChannelSpec("h.*"),
        ChannelSpec("h.a", subscribed=False),
    )
    ops: list[Op] = [Send(2), Send(2), Send(2)]
    for _ in range(4):
        ops += [Advance(0.3), Send(2), Send(2)]
    return Scenario(
        channels,
        ((*ops, Settle()),),
        brokers=1,
        workers=workers,
        shutdown=False,
        task_batch=batch,
    )


#: what using one channel object twice can break: its subscriptions (A2), their deliveries
#: (D1, W1, W2, W3, D2), or a worker (V2)
_SAME_OBJECT = ("A2", "D1", "W1", "W2", "W3", "D2", "V2")
_AFTER_RAISE = ("O2", "O3", "D1", "W1", "D2", "S1", "S2", "W2")


def probe_handler_errors(play: Play, seeds: int) -> ProbeResult:
    """H1: after a raise, every later message arrives once and in order, everywhere."""
    out = ProbeResult()
    for workers, batch in ((1, 128), (2, 2)):
        scenario = handler_error_scenario(True, workers, batch)
        control = handler_error_scenario(False, workers, batch)
        for strategy, seed in _schedules(seeds):
            run = play(scenario, strategy, seed)
            out.runs.append(run)
            starts = [e for e in run.history.events if e.kind == "start" and e.sub == 0]
            out.exercised["H1"] += max(0, len(starts) - 1)
            bad = {c: t for c, t in run.found.items() if c in _AFTER_RAISE}
            if not bad:
                continue
            clean = play(control, strategy, seed)
            out.runs.append(clean)
            for clause, text in sorted(bad.items()):
                if clause in clean.found:
                    out.add(clause, text, clean)  # not the raise: the control shows it too
                else:
                    out.add("H1", f"after a handler raised, [{clause}] {text}", run)
                    out.add(clause, text, run)
            if any(f.clause == "H1" for f in out.findings):
                return out
    return out


# W4 ---------------------------------------------------------------------------------------------
def probe_snapshot(play: Play, seeds: int) -> ProbeResult:
    """W4: receivers are fixed at send: a subscribe right after send() returns gets nothing."""
    out = ProbeResult()
    scenario = Scenario(
        (ChannelSpec("w.b", subscribed=False), ChannelSpec("w.*", sleep=1.0)),
        ((Send(0), Send(0), Subscribe(0), Send(0), Settle()),),
        brokers=1,
        workers=1,
    )
    for strategy, seed in _schedules(seeds):
        run = play(scenario, strategy, seed)
        out.runs.append(run)
        out.exercised["W4"] += 1
        text = run.found.get("W2")
        if text is not None:
            out.add("W4", f"the receivers were not fixed at send: {text}", run)
            out.add("W2", text, run)
            return out
    return out


# registry races ----------------------------------------------------------------------------------
def registry_scenario() -> Scenario:
    """Concurrent subscribes and unsubscribes of different channels; sends once they are done."""
    channels = (
        *(ChannelSpec("r.x", subscribed=False) for _ in range(4)),
        ChannelSpec("r.x"),
        ChannelSpec("r.*"),
        ChannelSpec("r.x", subscribed=False),
    )
    return Scenario(
        channels,
        (
            (Subscribe(0), Subscribe(1)),
            (Subscribe(2), Unsubscribe(4)),
            (Unsubscribe(5), Subscribe(3)),
            (Advance(1.0), Send(6), Send(6), Settle()),
        ),
        brokers=1,
        workers=2,
        shutdown=False,
    )


def probe_registry(play: Play, seeds: int) -> ProbeResult:
    """W1/W2: no registry change is lost when threads subscribe and unsubscribe at once."""
    out = ProbeResult()
    scenario = registry_scenario()
    for strategy, seed in _schedules(3 * seeds):
        run = play(scenario, strategy, seed)
        out.runs.append(run)
        for clause in ("W1", "W2", "D2"):
            text = run.found.get(clause)
            if text is not None:
                out.add(clause, f"registry changes made at once: {text}", run)
        if out.findings:
            return out
    return out


# same channel object ----------------------------------------------------------------------------
#: what two threads do to one channel object (role 0) at once (scenario format 2)
SAME_OBJECT_OPS: tuple[tuple[str, bool, tuple[Op, ...], tuple[Op, ...]], ...] = (
    ("subscribe/subscribe", False, (Subscribe(0, True),), (Subscribe(0, True),)),
    ("unsubscribe/unsubscribe", True, (Unsubscribe(0, True),), (Unsubscribe(0, True),)),
    ("subscribe/unsubscribe", True, (Subscribe(0, True),), (Unsubscribe(0, True),)),
    (
        "unsubscribe+subscribe/subscribe",
        True,
        (Unsubscribe(0, True), Subscribe(0, True)),
        (Subscribe(0, True),),
    ),
)


def _on_role_1(ops: tuple[Op, ...]) -> tuple[Op, ...]:
    """The same operations on role 1: another object of the same topic (the control)."""
    return tuple(replace(op, channel=1) for op in ops)  # type: ignore[arg-type]


def same_object_scenarios() -> list[tuple[str, Scenario, Scenario]]:
    """(name, scenario, control) per kind of same-object use.

    Concurrency: two threads on role 0 (the control: one on role 0, one on role 1), a third
    thread sending on role 2 once they are done. Re-subscription: role 0's slow handler
    has deliveries queued when the object unsubscribes and subscribes again with a new
    handler (the control subscribes another object, role 1, instead).
    """
    out = []
    sender: tuple[Op, ...] = (Advance(1.0), Send(2), Send(2), Settle())
    for name, subscribed, first, second in SAME_OBJECT_OPS:
        channels = (
            ChannelSpec("o.a", subscribed=subscribed),
            ChannelSpec("o.a", subscribed=subscribed),
            ChannelSpec("o.a", subscribed=False),
        )
        scenario = Scenario(channels, (first, second, sender), brokers=1, workers=2)
        out.append((name, scenario, replace(scenario, threads=(first, _on_role_1(second), sender))))
    channels = (
        ChannelSpec("o.a", sleep=1.0),
        ChannelSpec("o.a", subscribed=False),
        ChannelSpec("o.a", subscribed=False),
    )

    def again(role: int) -> tuple[Op, ...]:
        return (Send(2), Send(2), Advance(0.5), Unsubscribe(0, True), Subscribe(role, True))

    resubscribe = Scenario(channels, ((*again(0), Send(2), Settle()),), brokers=1, workers=1)
    control = replace(resubscribe, threads=((*again(1), Send(2), Settle()),))
    out.append(("re-subscribe with deliveries queued", resubscribe, control))
    return out


def probe_same_object(
    play: Play, seeds: int, strategies: tuple[str, ...] = ("random", "pct")
) -> ProbeResult:
    """One channel object used twice: every clause a run breaks, unless its control breaks it.

    *strategies*: ``("race", "random")`` with line points where the candidate has them.
    """
    out = ProbeResult()
    for name, scenario, control in same_object_scenarios():
        for strategy, seed in _schedules(seeds, strategies):
            run = play(scenario, strategy, seed)
            out.runs.append(run)
            bad = {c: t for c, t in run.found.items() if c in _SAME_OBJECT}
            if not bad:
                continue
            clean = play(control, strategy, seed)
            out.runs.append(clean)
            for clause, text in sorted(bad.items()):
                if clause not in clean.found:  # else not the same object's: the control has it
                    out.add(clause, f"{name} on one channel object: {text}", run)
            break  # this use of one object broke something: on to the next
    return out


# S3 ---------------------------------------------------------------------------------------------
def probe_droppable(play: Play, seeds: int) -> ProbeResult:
    """S3: a droppable message is dropped only by a shutdown; none begins here."""
    out = ProbeResult()
    ops: list[Op] = []
    for _ in range(3):
        ops += [Send(1, droppable=True), Send(1)]
    scenario = Scenario(
        (ChannelSpec("d.a", sleep=0.25), ChannelSpec("d.a", subscribed=False)),
        ((*ops, Settle()),),
        brokers=1,
        workers=1,
        shutdown=False,
    )
    for strategy, seed in _schedules(seeds):
        run = play(scenario, strategy, seed)
        out.runs.append(run)
        history = run.history
        started = {e.msg for e in history.events if e.kind == "start"}
        accepted = [e.msg for e in history.events if e.kind == "send_ret"]
        droppable = [m for m in accepted if history.messages[m].droppable]
        out.exercised["S3"] += len(droppable)
        kept = all(m in started for m in accepted if m not in droppable)
        lost = [m for m in droppable if m not in started]
        if lost and kept and any(e.kind == "settle_ret" for e in history.events):
            drops = [e.info for e in history.events if e.kind == "drop" and e.msg == lost[0]]
            how = f"dropped ({drops[0]})" if drops else "lost without a report"
            out.add(
                "S3",
                f"droppable message {lost[0]} was {how} while no shutdown had begun; the "
                f"non-droppable messages around it were delivered",
                run,
            )
            return out
    return out


# S4 ---------------------------------------------------------------------------------------------
def probe_draining_sends(play: Play, seeds: int) -> ProbeResult:
    """S4: while a shutdown drains a slow handler, another thread's sends must be refused."""
    out = ProbeResult()
    scenario = Scenario(
        (
            ChannelSpec("s.a", sleep=2.0, reply=2),
            ChannelSpec("s.a", subscribed=False),
            ChannelSpec("s.r"),
        ),
        (
            (Send(1), Send(1), Shutdown()),
            (
                Advance(0.5),
                Send(1, droppable=True),
                Advance(0.5),
                Send(1),
                Advance(0.5),
                Send(1, droppable=True),
                Send(1),
            ),
        ),
        brokers=1,
        workers=1,
    )
    for strategy, seed in _schedules(seeds):
        run = play(scenario, strategy, seed)
        out.runs.append(run)
        events = run.history.events
        sdc = next((e.index for e in events if e.kind == "shutdown_call"), -1)
        sdr = next((e.index for e in events if e.kind == "shutdown_ret"), len(events))
        out.exercised["S4"] += sum(
            1 for e in events if e.kind == "send_call" and sdc >= 0 and sdc < e.index < sdr
        )
        text = run.found.get("S4")
        if text is not None:
            out.add("S4", text, run)
            return out
    return out


# E2 ---------------------------------------------------------------------------------------------
def expiry_scenario(batch: int) -> Scenario:
    """Deadlines pass while messages wait behind a slow handler; one deadline stays far ahead."""
    return Scenario(
        (ChannelSpec("e.a", sleep=3.0), ChannelSpec("e.a", subscribed=False)),
        (
            (
                Send(1),
                Send(1, expiry=1.0),
                Send(1, expiry=12.0),
                Send(1, expiry=1.0),
                Send(1),
                Settle(),
            ),
        ),
        brokers=1,
        workers=1,
        shutdown=False,
        task_batch=batch,
    )


def probe_expiry(play: Play, seeds: int) -> ProbeResult:
    """E2/E3: a copy whose deadline passed while it waited is dropped, never run late."""
    out = ProbeResult()
    for batch in (128, 2):
        scenario = expiry_scenario(batch)
        for strategy, seed in _schedules(seeds, ("random",)):
            run = play(scenario, strategy, seed)
            out.runs.append(run)
            out.exercised["E2"] += 2
            out.exercised["E3"] += 3
            for clause in ("E2", "E3"):
                text = run.found.get(clause)
                if text is not None:
                    out.add(clause, text, run)
            if out.findings:
                return out
    return out
