"""The driver: plays a scenario against an implementation and records its history.

The same code runs in simulation (``play_sim``: virtual threads, virtual clock, one
scheduling decision at every synchronisation point) and on real threads
(``play_real``). What differs is the ``Env``: how threads start, what the clock says,
how to sleep, how to wait for quiescence, and how the driver's own bookkeeping is
made atomic (in simulation it already is: the driver adds no scheduling points).

Payload checks (spec C1-C3): every message carries ``{"_id", "v", "n"}``; the sender
changes its dict right after ``send()``, and each handler changes its copy, so a
handler that sees a changed ``v``, another handler's mark, or a copied ``n`` records
``start`` with ``bad:<what>``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any, Protocol

from refimpl._seam import Platform
from sim.adapters.base import Adapter, Session
from sim.history import History, MessageInfo
from sim.primitives import SimPlatform
from sim.scenario import Advance, Scenario, Send, Settle, Shutdown, Subscribe, Unsubscribe
from sim.scheduler import MAX_STEPS, Instrument, Scheduler, SchedulingStrategy

__all__ = ["Env", "RealEnv", "RealRunError", "SimEnv", "play_real", "play_sim"]

_SETTLE_TICK = 0.05  #: virtual seconds a settling driver waits for a sleeping handler


class Env(Protocol):
    @property
    def platform(self) -> Platform | None: ...

    @property
    def scale(self) -> float:
        """Real seconds per scenario second."""
        ...

    def now(self) -> float: ...

    def thread(self) -> int: ...

    def spawn(self, name: str, fn: Callable[[], None]) -> Any: ...

    def join(self, handle: Any) -> None: ...

    def sleep(self, seconds: float) -> None: ...

    def settle(self, session: Session, run: _Run) -> None: ...

    def atomic(self) -> AbstractContextManager[Any]: ...


_NO_LOCK = nullcontext()  # reusable: one shared instance instead of one per record


class SimEnv:
    def __init__(self, sched: Scheduler) -> None:
        self.sched = sched
        self.platform: SimPlatform = SimPlatform(sched)
        self.scale = 1.0

    def now(self) -> float:
        return self.sched.time

    def thread(self) -> int:
        current = self.sched.current
        return current.id if current is not None else 0

    def spawn(self, name: str, fn: Callable[[], None]) -> Any:
        return self.platform.start_thread(name, fn)

    def join(self, handle: Any) -> None:
        handle.join()

    def sleep(self, seconds: float) -> None:
        self.sched.sleep(seconds)

    def settle(self, session: Session, run: _Run) -> None:
        # No thread can run; but a handler asleep on the virtual clock is still working,
        # so let time pass until none is (as runtime.join() on real threads would).
        self.sched.wait_quiescent()
        while run.running:
            self.sched.sleep(_SETTLE_TICK)
            self.sched.wait_quiescent()

    def atomic(self) -> AbstractContextManager[Any]:
        return _NO_LOCK  # one thread runs at a time: nothing to lock


class RealEnv:
    def __init__(self, scale: float = 0.01) -> None:
        self.platform = None
        self.scale = scale
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._numbers: dict[int, int] = {}
        self.names: dict[int, str] = {}  #: thread number -> the thread's name
        self._count = itertools.count()
        self.errors: list[BaseException] = []  # what escaped a sender thread
        self.oversleep = 0.0  # the latest a sleeping thread woke up (real seconds): machine load

    def now(self) -> float:
        return (time.monotonic() - self._t0) / self.scale

    def thread(self) -> int:
        ident = threading.get_ident()
        number = self._numbers.get(ident)
        if number is None:
            number = self._numbers.setdefault(ident, next(self._count))
            self.names.setdefault(number, threading.current_thread().name)
        return number

    def spawn(self, name: str, fn: Callable[[], None]) -> Any:
        def guarded() -> None:
            try:
                fn()
            except BaseException as exc:  # re-raised by play_real
                self.errors.append(exc)

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        return thread

    def join(self, handle: Any) -> None:
        handle.join()

    def sleep(self, seconds: float) -> None:
        begin = time.monotonic()
        time.sleep(seconds * self.scale)
        late = time.monotonic() - begin - seconds * self.scale
        with self._lock:
            self.oversleep = max(self.oversleep, late)

    def settle(self, session: Session, run: _Run) -> None:
        session.settle()

    def atomic(self) -> AbstractContextManager[Any]:
        return self._lock


class _Run:
    """One play of a scenario: the driver's state and the history it records."""

    def __init__(self, scenario: Scenario, adapter: Adapter, env: Env) -> None:
        self.scenario = scenario
        self.adapter = adapter
        self.env = env
        self.history = History()
        self.session: Session | None = None
        self.current: dict[int, tuple[int, Any] | None] = {}  # role -> (sub id, channel)
        self.senders: list[Any] = []  # role -> a channel object used only to send
        self.by_channel: dict[int, int] = {}  # id(channel object) -> sub id (never ordered on)
        self.keep_alive: list[Any] = []  # channel objects, so that their ids stay unique
        self.nested: dict[int, list[int]] = {}
        self.next_msg = 0
        self.next_sub = 0
        self.shut = False
        self.running = 0  # handlers between start and end
        self.busy: set[int] = set()  # roles with a subscribe or unsubscribe under way

    def record(self, kind: str, msg: int = -1, sub: int = -1, info: str = "") -> None:
        env = self.env
        with env.atomic():
            self.history.add(env.now(), env.thread(), kind, msg, sub, info)

    # the implementation's reports --------------------------------------------------------
    def report(self, kind: str, data: dict[str, Any] | None, channel: Any, detail: str) -> None:
        msg = data.get("_id", -1) if isinstance(data, dict) else -1
        if msg == -1:
            return  # an internal-topic message
        sub = -1 if channel is None else self.by_channel.get(id(channel), -1)
        self.record(kind, msg, sub, detail)

    # operations --------------------------------------------------------------------------
    def subscribe(self, role: int) -> None:
        session = self.session
        assert session is not None
        spec = self.scenario.channels[role]
        with self.env.atomic():
            if self.current.get(role) is not None or role in self.busy:
                return
            self.busy.add(role)
            sub = self.next_sub
            self.next_sub += 1
            channel = session.channel(spec.topic)
            self.current[role] = (sub, channel)
            self.by_channel[id(channel)] = sub
            self.keep_alive.append(channel)
            self.history.topics[sub] = spec.topic
        self.record("sub_call", sub=sub, info=spec.topic)
        try:
            session.subscribe(channel, self.make_handler(role, sub))
        finally:
            self.record("sub_ret", sub=sub)
            with self.env.atomic():
                self.busy.discard(role)

    def unsubscribe(self, role: int) -> None:
        session = self.session
        assert session is not None
        with self.env.atomic():
            entry = self.current.get(role)
            if entry is None or role in self.busy:
                return
            self.busy.add(role)
            self.current[role] = None
        sub, channel = entry
        self.record("unsub_call", sub=sub)
        try:
            session.unsubscribe(channel)
        finally:
            self.record("unsub_ret", sub=sub)
            with self.env.atomic():
                self.busy.discard(role)

    def send(
        self, role: int, expiry: float | None, droppable: bool, local: bool, hop: int = 0
    ) -> None:
        session = self.session
        assert session is not None
        env = self.env
        with env.atomic():
            msg = self.next_msg
            self.next_msg += 1
            nested = [msg]
            self.nested[msg] = nested
            deadline = None if expiry is None else env.now() + expiry
            self.history.messages[msg] = MessageInfo(
                self.scenario.channels[role].topic, deadline, droppable, local, env.thread()
            )
        data: dict[str, Any] = {"_id": msg, "v": msg * 7, "n": nested, "hop": hop}
        self.record("send_call", msg, info=self.scenario.channels[role].topic)
        delta = None if expiry is None else timedelta(seconds=expiry * env.scale)
        try:
            seq = session.send(self.senders[role], data, delta, local, droppable)
        except Exception as exc:
            self.record("send_err", msg, info=type(exc).__name__)
            return
        data["v"] = "changed by sender"  # C1: must reach nobody
        data["mark"] = -1
        self.record("send_ret", msg, info=seq)

    def make_handler(self, role: int, sub: int) -> Callable[[str, dict[str, Any]], None]:
        spec = self.scenario.channels[role]

        def handler(topic: str, data: dict[str, Any]) -> None:
            msg = data.get("_id", -1)
            if msg == -1:
                self.record("internal", sub=sub, info=topic)
                return
            bad = ""
            if data.get("v") != msg * 7:
                bad = "bad:sender-change-seen"
            elif "mark" in data:
                bad = "bad:other-holder-change-seen"
            elif data.get("n") is not self.nested.get(msg):
                bad = "bad:nested-not-shared"
            self.record("start", msg, sub, bad)
            with self.env.atomic():
                self.running += 1
            data["mark"] = sub
            if spec.sleep:
                self.env.sleep(spec.sleep)
            if spec.reply is not None and data.get("hop", 0) == 0:
                self.send(spec.reply, None, spec.reply_droppable, False, hop=1)
            self.record("end", msg, sub)
            with self.env.atomic():
                self.running -= 1
            if spec.raises:
                raise RuntimeError(f"scenario handler of subscription {sub} raises, as told")

        return handler

    def play_thread(self, ops: tuple[Any, ...]) -> Callable[[], None]:
        def body() -> None:
            for op in ops:
                if isinstance(op, Send):
                    self.send(op.channel, op.expiry, op.droppable, op.local)
                elif isinstance(op, Subscribe):
                    self.subscribe(op.channel)
                elif isinstance(op, Unsubscribe):
                    self.unsubscribe(op.channel)
                elif isinstance(op, Advance):
                    self.record("advance", info=repr(op.seconds))
                    self.env.sleep(op.seconds)
                elif isinstance(op, Settle):
                    self.settle()
                elif isinstance(op, Shutdown):
                    self.shutdown()

        return body

    def settle(self) -> None:
        assert self.session is not None
        self.record("settle_call")
        self.env.settle(self.session, self)
        self.record("settle_ret")

    def shutdown(self) -> None:
        assert self.session is not None
        with self.env.atomic():
            if self.shut:
                return
            self.shut = True
        self.record("shutdown_call")
        self.session.shutdown()
        self.record("shutdown_ret")

    # the main thread -----------------------------------------------------------------------
    def main(self) -> None:
        scenario = self.scenario
        self.session = session = self.adapter.open(
            scenario.settings(), self.env.platform, self.report
        )
        session.start()
        self.senders = [session.channel(spec.topic) for spec in scenario.channels]
        for role, spec in enumerate(scenario.channels):
            if spec.subscribed:
                self.subscribe(role)
        handles = [
            self.env.spawn(f"sender-{i}", self.play_thread(ops))
            for i, ops in enumerate(scenario.threads)
        ]
        for handle in handles:
            self.env.join(handle)
        if scenario.shutdown:
            self.shutdown()
        elif not self.shut:
            self.settle()


