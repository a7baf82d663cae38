"""The two-worker reordering program, written for frontrun 0.7 (run under its CLI).

``python -m bench.frontrun_child '{"searches": 20, "budget": 1000, "executions": 200}'``
must be started as ``frontrun python -m bench.frontrun_child ...``: frontrun's
explorers refuse to run outside its CLI environment. ``bench.reorder`` does that in a
subprocess and reads the one JSON line this prints.

The program, idiomatic frontrun: ``setup`` builds the shared state -- one
subscriber's task queue holding deliveries 0, 1, 2 and the list of deliveries in the
order their handler ran -- and two identical workers take a task and deliver it until
the queue is empty; the invariant is that deliveries ran in queue order. The bug:
between taking a task and delivering it a worker can be overtaken by the other one.
The fixed program holds a per-subscriber lock across take-and-deliver (what refimpl's
one-holder-per-subscription rule achieves). Two variants of the queue: the standard
``queue.Queue`` (what a Python programmer would use) and ``collections.deque``.
"""

from __future__ import annotations

import collections
import json
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["main"]

TASKS = 3


class QueueState:
    def __init__(self) -> None:
        self.tasks: queue.Queue[int] = queue.Queue()
        for i in range(TASKS):
            self.tasks.put(i)
        self.delivered: list[int] = []
        self.lock = threading.Lock()

    def take(self) -> int | None:
        try:
            return self.tasks.get_nowait()
        except queue.Empty:
            return None


class DequeState:
    def __init__(self) -> None:
        self.tasks: collections.deque[int] = collections.deque(range(TASKS))
        self.delivered: list[int] = []
        self.lock = threading.Lock()

    def take(self) -> int | None:
        try:
            return self.tasks.popleft()
        except IndexError:
            return None


def take_and_deliver(state: Any) -> None:
    while True:
        task = state.take()
        if task is None:
            return
        state.delivered.append(task)  # the handler runs


def take_and_deliver_locked(state: Any) -> None:
    while True:
        with state.lock:
            task = state.take()
            if task is None:
                return
            state.delivered.append(task)


def in_order(state: Any) -> bool:
    return bool(state.delivered == sorted(state.delivered) and len(state.delivered) == TASKS)


SETUPS: dict[str, Callable[[], Any]] = {"queue.Queue": QueueState, "deque": DequeState}


def _explore(
    setup: Callable[[], Any], worker: Callable[[Any], None], strategy: str, **options: Any
) -> Any:
    import frontrun

    return frontrun.explore(
        setup=setup,
        workers=worker,
        count=2,
        invariant=in_order,
        strategy=strategy,
        reproduce_on_failure=0,
        **options,
    )


def _timed(
    setup: Callable[[], Any], worker: Callable[[Any], None], strategy: str, **options: Any
) -> dict[str, Any]:
    begin = time.perf_counter()
    result = _explore(setup, worker, strategy, **options)
    seconds = time.perf_counter() - begin
    return {
        "found": result.property_holds is False,
        "holds": result.property_holds,
        "schedules": int(result.num_explored),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    args = json.loads((argv if argv is not None else sys.argv[1:])[0])
    searches, budget, executions = (
        int(args["searches"]),
        int(args["budget"]),
        int(args["executions"]),
    )
    repeats = int(args.get("dpor_repeats", 5))
    import frontrun

    out: dict[str, Any] = {"frontrun_version": frontrun.__version__, "variants": {}}
    _timed(QueueState, take_and_deliver, "random", max_attempts=5, seed=0)  # warm-up, not counted
    for variant, setup in SETUPS.items():
        random_searches = [
            _timed(setup, take_and_deliver, "random", max_attempts=budget, seed=seed)
            for seed in range(searches)
        ]
        dpor_searches = [
            _timed(setup, take_and_deliver, "dpor", max_executions=budget) for _ in range(repeats)
        ]
        fixed_random = _timed(
            setup, take_and_deliver_locked, "random", max_attempts=executions, seed=0
        )
        fixed_dpor = _timed(setup, take_and_deliver_locked, "dpor", max_executions=budget)
        out["variants"][variant] = {
            "random": random_searches,
            "dpor": dpor_searches,
            "fixed_random": fixed_random,
            "fixed_dpor": fixed_dpor,
        }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
