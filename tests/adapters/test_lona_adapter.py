"""The Lona adapter: Lona 1.16.2's own channel code, driven in simulation and on real threads.

Besides the adapter's own contract (isolation: every session has its own copy of
``lona.channels``, the imported one is never touched; determinism, settle, observed drops)
these tests pin down Lona behaviours the harness must be able to
show, with the seeds that show them: reordering with several task workers (O2),
concurrent invocations of one handler (O3), a broker killed by a tz-aware expiry (V2),
shutdown that does not drain (S2), a sibling copy's drop marking the others (E4), and
messages sent before an unsubscribe lost without a report (W1/W4/D2).
"""

from __future__ import annotations

import logging
import queue
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import lona.channels as lona_channels
import pytest

from sim.adapters import load_adapter
from sim.adapters.base import Report
from sim.adapters.lona_adapter import STALL, LonaAdapter, LonaSystem
from sim.adapters.unmodified import Unmodified
from sim.driver import play_real, play_sim
from sim.history import History
from sim.primitives import EPOCH, SimPlatform
from sim.scenario import Advance, ChannelSpec, Scenario, Send, Settle, Unsubscribe
from sim.scheduler import Scheduler
from sim.strategies.random_walk import RandomWalk

CHAT = (ChannelSpec("chat.a"), ChannelSpec("chat.*"))
CHAT_SENDS = (
    (Send(0), Send(0), Send(0), Settle()),
    (Send(1), Send(1), Send(1), Settle()),
)


def lona(one_worker: bool = False, settle_timeout: float = 10.0) -> Unmodified:
    return Unmodified(LonaAdapter(one_worker, settle_timeout))


class Capturing(Unmodified):
    """Keeps the Lona systems it opens, so a test can read the dead workers after a run."""

    def __init__(self, one_worker: bool = False, settle_timeout: float = 10.0) -> None:
        super().__init__(LonaAdapter(one_worker, settle_timeout))
        self.sessions: list[LonaSystem] = []

    def open(self, settings: dict[str, Any], platform: Any, report: Report) -> Any:
        session = super().open(settings, platform, report)
        self.sessions.append(session.system)
        return session


def starts(history: History, sub: int | None = None) -> list[tuple[int, int]]:
    return [(e.msg, e.sub) for e in history.events if e.kind == "start" and sub in (None, e.sub)]


def drops(history: History) -> list[tuple[int, int, str]]:
    return [(e.msg, e.sub, e.info) for e in history.events if e.kind == "drop"]


def seqs(history: History) -> dict[int, int]:
    return {e.msg: int(e.info) for e in history.events if e.kind == "send_ret"}


def lost(history: History) -> list[int]:
    """Messages every subscriber missed with no drop reported (the scenarios subscribe early)."""
    handled = {m for m, _ in starts(history)} | {m for m, _, _ in drops(history)}
    return sorted(set(history.messages) - handled)


def in_order(history: History, sub: int) -> bool:
    order = seqs(history)
    ranks = [order[m] for m, _ in starts(history, sub)]
    return ranks == sorted(ranks)


def overlapping(history: History, sub: int) -> bool:
    running = 0
    for e in history.events:
        if e.sub == sub and e.kind == "start":
            running += 1
            if running > 1:
                return True
        elif e.sub == sub and e.kind == "end":
            running -= 1
    return False


def in_sim(body: Any, seed: int = 0) -> Scheduler:
    """Run *body(platform)* as the main virtual thread of a fresh scheduler."""
    sched = Scheduler(RandomWalk(seed))
    sched.run(lambda: body(SimPlatform(sched)))
    return sched


# the adapter's contract -------------------------------------------------------------------
def test_names_and_loading() -> None:
    assert load_adapter("lona").name == "lona"
    one = load_adapter("lona-1worker")
    assert one.name == "lona-1worker" and isinstance(one, Unmodified)
    assert isinstance(one.adapter, LonaAdapter) and one.adapter.one_worker


