"""Traces: one simulated run, stored so that it can be replayed exactly and read by a person.

A trace (format ``chanspec-trace/1``) holds everything needed to run the execution
again — the implementation's name, the scenario, the strategy's description, seed,
step limit and, above all, the *decisions* — and everything needed to check that the
second run is the same one: the step log (thread and point kind per step), the clock
moves, the counters, the history, and the caller's verdict (``outcome``: a status of
``ok``/``violation``/``deadlock``/``livelock``/``error`` plus the violations).

A fine-grained run (``--preempt-lines``) also stores ``lines``: the modules and the
lines that were scheduling points (``sim.lines.LinePoints``), so replay sets the same
points; the field is absent for runs without line points.

``Trace.dumps()`` is canonical JSON (sorted keys, no spaces, ASCII, one trailing
newline), so the same run gives the same bytes on every machine and in every process.

A trace only stores and reads: ``capture(execution, ...)`` turns a
``sim.execution.Execution`` (a run that already happened) and the caller's verdict into
a trace, and ``compare(a, b)`` names the first differences between two traces, step by
step and event by event, e.g. ``step 118: trace has thread 4 'get queue2', replay has
thread 3 'acquire lock1'``. Running is elsewhere: ``sim.runs.record`` plays, judges and
captures a run; ``sim.runs.replay`` plays a trace's decisions again and compares.

* ``load(path)`` refuses other format versions and anything that is not a well-formed
  trace (every field's type is checked, the scenario as ``sim.inputs`` checks scenario
  files), so a hand-edited or hostile file fails with one ``TraceFormatError`` line;
  ``timeline(trace)`` draws one lane per virtual thread (``python -m sim replay FILE
  [--steps]`` shows it, in ``sim.cli``).
* A trace *names* its implementation; ``sim.runs.replay`` resolves that name only among
  the registered adapters (``sim.inputs.adapter_for_trace``): a file never chooses code
  to import. Replaying a ``module:factory`` trace takes an explicit ``adapter=``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.execution import Execution
from sim.history import Event, History
from sim.lines.config import LinePoints
from sim.scenario import Scenario
from sim.scheduler import Deadlock, Livelock, Scheduler

__all__ = [
    "FORMAT",
    "STATUSES",
    "OutcomeFn",
    "ReplayResult",
    "Trace",
    "TraceFormatError",
    "capture",
    "compare",
    "default_outcome",
    "first_difference",
    "line_points",
    "load",
    "timeline",
]

FORMAT = "chanspec-trace/1"
STATUSES = ("ok", "violation", "deadlock", "livelock", "error")

#: outcome_fn(history, scheduler or None, exception or None) -> outcome fields
OutcomeFn = Callable[[History, "Scheduler | None", "BaseException | None"], dict[str, Any]]

_FIELDS = (
    "format",
    "impl",
    "scenario",
    "strategy",
    "seed",
    "max_steps",
    "decisions",
    "threads",
    "log",
    "clock",
    "steps",
    "preemptions",
    "time",
    "history",
    "error",
    "outcome",
    "partial",
)


class TraceFormatError(ValueError):
    """The file is not a trace this version of chanspec can read."""


@dataclass
class Trace:
    impl: str  #: adapter name for ``sim.adapters.load_adapter`` (refimpl, mutant:NAME, lona, ...)
    scenario: dict[str, Any]  #: ``Scenario.to_json()``
    strategy: dict[str, Any]  #: ``sim.strategies.describe(strategy)``: name, seed, params
    seed: int | None
    max_steps: int
    decisions: list[int]
    threads: list[str]  #: virtual thread names, by id
    log: list[tuple[int, str]]  #: (thread, point kind) per step; step n is log[n - 1]
    clock: list[tuple[int, float]]  #: (steps so far, new virtual time) at each clock move
    steps: int
    preemptions: int
    time: float  #: final virtual time
    history: dict[str, Any]  #: ``History.to_json()``
    error: str  #: how the execution itself failed ("Deadlock: ...", "Livelock: ..."), or ""
    outcome: dict[str, Any]  #: the verdict: status, violations, error (see ``default_outcome``)
    partial: bool = False  #: the run failed before its log and history could be captured
    format: str = FORMAT
    lines: dict[str, Any] | None = None  #: ``LinePoints.to_json()`` of a fine-grained run

    # serialisation ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "impl": self.impl,
            "scenario": self.scenario,
            "strategy": self.strategy,
            "seed": self.seed,
            "max_steps": self.max_steps,
            "decisions": list(self.decisions),
            "threads": list(self.threads),
            "log": [[tid, kind] for tid, kind in self.log],
            "clock": [[step, time] for step, time in self.clock],
            "steps": self.steps,
            "preemptions": self.preemptions,
            "time": self.time,
            "history": self.history,
            "error": self.error,
            "outcome": self.outcome,
            "partial": self.partial,
            **({} if self.lines is None else {"lines": self.lines}),
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "trace") -> Trace:
        if not isinstance(data, dict) or "format" not in data:
            raise TraceFormatError(f"{source}: not a chanspec trace (no 'format' field)")
        if data["format"] != FORMAT:
            raise TraceFormatError(
                f"{source}: trace format {_short(data['format'])} is not supported; this "
                f"version of chanspec reads {FORMAT!r} only (record the run again)"
            )
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise TraceFormatError(f"{source}: {FORMAT} trace lacks {', '.join(missing)}")
        _check_fields(data, source)
        return cls(
            impl=data["impl"],
            scenario=data["scenario"],
            strategy=data["strategy"],
            seed=data["seed"],
            max_steps=data["max_steps"],
            decisions=list(data["decisions"]),
            threads=list(data["threads"]),
            log=[(tid, kind) for tid, kind in data["log"]],
            clock=[(step, time) for step, time in data["clock"]],
            steps=data["steps"],
            preemptions=data["preemptions"],
            time=data["time"],
            history=data["history"],
            error=data["error"],
            outcome=data["outcome"],
            partial=data["partial"],
            lines=_lines_field(data.get("lines"), source),
        )

    def dumps(self) -> str:
        """Canonical JSON: the same run gives the same bytes."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return text + "\n"

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.dumps(), encoding="ascii")

    # views -------------------------------------------------------------------------------------
    def load_scenario(self) -> Scenario:
        return Scenario.from_json(self.scenario)

    def load_history(self) -> History:
        return History.from_json(self.history)

    @property
    def status(self) -> str:
        return str(self.outcome.get("status", "?"))


