"""Virtual ``time`` and ``datetime`` modules: the scheduler's clock, as the implementation sees it.

Virtual time 0.0 is ``sim.primitives.EPOCH`` (2030-01-01 UTC), as ``SimPlatform.now``. The
clock moves only when no virtual thread can run (it then jumps to the next deadline), so a
busy loop polling the clock never sees it move (the step limit reports it as a livelock).

* ``time``: ``time``/``monotonic``/``perf_counter``/``process_time``/``thread_time`` and their
  ``_ns`` forms read the virtual clock; ``sleep`` parks the virtual thread (a scheduling
  point). The process's local time zone is UTC (``localtime``, ``mktime``, ``ctime``,
  ``strftime`` with no time given), so a trace is the same on every machine. Everything else
  is the real module's.
* ``datetime``: ``datetime`` and ``date`` are subclasses whose ``now``/``utcnow``/``today``/
  ``fromtimestamp`` read the virtual clock (naive = UTC) and return plain ``datetime``/
  ``date`` objects; a metaclass keeps ``isinstance(real_datetime, datetime)`` true.
  ``datetime.astimezone()`` with no argument on a naive value still uses the machine's zone
  (it is a method of the real class): not interposed.

Clock reads are not scheduling points: the clock cannot move while the reader is runnable.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import time as _time
import types
from typing import Any

from sim.interpose import points
from sim.primitives import EPOCH

__all__ = ["datetime_module", "now", "time_module"]

__chanspec_virtual__ = True

_EPOCH_TS = EPOCH.timestamp()
_EPOCH_NAIVE = EPOCH.replace(tzinfo=None)


def now() -> float:
    """Virtual seconds since ``EPOCH`` (0.0 between executions)."""
    sched = points.ACTIVE.sched
    return sched.time if sched is not None else 0.0


# time --------------------------------------------------------------------------------------
def _time_now() -> float:
    return _EPOCH_TS + now()


def _ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


def sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    sched = points.ACTIVE.sched
    if sched is None or sched.current is None:
        return  # between executions nothing waits: virtual time does not pass
    if points.point("sleep"):
        points.block("sleep", sched.time + seconds)


def _struct(secs: float | None) -> _time.struct_time:
    return _time.gmtime(_time_now() if secs is None else secs)


def time_module() -> types.ModuleType:
    mod = types.ModuleType("time", _time.__doc__)
    for name in dir(_time):
        if not name.startswith("__"):
            setattr(mod, name, getattr(_time, name))
    clocks: dict[str, Any] = {
        "time": _time_now,
        "monotonic": now,
        "perf_counter": now,
        "process_time": now,
        "thread_time": now,
    }
    for name, fn in clocks.items():
        setattr(mod, name, fn)
        setattr(mod, name + "_ns", lambda fn=fn: _ns(fn()))
    mod.sleep = sleep  # type: ignore[attr-defined]
    mod.localtime = _struct  # type: ignore[attr-defined]
    mod.gmtime = _struct  # type: ignore[attr-defined]
    mod.mktime = lambda t: float(calendar.timegm(t))  # type: ignore[attr-defined]
    mod.ctime = lambda secs=None: _time.asctime(_struct(secs))  # type: ignore[attr-defined]
    mod.asctime = lambda t=None: _time.asctime(_struct(None) if t is None else t)  # type: ignore[attr-defined]
    mod.strftime = lambda fmt, t=None: _time.strftime(fmt, _struct(None) if t is None else t)  # type: ignore[attr-defined]
    mod.timezone = mod.altzone = mod.daylight = 0  # type: ignore[attr-defined]
    mod.tzname = ("UTC", "UTC")  # type: ignore[attr-defined]
    mod.tzset = lambda: None  # type: ignore[attr-defined]
    mod.__dict__["__chanspec_virtual__"] = True
    return mod


# datetime ----------------------------------------------------------------------------------
class _RealInstances(type):
    """``isinstance(x, VirtualClass)`` is ``isinstance(x, the real class)``."""

    _real: type

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, cls._real)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls._real)


def _naive_now() -> _dt.datetime:
    return _EPOCH_NAIVE + _dt.timedelta(seconds=now())


class VirtualDatetime(_dt.datetime, metaclass=_RealInstances):
    """``datetime.datetime`` whose constructors that read the clock read the virtual one."""

    _real = _dt.datetime

    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> Any:
        moment = _naive_now()
        return moment if tz is None else moment.replace(tzinfo=_dt.UTC).astimezone(tz)

    @classmethod
    def utcnow(cls) -> Any:
        return _naive_now()

    @classmethod
    def today(cls) -> Any:
        return _naive_now()

    @classmethod
    def fromtimestamp(cls, t: float, tz: _dt.tzinfo | None = None) -> Any:
        moment = _dt.datetime.fromtimestamp(t, _dt.UTC)
        return moment.replace(tzinfo=None) if tz is None else moment.astimezone(tz)


class VirtualDate(_dt.date, metaclass=_RealInstances):
    """``datetime.date`` whose ``today``/``fromtimestamp`` read the virtual clock (UTC)."""

    _real = _dt.date

    @classmethod
    def today(cls) -> Any:
        return _naive_now().date()

    @classmethod
    def fromtimestamp(cls, t: float) -> Any:
        return _dt.datetime.fromtimestamp(t, _dt.UTC).date()


def datetime_module() -> types.ModuleType:
    mod = types.ModuleType("datetime", _dt.__doc__)
    for name in dir(_dt):
        if not name.startswith("__"):
            setattr(mod, name, getattr(_dt, name))
    mod.datetime = VirtualDatetime  # type: ignore[attr-defined]
    mod.date = VirtualDate  # type: ignore[attr-defined]
    mod.__dict__["__chanspec_virtual__"] = True
    return mod
