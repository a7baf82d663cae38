"""Harness tests of the exploration strategies: random walk, PCT, exhaustive, Hypothesis, replay.

They test the simulator's search, not the spec, so they cite no clause. The programs
are tiny and written directly against ``Scheduler`` so that their schedules can be
counted by hand; the bug-finding bounds are measured figures (first failing schedule,
seeds counted from 0) with roughly 3x headroom, printed when run with ``-s``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.scheduler import Deadlock, Scheduler, SchedulingStrategy
from sim.strategies import (
    PCT,
    STRATEGIES,
    Divergence,
    RandomWalk,
    Replay,
    describe,
    make_strategy,
)
from sim.strategies.exhaustive import Execution, Exhaustive
from sim.strategies.hypothesis_schedule import HypothesisSchedule, schedules
from tests.sim.test_scheduler import lock_order

# The per-subscriber order bug: measured first failing schedule (1-based count of
# seeds 0, 1, 2, ...) and the asserted bound, about 3x.
RANDOM_MEASURED, RANDOM_BOUND = 3, 9  # 346 of 1000 random schedules fail
PCT2_MEASURED, PCT2_BOUND = 4, 12  # depth 2, expected_steps 20: 92 of 1000 fail
PCT3_MEASURED, PCT3_BOUND = 4, 12  # depth 3, expected_steps 20: 156 of 1000 fail
PUBSUB_STEPS = 20  # the program takes 18-20 steps; PCT's k should be about that


def pubsub(strategy: SchedulingStrategy, tasks: int = 3) -> tuple[list[int], Scheduler]:
    """A buggy dispatcher: two workers take one subscriber's tasks from one shared queue.

    Each worker gets a task, reaches a scheduling point (the handler starting), then
    appends the task to the subscriber's delivery list. Run one at a time the tasks
    arrive in order; interleaved, a later task can be delivered before an earlier one
    (the per-subscriber order bug). Returns (delivery order, scheduler).
    """
    from sim.primitives import SimQueue

    sched = Scheduler(strategy, max_steps=10_000)
    delivered: list[int] = []

    def main() -> None:
        queue = SimQueue(sched, "tasks")

        def worker() -> None:
            while True:
                task = queue.get()
                if task is None:
                    return
                sched.point("handle")
                delivered.append(task)

        workers = [sched.spawn(f"worker-{i}", worker) for i in range(2)]
        for task in range(tasks):
            queue.put(task)
        for _ in workers:
            queue.put(None)
        for thread in workers:
            sched.join_thread(thread)

    sched.run(main)
    return delivered, sched


def out_of_order(strategy: SchedulingStrategy) -> bool:
    delivered, _ = pubsub(strategy)
    return delivered != sorted(delivered)


def schedules_to_find(make: Callable[[int], SchedulingStrategy], limit: int) -> int | None:
    """How many schedules (seeds 0, 1, ...) until the order bug shows; None if not in *limit*."""
    for seed in range(limit):
        if out_of_order(make(seed)):
            return seed + 1
    return None


# random walk and PCT -----------------------------------------------------------------------------
def test_random_walk_finds_the_order_bug() -> None:
    needed = schedules_to_find(RandomWalk, RANDOM_BOUND)
    print(f"random walk: order bug after {needed} schedules (measured {RANDOM_MEASURED})")
    assert needed is not None, f"random walk missed the order bug in {RANDOM_BOUND} schedules"


@pytest.mark.parametrize(("depth", "bound"), [(2, PCT2_BOUND), (3, PCT3_BOUND)])
def test_pct_finds_the_order_bug(depth: int, bound: int) -> None:
    needed = schedules_to_find(lambda seed: PCT(seed, depth, PUBSUB_STEPS), bound)
    print(f"PCT depth {depth}: order bug after {needed} schedules")
    assert needed is not None, f"PCT depth {depth} missed the order bug in {bound} schedules"


def test_pct_depth_1_misses_the_order_bug() -> None:
    # Depth 1 has no change point: fixed priorities. The worker that got a task is never
    # overtaken by the lower-priority one between its get and its append (the bug has
    # depth 2), however the priorities are drawn.
    for seed in range(50):
        delivered, _ = pubsub(PCT(seed, 1, PUBSUB_STEPS))
        assert delivered == [0, 1, 2]


@pytest.mark.parametrize("make", [RandomWalk, lambda seed: PCT(seed, 3, PUBSUB_STEPS)])
def test_same_seed_same_decisions(make: Callable[[int], SchedulingStrategy]) -> None:
    runs = {}
    for seed in range(20):
        first, second = pubsub(make(seed))[1], pubsub(make(seed))[1]
        assert first.decisions == second.decisions
        assert first.log == second.log
        runs[seed] = tuple(first.decisions)
    assert len(set(runs.values())) > 5  # and different seeds explore different schedules


def test_random_walk_draws_are_randrange_draws() -> None:
    """RandomWalk draws its bits itself (randrange's checks cost a share of every step);
    its decisions must stay ``random.Random(seed).randrange(n)``, which every trace already
    recorded with this strategy was made of."""
    for seed in [*range(30), 36129686815918]:
        walk, reference = RandomWalk(seed), random.Random(seed)
        for i in range(500):
            n = 2 + (i * 7 + seed) % 11
            assert walk.choose(list(range(10, 10 + n)), None, i) == 10 + reference.randrange(n)


def test_pct_choice_is_the_highest_priority() -> None:
    """PCT picks its thread without computing every priority; the pick must be the
    runnable thread of highest ``priority()``, before and after change points fire."""
    rng = random.Random(5)
    for seed in range(200):
        pct = PCT(seed, depth=1 + seed % 4, expected_steps=1 + seed % 40)
        for step in range(1, 80):
            runnable = sorted(rng.sample(range(8), rng.randint(2, 8)))
            chosen = pct.choose(runnable, runnable[step % len(runnable)], step)
            assert chosen == max(runnable, key=pct.priority)


def test_pct_change_points_and_priorities() -> None:
    pct = PCT(seed=7, depth=4, expected_steps=50)
    assert len(pct.change_points) == 3
    assert pct.change_points == sorted(pct.change_points)
    assert all(1 <= k <= 50 for k in pct.change_points)
    runnable = [0, 1, 2]
    first = pct.choose(runnable, 0, 0)
    assert {pct.priority(t) for t in runnable} == {5, 6, 7}  # distinct, all above depth
    # Before the first change point the highest-priority thread keeps being chosen.
    for step in range(1, pct.change_points[0]):
        assert pct.choose(runnable, first, step) == first
    # At the change point the running thread drops to priority 1, below every other.
    after = pct.choose(runnable, first, pct.change_points[0])
    assert pct.priority(first) == 1
    assert after != first
    # A thread seen later gets an initial priority too (above depth).
    pct.choose([0, 1, 2, 3], after, pct.change_points[0])
    assert pct.priority(3) > 4


def test_pct_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="depth"):
        PCT(0, depth=0)
    with pytest.raises(ValueError, match="expected_steps"):
        PCT(0, expected_steps=0)


def test_make_strategy_and_describe_round_trip() -> None:
    assert {"random", "pct", "replay"} <= set(STRATEGIES)
    for name, params in [("random", {}), ("pct", {"depth": 2, "expected_steps": 30})]:
        strategy = make_strategy(name, 11, **params)
        description = describe(strategy)
        assert description == {"name": name, "seed": 11, "params": params}
        again = make_strategy(description["name"], description["seed"], **description["params"])
        assert pubsub(again)[1].decisions == pubsub(make_strategy(name, 11, **params))[1].decisions
    assert describe(Replay([1, 2]))["name"] == "replay"
    with pytest.raises(
        ValueError, match="unknown strategy 'nope'; known: pct, race, random, replay"
    ):
        make_strategy("nope", 0)
    with pytest.raises(ValueError, match="bad parameters"):
        make_strategy("pct", 0, depht=2)


# replay ------------------------------------------------------------------------------------------
def test_replay_reproduces_a_run() -> None:
    delivered, sched = pubsub(RandomWalk(2))
    again, replayed = pubsub(Replay(sched.decisions))
    assert (
        again == delivered and replayed.log == sched.log and replayed.decisions == sched.decisions
    )


def test_replay_divergence_names_decision_step_thread_and_runnable_set() -> None:
    replay = Replay([0, 5])
    assert replay.choose([0, 1], 0, 3) == 0
    with pytest.raises(
        Divergence, match=r"decision 1 at step 7: recorded thread 5 is not runnable; "
    ):
        replay.choose([0, 1, 2], None, 7)
    with pytest.raises(Divergence, match=r"runnable \[0, 1, 2\]"):
        replay.choose([0, 1, 2], None, 7)
    exhausted = Replay([0])
    exhausted.choose([0, 1], 0, 2)
    with pytest.raises(Divergence, match="decision 1 at step 9: the recording has only 1"):
        exhausted.choose([0, 1], 0, 9)
    # In a run, a divergence aborts the execution like a deadlock would.
    _, sched = pubsub(RandomWalk(2))
    with pytest.raises(Divergence):
        pubsub(Replay(sched.decisions[:3]))


# exhaustive --------------------------------------------------------------------------------------
def two_threads(strategy: SchedulingStrategy, points_a: int, points_b: int) -> list[str]:
    """Threads A and B with *points_a*/*points_b* scheduling points and nothing else.

    Main spawns both and blocks with no scheduling point; the thread finishing last
    wakes it, also without one. So the only decisions are the first (A or B first,
    free: main has blocked) and each point of a thread while the other is unfinished.
    A thread with p points runs p + 1 atomic blocks; the result is the order in which
    the blocks ran, e.g. ["A0", "B0", "A1", ...].
    """
    sched = Scheduler(strategy)
    blocks: list[str] = []
    finished: list[str] = []

    def body(name: str, points: int) -> Callable[[], None]:
        def run() -> None:
            for i in range(points):
                blocks.append(f"{name}{i}")
                sched.point(f"{name} point {i + 1}")
            blocks.append(f"{name}{points}")
            finished.append(name)
            if len(finished) == 2:
                sched.wake(sched.threads[0])

        return run

    def main() -> None:
        sched.spawn("A", body("A", points_a))
        sched.spawn("B", body("B", points_b))
        sched.block("children")

    sched.run(main)
    return blocks


def merges_by_preemptions(a: int, b: int) -> dict[int, set[tuple[str, ...]]]:
    """Every interleaving of A0..A{a-1} with B0..B{b-1}, grouped by its preemptions.

    Independent of the scheduler: a switch after a thread's last block is free (it has
    finished), so an interleaving made of r runs has max(r - 2, 0) preemptions.
    """
    groups: dict[int, set[tuple[str, ...]]] = {}
    for slots in itertools.combinations(range(a + b), a):
        order: list[str] = []
        ia = ib = 0
        for position in range(a + b):
            if position in slots:
                order.append(f"A{ia}")
                ia += 1
            else:
                order.append(f"B{ib}")
                ib += 1
        runs = 1 + sum(x[0] != y[0] for x, y in itertools.pairwise(order))
        groups.setdefault(max(runs - 2, 0), set()).add(tuple(order))
    return groups


def explore(
    bound: int | None, points_a: int, points_b: int, limit: int | None = None
) -> tuple[Exhaustive, list[tuple[str, ...]], list[Execution]]:
    """Run every schedule of ``two_threads`` the explorer hands out."""
    explorer = Exhaustive(bound, max_executions=limit)
    orders: list[tuple[str, ...]] = []
    executions: list[Execution] = []
    for execution in explorer.executions():
        orders.append(tuple(two_threads(execution, points_a, points_b)))
        executions.append(execution)
    return explorer, orders, executions


# Hand count. A thread with p points runs a = p + 1 blocks; A has a, B has b blocks.
# Every interleaving of the two block sequences is one schedule (decisions happen
# exactly where the next block could come from either thread), so unbounded there are
# C(a + b, a). An interleaving of r runs switches r - 1 times; the switch after the
# thread that finishes first is free, every other switch is a preemption, so it has
# r - 2 preemptions (r >= 2). Counting interleavings with r runs:
#   r = 2: 2 (all of A then all of B, or the reverse)            -> bound 0: 2
#   r = 3: (a - 1) + (b - 1) (one thread is split in two pieces)  -> bound 1: 2 + (a-1) + (b-1)
#   r = 4: 2 (a - 1)(b - 1) (both split once)                     -> bound 2: + 2(a-1)(b-1)
# For p_A = p_B = 2 (a = b = 3): 2, 6, 14, then 18 (bound 3), 20 = C(6, 3) (unbounded).
# For p_A = 3, p_B = 1 (a = 4, b = 2): 2, 6, 12, then 15 = C(6, 4) (bound 3, unbounded).
@pytest.mark.parametrize(
    ("points_a", "points_b", "bound", "expected"),
    [
        (2, 2, 0, 2),
        (2, 2, 1, 6),
        (2, 2, 2, 14),
        (2, 2, 3, 18),
        (2, 2, None, comb(6, 3)),
        (3, 1, 0, 2),
        (3, 1, 1, 6),
        (3, 1, 2, 12),
        (3, 1, None, comb(6, 4)),
    ],
)
def test_exhaustive_count_matches_the_hand_count(
    points_a: int, points_b: int, bound: int | None, expected: int
) -> None:
    explorer, orders, executions = explore(bound, points_a, points_b)
    assert explorer.explored == expected
    assert explorer.complete
    assert len(set(orders)) == expected  # every execution a different interleaving
    groups = merges_by_preemptions(points_a + 1, points_b + 1)
    allowed = set().union(*(g for c, g in groups.items() if bound is None or c <= bound))
    assert set(orders) == allowed  # exactly the interleavings within the bound
    preemptions = [e.preemptions for e in executions]
    assert preemptions == sorted(preemptions)  # iterative bounding: cheapest schedules first
    assert all(bound is None or p <= bound for p in preemptions)


def test_exhaustive_walk_is_deterministic_and_stops_at_the_limit() -> None:
    _, first, _ = explore(2, 2, 2)
    _, second, _ = explore(2, 2, 2)
    assert first == second
    limited, orders, _ = explore(2, 2, 2, limit=5)
    assert limited.explored == 5 and not limited.complete and orders == first[:5]
    exact, _, _ = explore(2, 2, 2, limit=14)
    assert exact.explored == 14 and exact.complete


def test_exhaustive_finds_the_lock_order_deadlock_with_one_preemption() -> None:
    found: dict[int, int] = {}
    counts: dict[int, int] = {}
    for bound in (0, 1):
        explorer = Exhaustive(bound)
        for execution in explorer.executions():
            try:
                lock_order(execution)
            except Deadlock:
                found.setdefault(bound, explorer.explored)
        counts[bound] = explorer.explored
        assert explorer.complete
    print(f"lock order: executions per bound {counts}, first deadlock at {found}")
    assert 0 not in found  # without preemptions each thread takes both locks alone
    assert 1 in found


def test_exhaustive_finds_the_order_bug_with_one_preemption() -> None:
    found: dict[int, list[Execution]] = {0: [], 1: []}
    counts: dict[int, int] = {}
    for bound in (0, 1):
        explorer = Exhaustive(bound)
        for execution in explorer.executions():
            if out_of_order(execution):
                found[bound].append(execution)
        counts[bound] = explorer.explored
    failing = {b: len(f) for b, f in found.items()}
    print(f"order bug: executions per bound {counts}, failing {failing}")
    assert not found[0]
    assert found[1] and all(e.preemptions == 1 for e in found[1])


def test_exhaustive_reports_a_nondeterministic_program() -> None:
    with pytest.raises(Divergence, match="not runnable"):
        Execution([7]).choose([0, 1], 0, 4)


# Hypothesis --------------------------------------------------------------------------------------
def test_hypothesis_shrinks_the_order_bug_to_few_preemptions() -> None:
    failing: list[tuple[int, list[int]]] = []  # (preemptions, delivery) of failing runs

    @settings(max_examples=300, database=None, derandomize=True, deadline=None)
    @given(st.data())
    def deliveries_stay_in_order(data: st.DataObject) -> None:
        strategy = HypothesisSchedule(data)
        delivered, sched = pubsub(strategy)
        assert strategy.preemptions == sched.preemptions
        if delivered != sorted(delivered):
            failing.append((sched.preemptions, delivered))
        assert delivered == sorted(delivered)

    with pytest.raises(AssertionError):
        deliveries_stay_in_order()
    shrunk = failing[-1]  # Hypothesis runs the shrunk example last, to raise its error
    print(
        f"Hypothesis: {len(failing)} failing runs; most preemptions {max(p for p, _ in failing)}, "
        f"shrunk to {shrunk[0]} ({shrunk[1]})"
    )
    assert shrunk[0] <= 2


def test_schedules_helper_draws_working_strategies() -> None:
    seen: set[tuple[int, ...]] = set()

    @settings(max_examples=20, database=None, derandomize=True, deadline=None)
    @given(schedules())
    def runs(strategy: HypothesisSchedule) -> None:
        delivered, sched = pubsub(strategy)
        assert sorted(delivered) == [0, 1, 2]
        assert strategy.decisions == sched.decisions
        seen.add(tuple(sched.decisions))

    runs()
    assert len(seen) > 1
