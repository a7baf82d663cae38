"""Harness tests of the deterministic scheduler: decisions, virtual time, deadlock, livelock.

These test the simulator, not the spec, so they cite no clause. The tiny programs run
directly on ``Scheduler``/``SimLock``/``SimQueue`` so every step is accounted for.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from refimpl._seam import Empty
from sim.primitives import SimCondition, SimLock, SimQueue
from sim.scheduler import Deadlock, Livelock, Scheduler, SchedulingStrategy
from sim.strategies import RandomWalk

#: Seeds tried to find the lock-order deadlock with the random walk. Measured: seed 0
#: (the first schedule) already deadlocks, and 383 of the first 1000 seeds do.
DEADLOCK_SEEDS = 10


class Lowest:
    """Always the lowest runnable id: a fixed, easily predicted schedule."""

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        return runnable[0]


class Scripted:
    """Answers from a list, then the lowest id; remembers what it was asked."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[list[int], int | None, int]] = []

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        self.asked.append((list(runnable), current, step))
        return self.answers.pop(0) if self.answers else runnable[0]


def lock_order(strategy: SchedulingStrategy) -> Scheduler:
    """Two threads take two locks in opposite order: deadlocks in some schedules."""
    sched = Scheduler(strategy, max_steps=1000)

    def main() -> None:
        first, second = SimLock(sched, "lockA"), SimLock(sched, "lockB")

        def forward() -> None:
            with first, second:
                pass

        def backward() -> None:
            with second, first:
                pass

        threads = [sched.spawn("t1", forward), sched.spawn("t2", backward)]
        for thread in threads:
            sched.join_thread(thread)

    sched.run(main)
    return sched


def test_decisions_only_when_more_than_one_thread_is_runnable() -> None:
    strategy = Scripted([])
    sched = Scheduler(strategy)

    def main() -> None:
        sched.point("alone")  # one runnable thread: a step, no decision
        other = sched.spawn("other", lambda: sched.point("other"))
        sched.point("together")  # two runnable: a decision
        sched.join_thread(other)  # a decision, then main blocks and "other" runs alone

    sched.run(main)
    assert sched.log == [
        (0, "alone"),
        (0, "together"),
        (0, "join"),
        (1, "other"),
        (1, "exit"),
        (0, "exit"),
    ]
    assert strategy.asked == [([0, 1], 0, 2), ([0, 1], 0, 3)]
    assert sched.decisions == [0, 0]  # the lowest id both times
    assert sched.steps == 6 and sched.preemptions == 0


def test_preemption_counts_switching_away_from_a_runnable_thread() -> None:
    sched = Scheduler(Scripted([1]))
    order: list[str] = []

    def main() -> None:
        sched.spawn("other", lambda: order.append("other"))
        sched.point("p")
        order.append("main")

    sched.run(main)
    assert order == ["other", "main"]
    assert sched.decisions == [1]
    assert sched.preemptions == 1


def test_virtual_time_jumps_to_the_earliest_deadline() -> None:
    sched = Scheduler(Lowest())
    seen: list[tuple[str, float]] = []

    def main() -> None:
        queue = SimQueue(sched, "q")

        def sleeper() -> None:
            sched.sleep(5.0)
            seen.append(("slept", sched.time))
            queue.put("late")

        sched.spawn("sleeper", sleeper)
        with pytest.raises(Empty):
            queue.get(timeout=2.0)
        seen.append(("timed out", sched.time))
        assert queue.get(timeout=10.0) == "late"
        seen.append(("got", sched.time))

    sched.run(main)
    assert seen == [("timed out", 2.0), ("slept", 5.0), ("got", 5.0)]
    assert [time for _, time in sched.clock] == [2.0, 5.0]
    assert sched.time == 5.0


def test_condition_wait_times_out_and_notify_wakes() -> None:
    sched = Scheduler(Lowest())
    results: list[bool] = []

    def main() -> None:
        lock = SimLock(sched, "lock")
        cond = SimCondition(sched, lock, "cond")
        with cond:
            results.append(cond.wait(timeout=1.0))  # nobody notifies: times out

        def notifier() -> None:
            with cond:
                cond.notify()

        with cond:
            sched.spawn("notifier", notifier)
            results.append(cond.wait(timeout=1.0))

    sched.run(main)
    assert results == [False, True]
    assert sched.time == 1.0