@pytest.mark.spec("W1", "D1", "O1", "O2", "C1", "C2", "C3")
@pytest.mark.parametrize("seed", range(10))
def test_one_worker_delivers_everything_in_order(seed: int) -> None:
    scenario = Scenario(CHAT, CHAT_SENDS, workers=4)  # one_worker overrides the 4
    adapter = Capturing(one_worker=True)
    history, sched = play_sim(scenario, adapter, RandomWalk(seed))
    session = adapter.sessions[0]
    assert (session.brokers, session.task_workers) == (1, 1)
    assert sched.failure is None and not session.watch.raised()
    # "chat.a" and "chat.*" match each other: every message reaches both subscriptions once.
    assert sorted(starts(history)) == [(m, s) for m in range(6) for s in (0, 1)]
    assert not drops(history)
    assert not [e for e in history.events if e.info.startswith("bad:")]
    assert in_order(history, 0) and in_order(history, 1)
    # seq = rank in Channel._messages: distinct, increasing per sending thread
    order = seqs(history)
    assert len(set(order.values())) == 6
    for thread in {e.thread for e in history.events if e.kind == "send_ret"}:
        mine = [order[e.msg] for e in history.events if e.kind == "send_ret" and e.thread == thread]
        assert mine == sorted(mine)


@pytest.mark.parametrize("seed", [3, 11])
def test_same_seed_same_history(seed: int) -> None:
    scenario = Scenario(CHAT, CHAT_SENDS, workers=4)
    first, s1 = play_sim(scenario, lona(), RandomWalk(seed))
    second, s2 = play_sim(scenario, lona(), RandomWalk(seed))
    assert first.dumps() == second.dumps()
    assert (s1.decisions, s1.log, s1.time) == (s2.decisions, s2.log, s2.time)


def test_different_seeds_explore_different_interleavings() -> None:
    scenario = Scenario(CHAT, CHAT_SENDS, workers=4)
    histories = {play_sim(scenario, lona(), RandomWalk(s))[0].dumps() for s in range(8)}
    assert len(histories) > 1


def lona_state() -> tuple[Any, ...]:
    cls = lona_channels.Channel
    return (cls._channels, cls._messages, cls._tasks, cls._lock)


def test_sessions_use_their_own_copy_of_lona_channels() -> None:
    """The imported ``lona.channels`` is never touched: each session loads its own copy, so its
    class-level registry, queues and lock are fresh (and virtual in simulation)."""
    before = lona_state()
    registry = dict(lona_channels.Channel._channels)
    adapter = Capturing()
    play_sim(Scenario(CHAT, CHAT_SENDS), adapter, RandomWalk(0))
    play_sim(Scenario(CHAT, CHAT_SENDS, shutdown=False), adapter, RandomWalk(0))
    first, second = adapter.sessions
    assert first.mod is not lona_channels and first.mod is not second.mod
    assert first.mod.Channel._messages is not second.mod.Channel._messages
    assert first.mod.Channel._messages is not before[1]
    assert all(a is b for a, b in zip(lona_state(), before, strict=True))
    assert lona_channels.Channel._channels == registry
    assert lona_channels.datetime is datetime


def test_sessions_are_independent_even_on_real_threads_at_once() -> None:
    got: list[list[Any]] = [[], []]
    sessions = [lona().open({"CHANNEL_WORKER_TIMEOUT": 0.05}, None, lambda *a: None) for _ in got]
    try:
        for session, inbox in zip(sessions, got, strict=True):
            session.start()
            session.subscribe(session.channel("t"), lambda _, data, box=inbox: box.append(data))
        sessions[0].send(sessions[0].channel("t"), {"_id": 0}, None, False, False)
        sessions[1].send(sessions[1].channel("t"), {"_id": 1}, None, False, False)
        for session in sessions:
            session.settle()
    finally:
        for session in sessions:
            session.shutdown()
    assert got == [[{"_id": 0}], [{"_id": 1}]]


def test_simulated_queue_lock_and_clock() -> None:
    seen: dict[str, Any] = {}

    def body(platform: SimPlatform) -> None:
        session = lona().open({}, platform, lambda *a: None)
        mod = session.system.mod
        messages = mod.Channel._messages
        with pytest.raises(queue.Empty):
            messages.get(block=False)
        with pytest.raises(queue.Empty):
            messages.get(block=True, timeout=0)
        with pytest.raises(queue.Empty):
            messages.get(block=True, timeout=2.5)
        seen["after_timeout"] = platform.sched.time
        seen["empty"] = messages.empty()
        with pytest.raises(ValueError):
            messages.task_done()
        now = mod.datetime.now()
        seen["now"] = now
        seen["expected"] = (EPOCH + timedelta(seconds=platform.sched.time)).replace(tzinfo=None)
        seen["lock"] = type(mod.Channel._lock).__module__
        session.shutdown()

    sched = in_sim(body)
    assert seen["after_timeout"] == 2.5
    assert seen["empty"] is True
    assert seen["now"] == seen["expected"] and seen["now"].tzinfo is None
    assert seen["lock"] == "sim.interpose.vthread"
    kinds = [kind for _, kind in sched.log]
    assert any(k.startswith("acquire tests.adapters.test_lona_adapter:") for k in kinds)


