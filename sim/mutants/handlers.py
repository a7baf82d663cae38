"""Mutants that get handler errors wrong (spec H1)."""

from __future__ import annotations

from typing import Any

from refimpl import TaskWorker
from refimpl.runtime import _Stop
from refimpl.worker import Task
from sim.mutants._base import SwapRuntime

__all__ = ["WorkerDiesOnErrorRuntime"]


class _DyingTaskWorker(TaskWorker):
    def _handler_failed(self, task: Task, handler: Any, error: BaseException) -> None:
        raise _Stop  # the bug: the thread silently ends, as in Lona's executor


class WorkerDiesOnErrorRuntime(SwapRuntime):
    """Bug (H1): a handler exception ends the task-worker thread, silently.

    The delivery is released, but the thread is gone: with every task worker dead, the
    same subscriber (and every other) never receives another message.
    """

    task_worker_class = _DyingTaskWorker
