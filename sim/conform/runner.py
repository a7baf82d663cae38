"""Running one scenario against the candidate, simulated or on real threads, every call bounded.

A ``Run`` is what conformance needs of one play: the history, the oracle's findings
(clause -> first text), the trace when it was simulated (replayable), and how it was
played. Nothing the candidate does may hang ``conform``: every play runs on a helper
thread joined with a wall-clock bound; a play that does not finish becomes a
*liveness finding* naming the call that did not return (``shutdown()``, ``settle()``,
``send()``, a handler ...), and the stuck thread is abandoned (it is a daemon).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sim.adapters import load_adapter
from sim.history import History
from sim.lines.plan import plan_run
from sim.oracle import check
from sim.runs import judge, named_clause, record
from sim.scenario import Scenario
from sim.trace import Trace

__all__ = [
    "LIVENESS_CLAUSE",
    "Hung",
    "Run",
    "bounded",
    "declines_simulation",
    "open_calls",
    "real",
    "simulate",
]

T = TypeVar("T")

#: the clause a call that never returns breaks
LIVENESS_CLAUSE: dict[str, str] = {
    "shutdown()": "S1",
    "settle()": "D2",
    "send()": "R2",
    "subscribe()": "A2",
    "unsubscribe()": "A2",
    "a handler": "O4",
}
_PAIRS = (
    ("shutdown_call", ("shutdown_ret",), "shutdown()"),
    ("settle_call", ("settle_ret",), "settle()"),
    ("send_call", ("send_ret", "send_err"), "send()"),
    ("sub_call", ("sub_ret", "sub_err"), "subscribe()"),  # a raising subscribe() returned
    ("unsub_call", ("unsub_ret",), "unsubscribe()"),
    ("start", ("end",), "a handler"),
)


class Hung(Exception):
    """A bounded call did not return in time."""


def bounded(fn: Callable[[], T], seconds: float, what: str) -> T:
    """``fn()`` on a daemon thread; ``Hung`` if it has not returned after *seconds*."""
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=body, name=f"conform-{what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise Hung(f"{what} did not return within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def open_calls(history: History) -> list[str]:
    """The calls into the implementation that began and never returned, first first."""
    pending: dict[tuple[str, int, int, int], tuple[int, str]] = {}
    ends = {end: (call, name) for call, names, name in _PAIRS for end in names}
    calls = {call: name for call, _, name in _PAIRS}
    for e in history.events:
        if e.kind in calls:
            pending[(e.kind, e.thread if e.kind != "start" else -1, e.msg, e.sub)] = (
                e.index,
                calls[e.kind],
            )
        elif e.kind in ends:
            call, _ = ends[e.kind]
            pending.pop((call, e.thread if call != "start" else -1, e.msg, e.sub), None)
    return [name for _, name in sorted(pending.values())]


def liveness(history: History, bound: str, where: str, after: str = "") -> tuple[str, str]:
    """(clause, text) of a run that did not finish: the first call that never returned, or,
    if a thread of the implementation died before (a ``fault``), that fault (V2; H1 when a
    raising handler ended the thread): the hang is its consequence (spec section 17 step 6).

    *after*: the call the driver made after the history ended (its clean-up shutdown).
    """
    stuck = open_calls(history)
    what = stuck[0] if stuck else after or "the run"
    text = f"liveness: {what} did not return ({where}, bound {bound})"
    fault = next((e for e in history.events if e.kind == "fault"), None)
    if fault is not None:  # a thread of the implementation died first: that is the cause
        tag, _, detail = fault.info.partition(":")
        return ("H1" if tag == "handler" else "V2"), f"{detail} (fault); then {text}"
    return LIVENESS_CLAUSE.get(what, "S1"), text


@dataclass
class Run:
    scenario: Scenario
    history: History
    found: dict[str, str]  #: clause -> the first violation's text
    mode: str  #: "sim" or "real"
    strategy: str
    seed: int
    trace: Trace | None = None  #: simulated runs: replayable
    tolerance: float = 0.0  #: real runs: the clock tolerance the oracle used (scenario seconds)
    pairs: dict[str, tuple[int, int]] | None = None  #: clause -> (msg, sub) of its first violation
    hung: bool = False  #: a call never returned: its thread is abandoned, stuck for good
    lines: str = ""  #: simulated runs: the ``--preempt-lines`` they were played with

    @property
    def size(self) -> int:
        """How big the scenario is (operations and channels): smaller counterexamples first."""
        return sum(len(ops) for ops in self.scenario.threads) + len(self.scenario.channels)

    def pair(self, clause: str) -> tuple[str, str] | None:
        """(message topic, subscription topic) of *clause*'s first violation, if it has both."""
        msg, sub = (self.pairs or {}).get(clause, (-1, -1))
        info = self.history.messages.get(msg)
        topic = self.history.topics.get(sub)
        return None if info is None or topic is None else (info.topic, topic)

    @property
    def preemptions(self) -> int:
        return self.trace.preemptions if self.trace is not None else 0

    @property
    def digest(self) -> str:
        """Identifies the interleaving (scenario and decisions)."""
        import hashlib

        h = hashlib.sha1(usedforsecurity=False)
        h.update(repr(self.scenario).encode())
        if self.trace is not None:
            h.update(str(self.trace.decisions).encode("ascii"))
        else:
            h.update(str([(e.kind, e.msg, e.sub) for e in self.history.events]).encode())
        return h.hexdigest()[:16]


