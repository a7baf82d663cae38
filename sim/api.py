"""The library face of chanspec: check a history, explore an implementation, replay a trace.

Everything here is re-exported from ``sim``::

    import sim

    verdict = sim.check_history("run.jsonl")           # any implementation's recorded run
    found = sim.explore(MyAdapter(), budget=200, strategy="pct")
    for failure in found.failures:
        print(failure.violations[0], failure.replay_command)
    again = sim.replay(found.failures[0].trace_path, impl=MyAdapter())

An implementation is a name (``refimpl``, ``mutant:NAME``, ``lona``, ``module:factory``)
or an adapter object (``specs/adapter-protocol.md``). Scenarios are generated from seeds
(``GenConfig`` says how big) or given; ``scenarios()`` is the Hypothesis strategy of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import cycle, islice
from pathlib import Path
from typing import Any

from sim.adapters.base import Adapter
from sim.generate import GenConfig, scenario_from_seed
from sim.history import History
from sim.inputs import replay_command
from sim.oracle import Verdict, Violation, check
from sim.runs import MAX_STEPS, judge, record, resolve, save_trace
from sim.runs import replay as replay_trace
from sim.scenario import Scenario
from sim.strategies import make_strategy
from sim.trace import Trace, load

__all__ = ["Exploration", "Failure", "Replayed", "check_history", "explore", "replay"]


def check_history(
    history: History | str | Path, *, tolerance: float | None = None, complete: bool = True
) -> Verdict:
    """Judge one recorded run against the spec, clause by clause.

    *history* is a ``History`` or the path of a ``chanspec-history/1`` JSON Lines file
    (``specs/history-format.md``: any implementation, in any language, can write one).
    *tolerance*: seconds of clock uncertainty for the expiry rules (default: the file's
    header, else 0). Raises ``HistoryFormatError`` (one line) for a bad file.
    """
    if tolerance is not None:
        tolerance = _seconds("tolerance", tolerance)
    if isinstance(history, History):
        return check(history, tolerance=tolerance or 0.0, complete=complete)
    if not isinstance(history, (str, Path)):
        raise TypeError(f"history must be a sim.History or a path, not {_short(history)}")
    from sim import jsonl

    recorded = jsonl.load(history)
    return check(
        recorded.history,
        tolerance=recorded.tolerance if tolerance is None else tolerance,
        complete=complete and recorded.complete,
    )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _count(name: str, value: object, low: int) -> None:
    """TypeError/ValueError unless *value* is an int >= *low* (a bool is not a count)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {_short(value)}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, not {value}")


def _seconds(name: str, value: object) -> float:
    """*value* as seconds from 0 to ``MAX_SECONDS``; TypeError/ValueError otherwise."""
    from sim.jsonl import MAX_SECONDS

    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds, not {_short(value)}")
    if not 0 <= value <= MAX_SECONDS:  # NaN fails both
        raise ValueError(f"{name} must be from 0 to {MAX_SECONDS:g} seconds, not {value}")
    return float(value)


def _violations(outcome: dict[str, Any]) -> tuple[Violation, ...]:
    found = outcome.get("violations", [])
    return tuple(
        Violation(v["clause"], v["msg"], v["sub"], tuple(v["witness"]), v["text"]) for v in found
    )


@dataclass(frozen=True)
class Failure:
    """One run that broke the spec (or deadlocked, livelocked, raised)."""

    scenario: Scenario
    status: str  #: violation, deadlock, livelock or error
    violations: tuple[Violation, ...]
    error: str  #: how the execution itself ended, if not normally
    seed: int  #: the strategy's seed (generated scenarios: also the scenario's)
    trace_path: Path | None
    replay_command: str  #: reproduces exactly this execution