def play_sim(
    scenario: Scenario,
    adapter: Adapter,
    strategy: SchedulingStrategy,
    max_steps: int = MAX_STEPS,
    instrument: Instrument | None = None,
) -> tuple[History, Scheduler]:
    """Play *scenario* under the deterministic scheduler (*instrument*: e.g. line points).

    Raises ExecutionAborted on deadlock or livelock, with ``.history`` and ``.scheduler``.
    """
    sched = Scheduler(strategy, max_steps, instrument)
    run = _Run(scenario, adapter, SimEnv(sched))
    try:
        sched.run(run.main)
    except Exception as exc:  # any failure: keep what the run did so far, for the trace
        exc.history = run.history  # type: ignore[attr-defined]
        exc.scheduler = sched  # type: ignore[attr-defined]
        raise
    return run.history, sched


def play_real(
    scenario: Scenario,
    adapter: Adapter,
    scale: float = 0.01,
    env: RealEnv | None = None,
    stats: dict[str, Any] | None = None,
) -> History:
    """Play *scenario* on real threads (scenario seconds times *scale* real seconds).

    Pass *env* to read its thread ``names`` afterwards. *stats*, if given, gets
    ``history`` (at once, so that a caller that gives up on a hung run still has what it
    recorded) and ``oversleep`` (real seconds: the latest a sleeping driver thread woke
    up, a measure of how loaded the machine was).
    """
    env = RealEnv(scale) if env is None else env
    run = _Run(scenario, adapter, env)
    if stats is not None:
        stats["history"] = run.history
    try:
        run.main()
    finally:
        if stats is not None:
            stats["oversleep"] = env.oversleep
        if not run.shut and run.session is not None:
            if stats is not None:
                stats["cleanup"] = "shutdown()"  # a hang from here on is in this call
            run.session.shutdown()  # clean up real threads; not part of the history
    if env.errors:
        error = RealRunError(
            f"a sender thread failed: {type(env.errors[0]).__name__}: {env.errors[0]}"
        )
        error.history = run.history
        raise error from env.errors[0]
    return run.history


class RealRunError(RuntimeError):
    """A real-thread run could not be completed; ``history`` holds what it recorded."""

    history: History | None = None
