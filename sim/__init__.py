"""chanspec's deterministic simulation harness and conformance oracle, as a library.

The public face (``sim.api``), for checking any implementation of Lona-style channels:

* ``check_history(history_or_path)`` -> ``Verdict``: judge one recorded run, clause by
  clause (a ``History``, or a ``chanspec-history/1`` JSON Lines file from any language);
* ``explore(impl, scenarios=None, strategy=..., budget=...)`` -> ``Exploration``: many
  simulated schedules of an implementation (a name or an ``Adapter`` object), every
  failure with its trace and replay command;
* ``replay(trace, impl=None)`` -> ``Replayed``: run a saved trace again, exactly;
* ``scenarios(config)``: the Hypothesis strategy of scenarios (``GenConfig`` sizes them);
* the types: ``Verdict``, ``Violation``, ``History``, ``Scenario``, ``Adapter``,
  ``Session``, ``Failure``, ``Exploration``, ``Replayed``, ``HistoryFormatError``.

Underneath, in layers (loom's map): ``scheduler`` and ``primitives`` (virtual threads,
the seam's simulated twins) are the runtime; ``strategies`` pick the next thread;
``scenario``/``generate`` say what a run does; ``driver`` plays a scenario against an
``adapters`` implementation and records a ``history``; ``oracle`` judges it; ``trace``
stores a run and replays it; ``runs`` is the glue every front end shares; ``explore``,
``shard``, ``conform`` and ``cli`` (``python -m sim``) drive many runs.
"""

# ``sim.explore`` is both a module (campaigns) and the API's function. Loading the module
# first makes the function's binding below the last word: a later ``import sim.explore``
# finds the module already loaded and leaves the package attribute alone.
import sim.explore as _campaigns  # noqa: F401
from sim.adapters.base import Adapter, Session
from sim.api import Exploration, Failure, Replayed, check_history, explore, replay
from sim.generate import GenConfig, scenarios
from sim.history import History
from sim.jsonl import HistoryFormatError
from sim.oracle import Verdict, Violation
from sim.scenario import Scenario

__all__ = [
    "Adapter",
    "Exploration",
    "Failure",
    "GenConfig",
    "History",
    "HistoryFormatError",
    "Replayed",
    "Scenario",
    "Session",
    "Verdict",
    "Violation",
    "check_history",
    "explore",
    "replay",
    "scenarios",
]
