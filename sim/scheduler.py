"""The deterministic scheduler: virtual threads on greenlets, one running at a time.

Every virtual thread is a greenlet. It runs until it reaches a *scheduling point*
(``Scheduler.point``) or blocks (``Scheduler.block``); there the scheduler asks the
strategy which runnable thread goes next and switches straight to it. Code between
two points runs atomically, so an execution is fully determined by the sequence of
choices, and every choice with more than one candidate is recorded as a *decision*
(the chosen thread id).

The virtual clock moves only when no thread is runnable: first any thread waiting for
quiescence is woken; otherwise time jumps to the earliest pending deadline and the
threads whose deadline it is wake up (timed out). Nothing runnable, no quiescence
waiter and no deadline while the main thread is unfinished is a deadlock; more than
``max_steps`` points is reported as a livelock. The execution ends when the main
thread returns; threads still blocked then are torn down.

Thread ids are small integers in creation order, and all choices iterate threads in
id order, so nothing depends on ``id()``, hashing or the wall clock.

Two hooks serve line-level preemption (``sim.lines``) and cost nothing otherwise: an
``Instrument`` is started before the main thread and stopped before the teardown, and
hears of every spawn and wake (the happens-before edges the scheduler itself makes);
``point(kind, guard)`` calls ``guard.leave()``/``guard.enter()`` around a switch, so a
point taken inside a ``sys.settrace`` callback parks at tracing depth 0.
"""

from __future__ import annotations

import contextlib
from bisect import insort
from collections.abc import Callable
from typing import Any, Protocol

import greenlet

__all__ = [
    "MAX_STEPS",
    "Deadlock",
    "ExecutionAborted",
    "Instrument",
    "Livelock",
    "Scheduler",
    "SchedulingStrategy",
    "SwitchGuard",
    "VThread",
]

RUNNABLE = 0
BLOCKED = 1
DONE = 2


class ExecutionAborted(Exception):
    """The execution could not finish. The driver attaches the history and scheduler so far."""

    history: Any = None
    scheduler: Any = None


class Deadlock(ExecutionAborted):
    """Every unfinished thread is blocked and no deadline is pending."""


class Livelock(ExecutionAborted):
    """The step limit was reached."""


class SchedulingStrategy(Protocol):
    """Chooses the next thread; see ``sim.strategies``."""

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        """Return one of *runnable* (thread ids, ascending). *current* is None if it blocked."""
        ...


class SwitchGuard(Protocol):
    """Brackets a switch made from inside a trace callback (see ``sim.lines.tracing``)."""

    def leave(self) -> None: ...

    def enter(self) -> None: ...


class Instrument(Protocol):
    """Watches one execution: started before its main thread, stopped before the teardown."""

    def start(self, sched: Scheduler) -> None: ...

    def stop(self) -> None: ...

    def spawned(self, parent: VThread | None, child: VThread) -> None: ...

    def woke(self, waker: VThread | None, wakee: VThread) -> None: ...


class VThread:
    """A virtual thread. ``waiting`` names what it is blocked on, for messages and timelines."""

    __slots__ = ("deadline", "glet", "id", "name", "quiesce", "state", "timed_out", "waiting")

    def __init__(self, tid: int, name: str) -> None:
        self.id = tid
        self.name = name
        self.state = RUNNABLE
        self.deadline: float | None = None
        self.timed_out = False
        self.quiesce = False
        self.waiting = ""
        self.glet: greenlet.greenlet | None = None

    def __repr__(self) -> str:
        state = ("runnable", "blocked", "done")[self.state]
        return f"<VThread {self.id} {self.name} {state} {self.waiting}>"


class _Teardown(greenlet.GreenletExit):  # type: ignore[misc]
    """Thrown into threads left blocked when the execution ends."""


#: Scheduling steps an execution may take before it is a livelock (``sim.runs`` exports it).
MAX_STEPS = 200_000


