"""Small programs for the line-preemption tests, in a file of their own so it can be traced.

Each ``build_*`` takes a ``Scheduler`` and returns the main function of one execution;
the shared state is reachable from the returned ``Box`` so tests can look at it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from sim.primitives import SimLock, SimQueue
from sim.scheduler import Scheduler

__all__ = ["Box", "Registry", "build_counter", "build_locked_counter", "build_register"]


class Box:
    """Shared state of one execution."""

    def __init__(self) -> None:
        self.n = 0
        self.lines = 0
        self.done: list[str] = []


def _work(box: Box, rounds: int) -> None:
    for _ in range(rounds):
        seen = box.n
        box.n = seen + 1
        box.lines += 1


def build_counter(
    sched: Scheduler, threads: int = 2, rounds: int = 3
) -> tuple[Box, Callable[[], None]]:
    """*threads* threads each add 1 to ``box.n`` *rounds* times, read and write on two lines."""
    box = Box()

    def main() -> None:
        started = [sched.spawn(f"t{i}", lambda: _work(box, rounds)) for i in range(threads)]
        for thread in started:
            sched.join_thread(thread)

    return box, main


def build_locked_counter(sched: Scheduler, threads: int = 2) -> tuple[Box, Callable[[], None]]:
    """The same increment under a lock, handing off through a queue: no unordered conflict."""
    box = Box()
    lock = SimLock(sched, "lock")
    queue = SimQueue(sched, "q")

    def worker() -> None:
        with lock:
            seen = box.n
            box.n = seen + 1
        queue.put(box.n)

    def main() -> None:
        started = [sched.spawn(f"t{i}", worker) for i in range(threads)]
        for _ in started:
            queue.get()
        for thread in started:
            sched.join_thread(thread)

    return box, main


class Registry:
    """Lona's subscribe shape: check, then register, no lock around both."""

    def __init__(self, lock: SimLock) -> None:
        self.handler: str | None = None
        self.entries: list[str] = []
        self.lock = lock

    def subscribe(self, handler: str) -> None:
        if self.handler:
            raise RuntimeError("already subscribed")
        self.handler = handler
        with self.lock:
            self.entries.append(handler)


def build_register(sched: Scheduler) -> tuple[Registry, Callable[[], None]]:
    """Two threads subscribe one registry; both registered is the bug."""
    registry = Registry(SimLock(sched, "registry"))

    def attempt(name: str) -> None:
        with suppress(RuntimeError):
            registry.subscribe(name)

    def main() -> None:
        started = [sched.spawn(n, lambda n=n: attempt(n)) for n in ("a", "b")]
        for thread in started:
            sched.join_thread(thread)

    return registry, main
