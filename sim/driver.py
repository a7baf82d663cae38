"""The driver: plays a scenario against an implementation and records its history.

The same code runs in simulation (``play_sim``: virtual threads, virtual clock, one
scheduling decision at every synchronisation point) and on real threads
(``play_real``). What differs is the ``Env`` (``sim.env``): how threads start, what the
clock says, how to sleep, how to wait for quiescence, and how the driver's own
bookkeeping is made atomic (in simulation it already is: the driver adds no
scheduling points).

Payload checks (spec C1-C3): every message carries ``{"_id", "v", "n"}``; the sender
changes its dict right after ``send()``, and each handler changes its copy, so a
handler that sees a changed ``v``, another handler's mark, or a copied ``n`` records
``start`` with ``bad:<what>``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from sim.adapters.base import Adapter, Session
from sim.env import Env, RealEnv, SimEnv, thread_faults
from sim.history import History, MessageInfo
from sim.scenario import (
    Advance,
    Bad,
    Expiry,
    Op,
    Scenario,
    Send,
    Settle,
    Shutdown,
    Subscribe,
    Unsubscribe,
)
from sim.scheduler import (
    MAX_STEPS,
    Instrument,
    Scheduler,
    SchedulingStrategy,
)

__all__ = ["RealRunError", "play_real", "play_sim"]


class _HandlerError(RuntimeError):
    """What a scenario handler told to raise an ``Exception`` raises."""


class _HandlerAbort(BaseException):
    """What a scenario handler told to raise a non-``Exception`` ``BaseException`` raises."""


class _Run:
    """One play of a scenario: the driver's state and the history it records.

    Channel objects are numbered; each role has a *current object* (the one its plain
    and direct operations use). A plain ``Subscribe`` makes a fresh object; a direct one
    re-subscribes the current object. Every ``subscribe()`` call gets its own
    subscription id and its own handler, so a delivery names the subscription whose
    handler ran -- which is how a new handler running an old message is seen.
    """

    def __init__(self, scenario: Scenario, adapter: Adapter, env: Env) -> None:
        self.scenario = scenario
        self.adapter = adapter
        self.env = env
        self.history = History(notices=True)
        self.session: Session | None = None
        self.features: frozenset[str] = frozenset()
        self.current: dict[int, int | None] = {}  # role -> sub the driver believes active
        self.objects: dict[int, tuple[int, Any]] = {}  # role -> (object number, handle)
        self.subs_of: dict[int, list[tuple[int, int]]] = {}  # object -> [(sub, sub_call)]
        self.handle_of: dict[int, tuple[int, Any]] = {}  # sub -> (object number, handle)
        self.object_of: dict[int, int] = {}  # id(handle) -> object number (never ordered on)
        self.senders: list[Any] = []  # role -> a channel object used only to send
        self.keep_alive: list[Any] = []  # channel objects, so that their ids stay unique
        self.returned: set[int] = set()  # subscriptions whose subscribe() returned
        self.returned_at: dict[int, int] = {}  # sub -> its sub_ret event
        self.unsub_at: dict[int, int] = {}  # sub -> its first unsub_call event
        self.nested: dict[int, list[int]] = {}
        self.send_call_at: dict[int, int] = {}  # msg -> index of its send_call
        self.unsubscribed: set[int] = set()  # subs an unsubscribe() was called for
        self.next_msg = 0
        self.next_sub = 0
        self.next_obj = 0
        self.next_bad = 0
        self.shut = False
        self.running = 0  # handlers between start and end
        self.busy: set[int] = set()  # roles with a plain subscribe or unsubscribe under way
        self.raised_on: set[int] = set()  # threads on which a scenario handler raised
        #: ``record(kind, msg, sub, info)`` -> the event's index (``Env.recorder``)
        self.record = env.recorder(self.history)
        self.atomic = env.atomic()  # the same object every time: taken once
        env.watch(self.thread_ended)

    def skip(self, what: str) -> None:
        """An operation the adapter cannot express: recorded as not exercised."""
        self.record("skip", info=what)

    # the implementation's reports --------------------------------------------------------
    def report(self, kind: str, data: dict[str, Any] | None, channel: Any, detail: str) -> None:
        if kind == "fault":  # an exception escaped inside the implementation (its own account)
            self.record("fault", info=f"raised:{detail}")
            return
        msg = data.get("_id", -1) if isinstance(data, dict) else -1
        if msg == -1:
            return  # an internal-topic message
        sub = -1 if channel is None else self._sub_for(channel, msg, detail)
        self.record(kind, msg, sub, detail)

    def _sub_for(self, channel: Any, msg: int, reason: str) -> int:
        """The subscription of *channel* that a drop of *msg* is for (a channel object may
        have been re-subscribed): the latest one whose subscribe() began before the send
        began, preferring one that returned and is still live -- for an ``unsubscribed``
        drop, the latest such one that was unsubscribed."""
        with self.atomic:
            subs = self.subs_of.get(self.object_of.get(id(channel), -1), [])
            if not subs:
                return -1
            sent = self.send_call_at.get(msg, len(self.history.events))
            before = [sub for sub, call in subs if call < sent] or [subs[0][0]]
            if reason == "unsubscribed":
                # only a subscription whose unsubscribe() was called has a copy dropped for
                # that reason: the object may already hold a new one (an implementation may
                # free the object before the old subscription leaves its registry)
                before = [sub for sub in before if sub in self.unsubscribed] or before
            # the subscription that was live when the send began is the one it was routed
            # to (W4): one object holds one subscription at a time, and a subscribe() under
            # way then can only succeed after that one's unsubscribe() (A2)
            never = len(self.history.events) + 1
            at_send = [
                s
                for s in before
                if self.returned_at.get(s, never) < sent < self.unsub_at.get(s, never)
            ]
            if at_send:
                return at_send[-1]
            if reason == "unsubscribed":
                ended = [sub for sub in before if sub in self.unsubscribed]
                if ended:
                    return ended[-1]
            # a subscribe() still under way on another thread may yet fail (A2): the live
            # subscription, if there is one, is the one the implementation holds
            live = [s for s in before if s in self.returned and s not in self.unsubscribed]
            return (live or before)[-1]

    def _new_object(self, role: int) -> tuple[int, Any]:
        """A fresh channel object for *role*, now its current one (under ``atomic``)."""
        assert self.session is not None
        handle = self.session.channel(self.scenario.channels[role].topic)
        obj = self.next_obj
        self.next_obj += 1
        self.objects[role] = (obj, handle)
        self.object_of[id(handle)] = obj
        self.subs_of[obj] = []
        self.keep_alive.append(handle)
        return obj, handle

    # operations --------------------------------------------------------------------------
    def subscribe(self, role: int, direct: bool = False) -> None:
        session = self.session
        assert session is not None
        if direct and "same-object" not in self.features:
            self.skip("resubscribe")
            return
        spec = self.scenario.channels[role]
        with self.atomic:
            if not direct:
                if self.current.get(role) is not None or role in self.busy:
                    return
                self.busy.add(role)
                obj, handle = self._new_object(role)
            else:
                entry = self.objects.get(role)
                obj, handle = entry if entry is not None else self._new_object(role)
            sub = self.next_sub
            self.next_sub += 1
            self.history.topics[sub] = spec.topic
            self.history.objects[sub] = obj
            self.handle_of[sub] = (obj, handle)
            if not direct:
                self.current[role] = sub
        call = self.record("sub_call", sub=sub, info=spec.topic)
        with self.atomic:
            self.subs_of[obj].append((sub, call))
        try:
            session.subscribe(handle, self.make_handler(role, sub))
        except Exception as exc:
            self.record("sub_err", sub=sub, info=type(exc).__name__)
            with self.atomic:
                self.subs_of[obj] = [(s, c) for s, c in self.subs_of[obj] if s != sub]
                if not direct:
                    self.busy.discard(role)
                if self.current.get(role) == sub:
                    self.current[role] = None
            return  # judged by the oracle (A2: raises only when already subscribed)
        ret = self.record("sub_ret", sub=sub)
        with self.atomic:
            self.returned.add(sub)
            self.returned_at[sub] = ret
            if direct:
                self.current[role] = sub
            else:
                self.busy.discard(role)

    def unsubscribe(self, role: int, direct: bool = False) -> None:
        session = self.session
        assert session is not None
        if direct and "same-object" not in self.features:
            self.skip("unsubscribe-same-object")
            return
        with self.atomic:
            if not direct:
                sub = self.current.get(role)
                if sub is None or role in self.busy:
                    return
                self.busy.add(role)
                self.current[role] = None
                _, handle = self.handle_of[sub]
            else:
                entry = self.objects.get(role)
                if entry is None or not self.subs_of[entry[0]]:
                    return  # no channel object of this role was ever subscribed
                obj, handle = entry
                # the object's live subscription (its subscribe() returned, no unsubscribe
                # since) is the one this call ends; a subscribe() still under way on another
                # thread may yet fail (A2), so it is chosen only when nothing is live
                subs = [s for s, _ in self.subs_of[obj]]
                live = [s for s in subs if s in self.returned and s not in self.unsubscribed]
                sub = (live or subs)[-1]
                current = self.current.get(role)
                if current is not None and self.handle_of[current][0] == obj:
                    self.current[role] = None
        with self.atomic:
            self.unsubscribed.add(sub)
        unsub = self.record("unsub_call", sub=sub)
        with self.atomic:
            self.unsub_at.setdefault(sub, unsub)
        raised = ""
        try:
            session.unsubscribe(handle)
        except Exception as exc:  # judged by the oracle (A2: never an error)
            raised = f"raised {type(exc).__name__}"
        finally:
            self.record("unsub_ret", sub=sub, info=raised)
            if not direct:
                with self.atomic:
                    self.busy.discard(role)

    def send(
        self, role: int, expiry: Expiry | None, droppable: bool, local: bool, hop: int = 0
    ) -> None:
        session = self.session
        assert session is not None
        env = self.env
        if (
            expiry is not None
            and expiry.kind != "timedelta"
            and "expiry-datetime" not in self.features
        ):
            self.skip(f"expiry-{expiry.kind}")
            return
        with self.atomic:
            msg = self.next_msg
            self.next_msg += 1
            nested = [msg]
            self.nested[msg] = nested
            deadline = None if expiry is None else env.now() + expiry.seconds
            self.history.messages[msg] = MessageInfo(
                self.scenario.channels[role].topic, deadline, droppable, local, env.thread()
            )
            value = None if expiry is None else env.expiry_value(expiry)
        data: dict[str, Any] = {"_id": msg, "v": msg * 7, "n": nested, "hop": hop}
        call = self.record("send_call", msg, info=self.scenario.channels[role].topic)
        with self.atomic:
            self.send_call_at[msg] = call
        try:
            seq = session.send(self.senders[role], data, value, local, droppable)  # type: ignore[arg-type]
        except Exception as exc:
            self.record("send_err", msg, info=type(exc).__name__)
            return
        data["v"] = "changed by sender"  # C1: must reach nobody
        data["mark"] = -1
        self.record("send_ret", msg, info=seq)

    def bad(self, role: int, what: str) -> None:
        """Bad input on *role*: expected to raise at the call (V1); recorded either way."""
        session = self.session
        assert session is not None
        need = "bad-handler" if what == "handler-none" else "bad-input"
        if need not in self.features:
            self.skip(f"bad-{what}")
            return
        with self.atomic:
            op = self.next_bad
            self.next_bad += 1
        self.record("bad_call", op, info=what)
        try:
            accepted = _bad_call(
                session, self.senders[role], self.scenario.channels[role].topic, what
            )
        except Exception as exc:
            self.record("bad_err", op, info=type(exc).__name__)
            return
        self.record("bad_ret", op, info=what)
        if accepted is not None:  # a channel on a bad topic: does sending on it break a worker?
            with suppress(Exception):  # rejected now: the V1 violation is already recorded
                session.send(accepted, {"bad": what}, None, False, False)

    def make_handler(self, role: int, sub: int) -> Callable[[str, Any], None]:
        spec = self.scenario.channels[role]
        # Taken once per subscription: the handler runs once per delivery, the hot path of
        # every simulated run. ``self.record`` and ``self.atomic`` never change after __init__.
        record = self.record
        atomic = self.atomic
        nested_of = self.nested.get
        sleep, reply, actions, raises = spec.sleep, spec.reply, spec.actions, spec.raises
        plain = not (sleep or reply is not None or actions)  # nothing to do between start/end

        def handler(topic: str, data: Any) -> None:
            msg = data.get("_id", -1) if isinstance(data, dict) else -1
            if msg == -1:  # an internal notice (its data topic after a newline), or bad input
                about = data.get("topic") if isinstance(data, dict) else None
                info = topic if not isinstance(about, str) else f"{topic}\n{about}"
                record("internal", sub=sub, info=info)
                return
            bad = ""
            if data.get("v") != msg * 7:
                bad = "bad:sender-change-seen"
            elif "mark" in data:
                bad = "bad:other-holder-change-seen"
            elif data.get("n") is not nested_of(msg):
                bad = "bad:nested-not-shared"
            record("start", msg, sub, bad)
            data["mark"] = sub
            if plain:
                # No point can come between start and end, so nothing can raise there and
                # nobody can see the handler running (``running`` is read at points only).
                record("end", msg, sub)
            else:
                with atomic:
                    self.running += 1
                try:
                    if sleep:
                        self.env.sleep(sleep)
                    if data.get("hop", 0) == 0:
                        if reply is not None:
                            self.send(reply, None, spec.reply_droppable, False, hop=1)
                        for op in actions:
                            self.play(op, hop=1)
                finally:
                    record("end", msg, sub)
                    with atomic:
                        self.running -= 1
            if raises:
                with atomic:
                    self.raised_on.add(self.env.thread())
                kind = _HandlerError if raises == "exception" else _HandlerAbort
                raise kind(f"scenario handler of subscription {sub} raises, as told")

        return handler

    def play(self, op: Op, hop: int = 0) -> None:
        if isinstance(op, Send):
            self.send(op.channel, op.expiry_spec(), op.droppable, op.local, hop)
        elif isinstance(op, Subscribe):
            self.subscribe(op.channel, op.direct)
        elif isinstance(op, Unsubscribe):
            self.unsubscribe(op.channel, op.direct)
        elif isinstance(op, Advance):
            self.record("advance", info=repr(op.seconds))
            self.env.sleep(op.seconds)
        elif isinstance(op, Settle):
            self.settle()
        elif isinstance(op, Shutdown):
            self.shutdown()
        elif isinstance(op, Bad):
            self.bad(op.channel, op.what)

    def play_thread(self, ops: tuple[Op, ...]) -> Callable[[], None]:
        def body() -> None:
            for op in ops:
                self.play(op)

        return body

    def settle(self) -> None:
        assert self.session is not None
        self.record("settle_call")
        info = self.env.settle(self.session, self)
        self.record("settle_ret", info=info or "")

    def shutdown(self) -> None:
        assert self.session is not None
        with self.atomic:
            if self.shut:
                return
            self.shut = True
        self.record("shutdown_call")
        self.session.shutdown()
        self.record("shutdown_ret")

    def thread_ended(self, name: str, error: BaseException | None) -> None:
        """An implementation thread ended: a fault if it raised, or if it ended before
        shutdown() began. Tagged ``handler:`` when a scenario handler's exception ended it
        (H1), ``raised:`` for any other exception (V2), ``ended:`` for a quiet early end."""
        with self.atomic:
            handler_raised = self.env.thread() in self.raised_on
        if error is not None:
            tag = "handler" if isinstance(error, _HandlerAbort | _HandlerError) else "raised"
            self.record("fault", info=f"{tag}:{name}: {type(error).__name__}: {error}")
        elif not self.shut:
            tag = "handler" if handler_raised else "ended"
            self.record("fault", info=f"{tag}:{name}: the thread ended before shutdown() began")

    # the main thread -----------------------------------------------------------------------
    def main(self) -> None:
        scenario = self.scenario
        self.session = session = self.adapter.open(
            scenario.settings(), self.env.platform, self.report
        )
        self.features = frozenset(getattr(session, "features", ()))
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


def _bad_call(session: Session, sender: Any, topic: str, what: str) -> Any:
    """Make the bad call *what* (``sim.scenario.BAD_INPUTS``); whatever it raises propagates.

    Returns the channel object a bad topic made, if the implementation accepted it."""
    data: dict[str, Any] = {"bad": what}
    if what == "data-list":
        session.send(sender, [1, 2], None, False, False)  # type: ignore[arg-type]
    elif what == "data-str":
        session.send(sender, "text", None, False, False)  # type: ignore[arg-type]
    elif what == "expiry-str":
        session.send(sender, data, "soon", False, False)  # type: ignore[arg-type]
    elif what == "expiry-number":
        session.send(sender, data, 5, False, False)  # type: ignore[arg-type]
    elif what == "local-int":
        session.send(sender, data, None, 1, False)  # type: ignore[arg-type]
    elif what == "droppable-none":
        session.send(sender, data, None, False, None)  # type: ignore[arg-type]
    elif what == "handler-none":
        session.subscribe(session.channel(topic), None)  # type: ignore[arg-type]
    else:
        bad_topic: Any = {"topic-int": 42, "topic-unclosed": "a[*", "topic-empty": ""}[what]
        return session.channel(bad_topic)
    return None


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
        with thread_faults(env):
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