def _lines_field(data: Any, source: str) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        return LinePoints.from_json(data).to_json()
    except ValueError as exc:
        raise TraceFormatError(f"{source}: {exc}") from exc


def line_points(trace: Trace) -> LinePoints | None:
    """The trace's line points, or None for a run without them."""
    return None if trace.lines is None else LinePoints.from_json(trace.lines)


def load(path: str | Path) -> Trace:
    """Read a trace file; TraceFormatError (one line) if it is not a well-formed trace."""
    from sim.inputs import InputError, read_json

    try:
        data = read_json(path, "trace")
    except InputError as exc:
        raise TraceFormatError(f"not a chanspec trace: {exc}") from None
    return Trace.from_json(data, str(path))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: object, low: int = 0) -> bool:
    return type(value) is int and value >= low


def _is_num(value: object) -> bool:
    return type(value) in (int, float) and value == value and abs(value) != float("inf")  # type: ignore[arg-type]


def _pairs(value: object, second: Callable[[object], bool]) -> bool:
    return isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and _is_int(p[0]) and second(p[1]) for p in value
    )


def _check_fields(data: dict[str, Any], source: str) -> None:
    """Every field has the type the replay and the timeline use (TraceFormatError if not)."""
    from sim.inputs import InputError, scenario_from_json

    def fail(text: str) -> TraceFormatError:
        return TraceFormatError(f"{source}: {text}")

    checks: list[tuple[str, bool, str]] = [
        ("impl", isinstance(data["impl"], str) and bool(data["impl"]), "a non-empty string"),
        ("strategy", isinstance(data["strategy"], dict), "an object"),
        ("seed", data["seed"] is None or _is_int(data["seed"]), "an integer >= 0 or null"),
        ("max_steps", _is_int(data["max_steps"], 1), "an integer >= 1"),
        (
            "decisions",
            isinstance(data["decisions"], list) and all(_is_int(d) for d in data["decisions"]),
            "a list of thread ids",
        ),
        (
            "threads",
            isinstance(data["threads"], list) and all(isinstance(t, str) for t in data["threads"]),
            "a list of names",
        ),
        ("log", _pairs(data["log"], lambda k: isinstance(k, str)), "a list of [thread, kind]"),
        ("clock", _pairs(data["clock"], _is_num), "a list of [step, time]"),
        ("steps", _is_int(data["steps"]), "an integer >= 0"),
        ("preemptions", _is_int(data["preemptions"]), "an integer >= 0"),
        ("time", _is_num(data["time"]), "a finite number"),
        ("history", isinstance(data["history"], dict), "an object"),
        ("error", isinstance(data["error"], str), "a string"),
        ("outcome", isinstance(data["outcome"], dict), "an object"),
        ("partial", type(data["partial"]) is bool, "true or false"),
    ]
    for name, ok, wanted in checks:
        if not ok:
            raise fail(f"'{name}' must be {wanted}, not {_short(data[name])}")
    strategy = data["strategy"]
    if not isinstance(strategy.get("name"), str) or not isinstance(
        strategy.get("params", {}), dict
    ):
        raise fail("'strategy' must have a string 'name' and an object 'params'")
    outcome = data["outcome"]
    if outcome.get("status") not in STATUSES:
        raise fail(f"outcome status {_short(outcome.get('status'))} is not one of {STATUSES}")
    violations = outcome.get("violations", [])
    if not isinstance(violations, list) or not all(
        isinstance(v, dict)
        and isinstance(v.get("clause"), str)
        and isinstance(v.get("text"), str)
        and isinstance(v.get("witness", []), list)
        for v in violations
    ):
        raise fail("outcome violations must be objects with a 'clause', a 'text' and a 'witness'")
    if data["partial"] and (data["log"] or data["threads"] or data["history"].get("events")):
        # a partial trace is one whose run failed before anything could be captured
        raise fail("a partial trace cannot have a step log, threads or history events")
    if len(data["log"]) != data["steps"]:
        raise fail(f"'steps' is {data['steps']} but the log has {len(data['log'])} steps")
    try:
        scenario_from_json(data["scenario"], "its scenario")
    except InputError as exc:
        raise fail(str(exc)) from None
    _check_history(data["history"], fail)


