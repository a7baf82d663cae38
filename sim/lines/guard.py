"""Parking at tracing depth 0: the one fix that keeps ``sys.settrace`` alive across greenlets.

All virtual threads share one OS thread, hence one ``PyThreadState`` and its ``tracing``
counter. Inside a trace callback CPython raises that counter to 1 (and clears the frame's
``use_tracing``) so that the callback itself is not traced; it lowers it again when the
callback returns. A greenlet switch made *inside* the callback therefore hands the
counter, still at 1, to the next greenlet: that greenlet runs with tracing suppressed and
no line event arrives for it any more (the design note's 0-of-19 failure). A greenlet
started from there also copies ``use_tracing = 0`` and is never traced at all.

``TracingGuard`` is the ``SwitchGuard`` the line tracer hands to ``Scheduler.point``:
``leave()`` calls the public C API ``PyThreadState_LeaveTracing`` (counter back to 0,
``use_tracing`` recomputed) right before the switch, ``enter()`` calls
``PyThreadState_EnterTracing`` when this greenlet runs again, so the callback returns
with the counter it started with. Every park then happens at depth 0, and so does every
resume. The calls go through ``ctypes`` (as greenlet itself does in C); only switches pay
for them (about 0.25 microseconds each), not the points that keep the same thread.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["TracingGuard", "tracing_api_available"]

_API = ctypes.pythonapi
_LEAVE = getattr(_API, "PyThreadState_LeaveTracing", None)
_ENTER = getattr(_API, "PyThreadState_EnterTracing", None)
if _LEAVE is not None and _ENTER is not None:
    _API.PyThreadState_Get.restype = ctypes.c_void_p
    _API.PyThreadState_Get.argtypes = []
    for _function in (_LEAVE, _ENTER):
        _function.argtypes = [ctypes.c_void_p]
        _function.restype = None


def tracing_api_available() -> bool:
    """CPython 3.11+ exports the two calls (they are public C API since 3.11)."""
    return _LEAVE is not None and _ENTER is not None and sys.implementation.name == "cpython"


class TracingGuard:
    """Leave/enter tracing for the OS thread that created the guard (the scheduler's)."""

    __slots__ = ("_enter", "_leave", "_tstate")

    def __init__(self) -> None:
        if not tracing_api_available():
            raise RuntimeError("line preemption needs CPython 3.11+ (PyThreadState_EnterTracing)")
        self._tstate = ctypes.c_void_p(_API.PyThreadState_Get())
        self._leave = _LEAVE
        self._enter = _ENTER

    def leave(self) -> None:
        self._leave(self._tstate)  # type: ignore[misc]

    def enter(self) -> None:
        self._enter(self._tstate)  # type: ignore[misc]
