"""Mutants that get graceful shutdown wrong (spec S1-S6)."""

from __future__ import annotations

from refimpl import Message, MessageBroker, State, TaskWorker
from refimpl._seam import Empty
from refimpl.runtime import STOP, Runtime
from refimpl.worker import Task
from sim.mutants._base import SwapRuntime

__all__ = [
    "AcceptAnySendWhileDrainingRuntime",
    "DroppableDroppedEarlyRuntime",
    "HandlerSendRejectedInShutdownRuntime",
    "SendAfterShutdownAcceptedRuntime",
    "ShutdownDropsAllRuntime",
    "ShutdownWithoutDrainRuntime",
]


class _DropAllBroker(MessageBroker):
    def get_message(self) -> Message:
        message = super().get_message()
        if not self.running:  # the bug: droppable or not
            self.runtime._drop(message, None, "shutdown")
            raise Empty
        return message


class _DropAllTaskWorker(TaskWorker):
    def drop_reason(self, task: Task) -> str | None:
        if not self.running:  # the bug: droppable or not
            return "shutdown"
        return super().drop_reason(task)


class ShutdownDropsAllRuntime(SwapRuntime):
    """Bug (S2): graceful shutdown drops every queued message and delivery.

    The "droppable" test is missing, so non-droppable messages accepted before
    shutdown() began are dropped (and reported) instead of delivered.
    """

    broker_class = _DropAllBroker
    task_worker_class = _DropAllTaskWorker


class _EagerDropBroker(MessageBroker):
    def get_message(self) -> Message:
        message = super().get_message()
        if message.droppable:  # the bug: as if the runtime were always shutting down
            self.runtime._drop(message, None, "shutdown")
            raise Empty
        return message


class DroppableDroppedEarlyRuntime(SwapRuntime):
    """Bug (S3): the broker drops droppable messages while the runtime is running.

    The drops are reported (reason "shutdown"), but no shutdown has begun: droppable
    means "may be dropped by a graceful shutdown", not "may be dropped".
    """

    broker_class = _EagerDropBroker


class HandlerSendRejectedInShutdownRuntime(Runtime):
    """Bug (S4): while draining, send() is refused from every thread, handlers included.

    A handler that replies to the message it is draining gets ShutdownError, so the
    work it would have sent is lost.
    """

    def _send_refused(self) -> bool:
        return self._state >= State.CLOSING  # the bug: no exemption for handlers


class SendAfterShutdownAcceptedRuntime(Runtime):
    """Bug (S5): send() after shutdown() returned is silently accepted, never delivered.

    The message is validated, queued and given a ``Message`` back, but no thread is left
    to route it, instead of raising ShutdownError.
    """

    def _send_refused(self) -> bool:
        # the bug: once stopped, sends are accepted again (and never delivered)
        return self._state is State.CLOSING and self.platform.ident() not in self._worker_idents


class ShutdownWithoutDrainRuntime(Runtime):
    """Bug (S1, S6): shutdown() puts the stop sentinels first and returns at once.

    It neither waits for pending work nor joins the threads: whatever is queued in
    front of a sentinel may still be handled after shutdown() returned (S6), and what
    is routed or handed back behind the sentinels is lost without a report (S1, S2).
    """

    def shutdown(self) -> None:
        self._refuse_from_worker("shutdown")
        if self._state is State.NEW:
            self.start()
        with self._lock:
            if self._state is not State.RUNNING:
                return
            self._state = State.STOPPED  # the bug: no CLOSING phase, no wait for idle
            self._emit("shutdown_begin", None, None, "")
            self._emit("shutdown_end", None, None, "")
        for worker in self.workers:
            (self._messages if worker.queue_name == "messages" else self._ready).put(STOP)


class AcceptAnySendWhileDrainingRuntime(Runtime):
    """Bug (S4): while draining, send() is accepted from every thread, not only handlers.

    Only a stopped runtime refuses sends: a thread that keeps sending while shutdown()
    drains is never told, and the drain waits for whatever it sends.
    """

    def _send_refused(self) -> bool:
        return self._state is State.STOPPED  # the bug: no CLOSING check for other threads