def _check_history(history: dict[str, Any], fail: Callable[[str], TraceFormatError]) -> None:
    events, messages, topics = history.get("events"), history.get("messages"), history.get("topics")
    if (
        not isinstance(events, list)
        or not isinstance(messages, dict)
        or not isinstance(topics, dict)
    ):
        raise fail("'history' must have a list 'events' and objects 'messages' and 'topics'")
    types: tuple[Callable[[object], bool], ...] = (
        _is_int,
        _is_num,
        _is_int,
        _is_str,
        _is_int_any,
        _is_int_any,
        _is_str,
    )
    for n, event in enumerate(events):
        if not (
            isinstance(event, list)
            and len(event) == 7
            and all(t(v) for t, v in zip(types, event, strict=True))
        ):
            raise fail(f"history event {n} is not [index, time, thread, kind, msg, sub, info]")
    for key, info in messages.items():
        if not (
            key.lstrip("-").isdigit()
            and isinstance(info, list)
            and len(info) == 5
            and isinstance(info[0], str)
        ):
            raise fail(
                f"history message {_short(key)} is not [topic, expiry, droppable, local, sender]"
            )
    for key, topic in topics.items():
        if not (key.lstrip("-").isdigit() and isinstance(topic, str)):
            raise fail(f"history topic {_short(key)} is not a string")
    objects = history.get("objects", {})
    if not isinstance(objects, dict) or not all(
        k.lstrip("-").isdigit() and _is_int(v, -(2**63)) for k, v in objects.items()
    ):
        raise fail("history 'objects' must map ids to integers")


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_int_any(value: object) -> bool:
    return type(value) is int  # msg and sub are -1 when absent


