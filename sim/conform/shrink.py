"""Minimal counterexamples: a smaller scenario, then the schedule with the fewest preemptions.

``shrink`` greedily applies the most drastic simplification that still breaks the
clause on some schedule (a few seeds of each strategy, race-directed too for a run with
line points) without needing many more preemptions: one thread fewer, a role no
operation uses removed (indices renumbered), one operation fewer, fewer broker and
worker threads, a role's handler made plain, a send made plain. Then ``fewest``
searches more schedules of the final scenario for the one with the fewest preemptions
that still fails. ``readable`` prints a scenario for a person, next to the replay
command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sim.conform.runner import Run
from sim.scenario import (
    Advance,
    Bad,
    ChannelSpec,
    Op,
    Scenario,
    Send,
    Settle,
    Shutdown,
    Subscribe,
    Unsubscribe,
)

__all__ = ["fewest", "readable", "shrink", "simpler"]

Play = Callable[[Scenario, str, int], Run]
STRATEGIES = ("random", "pct")


def _roles_used(scenario: Scenario) -> set[int]:
    used = {op.channel for ops in scenario.threads for op in ops if hasattr(op, "channel")}
    used |= {c.reply for c in scenario.channels if c.reply is not None}
    used |= {a.channel for c in scenario.channels for a in c.actions}  # handler actions
    return used


def _renumbered(op: Op, renumber: Callable[[int], int]) -> Op:
    channel = getattr(op, "channel", None)
    if not isinstance(channel, int):
        return op
    new: Op = replace(op, channel=renumber(channel))  # type: ignore[arg-type]
    return new


def _without_role(scenario: Scenario, role: int) -> Scenario:
    """*scenario* without channel role *role* (no op names it), later roles renumbered."""

    def renumber(r: int) -> int:
        return r - 1 if r > role else r

    channels = tuple(
        replace(
            c,
            reply=None if c.reply is None else renumber(c.reply),
            actions=tuple(_renumbered(a, renumber) for a in c.actions),  # type: ignore[misc]
        )
        for i, c in enumerate(scenario.channels)
        if i != role
    )
    threads = tuple(tuple(_renumbered(op, renumber) for op in ops) for ops in scenario.threads)
    return replace(scenario, channels=channels, threads=threads)


def simpler(scenario: Scenario) -> list[Scenario]:
    """Candidate simplifications, most drastic first."""
    out: list[Scenario] = []
    threads = scenario.threads
    if len(threads) > 1:
        for t in range(len(threads)):
            out.append(replace(scenario, threads=threads[:t] + threads[t + 1 :]))
    used = _roles_used(scenario)
    for role in range(len(scenario.channels) - 1, -1, -1):
        if role not in used and len(scenario.channels) > 1:
            out.append(_without_role(scenario, role))
    for t, ops in enumerate(threads):
        for i in range(len(ops)):
            new = list(threads)
            new[t] = ops[:i] + ops[i + 1 :]
            out.append(replace(scenario, threads=tuple(x for x in new if x) or ((),)))
    if scenario.brokers > 1:
        out.append(replace(scenario, brokers=1))
    if scenario.workers > 1:
        out.append(replace(scenario, workers=scenario.workers - 1))
    for r, spec in enumerate(scenario.channels):
        plain = ChannelSpec(spec.topic, spec.subscribed)
        if spec != plain and spec.reply is None:
            channels = list(scenario.channels)
            channels[r] = plain
            out.append(replace(scenario, channels=tuple(channels)))
    for t, ops in enumerate(threads):
        for i, op in enumerate(ops):
            if isinstance(op, Send) and op != Send(op.channel):
                new = list(threads)
                new[t] = (*ops[:i], Send(op.channel), *ops[i + 1 :])
                out.append(replace(scenario, threads=tuple(new)))
    return out


def _strategies(run: Run) -> tuple[str, ...]:
    """Random walk and PCT, the strategy that found *run*, and race-directed PCT whenever
    *run* had line points: a race between two lines needs few preemptions there, and a
    shrinking step that happened to fail under the random walk must not lose it."""
    from sim.strategies import STRATEGIES as REGISTERED

    extra = (run.strategy,) if run.strategy in REGISTERED and run.strategy != "replay" else ()
    lines = run.trace is not None and run.trace.lines is not None and "race" in REGISTERED
    return tuple(dict.fromkeys((*STRATEGIES, *extra, *(("race",) if lines else ()))))


def _fails(
    play: Play, scenario: Scenario, clause: str, seeds: int, strategies: tuple[str, ...]
) -> Run | None:
    """The failing run with the fewest preemptions among a few seeds of each strategy."""
    best: Run | None = None
    for strategy in strategies:
        for seed in range(seeds):
            run = play(scenario, strategy, seed)
            if clause in run.found and (best is None or run.preemptions < best.preemptions):
                best = run
                if best.preemptions == 0:
                    return best
    return best


def _slack(preemptions: int) -> int:
    """The most preemptions a simpler scenario's failing schedule may need: a scenario one
    operation smaller that fails only under hundreds of preemptions (say, without the sleep
    that ordered a send after two subscribes) is harder to read, not easier."""
    return max(2 * preemptions, preemptions + 10)


def shrink(play: Play, run: Run, clause: str, seeds: int = 6, limit: int = 400) -> Run:
    """Greedily simplify *run*'s scenario while *clause* still breaks on some schedule that
    needs not many more preemptions than the current one (``_slack``)."""
    tries = 0
    improved = True
    while improved and tries < limit:
        improved = False
        for candidate in simpler(run.scenario):
            tries += 1
            found = _fails(play, candidate, clause, seeds, _strategies(run))
            if found is not None and found.preemptions <= _slack(run.preemptions):
                run, improved = found, True
                break
            if tries >= limit:
                break
    return run


def fewest(play: Play, run: Run, clause: str, seeds: int = 40) -> Run:
    """Among *seeds* schedules per strategy of *run*'s scenario, the failing one with fewest
    preemptions (*run* itself if none has fewer)."""
    best = run
    for strategy in _strategies(run):
        for seed in range(seeds):
            if best.preemptions == 0:
                return best
            again = play(run.scenario, strategy, seed)
            if clause in again.found and again.preemptions < best.preemptions:
                best = again
    return best


def _op(op: Op, scenario: Scenario) -> str:
    def name(r: int) -> str:
        return f"{r} ({scenario.channels[r].topic!r})"

    if isinstance(op, Send):
        extra = []
        e = op.expiry_spec()
        if e is not None:
            kind = "" if e.kind == "timedelta" else f" as a {e.kind} datetime"
            extra.append(f"expiry {e.seconds:g} s{kind}")
        if op.droppable:
            extra.append("droppable")
        if op.local:
            extra.append("local")
        return f"send on {name(op.channel)}" + (f" [{', '.join(extra)}]" if extra else "")
    if isinstance(op, Subscribe):
        return f"subscribe {name(op.channel)}" + (" (its current object)" if op.direct else "")
    if isinstance(op, Unsubscribe):
        return f"unsubscribe {name(op.channel)}" + (" (its current object)" if op.direct else "")
    if isinstance(op, Bad):
        return f"bad input {op.what} on {name(op.channel)}"
    if isinstance(op, Advance):
        return f"sleep {op.seconds:g} s"
    if isinstance(op, Settle):
        return "settle"
    if isinstance(op, Shutdown):
        return "shutdown"
    return repr(op)


def readable(scenario: Scenario) -> str:
    """The scenario for a person: settings, channels with their handlers, each thread's ops."""
    lines = [
        f"{scenario.brokers} broker(s), {scenario.workers} task worker(s), task batch "
        f"{scenario.task_batch}, route batch {scenario.route_batch}"
        + (", shutdown at the end" if scenario.shutdown else ", settle at the end")
    ]
    for r, c in enumerate(scenario.channels):
        handler = []
        if c.sleep:
            handler.append(f"sleeps {c.sleep:g} s")
        if c.reply is not None:
            handler.append(f"sends {'a droppable ' if c.reply_droppable else ''}reply on {c.reply}")
        if c.raises:
            handler.append("raises a BaseException" if c.raises == "base" else "raises")
        for action in c.actions:
            handler.append(_op(action, scenario))
        state = "subscribed at start" if c.subscribed else "not subscribed at start"
        lines.append(
            f"  channel {r} {c.topic!r}: {state}"
            + (f"; handler {', '.join(handler)}" if handler else "")
        )
    for t, ops in enumerate(scenario.threads):
        lines.append(f"  thread {t}: " + ("; ".join(_op(op, scenario) for op in ops) or "nothing"))
    return "\n".join(lines)