def _pairs(violations: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for v in violations:
        out.setdefault(v["clause"], (v["msg"], v["sub"]))
    return out


def _found_in_trace(trace: Trace, history: History, bound: int) -> dict[str, str]:
    found: dict[str, str] = {}
    for v in trace.outcome.get("violations", []):
        found.setdefault(v["clause"], v["text"])
    status = trace.outcome["status"]
    if status in ("deadlock", "livelock", "error"):
        clause, text = liveness(history, f"{bound} steps", f"{status} in simulation")
        if status == "error":
            text = f"{text}: {trace.error}"
            clause = named_clause(str(trace.error)) or clause
        elif trace.error:
            text = f"{text}; {trace.error}"
        found.setdefault(clause, text)
    return found


def simulate(
    impl: str,
    scenario: Scenario,
    strategy: str,
    seed: int,
    *,
    max_steps: int = 100_000,
    wall: float = 60.0,
    lines: str = "",
) -> Run:
    """One simulated schedule, judged; a run that blocks the real process is a liveness finding.

    *lines* is ``--preempt-lines`` (empty: the adapter's default; see ``sim.lines.plan``).
    """

    def play() -> Trace:
        chosen, points = plan_run(impl, strategy, seed, scenario, lines, max_steps)
        return record(scenario, impl, chosen, seed, max_steps, judge, lines=points)

    try:
        trace = bounded(play, wall, "a simulated run")
    except Hung as exc:
        history = History()
        found = {"S1": f"liveness: {exc}"}
        return Run(scenario, history, found, "sim", strategy, seed, hung=True)
    history = trace.load_history()
    return Run(
        scenario,
        history,
        _found_in_trace(trace, history, max_steps),
        "sim",
        strategy,
        seed,
        trace,
        pairs=_pairs(trace.outcome.get("violations", [])),
        lines=lines,
    )


def declines_simulation(impl: str) -> bool:
    """True when the adapter says it cannot run under the deterministic scheduler."""
    try:
        adapter = load_adapter(impl)
    except Exception:
        return False
    return getattr(adapter, "simulation", True) is False


def tolerance_of(stats: dict[str, Any], scale: float, margin: float = 0.02) -> float:
    """The clock tolerance of one real run, in scenario seconds (see ``real``)."""
    return (margin + 3.0 * float(stats.get("oversleep", 0.0))) / scale


def real(
    impl: str,
    scenario: Scenario,
    seed: int,
    *,
    scale: float = 0.01,
    margin: float = 0.02,
    wall: float = 20.0,
) -> Run:
    """One play on real threads, judged with a clock tolerance measured for this run.

    The tolerance is *margin* real seconds (CPython's GIL switch interval is 5 ms: a
    thread that became runnable may wait a few of them) plus three times the worst
    oversleep the driver saw in this run (how late the machine woke a sleeping thread),
    converted to scenario seconds. A loaded machine widens it; on an idle one, expiry
    lateness above it is decided (E2), and the report states it.
    """
    from sim.driver import RealRunError, play_real

    stats: dict[str, Any] = {}

    def play() -> History:
        return play_real(scenario, load_adapter(impl), scale, stats=stats)

    found: dict[str, str] = {}
    history: History
    try:
        history = bounded(play, wall, "a real-thread run")
    except Hung:
        history = stats.get("history") or History()
        after = str(stats.get("cleanup", ""))
        clause, text = liveness(history, f"{wall:g} s", "on real threads", after)
        return Run(scenario, history, {clause: text}, "real", "real", seed, hung=True)
    except RealRunError as exc:
        history = exc.history or History()
        clause, text = liveness(history, f"{wall:g} s", "on real threads")
        found[named_clause(str(exc)) or clause] = f"{text}: {exc}"
        return Run(scenario, history, found, "real", "real", seed)
    except Exception as exc:  # the implementation raised where it must not
        history = stats.get("history") or History()
        return Run(
            scenario,
            history,
            {"S1": f"the real run failed: {type(exc).__name__}: {exc}"},
            "real",
            "real",
            seed,
        )
    tolerance = tolerance_of(stats, scale, margin)
    violations = check(history, tolerance=tolerance).violations
    for v in violations:
        found.setdefault(v.clause, f"{v.text} (real threads, tolerance {tolerance:.2g} s)")
    pairs = _pairs([v.to_json() for v in violations])
    return Run(scenario, history, found, "real", "real", seed, tolerance=tolerance, pairs=pairs)