@pytest.mark.spec("W1", "D1", "O2")
def test_real_threads_one_worker_delivers_everything_in_order() -> None:
    scenario = Scenario(CHAT, CHAT_SENDS, timeout=0.05)
    history = play_real(scenario, lona(one_worker=True))
    assert sorted(starts(history)) == [(m, s) for m in range(6) for s in (0, 1)]
    assert in_order(history, 0) and in_order(history, 1)
    assert lona_channels.datetime is datetime


@pytest.mark.spec("D1")
def test_real_threads_four_workers_deliver_exactly_once_and_settle_waits() -> None:
    channels = (ChannelSpec("t", sleep=3.0), ChannelSpec("t"))  # 3 scenario s = 30 ms
    scenario = Scenario(channels, ((Send(0), Send(1), Send(0), Settle()),), workers=4, timeout=0.05)
    history = play_real(scenario, lona())
    assert sorted(starts(history)) == [(m, s) for m in range(3) for s in (0, 1)]
    settled = next(e.index for e in history.events if e.kind == "settle_ret")
    assert all(e.index < settled for e in history.events if e.kind == "end")


def test_real_session_left_open_does_not_hang_interpreter_exit() -> None:
    # Lona's worker loops never return by themselves; the adapter's exit hook stops them
    # before concurrent.futures joins the pool threads.
    code = textwrap.dedent(
        """
        from sim.adapters import load_adapter
        session = load_adapter("lona").open({"CHANNEL_WORKER_TIMEOUT": 0.05}, None, lambda *a: None)
        session.start()
        """
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=60, check=False)
    assert done.returncode == 0


# Lona's behaviours ------------------------------------------------------------------------
SLOW = (ChannelSpec("t", sleep=0.5),)
FOUR_SENDS = ((Send(0), Send(0), Send(0), Send(0), Settle()),)


@pytest.mark.spec("O2")
def test_four_task_workers_reorder_one_subscription() -> None:
    """Known Lona divergence: with several task workers one subscription's messages overtake."""
    scenario = Scenario(SLOW, FOUR_SENDS, workers=4)
    reordered = [
        seed
        for seed in range(40)
        if not in_order(play_sim(scenario, lona(), RandomWalk(seed))[0], 0)
    ]
    assert reordered, "no reordering in 40 seeds"
    # seed 20 at the time of writing (seed 1 before the adapter watched the workers' futures,
    # which adds scheduling points): starts of msgs 1, 0, 2, 3
    assert reordered[0] <= 25
    for seed in reordered[:5]:  # the same seeds with Lona's safe configuration keep the order
        history, _ = play_sim(scenario, lona(one_worker=True), RandomWalk(seed))
        assert in_order(history, 0) and len(starts(history)) == 4


@pytest.mark.spec("O3")
def test_four_task_workers_run_one_handler_concurrently() -> None:
    scenario = Scenario(SLOW, FOUR_SENDS, workers=4)
    history, _ = play_sim(scenario, lona(), RandomWalk(0))
    assert overlapping(history, 0)
    history, _ = play_sim(scenario, lona(one_worker=True), RandomWalk(0))
    assert not overlapping(history, 0)


@pytest.mark.spec("V2")
def test_tz_aware_expiry_kills_the_broker_in_simulation() -> None:
    seen: dict[str, Any] = {}

    def body(platform: SimPlatform) -> None:
        session = lona(one_worker=True).open({}, platform, lambda *a: None)
        system = session.system
        session.start()
        received: list[dict[str, Any]] = []
        session.subscribe(session.channel("t"), received.append)
        sender = session.channel("t")
        sender.send(message_data={"_id": 0}, expiry=EPOCH + timedelta(hours=1))  # aware
        session.send(sender, {"_id": 1}, None, False, False)
        session.settle()  # gives up once nothing moved for STALL seconds: both are lost
        seen.update(received=received, dead=system.watch.raised())
        seen.update(unfinished=system.unfinished, time=platform.sched.time)
        session.shutdown()

    sched = in_sim(body)
    assert sched.failure is None  # the worker's virtual thread ended quietly
    [(name, error)] = seen["dead"]
    assert name == "MessageBroker-0"
    assert isinstance(error, TypeError)
    assert "offset-naive and offset-aware" in str(error)
    assert seen["received"] == []  # neither the aware message nor the next one is routed
    assert seen["unfinished"] == 2
    assert STALL < seen["time"] < STALL + 0.1  # not the whole settle_timeout (10 s)


