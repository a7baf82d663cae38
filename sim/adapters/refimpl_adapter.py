"""The reference implementation behind the adapter protocol.

The session hands refimpl its topics and expiries as *hostile* subclasses
(``CallerStr``, ``CallerDatetime``) whose own methods raise: refimpl must use them as
plain values (spec T1, E1), so none of those methods may ever run. The session also
checks that what refimpl stored is plain, and fails the run when it settles or shuts
down if not (after the history has shown what the kept subclass did to the run). So every
simulated run, and every mutant hunt, checks items 1 and 2 of issue 11.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from refimpl import Channel, Message, Runtime
from refimpl._seam import Platform
from sim.adapters.base import Handler, Report

__all__ = ["CallerDatetime", "CallerStr", "NotPlain", "RefimplAdapter", "RefimplSession"]


class NotPlain(AssertionError):
    """refimpl kept a caller's ``str``/``datetime`` subclass, or ran one of its methods."""


def _refuse(name: str) -> Any:
    def method(self: object, *args: object, **kwargs: object) -> Any:
        raise NotPlain(f"refimpl called {type(self).__name__}.{name}: T1/E1 say plain values")

    return method


_STR_METHODS = (
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__hash__",
    "__getitem__",
    "__len__",
    "__iter__",
    "__contains__",
    "__add__",
    "__mod__",
    "__format__",
    "__str__",
    "startswith",
    "endswith",
    "split",
    "encode",
    "replace",
    "partition",
)
_DATETIME_METHODS = (
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__hash__",
    "__add__",
    "__radd__",
    "__sub__",
    "__rsub__",
    "utcoffset",
    "astimezone",
    "replace",
    "timestamp",
    "isoformat",
    "__format__",
    "__str__",
)

#: a topic as a caller might pass it: a ``str`` subclass none of whose methods may run
CallerStr = type("CallerStr", (str,), {n: _refuse(n) for n in _STR_METHODS})
#: an expiry as a caller might pass it: a ``datetime`` subclass none of whose methods may run
CallerDatetime = type("CallerDatetime", (datetime,), {n: _refuse(n) for n in _DATETIME_METHODS})


def _caller_datetime(moment: datetime) -> datetime:
    made: datetime = CallerDatetime(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        tzinfo=moment.tzinfo,
    )
    return made


class RefimplSession:
    def __init__(self, runtime: Runtime, report: Report) -> None:
        self.runtime = runtime
        self._report = report
        self._not_plain: list[str] = []  # raised at settle() or shutdown()

    def _check_plain(self) -> None:
        if self._not_plain:
            raise NotPlain(self._not_plain[0])

    def start(self) -> None:
        self.runtime.start()

    def channel(self, topic: str) -> Channel:
        channel = Channel(CallerStr(topic), runtime=self.runtime)
        if type(channel.topic) is not str:
            self._not_plain.append(f"Channel.topic is a {type(channel.topic).__name__} (T1)")
        return channel

    def subscribe(self, channel: Channel, handler: Handler) -> None:
        channel.subscribe(lambda message: handler(message.topic, message.data))

    def unsubscribe(self, channel: Channel) -> None:
        channel.unsubscribe()

    def send(
        self,
        channel: Channel,
        data: dict[str, Any],
        expiry: timedelta | None,
        local: bool,
        droppable: bool,
    ) -> str:
        # the same clock read refimpl would make for a timedelta, so schedules do not change
        deadline = None if expiry is None else _caller_datetime(self.runtime._now() + expiry)
        sent = channel.send(data, expiry=deadline, local=local, droppable=droppable)
        if sent.expiry is not None and type(sent.expiry) is not datetime:
            self._not_plain.append(f"Message.expiry is a {type(sent.expiry).__name__} (E1)")
        return str(sent.seq)

    def settle(self) -> None:
        self.runtime.join()
        self._check_plain()

    def shutdown(self) -> None:
        self.runtime.shutdown()
        self._check_plain()


class RefimplAdapter:
    """``runtime_class`` lets a mutant substitute a broken ``Runtime`` subclass."""

    name = "refimpl"

    def __init__(self, runtime_class: type[Runtime] = Runtime, name: str = "refimpl") -> None:
        self.runtime_class = runtime_class
        self.name = name

    def open(
        self, settings: dict[str, Any], platform: Platform | None, report: Report
    ) -> RefimplSession:
        def observer(
            kind: str, message: Message | None, channel: Channel | None, detail: str
        ) -> None:
            if kind in ("drop", "route") and message is not None:
                report(kind, message.data, channel, detail)

        runtime = self.runtime_class(settings, platform=platform, observer=observer)
        return RefimplSession(runtime, report)
