"""Mutants that get handler errors wrong (spec H1)."""

from __future__ import annotations

from refimpl import TaskWorker
from refimpl._seam import Empty
from refimpl.runtime import _Stop
from sim.mutants._base import SwapRuntime

__all__ = ["WorkerDiesOnErrorRuntime"]


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
