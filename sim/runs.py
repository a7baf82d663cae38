"""The glue every front end shares: judge a run, save and name its trace, run on real threads.

The CLI, the property helpers, conformance, the public API and the benchmarks all turn a
run into a verdict and a file the same way, so the way lives here once:

* ``MAX_STEPS``: the step limit of a simulated run (beyond it: livelock), defined by
  the scheduler that enforces it;
* ``named_clause``: the clause a harness check's error names ("... (E1)");
* ``judge``: a trace's outcome: the execution's own status (deadlock, livelock, error),
  else the oracle's verdict;
* ``save_trace``: write a trace under a directory, named by the caller or by its content;
* ``run_real`` with ``REAL_TOLERANCE``/``REAL_SCALE``: one scenario on real threads,
  judged with the clock tolerance real runs need;
* ``resolve``: an implementation given by name or as an adapter object.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.adapters import load_adapter
from sim.adapters.base import Adapter
from sim.adapters.unmodified import Unmodified, is_v2
from sim.history import History
from sim.oracle import Verdict, check
from sim.scenario import Scenario
from sim.scheduler import MAX_STEPS, Scheduler
from sim.trace import Trace, default_outcome

__all__ = [
    "MAX_STEPS",
    "REAL_SCALE",
    "REAL_TOLERANCE",
    "RealRun",
    "judge",
    "named_clause",
    "resolve",
    "run_real",
    "save_trace",
]

#: Real seconds per scenario second on real threads.
REAL_SCALE = 0.01
#: Scenario seconds of clock skew allowed when judging a real-thread history: the driver
#: and the implementation read the clock at slightly different moments (5 s = 50 ms real).
REAL_TOLERANCE = 5.0


def judge(history: History, sched: Scheduler | None, error: BaseException | None) -> dict[str, Any]:
    """The trace outcome of one run: the execution's own status, then the oracle's verdict."""
    verdict = check(history, complete=error is None)
    if error is not None:
        status = default_outcome(history, sched, error)["status"]
    else:
        status = "ok" if verdict.ok else "violation"
    return {"status": status, "violations": [v.to_json() for v in verdict.violations]}


_CLAUSE_TAG = re.compile(r"\(([A-Z]\d+)\)\s*$")


def named_clause(error: str) -> str | None:
    """The clause an error names at its end, as the harness's own checks do ("... (T1)")."""
    match = _CLAUSE_TAG.search(error)
    return match.group(1) if match else None


def save_trace(trace: Trace, directory: str | Path, name: str = "", prefix: str = "") -> Path:
    """Write *trace* as ``directory/name`` (default: *prefix*, impl and a content hash)."""
    text = trace.dumps()
    if not name:
        digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]
        impl = trace.impl.replace(":", "-").replace("/", "-")
        name = f"{prefix}{impl}-{digest}.json"
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def resolve(impl: str | Adapter) -> tuple[str, Adapter]:
    """(name, adapter) for an implementation given by name or as an adapter object."""
    if isinstance(impl, str):
        return impl, load_adapter(impl)
    if not callable(getattr(impl, "open", None)):
        raise TypeError(f"an implementation is a name or an adapter with open(), not {impl!r}")
    name = str(getattr(impl, "name", type(impl).__name__))
    if is_v2(impl):  # as load_adapter does for a named one: run its modules unmodified
        return name, Unmodified(impl)
    return name, impl


@dataclass
class RealRun:
    """One scenario on real threads: what it recorded and the verdict (None if it failed)."""

    history: History
    verdict: Verdict | None
    error: str = ""  #: how the run itself failed (a sender thread raised, ...), or ""
    thread_names: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict is not None and self.verdict.ok

    def summary(self) -> str:
        if self.verdict is None:
            return f"the run failed: {self.error}"
        return self.verdict.summary()


def run_real(
    scenario: Scenario,
    impl: str | Adapter,
    *,
    tolerance: float = REAL_TOLERANCE,
    scale: float = REAL_SCALE,
) -> RealRun:
    """Play *scenario* on real threads and judge it; a run that cannot finish is a finding."""
    from sim.driver import RealEnv, play_real

    env = RealEnv(scale)
    try:
        history = play_real(scenario, resolve(impl)[1], scale, env=env)  # a bad name: a finding
    except Exception as exc:  # the run could not finish (a thread failed, a timeout)
        partial = getattr(exc, "history", None)
        return RealRun(
            partial if isinstance(partial, History) else History(),
            None,
            f"{type(exc).__name__}: {exc}",
            dict(env.names),
        )
    return RealRun(history, check(history, tolerance=tolerance), "", dict(env.names))
