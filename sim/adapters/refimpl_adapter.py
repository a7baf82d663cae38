"""The reference implementation behind the adapter protocol.

The session hands refimpl its topics and expiries as subclasses (of ``str`` and
``datetime``) whose own methods report that they ran: refimpl must use such values as
plain ones (spec T1, E1; issue 11, items 1-2), so none of those methods may ever run,
and what it stores must be plain. The methods still behave (they call the base type's),
so the run goes on as it would; when the session settles or shuts down it raises
``NotPlain`` if anything was reported. So every simulated run, and every mutant hunt,
checks that normalisation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from refimpl import Channel, Message, Runtime
from refimpl._seam import Platform
from sim.adapters.base import FEATURES, Handler, Report

__all__ = ["NotPlain", "RefimplAdapter", "RefimplSession"]


class NotPlain(AssertionError):
    """refimpl kept a caller's ``str``/``datetime`` subclass, or ran one of its methods."""


def _spy(base: type, names: tuple[str, ...]) -> type:
    """A subclass of *base* whose methods *names* note in the value's ``_seen`` that they ran.

    Made once per base type. A session gives each value it makes its own list (``_noting``):
    an attribute on the value, not a class per session (a session is made per simulated run).
    """

    def spied(name: str) -> Any:
        real = getattr(base, name)

        def method(self: Any, *args: object, **kwargs: object) -> Any:
            self._seen.append(f"refimpl ran {base.__name__} subclass method {name} (T1/E1: plain)")
            return real(self, *args, **kwargs)

        return method

    return type(f"Caller{base.__name__.title()}", (base,), {n: spied(n) for n in names})


def _noting(value: Any, seen: list[str]) -> Any:
    """*value* (a spy) with what its methods note going to *seen*."""
    value._seen = seen
    return value


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


_SPY_STR = _spy(str, _STR_METHODS)
_SPY_DATETIME = _spy(datetime, _DATETIME_METHODS)


def _as(cls: type, moment: datetime) -> datetime:
    made: datetime = cls(
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
    #: refimpl is called with the driver's arguments unchanged (see ``sim.adapters.base``)
    features = FEATURES

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
        # a str subclass probes T1's "used as its plain value"; bad input goes in as given
        channel = Channel(
            _noting(_SPY_STR(topic), self._not_plain) if isinstance(topic, str) else topic,
            runtime=self.runtime,
        )
        if type(channel.topic) is not str:
            self._not_plain.append(f"Channel.topic is a {type(channel.topic).__name__} (T1)")
        return channel

    def subscribe(self, channel: Channel, handler: Handler) -> None:
        if not callable(handler):  # bad input: let refimpl see it as given
            channel.subscribe(handler)
            return
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
        deadline: object = expiry  # a datetime (scenario format 2) goes to refimpl as given
        if isinstance(expiry, timedelta):
            moment = _as(_SPY_DATETIME, self.runtime._now() + expiry)
            deadline = _noting(moment, self._not_plain)
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
