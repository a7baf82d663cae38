"""Scheduling strategies: who runs next at each decision of ``sim.scheduler.Scheduler``.

A strategy is any object with ``choose(runnable, current, step) -> thread id``. The
scheduler asks only when more than one thread is runnable and records every answer in
``Scheduler.decisions``, which is all a replay needs (``sim.strategies.replay``).

* ``random`` — ``RandomWalk(seed)``: a uniformly random runnable thread;
* ``pct`` — ``PCT(seed, depth=3, expected_steps=250)``: random priorities, d-1 inversions;
* ``race`` — ``RacePCT(seed, depth=2, expected_points=0)``: PCT whose inversions fall on
  racy line points (race-directed mode; ``sim.lines.plan`` builds it with its lines);
* ``replay`` — ``Replay(decisions)``: a recorded run again.

``make_strategy(name, seed, **params)`` builds one by name (``register`` adds more);
``describe(strategy)`` gives the {name, seed, params} a trace stores, from which
``make_strategy`` builds the same strategy again. The bounded exhaustive search
(``sim.strategies.exhaustive.Exhaustive``) is an explorer handing out one strategy per
execution, and ``sim.strategies.hypothesis_schedule`` needs Hypothesis, so neither is
in the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.scheduler import SchedulingStrategy
from sim.strategies.pct import PCT
from sim.strategies.race_pct import RacePCT
from sim.strategies.random_walk import RandomWalk
from sim.strategies.replay import Divergence, Replay

__all__ = [
    "PCT",
    "STRATEGIES",
    "Divergence",
    "RacePCT",
    "RandomWalk",
    "Replay",
    "describe",
    "make_strategy",
    "register",
]

#: name -> factory(seed, **params)
STRATEGIES: dict[str, Callable[..., SchedulingStrategy]] = {}


def register(name: str, factory: Callable[..., SchedulingStrategy]) -> None:
    """Make *factory(seed, **params)* available to ``make_strategy`` as *name*."""
    STRATEGIES[name] = factory


def _random(seed: int) -> SchedulingStrategy:
    return RandomWalk(seed)


def _pct(seed: int, depth: int = 3, expected_steps: int = 250) -> SchedulingStrategy:
    return PCT(seed, depth, expected_steps)


def _race(seed: int, depth: int = 2, expected_points: int = 0) -> SchedulingStrategy:
    return RacePCT(seed, depth, expected_points)


def _replay(seed: int | None, decisions: list[int]) -> SchedulingStrategy:
    return Replay(decisions)


register("random", _random)
register("pct", _pct)
register("race", _race)
register("replay", _replay)


def make_strategy(name: str, seed: int, **params: Any) -> SchedulingStrategy:
    """The strategy *name* with *seed* and *params*; ValueError names the known ones."""
    factory = STRATEGIES.get(name)
    if factory is None:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}")
    try:
        return factory(seed, **params)
    except TypeError as exc:
        raise ValueError(f"strategy {name!r}: bad parameters {params!r}: {exc}") from exc


def describe(strategy: object) -> dict[str, Any]:
    """{name, seed, params} of *strategy*, for a trace (JSON values only)."""
    method = getattr(strategy, "describe", None)
    if callable(method):
        description: dict[str, Any] = dict(method())
    elif isinstance(strategy, RandomWalk):
        description = {"name": "random", "seed": strategy.seed, "params": {}}
    else:
        seed = getattr(strategy, "seed", None)
        description = {
            "name": type(strategy).__name__,
            "seed": seed if isinstance(seed, int) else None,
            "params": {},
        }
    description.setdefault("seed", None)
    description.setdefault("params", {})
    return description
