"""``bench.lines``' programs under frontrun 0.7 (run under its CLI, like ``bench.frontrun_child``).

``frontrun python -m bench.frontrun_lines '{"points_executions": 50, "budget": 500}'``
prints one JSON line:

* ``points``: frontrun's DPOR on ``bump`` (two threads, no early stop) for
  ``points_executions`` executions: seconds, executions, and the opcodes one execution of
  the two workers runs (counted once with ``f_trace_opcodes``). frontrun schedules at
  opcodes, so executions x opcodes / seconds is its scheduling points per second;
* ``subscribe_dpor`` / ``subscribe_random``: executions and seconds to the first
  counterexample of ``subscribe_twice`` on the real ``lona.channels`` (fresh class state
  per execution), within ``budget`` executions.
"""

from __future__ import annotations

import json
import sys
import time
from types import FrameType
from typing import Any

from bench import lines_programs as programs

__all__ = ["main"]


def _opcodes_of_one_execution() -> int:
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "opcode":
            count += 1
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code is programs.bump.__code__:
            frame.f_trace_opcodes = True
            return local
        return None

    state = programs.counted()
    sys.settrace(on_call)
    try:
        programs.bump(state)
        programs.bump(state)
    finally:
        sys.settrace(None)
    return count


def _timed(**options: Any) -> dict[str, Any]:
    import frontrun

    begin = time.perf_counter()
    result = frontrun.explore(reproduce_on_failure=0, **options)
    return {
        "found": result.property_holds is False,
        "executions": int(result.num_explored),
        "seconds": time.perf_counter() - begin,
    }


def main(argv: list[str] | None = None) -> int:
    args = json.loads((argv if argv is not None else sys.argv[1:])[0])
    import frontrun
    import lona.channels as channels

    out: dict[str, Any] = {"frontrun_version": frontrun.__version__}
    points = _timed(
        setup=programs.counted,
        workers=programs.bump,
        count=2,
        invariant=lambda s: True,
        strategy="dpor",
        max_executions=int(args["points_executions"]),
        stop_on_first=False,
    )
    points["opcodes_per_execution"] = _opcodes_of_one_execution()
    out["points"] = points

    def setup() -> Any:
        return programs.lona_state(channels, fresh_state=True)

    # frontrun traces user code only: Lona is an installed package, so name it
    common = {"setup": setup, "workers": programs.subscriber, "count": 2}
    out["subscribe_dpor"] = _timed(
        **common,
        invariant=programs.registered_once,
        strategy="dpor",
        max_executions=int(args["budget"]),
        trace_packages=["lona", "lona.*"],
    )
    out["subscribe_random"] = _timed(
        **common,
        invariant=programs.registered_once,
        strategy="random",
        max_attempts=int(args["budget"]),
        seed=0,
        trace_packages=["lona", "lona.*"],
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