def test_wait_quiescent_returns_once_nothing_else_can_run() -> None:
    sched = Scheduler(RandomWalk(3))
    done: list[str] = []

    def work(name: str) -> Callable[[], None]:
        def body() -> None:
            sched.point("work")
            done.append(name)
            sched.sleep(1.0)  # quiescence comes before the clock moves
            done.append(f"{name} woke")

        return body

    def main() -> None:
        for i in range(3):
            sched.spawn(f"w{i}", work(f"w{i}"))
        sched.wait_quiescent()
        done.append(f"main at {sched.time}")

    sched.run(main)
    assert sorted(done[:3]) == ["w0", "w1", "w2"]
    assert done[3:] == ["main at 0.0"]


def test_threads_still_blocked_when_main_returns_are_torn_down() -> None:
    sched = Scheduler(Lowest())
    after: list[str] = []

    def main() -> None:
        queue = SimQueue(sched, "never")

        def waiter() -> None:
            queue.get()
            after.append("unreachable")

        sched.spawn("waiter", waiter)
        sched.point("let it block")

    sched.run(main)
    assert after == []
    assert sched.log[-1] == (0, "exit")
    assert (1, "exit") not in sched.log  # torn down, not finished


def test_an_exception_in_a_virtual_thread_surfaces_from_run() -> None:
    sched = Scheduler(Lowest())

    def main() -> None:
        def boom() -> None:
            sched.point("before")
            raise KeyError("boom")

        sched.join_thread(sched.spawn("boom", boom))

    with pytest.raises(KeyError, match="boom"):
        sched.run(main)


def test_lock_order_deadlock_is_found_by_random_walk() -> None:
    found: list[int] = []
    message = ""
    for seed in range(DEADLOCK_SEEDS):
        try:
            lock_order(RandomWalk(seed))
        except Deadlock as exc:
            found.append(seed)
            message = message or str(exc)
    print(f"lock-order deadlock: {len(found)} of {DEADLOCK_SEEDS} random seeds, first {found[:1]}")
    assert found, f"no deadlock in {DEADLOCK_SEEDS} random schedules"
    # The message names every blocked thread and what it waits for.
    assert message.startswith("deadlock at step ")
    assert "t1 on lockB" in message and "t2 on lockA" in message and "main on join t1" in message


def test_lock_order_program_without_contention_finishes() -> None:
    sched = lock_order(Lowest())  # t1 runs to completion before t2 starts
    assert sched.threads[1].state == sched.threads[2].state == 2


def test_livelock_is_reported_at_the_step_limit() -> None:
    sched = Scheduler(RandomWalk(0), max_steps=50)

    def main() -> None:
        def spinner() -> None:
            while True:
                sched.point("spin")

        sched.join_thread(sched.spawn("spinner", spinner))

    with pytest.raises(Livelock, match="no end after 50 steps"):
        sched.run(main)
    assert sched.steps == 51
    assert len(sched.log) == 51


class Refuses:
    """Aborts the execution from its third decision on, as a diverging replay does."""

    def __init__(self) -> None:
        self.calls = 0

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        self.calls += 1
        if self.calls >= 3:
            raise Livelock("strategy gave up")
        return runnable[0]


def test_a_strategy_abort_ends_the_run_even_if_the_program_catches_everything() -> None:
    strategy = Refuses()
    sched = Scheduler(strategy, max_steps=1000)

    def main() -> None:
        def stubborn() -> None:
            for _ in range(100):
                try:
                    sched.point("try")
                except Exception:  # a worker loop that survives any error
                    continue

        threads = [sched.spawn(f"stubborn-{i}", stubborn) for i in range(2)]
        for thread in threads:
            sched.join_thread(thread)

    with pytest.raises(Livelock, match="strategy gave up"):
        sched.run(main)
    assert strategy.calls == 3 and sched.steps < 5
    assert sched.log[-1] == (1, "try")  # the abort came inside a stubborn thread's point


def test_a_strategy_choosing_a_thread_that_cannot_run_fails_the_run() -> None:
    class Wrong:
        def choose(self, runnable: list[int], current: int | None, step: int) -> int:
            return 42

    sched = Scheduler(Wrong())

    def main() -> None:
        sched.spawn("other", lambda: None)
        sched.point("p")

    with pytest.raises(ValueError, match=r"strategy chose thread 42, not runnable: \[0, 1\]"):
        sched.run(main)
