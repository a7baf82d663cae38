"""What an adapter of an unmodified implementation may use to see what the code tells nobody.

Many implementations report neither drops nor dead threads: Lona hands its worker loops to a
``ThreadPoolExecutor`` and drops the futures, so a loop that dies of an exception dies
silently. An adapter (protocol version 2) observes such code by wrapping methods of the
session's private copy of its modules (``after``) and by keeping the futures of what it
submits to an executor (``FutureWatch``), reporting each one that raised as a ``fault``.
Both act on the session's own copies, so they leave nothing behind between executions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greenlet import GreenletExit

__all__ = ["FutureWatch", "after"]


def after(cls: type, name: str, then: Callable[..., object]) -> None:
    """Wrap ``cls.name``: ``then(self, result, *args, **kwargs)`` runs after it returns."""
    original = getattr(cls, name)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        then(self, result, *args, **kwargs)
        return result

    setattr(cls, name, wrapper)


class FutureWatch:
    """Keeps the future of everything submitted to *pool*; one that raised is a ``fault``.

    Each submission is named after the object whose bound method it runs and its rank
    (``MessageBroker-0``), or the function's name. The simulator's teardown of a thread
    (a ``GreenletExit``) is not a fault.
    """

    def __init__(self, pool: Any, report: Callable[[str, Any, Any, str], None]) -> None:
        self.futures: list[tuple[str, Any]] = []  #: (name, future), in submission order
        self.report = report
        self._submit, pool.submit = pool.submit, self.submit

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(fn, "__self__", None)
        kind = type(owner).__name__ if owner is not None else getattr(fn, "__name__", "task")
        name = f"{kind}-{len(self.futures)}"
        future = self._submit(fn, *args, **kwargs)
        self.futures.append((name, future))
        future.add_done_callback(lambda done: self._done(name, done))
        return future

    def _done(self, name: str, future: Any) -> None:
        error = None if future.cancelled() else future.exception()
        if error is not None and not isinstance(error, GreenletExit):
            self.report("fault", None, None, f"{name}: {type(error).__name__}: {error}")

    def raised(self) -> list[tuple[str, BaseException]]:
        """(name, exception) of each submission that raised so far, in submission order."""
        done = [(n, f) for n, f in self.futures if f.done() and not f.cancelled()]
        return [(n, f.exception()) for n, f in done if f.exception() is not None]

    def dead(self) -> str:
        """The submissions that raised, e.g. ``"MessageBroker-0 (TypeError(...))"``, or "none"."""
        return ", ".join(f"{name} ({error!r})" for name, error in self.raised()) or "none"
