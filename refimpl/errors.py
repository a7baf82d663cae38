"""The exceptions ``refimpl`` raises at the call site."""

from __future__ import annotations

__all__ = ["ShutdownError", "TopicError"]


class TopicError(ValueError):
    """A topic string is empty or not a well-formed pattern (spec T1)."""


class ShutdownError(RuntimeError):
    """``send()`` on a runtime that is shutting down or shut down (spec S5)."""
