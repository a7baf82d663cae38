"""The seam's simulated twins behave like their real counterparts, errors included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sim.primitives import EPOCH, SimPlatform
from sim.scheduler import Scheduler
from sim.strategies.random_walk import RandomWalk


def run(main_factory):  # type: ignore[no-untyped-def]
    sched = Scheduler(RandomWalk(0), max_steps=10_000)
    platform = SimPlatform(sched)
    sched.run(main_factory(sched, platform))
    return sched


def test_lock_non_blocking_and_timed_acquire() -> None:
    seen: list[object] = []

    def factory(sched, platform):  # type: ignore[no-untyped-def]
        lock = platform.lock()

        def holder() -> None:
            with lock:
                sched.sleep(5.0)

        def main() -> None:
            t = platform.start_thread("holder", holder)
            sched.sleep(1.0)
            seen.append(lock.locked())
            seen.append(lock.acquire(blocking=False))
            seen.append(lock.acquire(timeout=1.0))  # times out at virtual 2.0
            seen.append(sched.time)
            seen.append(lock.acquire(timeout=10.0))  # succeeds at 5.0
            seen.append(sched.time)
            lock.release()
            t.join()
            seen.append((t.name, t.is_alive()))

        return main

    run(factory)
    assert seen == [True, False, False, 2.0, True, 5.0, ("holder", False)]


def test_misuse_raises_as_on_real_threads() -> None:
    errors: list[str] = []

    def factory(sched, platform):  # type: ignore[no-untyped-def]
        lock = platform.lock()
        cond = platform.condition(lock)

        def main() -> None:
            for action in (
                lambda: cond.wait(),
                lambda: cond.notify(),
                lambda: lock.release(),
            ):
                with pytest.raises(RuntimeError) as info:
                    action()
                errors.append(str(info.value).split(": ", 1)[1])
            lock.acquire()
            with pytest.raises(RuntimeError, match="acquire by its owner"):
                lock.acquire()
            lock.release()

        return main

    run(factory)
    assert errors == [
        "wait without holding the lock",
        "notify without holding the lock",
        "release by a thread that does not own it",
    ]


def test_condition_wait_times_out_on_the_virtual_clock() -> None:
    results: list[object] = []

    def factory(sched, platform):  # type: ignore[no-untyped-def]
        lock = platform.lock()
        cond = platform.condition(lock)

        def main() -> None:
            with cond:
                results.append(cond.wait(2.5))
            results.append(platform.now())

        return main

    run(factory)
    assert results == [False, datetime(2030, 1, 1, 0, 0, 2, 500000, tzinfo=UTC)]


def test_naive_datetimes_are_utc_in_simulation() -> None:
    platform = SimPlatform(Scheduler(RandomWalk(0)))
    assert platform.to_aware(datetime(2030, 1, 1)) == EPOCH


def test_a_thread_repr_names_its_state() -> None:
    sched = Scheduler(RandomWalk(0))
    thread = sched.spawn("worker", lambda: None)
    assert repr(thread) == "<VThread 0 worker runnable >"