# capturing -------------------------------------------------------------------------------------
def default_outcome(
    history: History, sched: Scheduler | None, error: BaseException | None
) -> dict[str, Any]:
    """The status the execution itself gives; the caller's ``outcome_fn`` adds its verdict."""
    if error is None:
        status = "ok"
    elif isinstance(error, Deadlock):
        status = "deadlock"
    elif isinstance(error, Livelock):
        status = "livelock"
    else:
        status = "error"
    return {"status": status, "violations": [], "error": _error_text(error)}


def _error_text(error: BaseException | None) -> str:
    return "" if error is None else f"{type(error).__name__}: {error}"


def capture(
    execution: Execution,
    impl: str,
    strategy: dict[str, Any],
    seed: int | None,
    max_steps: int,
    outcome: dict[str, Any],
    lines: LinePoints | None = None,
) -> Trace:
    """*execution* as a trace: what ran (*impl*, the *strategy*'s description, *seed*,
    *max_steps*, *lines*), what happened, and the caller's verdict (*outcome*)."""
    if outcome.get("status") not in STATUSES:
        raise ValueError(f"outcome status {outcome.get('status')!r} is not one of {STATUSES}")
    sched = execution.sched
    history = execution.history
    return Trace(
        impl=impl,
        scenario=execution.scenario.to_json(),
        strategy=strategy,
        seed=seed,
        max_steps=max_steps,
        decisions=list(sched.decisions) if sched is not None else [],
        threads=[t.name for t in sched.threads] if sched is not None else [],
        log=list(sched.log) if sched is not None else [],
        clock=list(sched.clock) if sched is not None else [],
        steps=sched.steps if sched is not None else 0,
        preemptions=sched.preemptions if sched is not None else 0,
        time=sched.time if sched is not None else 0.0,
        history=history.to_json(),
        error=_error_text(execution.error),
        outcome=outcome,
        partial=execution.partial,
        lines=None if lines is None else lines.to_json(),
    )


# comparing ----------------------------------------------------------------------------------------
@dataclass
class ReplayResult:
    """The original trace, the trace of the second run, and where they differ (first first)."""

    original: Trace
    replayed: Trace
    divergences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.divergences

    @property
    def first(self) -> str | None:
        return self.divergences[0] if self.divergences else None

    def __str__(self) -> str:
        if self.ok:
            original = self.original
            return f"replay matches: {original.steps} steps, {len(original.decisions)} decisions"
        return "replay diverges: " + "\n  ".join(self.divergences)


def _step_text(log: list[tuple[int, str]], index: int) -> str:
    if index >= len(log):
        return f"no step {index + 1} (it ended after {len(log)} steps)"
    tid, kind = log[index]
    return f"thread {tid} {kind!r}"


def _event_text(events: list[Any], index: int) -> str:
    if index >= len(events):
        return f"no event {index} (it has {len(events)} events)"
    event = Event(*events[index])
    return (
        f"t={event.time!r} thread {event.thread} {event.kind} msg {event.msg} sub {event.sub} "
        f"info {event.info!r}"
    )


def first_difference(a: list[Any], b: list[Any]) -> int | None:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return None if len(a) == len(b) else min(len(a), len(b))


