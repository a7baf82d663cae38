"""Mutants that get handler errors wrong (spec H1)."""

from __future__ import annotations

from logging import getLogger

from refimpl import TaskWorker
from refimpl._seam import Empty
from refimpl.registry import Subscription
from refimpl.runtime import _Stop
from sim.mutants._base import SwapRuntime

__all__ = ["RequeueAtTailAfterRaiseRuntime", "WorkerDiesOnErrorRuntime"]


class _DyingTaskWorker(TaskWorker):
    def run(self) -> None:
        task = self.get_task()
        handler = task.handler
        if handler is None:
            return
        try:
            handler(task.message)  # the bug: a raising handler's exception escapes run()
        finally:
            self.runtime.platform.checkpoint("handler_end")

    def _loop(self) -> None:
        self.runtime._register_worker_thread()
        while True:
            try:
                self.run()
            except _Stop:
                return
            except (Empty, TimeoutError):
                pass
            except Exception:
                return  # the bug: the thread silently ends, as in Lona's executor
            finally:
                self._finish()


class WorkerDiesOnErrorRuntime(SwapRuntime):
    """Bug (H1): a handler exception ends the task-worker thread, silently.

    The delivery is released, but the thread is gone: with every task worker dead, the
    same subscriber (and every other) never receives another message.
    """

    task_worker_class = _DyingTaskWorker


logger = getLogger("refimpl.channels")


class _RequeueTaskWorker(TaskWorker):
    """Takes a subscription's mail as a batch; after a raise, puts the rest back at the tail."""

    _batch_sub: Subscription | None = None
    _batch_left = 0  # deliveries of the current batch not yet run

    def run(self) -> None:
        task = self.get_task()
        sub = task.subscription
        if sub is not self._batch_sub or self._batch_left <= 0:
            self._batch_sub, self._batch_left = sub, len(sub.mailbox)  # a new batch
        else:
            self._batch_left -= 1
        handler = sub.handler if sub.active else None
        if handler is None:
            self.runtime._drop(task.message, task.channel, "unsubscribed")
            return
        try:
            handler(task.message)
        except BaseException as exc:
            logger.exception("exception was raised while running %r", handler)
            self.runtime._emit("error", task.message, task.channel, repr(exc))
            with self.runtime._lock:  # the bug: the rest of the batch goes behind newer mail
                keep = min(self._batch_left, len(sub.mailbox))
                rest = [sub.mailbox.popleft() for _ in range(keep)]
                sub.mailbox.extend(rest)
            self._batch_left = 0
        finally:
            self._checkpoint("handler_end")


class RequeueAtTailAfterRaiseRuntime(SwapRuntime):
    """Bug (H1, O2): after a handler raises, the rest of its batch is requeued at the tail.

    A worker takes a subscription's pending mail as one batch; when a handler raises,
    it puts the batch's remaining messages back at the end of the mailbox, behind
    messages that arrived meanwhile, so the subscriber receives them out of order.
    """

    task_worker_class = _RequeueTaskWorker
