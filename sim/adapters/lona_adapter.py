"""Lona 1.16.2's unmodified ``lona.channels`` behind adapter protocol version 2: each session
loads its own copy (class-level queues and lock, executor, clock: virtual in simulation) and wraps
a few of its methods to see what Lona tells nobody (send order, drops, routing, work in flight,
dead workers). See specs/adapter-protocol.md."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import lona

from sim.adapters.observe import FutureWatch, after

__all__ = ["LONA_VERSION", "LonaAdapter", "LonaSystem"]

STALL = 1.0  #: real seconds without progress after which ``settle`` stops waiting
LONA_VERSION = "1.16.2"  #: the release whose code and drop rules this adapter observes


class LonaSystem:
    """A session: its ``lona.channels`` (``mod``), workers (as ``lona.server`` starts them)."""

    def __init__(self, mods: Any, brokers: int, workers: int, timeout: float, report: Any) -> None:
        self.mods, self.mod, self.report = mods, mods["lona.channels"], report
        self.brokers, self.task_workers, self.timeout = brokers, workers, timeout
        self.ranks: dict[Any, int] = {}  # message -> its rank in Channel._messages
        self.routed: Counter[Any] = Counter()  # message -> tasks scheduled for it
        self.unfinished = 0  #: messages and tasks put, not yet routed/dropped/handled/skipped
        self.moves, self.busy = 0, 0  #: counts so far; handlers running (settle: moving?)
        self.lock = threading.Lock()  # real; held only around the += (no switch inside)
        self._observe()
        futures = mods["concurrent.futures"]
        self.pool = futures.ThreadPoolExecutor(brokers + workers, "LonaChannelWorker")
        self.watch = FutureWatch(self.pool, report)  # Lona drops its workers' futures
        kinds = (self.mod.MessageBroker,) * brokers + (self.mod.TaskWorker,) * workers
        self.workers = [kind(None, self.pool, timeout) for kind in kinds]

    def count(self, n: int, busy: int = 0) -> None:
        with self.lock:
            self.unfinished += n
            self.moves += 1
            self.busy += busy

    def run(self, handler: Any, message: Any) -> None:  # a handler under way (settle)
        self.count(0, 1)
        try:
            handler(message.topic, message.data)
        finally:
            self.count(0, -1)

    def _observe(self) -> None:  # wraps this session's copy of Lona's methods
        mod, messages = self.mod, self.mod.Channel._messages

        def _put(item: Any) -> None:  # under the queue's mutex: rank order is FIFO order
            self.ranks[item] = len(self.ranks)
            self.count(1)
            type(messages)._put(messages, item)

        messages._put = _put
        drop = mod.Message.drop_if_possible

        def drop_if_possible(message: Any, worker_is_running: bool) -> bool:
            sibling = message.is_dropped()
            if not drop(message, worker_is_running):
                return False
            shut = not worker_is_running and message.droppable  # Lona: shutdown > dropped > expired
            why = "shutdown" if shut else "dropped" if sibling else "expired"
            self.report("drop", message.data, getattr(message, "task_channel", None), why)
            self.count(-1)
            return True

        mod.Message.drop_if_possible = drop_if_possible
        after(mod.Task, "__init__", self._task)
        after(mod.Worker, "get_message", lambda worker, message: setattr(worker, "last", message))
        after(mod.MessageBroker, "run", self._routed)  # Empty/TimeoutError: nothing routed
        after(mod.TaskWorker, "run", lambda *_: self.count(-1))  # ran the handler, or skipped

    def _task(self, task: Any, _: None, channel: Any, message: Any) -> None:  # before its put
        message.task_channel = channel  # a task's copy of the message is dropped for it
        self.routed[message._original_message] += 1
        self.count(1)

    def _routed(self, broker: Any, _: None) -> None:
        self.report("route", broker.last.data, None, str(self.routed.pop(broker.last, 0)))
        self.count(-1)


class LonaAdapter:
    """Lona 1.16.2; ``one_worker`` is Lona's "safe" 1-broker/1-worker setup."""

    protocol = 2
    modules = ("lona.channels",)
    preempt_lines = ("lona.channels",)  #: sim.lines: e.g. subscribe's check-then-register race

    def __init__(self, one_worker: bool = False, settle_timeout: float = 10.0) -> None:
        self.one_worker, self.settle_timeout = one_worker, settle_timeout
        self.name = "lona-1worker" if one_worker else "lona"

    def open(self, mods: Any, settings: dict[str, Any], report: Any) -> LonaSystem:
        if lona.VERSION_STRING != LONA_VERSION:
            raise RuntimeError(f"this adapter observes Lona {LONA_VERSION}: {lona.VERSION_STRING}")
        b = 1 if self.one_worker else int(settings.get("MAX_CHANNEL_MESSAGE_BROKER_THREADS", 1))
        w = 1 if self.one_worker else int(settings.get("MAX_CHANNEL_TASK_WORKER_THREADS", 4))
        return LonaSystem(mods, b, w, float(settings.get("CHANNEL_WORKER_TIMEOUT", 1.0)), report)

    def channel(self, system: LonaSystem, topic: str) -> Any:
        return system.mod.Channel(topic)

    def subscribe(self, system: LonaSystem, channel: Any, handler: Any) -> None:
        channel.subscribe(lambda message: system.run(handler, message))

    def unsubscribe(self, system: LonaSystem, channel: Any) -> None:
        channel.unsubscribe()

    def send(self, system: Any, channel: Any, data: Any, expiry: Any, local: Any, drop: Any) -> Any:
        message = channel.send(message_data=data, expiry=expiry, local=local, droppable=drop)
        return system.ranks.get(message)

    def settle(self, system: LonaSystem) -> None:
        """Until nothing is unfinished; or, when for ``STALL`` s nothing moved and no handler
        ran, what is left is lost (a dead worker, a task never run): the oracle judges it."""
        clock, deadline = system.mods["time"], system.mods["time"].monotonic() + self.settle_timeout
        moves, since = -1, clock.monotonic()
        while system.unfinished and clock.monotonic() < deadline:
            if system.moves != moves or system.busy:
                moves, since = system.moves, clock.monotonic()
            elif clock.monotonic() - since > STALL:
                return
            clock.sleep(min(0.01, deadline - clock.monotonic()))
        if system.unfinished:
            raise TimeoutError(
                f"Lona is not idle after {self.settle_timeout} s: {system.unfinished} messages or "
                f"tasks unfinished; dead workers: {system.watch.dead()}"
            )

    def shutdown(self, system: LonaSystem) -> None:
        self.close(system)  # Lona's own shutdown: flags only, it does not drain
        system.pool.shutdown(wait=True)

    def close(self, system: LonaSystem) -> None:  # also at exit: Lona's loops never end alone
        for worker in system.workers:
            worker.shutdown()
