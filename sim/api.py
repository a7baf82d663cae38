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
    if isinstance(history, History):
        return check(history, tolerance=tolerance or 0.0, complete=complete)
    from sim import jsonl

    recorded = jsonl.load(history)
    return check(
        recorded.history,
        tolerance=recorded.tolerance if tolerance is None else tolerance,
        complete=complete and recorded.complete,
    )


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
    if budget < 0:
        raise ValueError(f"budget must be >= 0, not {budget}")
    name, adapter = resolve(impl)
    given: Sequence[Scenario] | None = None
    if scenarios is not None:
        given = list(scenarios)
        if not given:
            raise ValueError("scenarios is empty")
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


def replay(trace: str | Path | Trace, *, impl: Adapter | None = None) -> Replayed:
    """Run a saved trace again, exactly, and judge it.

    *impl* is needed when the trace was recorded with an adapter object (its name alone
    cannot be loaded) or names a ``module:factory`` implementation (a trace never
    chooses code to import); otherwise the trace's registered adapter is used.
    """
    original = trace if isinstance(trace, Trace) else load(trace)
    adapter = None if impl is None else resolve(impl)[1]  # a version-2 object: wrapped
    result = replay_trace(original, judge, adapter=adapter)
    again = result.replayed
    return Replayed(
        result.ok,
        tuple(result.divergences),
        again.outcome["status"],
        _violations(again.outcome),
        again,
    )