@pytest.mark.spec("D2")
def test_settle_waits_for_a_handler_that_runs_longer_than_the_stall_bound() -> None:
    seen: dict[str, Any] = {}

    def body(platform: SimPlatform) -> None:
        session = lona(one_worker=True).open({}, platform, lambda *a: None)
        clock = session.system.mods["time"]
        session.start()
        received: list[float] = []

        def slow(topic: str, data: Any) -> None:
            clock.sleep(3 * STALL)  # no count moves meanwhile: only "a handler runs" does
            received.append(clock.monotonic())

        session.subscribe(session.channel("t"), slow)
        session.send(session.channel("t"), {"_id": 0}, None, False, False)
        session.settle()
        seen.update(received=received, unfinished=session.system.unfinished)
        session.shutdown()

    assert in_sim(body).failure is None
    assert len(seen["received"]) == 1 and seen["unfinished"] == 0


@pytest.mark.spec("V2")
def test_tz_aware_expiry_kills_the_broker_on_real_threads() -> None:
    session = lona(one_worker=True, settle_timeout=0.5).open(
        {"CHANNEL_WORKER_TIMEOUT": 0.05}, None, lambda *a: None
    )
    try:
        session.start()
        received: list[dict[str, Any]] = []
        session.subscribe(session.channel("t"), received.append)
        sender = session.channel("t")
        sender.send(message_data={"_id": 0}, expiry=datetime.now(UTC) + timedelta(hours=1))
        session.send(sender, {"_id": 1}, None, False, False)
        with pytest.raises(TimeoutError, match="MessageBroker-0"):
            session.settle()
        assert [n.split("-")[0] for n, _ in session.system.watch.raised()] == ["MessageBroker"]
        assert received == []
    finally:
        session.shutdown()


@pytest.mark.spec("E2", "E3", "D2")
def test_routing_time_expiry_drop_is_reported_for_the_whole_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scenario = Scenario((ChannelSpec("t"),), ((Send(0, expiry=0.0), Send(0), Settle()),), workers=1)
    for seed in range(5):
        history, _ = play_sim(scenario, lona(), RandomWalk(seed))
        assert drops(history) == [(0, -1, "expired")]
        assert starts(history) == [(1, 0)]
    # the DEBUG level the adapter needs does not leak into logging output
    lona_records = [r for r in caplog.records if r.name == "lona.channels"]
    assert all(r.levelno >= logging.WARNING for r in lona_records)


@pytest.mark.spec("E2", "E3", "E4", "D2")
def test_task_time_expiry_drop_is_reported_per_copy_and_marks_the_sibling() -> None:
    """One worker, a 2 s handler: the second message's copies wait past their 1 s expiry.

    The first copy is dropped as expired; Lona then marks the original dropped, so the
    second copy is dropped as ' is dropped' (reported "dropped") -- Lona's E4 divergence.
    """
    channels = (ChannelSpec("t", sleep=2.0), ChannelSpec("t"))
    sends = ((Send(0), Send(0, expiry=1.0), Advance(3.0), Settle()),)
    scenario = Scenario(channels, sends, workers=1)
    for seed in range(5):
        history, _ = play_sim(scenario, lona(), RandomWalk(seed))
        assert starts(history) == [(0, 0), (0, 1)]
        assert drops(history) == [(1, 0, "expired"), (1, 1, "dropped")]
        assert all(e.time == 2.0 for e in history.events if e.kind == "drop")


@pytest.mark.spec("S3", "D2")
def test_droppable_messages_are_dropped_on_shutdown_and_reported() -> None:
    sends = ((Send(0, droppable=True), Send(0, droppable=True), Send(0, droppable=True)),)
    scenario = Scenario((ChannelSpec("t"),), sends, workers=1)
    routing = task = False
    for seed in range(20):
        history, _ = play_sim(scenario, lona(), RandomWalk(seed))
        assert {reason for _, _, reason in drops(history)} <= {"shutdown"}
        routing |= any(sub == -1 for _, sub, _ in drops(history))
        task |= any(sub == 0 for _, sub, _ in drops(history))
    assert routing and task  # seed 0 shows both


