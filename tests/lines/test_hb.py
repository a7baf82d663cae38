"""Happens-before and the race table, on hand-written access sequences. Harness tests."""

from __future__ import annotations

from sim.lines.hb import HappensBefore, RaceTable


def test_a_release_then_acquire_orders_the_two_threads() -> None:
    hb = HappensBefore()
    hb.spawned(None, 0)
    hb.spawned(0, 1)
    hb.spawned(0, 2)
    epoch = hb.clock(1)[1]
    assert not hb.ordered(1, epoch, 2)
    hb.release(1, "lock")
    hb.acquire(2, "lock")
    assert hb.ordered(1, epoch, 2)
    assert not hb.ordered(1, hb.clock(1)[1], 2)  # what 1 does after its release is not


def test_spawn_and_wake_edges() -> None:
    hb = HappensBefore()
    hb.spawned(None, 0)
    before = hb.clock(0)[0]
    hb.spawned(0, 1)
    assert hb.ordered(0, before, 1)
    assert not hb.ordered(0, hb.clock(0)[0], 1)  # the parent after the spawn
    hb.woke(0, 1)
    assert hb.ordered(0, before + 1, 1)


def test_unordered_conflicts_race_and_ordered_or_read_only_ones_do_not() -> None:
    table = RaceTable()
    hb = table.hb
    hb.spawned(None, 0)
    hb.spawned(0, 1)
    hb.spawned(0, 2)
    table.access(1, "x", "m:10", write=False)
    table.access(2, "x", "m:20", write=False)
    assert table.pairs == set()  # two reads never race
    table.access(2, "x", "m:21", write=True)
    assert table.pairs == {("m:10", "m:21")}
    hb.release(2, "lock")
    hb.acquire(1, "lock")
    table.access(1, "x", "m:11", write=True)  # after 2's release: ordered with 2's write
    assert table.pairs == {("m:10", "m:21")}
    table.access(1, "y", "m:12", write=True)
    table.access(1, "y", "m:13", write=True)  # one thread alone never races with itself
    assert table.lines() == ["m:10", "m:21"]


def test_a_new_execution_keeps_the_pairs_and_forgets_the_clocks() -> None:
    table = RaceTable()
    table.hb.spawned(None, 0)
    table.hb.spawned(0, 1)
    table.access(0, "x", "m:2", write=True)
    table.access(1, "x", "m:9", write=True)
    table.new_execution()
    table.access(1, "x", "m:3", write=True)
    assert table.pairs == {("m:2", "m:9")}