@dataclass
class Exploration:
    """What ``explore`` did: how many schedules, and every failure."""

    runs: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def explore(
    impl: str | Adapter,
    scenarios: Iterable[Scenario] | None = None,
    *,
    strategy: str = "random",
    budget: int = 100,
    seed: int = 0,
    config: GenConfig | None = None,
    trace_dir: str | Path | None = "traces",
    stop_at_first: bool = False,
    max_steps: int = MAX_STEPS,
) -> Exploration:
    """Run *budget* simulated schedules of *impl* and judge each.

    Run *k* uses seed ``seed + k``: with *scenarios* None the scenario is generated from
    that seed (sized by *config*), otherwise the given scenarios are taken in turn (and
    cycled); the schedule comes from *strategy* (``random``, ``pct`` or any registered
    name) built with the same seed. Each failing run's trace is written to *trace_dir*
    (None: not written), and its ``replay_command`` reproduces it.
    """
    _count("budget", budget, 0)
    _count("seed", seed, 0)
    _count("max_steps", max_steps, 1)
    if not isinstance(strategy, str):
        raise TypeError(f"strategy must be a name such as 'pct', not {_short(strategy)}")
    if config is not None and not isinstance(config, GenConfig):
        raise TypeError(f"config must be a sim.GenConfig or None, not {_short(config)}")
    if trace_dir is not None:
        if not isinstance(trace_dir, (str, Path)):
            raise TypeError(f"trace_dir must be a path or None, not {_short(trace_dir)}")
        if Path(trace_dir).exists() and not Path(trace_dir).is_dir():
            raise ValueError(f"trace_dir {trace_dir} exists and is not a directory")
    make_strategy(strategy, seed)  # an unknown name fails here, before any run
    name, adapter = resolve(impl)
    given: Sequence[Scenario] | None = None
    if scenarios is not None:
        if isinstance(scenarios, (str, bytes, Scenario)):
            raise TypeError("scenarios must be an iterable of sim.Scenario (a list of them)")
        given = list(scenarios)
        if not given:
            raise ValueError("scenarios is empty")
        wrong = next((s for s in given if not isinstance(s, Scenario)), None)
        if wrong is not None:  # a dict read from JSON: sim.Scenario.from_json(...) makes one
            raise TypeError(f"scenarios must hold sim.Scenario objects, not {_short(wrong)}")
    chosen = islice(cycle(given), budget) if given else (None for _ in range(budget))
    found = Exploration()
    for k, scenario in enumerate(chosen):
        run_seed = seed + k
        if scenario is None:
            scenario = scenario_from_seed(run_seed, config or GenConfig())
        trace = record(
            scenario,
            name,
            make_strategy(strategy, run_seed),
            run_seed,
            max_steps,
            judge,
            adapter=adapter,
        )
        found.runs += 1
        if trace.outcome["status"] == "ok":
            continue
        path = save_trace(trace, trace_dir, prefix="explore-") if trace_dir is not None else None
        if path is None:  # no trace written: the call that runs this schedule again
            given_as = "[<this failure's scenario>], " if given else ""
            shown = repr(impl) if isinstance(impl, str) else "<the adapter>"
            command = (
                f"sim.explore({shown}, {given_as}strategy={strategy!r}, budget=1, "
                f"seed={run_seed}, max_steps={max_steps})"
            )
        elif isinstance(impl, str):
            command = replay_command(path, impl)
        else:
            command = f"sim.replay({str(path)!r}, impl=<the adapter>)"
        found.failures.append(
            Failure(
                scenario,
                trace.outcome["status"],
                _violations(trace.outcome),
                trace.error,
                run_seed,
                path,
                command,
            )
        )
        if stop_at_first:
            break
    return found


@dataclass(frozen=True)
class Replayed:
    """A trace run again: whether it was the same execution, and its verdict."""

    same: bool  #: the replay made the same steps, clock moves, history and verdict
    divergences: tuple[str, ...]  #: where it differed first (empty when ``same``)
    status: str
    violations: tuple[Violation, ...]
    trace: Trace  #: the replayed run


def replay(trace: str | Path | Trace, *, impl: str | Adapter | None = None) -> Replayed:
    """Run a saved trace again, exactly, and judge it.

    *impl* (an adapter object, or a name the caller chooses) is needed when the trace was
    recorded with an adapter object (its name alone cannot be loaded) or names a
    ``module:factory`` implementation (a trace never chooses code to import); otherwise
    the trace's registered adapter is used.
    """
    if not isinstance(trace, (Trace, str, Path)):
        raise TypeError(f"trace must be a sim.Trace or a path, not {_short(trace)}")
    # a name the caller chose, or an object (a version-2 object is wrapped)
    adapter = None if impl is None else resolve(impl)[1]
    original = trace if isinstance(trace, Trace) else load(trace)
    result = replay_trace(original, judge, adapter=adapter)
    again = result.replayed
    return Replayed(
        result.ok,
        tuple(result.divergences),
        again.outcome["status"],
        _violations(again.outcome),
        again,
    )