@pytest.mark.spec("S1", "S2", "D2")
def test_lona_shutdown_does_not_drain() -> None:
    """Without a settle, Lona's shutdown loses accepted non-droppable messages silently.

    Its task workers leave at the first empty non-blocking get, even while a broker is
    still routing; the tasks it puts afterwards are never run and nothing is logged.
    """
    scenario = Scenario((ChannelSpec("t"),), ((Send(0), Send(0), Send(0)),), workers=1)
    adapter = Capturing()
    silent = []
    for seed in range(20):
        history, _ = play_sim(scenario, adapter, RandomWalk(seed))
        if lost(history):
            silent.append(seed)
            assert not drops(history)
            assert adapter.sessions[-1].unfinished == len(lost(history))
    assert silent, "Lona drained every time in 20 seeds"  # seeds 2, 6, 14, 16, 17 when written


@pytest.mark.spec("H1")
def test_a_raising_handler_does_not_kill_the_task_worker(caplog: pytest.LogCaptureFixture) -> None:
    # an in-process ``python -m sim`` call (sim.cli.main) earlier in this worker silences
    # the "lona" loggers for the whole process: this test reads Lona's ERROR records
    caplog.set_level(logging.ERROR, logger="lona.channels")
    raising = (ChannelSpec("t", raises=True),)
    scenario = Scenario(raising, ((Send(0), Send(0), Settle()),), workers=1)
    adapter = Capturing()
    history, sched = play_sim(scenario, adapter, RandomWalk(0))
    assert starts(history) == [(0, 0), (1, 0)]
    assert not adapter.sessions[0].watch.raised() and sched.failure is None
    assert [r.levelno for r in caplog.records if r.name == "lona.channels"] == [logging.ERROR] * 2


def routes(history: History) -> dict[int, int]:
    return {e.msg: int(e.info) for e in history.events if e.kind == "route"}


UNSUBSCRIBING = Scenario(
    (ChannelSpec("t", sleep=2.0),),
    ((Send(0), Send(0), Send(0), Unsubscribe(0), Settle()),),
    workers=1,
)


@pytest.mark.spec("W1", "W3", "W4", "D2")
def test_messages_sent_before_unsubscribe_are_lost_silently() -> None:
    """All three sends return before unsubscribe() begins, so W1 requires each to be handled
    or reported dropped. Lona routes at broker time (W4): a message routed after the
    unsubscribe reaches nobody; one routed before it is skipped by the task worker because
    the channel's handler is gone (W3 permits that drop, but only reported). Neither is
    reported. Seed 0 shows both: messages 0 and 1 routed to one channel and never run,
    message 2 routed to none.
    """
    skipped = nobody = False
    for seed in range(8):
        history, _ = play_sim(UNSUBSCRIBING, lona(), RandomWalk(seed))
        assert not drops(history)
        routed, started = routes(history), {m for m, _ in starts(history)}
        skipped |= any(n == 1 and m not in started for m, n in routed.items())
        nobody |= 0 in routed.values()
    assert skipped and nobody


@pytest.mark.spec("W3")
def test_real_settle_counts_tasks_skipped_after_unsubscribe() -> None:
    """Routed tasks whose channel is unsubscribed before they run are skipped by Lona
    (a DEBUG record, no handler): settle must count them as finished, or it would time out.
    Scenario seconds are 10 ms: the three messages are routed within the 50 ms before the
    unsubscribe, while the first handler sleeps 200 ms.
    """
    scenario = Scenario(
        (ChannelSpec("t", sleep=20.0),),
        ((Send(0), Send(0), Send(0), Advance(5.0), Unsubscribe(0), Settle()),),
        workers=1,
        timeout=0.05,
    )
    skipped = 0
    for _ in range(3):
        history = play_real(scenario, lona(settle_timeout=5.0))
        kinds = [e.kind for e in history.events]
        assert kinds[-3:] == ["settle_ret", "shutdown_call", "shutdown_ret"]  # no TimeoutError
        started = {m for m, _ in starts(history)}
        skipped += sum(n == 1 and m not in started for m, n in routes(history).items())
    assert skipped  # the skip path was really taken
