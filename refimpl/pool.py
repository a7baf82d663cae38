"""The named thread pool that a runtime's broker and task-worker threads come from.

Mirrors Lona's resource model (``channel_worker`` executor sized
``MAX_CHANNEL_TASK_WORKER_THREADS + MAX_CHANNEL_MESSAGE_BROKER_THREADS``): a runtime
owns exactly that many threads, named ``<pool>-<n>``, and starts no others (spec R2).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import wait
from typing import Any

from refimpl._seam import Platform, ThreadHandle

__all__ = ["WorkerPool"]


class WorkerPool:
    """A fixed number of long-lived threads, started one per ``spawn``."""

    def __init__(self, name: str, size: int, platform: Platform) -> None:
        self.name = name
        self.size = size
        self._platform = platform
        self.threads: list[ThreadHandle] = []
        self._retired: list[ThreadHandle] = []  # of a failed start; told to stop

    def spawn(self, target: Callable[[], None]) -> ThreadHandle:
        if len(self.threads) >= self.size:
            raise RuntimeError(f"pool {self.name!r} is full ({self.size} threads)")
        handle = self._platform.start_thread(f"{self.name}-{len(self.threads)}", target)
        self.threads.append(handle)
        return handle

    def adopt(self, future: Any) -> None:
        """Count a thread of someone else's executor (its ``Future``) as one of this pool's."""
        if len(self.threads) >= self.size:
            raise RuntimeError(f"pool {self.name!r} is full ({self.size} threads)")
        self.threads.append(_Hosted(f"{self.name}-{len(self.threads)}", future))

    def retire(self) -> None:
        """Forget the threads of a failed start (they were told to stop), keep joining them."""
        self._retired += self.threads
        self.threads = []

    def join(self, timeout: float | None = None) -> None:
        for thread in (*self._retired, *self.threads):
            thread.join(timeout)


class _Hosted:
    """A ``ThreadHandle`` for a loop running on an executor's thread."""

    def __init__(self, name: str, future: Any) -> None:
        self._name = name
        self._future = future

    @property
    def name(self) -> str:
        return self._name

    def join(self, timeout: float | None = None) -> None:
        wait([self._future], timeout)

    def is_alive(self) -> bool:
        return not self._future.done()
