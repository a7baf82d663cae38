"""Text about user objects that cannot fail: reprs and log records built in worker threads.

A worker thread describes user objects (handlers, payloads, exceptions) in log lines and
observer reports. Any of them may have a ``__repr__`` that raises, even a
``BaseException`` such as ``KeyboardInterrupt``; ``logging`` only protects itself from
``Exception``. So whatever a worker says about a user object goes through here, and a
failing ``repr`` becomes a placeholder instead of a dead thread (spec V2, H1).
"""

from __future__ import annotations

from logging import Logger
from typing import Any

__all__ = ["log_safely", "safe_repr", "short_repr"]


def safe_repr(obj: object) -> str:
    """``repr(obj)``, or a placeholder naming the type if that raises anything."""
    try:
        text = repr(obj)
    except BaseException:  # any user __repr__, KeyboardInterrupt included
        return f"<{type.__dict__['__name__'].__get__(type(obj))} object, repr() raised>"
    return text if type(text) is str else "<repr() returned a non-str>"


def short_repr(obj: object, limit: int = 80) -> str:
    """``safe_repr(obj)`` cut to about *limit* characters: for error messages about user input,
    which must neither raise (a ``__repr__`` may raise anything) nor quote a megabyte."""
    text = safe_repr(obj)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def log_safely(logger: Logger, level: int, msg: str, *args: object, exc_info: Any = None) -> None:
    """``logger.log(level, msg, *args)`` with every argument already a safe repr.

    The traceback of *exc_info* is formatted by ``logging``, which reads an exception
    that fails to print as ``<exception str() failed>``. Should the record still fail to
    be built, the message is logged without its arguments.
    """
    if not logger.isEnabledFor(level):
        return
    try:
        logger.log(level, msg, *(safe_repr(a) for a in args), exc_info=exc_info)
    except BaseException:  # a handler of the user's logging config failed
        try:
            logger.log(level, "%s (its details could not be formatted)", msg.split("%")[0])
        except BaseException:  # nothing more can be done
            return