class Scheduler:
    """Runs one execution. Create a new scheduler for each execution."""

    def __init__(
        self,
        strategy: SchedulingStrategy,
        max_steps: int = MAX_STEPS,
        instrument: Instrument | None = None,
    ) -> None:
        self.strategy = strategy  # (a property: it also sets ``_draw``)
        self.instrument = instrument
        self.max_steps = max_steps
        self.threads: list[VThread] = []
        self.current: VThread | None = None
        self.time = 0.0  #: virtual seconds since the start of the execution
        self.steps = 0  #: scheduling points passed
        self.decisions: list[int] = []  #: chosen thread id at every choice among >1
        self.preemptions = 0  #: decisions that switched away from a still-runnable thread
        self.log: list[tuple[int, str]] = []  #: (thread id, point kind) per step
        self.clock: list[tuple[int, float]] = []  #: (steps so far, new time) when the clock moves
        self.error: ExecutionAborted | None = None
        self.failure: BaseException | None = None  # an exception that escaped a thread
        self._hub: greenlet.greenlet | None = None
        self._tearing_down = False
        self._joiners: dict[int, list[VThread]] = {}
        # The ids of the runnable threads, ascending, kept up to date by every change of a
        # thread's state (spawn, block, wake, _exit): no scan of the threads per step. It is
        # the list the strategy is handed (a strategy that keeps it must copy it).
        self._runnable_ids: list[int] = []
        #: called once when ``run`` ends, after the teardown (e.g. ``sim.interpose`` deactivates
        #: its virtual world there); a finalizer's exception is ignored: the run is over
        self.finalizers: list[Callable[[], None]] = []

    @property
    def strategy(self) -> SchedulingStrategy:
        return self._strategy

    @strategy.setter
    def strategy(self, strategy: SchedulingStrategy) -> None:
        from sim.strategies.random_walk import RandomWalk  # (sim.strategies imports this)

        self._strategy = strategy
        # ``point`` draws a ``RandomWalk``'s decisions itself (exactly ``choose``'s draws,
        # a Python call less per step); any other strategy, a subclass included, is asked.
        self._draw = strategy.draw if type(strategy) is RandomWalk else None

    # running an execution --------------------------------------------------------------
    def run(self, main: Callable[[], Any]) -> None:
        """Run *main* as thread 0 until it returns. Raises ExecutionAborted subclasses."""
        self._hub = greenlet.getcurrent()
        instrument = self.instrument
        if instrument is not None:
            instrument.start(self)
        self.spawn("main", main)
        try:
            while self.error is None and self.failure is None and self.threads[0].state != DONE:
                nxt = self._next(None)
                if nxt is None:
                    break
                self.current = nxt
                assert nxt.glet is not None
                nxt.glet.switch()
        finally:
            if instrument is not None:
                instrument.stop()
            self._teardown()
            for finalize in self.finalizers:
                with contextlib.suppress(Exception):  # the run's own outcome is what counts
                    finalize()
        if self.failure is not None:
            raise self.failure
        if self.error is not None:
            raise self.error

    def spawn(self, name: str, target: Callable[[], Any]) -> VThread:
        """Create a runnable thread; it first runs when the strategy picks it."""
        thread = VThread(len(self.threads), name)

        def body() -> None:
            try:
                target()
            except greenlet.GreenletExit:
                pass
            except ExecutionAborted as exc:
                if self.error is None:
                    self.error = exc
            except BaseException as exc:
                if self.failure is None and self.error is None and not self._tearing_down:
                    self.failure = exc
            self._exit(thread)

        thread.glet = greenlet.greenlet(body, parent=self._hub)
        self.threads.append(thread)
        self._runnable_ids.append(thread.id)  # the highest id yet: the order holds
        if self.instrument is not None:
            self.instrument.spawned(self.current, thread)
        return thread

    # the points threads call ---------------------------------------------------------------
    def point(self, kind: str, guard: SwitchGuard | None = None) -> None:
        """A scheduling point: record it, then let the strategy pick who runs next.

        The hot path of the simulator: the thread goes on without a switch when it is the
        only runnable one or the strategy chooses it again.
        """
        if self._tearing_down:
            raise _Teardown
        me = self.current
        assert me is not None
        steps = self.steps = self.steps + 1
        self.log.append((me.id, kind))
        if steps > self.max_steps:
            self._abort(Livelock(f"no end after {self.max_steps} steps"), guard)
        ids = self._runnable_ids
        n = len(ids)
        if n == 1:  # only this thread: no decision
            return
        # ``_decide(me.id)`` and ``_switch_to``, written out for the common case
        nxt: VThread | None
        draw = self._draw
        if draw is not None:  # a RandomWalk: its draw, without a call to ``choose``
            k = n.bit_length()
            r = draw(k)
            while r >= n:
                r = draw(k)
            chosen = ids[r]
            self.decisions.append(chosen)
            if chosen == me.id:
                return
            self.preemptions += 1
            nxt = self.threads[chosen]
        else:
            try:
                chosen = self._strategy.choose(ids, me.id, steps)
            except Exception as exc:
                nxt = self._strategy_failed(exc)
            else:
                self.decisions.append(chosen)
                if chosen == me.id:
                    return
                self.preemptions += 1
                nxt = self.threads[chosen] if chosen in ids else self._not_runnable(chosen)
        if nxt is None or guard is not None:
            self._switch_to(nxt, guard)
            return
        self.current = nxt
        nxt.glet.switch()  # type: ignore[union-attr]  # every spawned thread has one
        if self._tearing_down:
            raise _Teardown

    def block(self, what: str, deadline: float | None = None) -> bool:
        """Block the current thread until ``wake`` (True) or *deadline* (False)."""
        if self._tearing_down:
            raise _Teardown
        me = self.current
        assert me is not None
        me.state = BLOCKED
        self._runnable_ids.remove(me.id)
        me.waiting = what
        me.deadline = deadline
        me.timed_out = False
        self._switch_from(me)
        return not me.timed_out

    def wake(self, thread: VThread) -> None:
        """Make a blocked thread runnable (it does not run until chosen)."""
        if thread.state == BLOCKED:
            thread.state = RUNNABLE
            insort(self._runnable_ids, thread.id)
            thread.deadline = None
            thread.waiting = ""
            if self.instrument is not None:
                self.instrument.woke(self.current, thread)

    def wait_quiescent(self) -> None:
        """Block until no other thread is runnable (before the clock would move)."""
        self.point("quiesce")
        me = self.current
        assert me is not None
        me.quiesce = True
        self.block("quiescence")

    def sleep(self, seconds: float) -> None:
        """Block the current thread for *seconds* of virtual time."""
        self.point("sleep")
        self.block("sleep", self.time + max(0.0, seconds))

    def join_thread(self, thread: VThread) -> None:
        self.point("join")
        while thread.state != DONE:
            me = self.current
            assert me is not None
            self._joiners.setdefault(thread.id, []).append(me)
            self.block(f"join {thread.name}")

    # internals -----------------------------------------------------------------------------
    def _exit(self, thread: VThread) -> None:
        if thread.state == RUNNABLE:
            self._runnable_ids.remove(thread.id)
        thread.state = DONE
        for joiner in self._joiners.pop(thread.id, ()):
            self.wake(joiner)
        if not self._tearing_down:
            self.steps += 1
            self.log.append((thread.id, "exit"))
        # returning from the greenlet body resumes the hub, which picks the next thread

    def _abort(self, error: ExecutionAborted, guard: SwitchGuard | None = None) -> None:
        self.error = error
        assert self._hub is not None
        if guard is not None:
            guard.leave()
        try:
            self._hub.switch()
        finally:
            if guard is not None:
                guard.enter()
        raise _Teardown  # only reached if a torn-down thread is resumed

    def _switch_from(self, me: VThread, guard: SwitchGuard | None = None) -> None:
        nxt = self._next(me)
        if nxt is not me:
            self._switch_to(nxt, guard)

    def _switch_to(self, nxt: VThread | None, guard: SwitchGuard | None) -> None:
        """Run *nxt* (None: the execution stops) until the current thread is chosen again."""
        if guard is not None:
            guard.leave()
        try:
            if nxt is None:
                assert self._hub is not None
                self._hub.switch()
                raise _Teardown
            self.current = nxt
            assert nxt.glet is not None
            nxt.glet.switch()
        finally:
            if guard is not None:
                guard.enter()
        if self._tearing_down:
            raise _Teardown

    def _next(self, me: VThread | None) -> VThread | None:
        """Choose the next thread, moving virtual time if nothing can run; None: stop."""
        ids = self._runnable_ids
        while not ids:
            if self.threads[0].state == DONE:
                return None
            waiters = [t for t in self.threads if t.state == BLOCKED and t.quiesce]
            if waiters:
                for t in waiters:
                    t.quiesce = False
                    self.wake(t)
                continue
            deadlines = [
                t.deadline for t in self.threads if t.state == BLOCKED and t.deadline is not None
            ]
            if not deadlines:
                blocked = ", ".join(
                    f"{t.name} on {t.waiting}" for t in self.threads if t.state == BLOCKED
                )
                self.error = Deadlock(f"deadlock at step {self.steps}: {blocked}")
                return None
            self.time = min(deadlines)
            self.clock.append((self.steps, self.time))
            for t in self.threads:
                if t.state == BLOCKED and t.deadline is not None and t.deadline <= self.time:
                    self.wake(t)
                    t.timed_out = True
        if len(ids) == 1:
            return self.threads[ids[0]]
        return self._decide(me.id if me is not None and me.state == RUNNABLE else None)

    def _decide(self, current: int | None) -> VThread | None:
        """Ask the strategy among the (more than one) runnable threads; None: stop."""
        ids = self._runnable_ids
        try:
            chosen = self._strategy.choose(ids, current, self.steps)
        except Exception as exc:
            return self._strategy_failed(exc)
        self.decisions.append(chosen)
        if current is not None and chosen != current:
            self.preemptions += 1
        if chosen in ids:
            return self.threads[chosen]  # thread ids are indices into self.threads
        return self._not_runnable(chosen)

    def _strategy_failed(self, exc: Exception) -> VThread | None:
        """The strategy raised: end the run (None), never raise into the program (its
        ``except Exception`` would swallow it and carry on)."""
        if isinstance(exc, ExecutionAborted):  # e.g. a diverged replay: like a deadlock
            self.error = exc
        else:  # a broken strategy
            self.failure = exc
        return None

    def _not_runnable(self, chosen: int) -> VThread | None:
        """The strategy chose a thread that cannot run: end the run (None)."""
        ids = list(self._runnable_ids)
        self.failure = ValueError(f"strategy chose thread {chosen}, not runnable: {ids}")
        return None

    def _teardown(self) -> None:
        """End every unfinished thread by throwing ``_Teardown`` into it.

        The thread's ``finally`` blocks run as it unwinds; any scheduling point they reach
        raises ``_Teardown`` again, and errors they raise are ignored: the execution is over.
        """
        self._tearing_down = True
        for t in self.threads:
            if t.state != DONE and t.glet is not None and t.glet:
                self.current = t
                try:
                    t.glet.throw(_Teardown)
                except BaseException:
                    t.state = DONE
        self.current = None
        self._runnable_ids.clear()  # every thread has ended
        self._tearing_down = False