def compare(a: Trace, b: Trace, names: tuple[str, str] = ("trace", "replay")) -> list[str]:
    """Every way *b*'s execution differs from *a*'s, the most telling (earliest step) first."""
    na, nb = names
    found: list[str] = []
    if a.partial != b.partial:  # a forged "partial" would hide the log and history
        found.append(
            f"capture: {na} {'is partial' if a.partial else 'is whole'}, "
            f"{nb} {'is partial' if b.partial else 'is whole'}"
        )
    if not (a.partial or b.partial):
        index = first_difference(list(a.log), list(b.log))
        if index is not None:
            found.append(
                f"step {index + 1}: {na} has {_step_text(a.log, index)}, "
                f"{nb} has {_step_text(b.log, index)}"
            )
    if a.error != b.error:
        found.append(
            f"end: {na} {f'ended with {a.error!r}' if a.error else 'finished'}, "
            f"{nb} {f'ended with {b.error!r}' if b.error else 'finished'}"
        )
    index = first_difference(a.decisions, b.decisions)
    if index is not None:
        da = a.decisions[index] if index < len(a.decisions) else None
        db = b.decisions[index] if index < len(b.decisions) else None
        found.append(
            f"decision {index}: {na} chose {'nothing' if da is None else f'thread {da}'} "
            f"({len(a.decisions)} decisions), {nb} chose "
            f"{'nothing' if db is None else f'thread {db}'} ({len(b.decisions)} decisions)"
        )
    if not (a.partial or b.partial):
        ea, eb = a.history.get("events", []), b.history.get("events", [])
        index = first_difference([list(e) for e in ea], [list(e) for e in eb])
        if index is not None:
            found.append(
                f"history event {index}: {na} has {_event_text(ea, index)}, "
                f"{nb} has {_event_text(eb, index)}"
            )
        for part in ("messages", "topics"):
            pa, pb = a.history.get(part), b.history.get(part)
            if pa != pb:
                found.append(f"history {part}: {na} has {pa}, {nb} has {pb}")
        for name in ("steps", "preemptions", "time", "threads", "clock"):
            va, vb = getattr(a, name), getattr(b, name)
            if va != vb:
                found.append(f"{name}: {na} has {va!r}, {nb} has {vb!r}")
    if a.outcome != b.outcome:
        found.append(
            f"outcome: {na} has {json.dumps(a.outcome, sort_keys=True)}, "
            f"{nb} has {json.dumps(b.outcome, sort_keys=True)}"
        )
    for name in ("impl", "scenario", "max_steps", "lines"):
        if getattr(a, name) != getattr(b, name):
            found.append(f"{name}: {na} has {getattr(a, name)!r}, {nb} has {getattr(b, name)!r}")
    return found


# reading ------------------------------------------------------------------------------------------
def _cell(text: str, width: int) -> str:
    if len(text) > width:
        text = text[: width - 1] + "~"
    return f"{text:<{width}}"


def _event_label(event: Event) -> str:
    parts = [event.kind]
    if event.msg >= 0:
        parts.append(f"m{event.msg}")
    if event.sub >= 0:
        parts.append(f"s{event.sub}")
    if event.info:
        parts.append(event.info)
    return " ".join(parts)


def timeline(trace: Trace, steps: bool = False, width: int = 18) -> str:
    """One lane per virtual thread, one row per history event (or per step): a terminal view."""
    names = trace.threads
    if steps:
        rows: list[tuple[str, float, int, str]] = []
        moves = list(trace.clock)
        now, move = 0.0, 0
        for index, (tid, kind) in enumerate(trace.log):
            while move < len(moves) and moves[move][0] <= index:
                now = moves[move][1]
                move += 1
            rows.append((str(index + 1), now, tid, kind))
        first = "step"
    else:
        events = trace.load_history().events
        rows = [(str(e.index), e.time, e.thread, _event_label(e)) for e in events]
        first = "event"
    lanes = sorted({tid for _, _, tid, _ in rows})
    column = {tid: n for n, tid in enumerate(lanes)}

    def name(tid: int) -> str:
        return f"{tid} {names[tid]}" if tid < len(names) else str(tid)

    outcome = trace.outcome
    lines = [
        f"{trace.impl}  strategy {trace.strategy.get('name')} seed {trace.seed}  "
        f"{trace.steps} steps, {len(trace.decisions)} decisions, {trace.preemptions} preemptions, "
        f"virtual time {trace.time!r}  outcome {outcome.get('status')}",
    ]
    header = f"{first:>6} {'time':>9} " + " ".join(_cell(name(t), width) for t in lanes)
    lines.append(header.rstrip())
    lines.append("-" * len(header.rstrip()))
    idle = _cell(":", width)
    for label, time, tid, text in rows:
        cells = [idle] * len(lanes)
        cells[column[tid]] = _cell(text, width)
        lines.append(f"{label:>6} {time:>9.3f} " + " ".join(cells).rstrip())
    if trace.error:
        lines.append(f"ended with {trace.error}")
    for violation in outcome.get("violations", []):
        lines.append(f"violation: {json.dumps(violation, sort_keys=True)}")
    return "\n".join(lines) + "\n"
