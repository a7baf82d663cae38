"""Hypothesis-generated hostile input for every public entry point of ``refimpl``.

Each value is drawn from ``hostile()``: ordinary values of every type, extreme and
non-finite numbers, and instances of subclasses (of ``str``, ``int``, ``float``,
``dict``, ``datetime``, ``timedelta``, ``Exception``) whose dunders raise any
``BaseException`` or lie. For each call the test asserts what issue 11 asks: the call
either raises at once (``TypeError``/``ValueError``, with a message, or the hostile
object's own exception, raised in the caller) or is handled; afterwards no worker
thread has died, every delivery that was due happened or was reported dropped, and
``shutdown()`` returns within a bound.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl import (
    Channel,
    Runtime,
    Scope,
    Settings,
    ShutdownError,
    match,
    set_default_runtime,
    validate_topic,
)
from tests.robustness.helpers import FAST, Ledger, bounded_shutdown, workers_alive

EXAMPLES = settings(max_examples=40, deadline=None)


class Planted(BaseException):
    """What a hostile dunder raises; seen in the caller it is the caller's own doing."""


RAISES: list[type[BaseException]] = [Planted, KeyboardInterrupt, SystemExit, RecursionError]


def _raising(exc: type[BaseException]) -> Any:
    def method(self: object, *args: object) -> Any:
        raise exc("planted")

    return method


def _hostile_subclass(base: type, exc: type[BaseException], names: tuple[str, ...]) -> type:
    return type(f"Hostile{base.__name__.title()}", (base,), {n: _raising(exc) for n in names})


STR_DUNDERS = (
    "__eq__",
    "__ne__",
    "__lt__",
    "__getitem__",
    "__len__",
    "__iter__",
    "__str__",
    "__repr__",
    "__contains__",
    "__format__",
)
NUM_DUNDERS = (
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__eq__",
    "__index__",
    "__float__",
    "__int__",
    "__repr__",
    "__add__",
    "__radd__",
)
TIME_DUNDERS = (
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__eq__",
    "__add__",
    "__radd__",
    "__sub__",
    "utcoffset",
    "astimezone",
    "replace",
    "__repr__",
)
DICT_DUNDERS = ("__copy__", "__repr__", "__iter__", "__getitem__", "__len__", "keys", "items")


@st.composite
def hostile_instance(draw: st.DrawFn) -> Any:
    exc = draw(st.sampled_from(RAISES))
    kind = draw(st.sampled_from(["str", "int", "float", "dict", "datetime", "timedelta"]))
    if kind == "str":
        names = tuple(draw(st.sets(st.sampled_from(STR_DUNDERS), min_size=1)))
        cls = _hostile_subclass(str, exc, names)
        return cls(draw(st.sampled_from(["a", "*", "a.b", "[ab]", "chat.*"])))
    if kind in ("int", "float"):
        names = tuple(draw(st.sets(st.sampled_from(NUM_DUNDERS), min_size=1)))
        cls = _hostile_subclass(int if kind == "int" else float, exc, names)
        return cls(draw(st.sampled_from([0, 1, 2, 5, 10**9])))
    if kind == "dict":
        names = tuple(draw(st.sets(st.sampled_from(DICT_DUNDERS), min_size=1)))
        return _hostile_subclass(dict, exc, names)(k=1)
    names = tuple(draw(st.sets(st.sampled_from(TIME_DUNDERS), min_size=1)))
    if kind == "datetime":
        tz = draw(st.sampled_from([None, UTC, timezone(timedelta(hours=-9))]))
        return _hostile_subclass(datetime, exc, names)(2099, 1, 1, tzinfo=tz)
    return _hostile_subclass(timedelta, exc, names)(seconds=draw(st.sampled_from([-5, 0, 60])))


class RaisingGetattr:
    def __getattr__(self, name: str) -> Any:
        raise Planted(name)

    def __repr__(self) -> str:
        raise Planted("repr")


PLAIN = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.sampled_from(
        [
            timedelta.min,
            timedelta.max,
            timedelta(0),
            datetime.min,
            datetime.max,
            datetime.min.replace(tzinfo=UTC),
            datetime.max.replace(tzinfo=UTC),
            datetime(2099, 1, 1, tzinfo=UTC),
            math.inf,
            -math.inf,
            math.nan,
            object(),
            RaisingGetattr(),
            lambda m: None,
            print,
            Runtime,
            Channel,
        ]
    ),
)


def hostile() -> st.SearchStrategy[Any]:
    return st.one_of(PLAIN, hostile_instance())


ALLOWED = (TypeError, ValueError, Planted, KeyboardInterrupt, SystemExit, RecursionError)


def call(fn: Any, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
    """(True, result) or (False, exception); any other exception fails the test."""
    try:
        return True, fn(*args, **kwargs)
    except ALLOWED as exc:
        if isinstance(exc, (TypeError, ValueError)):
            assert str(exc), f"{type(exc).__name__} without a message"
        return False, exc


class Harness:
    """A fresh runtime with a recording `*` subscriber and an `a` subscriber."""

    def __init__(self, **runtime: Any) -> None:
        self.ledger = Ledger()
        self.rt = Runtime(FAST, observer=self.ledger.observer, **runtime).start()
        self.ledger.channel(self.rt, "all", "*")
        self.ledger.channel(self.rt, "a", "a")
        self.due: list[int] = []  # seqs every subscriber of "a" had to get

    def send(self, **kwargs: Any) -> None:
        ok, message = call(Channel("a", runtime=self.rt).send, **kwargs)
        if ok:
            self.due.append(message.seq)

    def finish(self) -> None:
        """A control message, then the checks every test ends with."""
        self.due.append(Channel("a", runtime=self.rt).send({"control": 1}).seq)
        assert self.rt.join(10), "the runtime did not become idle"
        assert workers_alive(self.rt), "a worker thread died"
        for name in ("all", "a"):
            assert not self.ledger.unaccounted(name, self.due), f"{name} lost a message silently"
        assert bounded_shutdown(self.rt) is None


@EXAMPLES
@given(hostile(), hostile())
@pytest.mark.spec("T1", "V1", "V2", "A1")
def test_hostile_topics(topic: Any, other: Any) -> None:
    h = Harness()
    ok, channel = call(Channel, topic, lambda m: None, runtime=h.rt)
    if ok:
        assert type(channel.topic) is str
        sent_ok, _ = call(channel.send, {})
        assert sent_ok
    call(h.rt.get_channels, other)
    call(Channel.get_channels, other, runtime=h.rt)
    ok, plain = call(validate_topic, topic)
    assert not ok or type(plain) is str
    call(match, topic, other)
    h.finish()


@EXAMPLES
@given(hostile(), hostile(), hostile(), hostile())
@pytest.mark.spec("V1", "V2", "E1", "C4", "D2")
def test_hostile_send_arguments(data: Any, expiry: Any, local: Any, droppable: Any) -> None:
    h = Harness()
    h.send(message_data=data, expiry=expiry, local=local, droppable=droppable)
    h.send(message_data=data)
    h.send(message_data={}, expiry=expiry)
    for seq_ok in h.due:
        assert isinstance(seq_ok, int)
    h.finish()


@EXAMPLES
@given(hostile(), st.sampled_from([*RAISES, ValueError]), st.integers(0, 3))
@pytest.mark.spec("A2", "H1", "H2", "V1", "V2")
def test_hostile_handlers(handler: Any, exc: type[BaseException], every: int) -> None:
    h = Harness()
    count = [0]

    def raising(message: Any) -> None:
        count[0] += 1
        if every and count[0] % every == 0:
            raise exc("from a handler")

    call(Channel, "a", handler, runtime=h.rt)
    call(Scope(h.rt).subscribe, "a", handler)
    Channel("a", raising, runtime=h.rt)
    for _ in range(4):
        h.send(message_data={})
    h.finish()


@EXAMPLES
@given(
    st.dictionaries(
        st.sampled_from(sorted(f.name for f in Settings.__dataclass_fields__.values())),
        hostile(),
        max_size=3,
    )
)
@pytest.mark.spec("R1", "R4", "V1")
def test_hostile_settings(values: dict[str, Any]) -> None:
    ok, rt = call(Runtime, values)
    if not ok:
        return
    for name in values:
        stored = getattr(rt.settings, name)
        assert type(stored) in (int, float, str, type), (name, type(stored))
    ok, _ = call(rt.start)
    if ok:
        ledger = Ledger()
        ledger.channel(rt, "a", "a")
        seq = Channel("a", runtime=rt).send({}).seq
        assert rt.join(10)
        assert not ledger.unaccounted("a", [seq])
    assert bounded_shutdown(rt) is None or not ok


@EXAMPLES
@given(hostile(), hostile(), hostile())
@pytest.mark.spec("R1", "R5", "R6", "V1")
def test_hostile_runtime_arguments(settings_: Any, observer: Any, timeout: Any) -> None:
    call(Runtime, settings_)
    ok, rt = call(Runtime, FAST, observer=observer)
    if not ok:
        return
    call(rt.start)
    call(rt.join, timeout)
    Channel("a", lambda m: None, runtime=rt).send({})
    assert bounded_shutdown(rt) is None
    ok, previous = call(set_default_runtime, observer)
    if ok:  # only None is accepted here: put the process's default back
        set_default_runtime(previous)


@EXAMPLES
@given(
    st.sampled_from([*RAISES, ValueError]),
    st.sets(st.sampled_from(["route", "drop", "error", "shutdown_begin", "shutdown_end"])),
)
@pytest.mark.spec("R1", "S1", "V2")
def test_hostile_observers(exc: type[BaseException], kinds: set[str]) -> None:
    def observer(kind: str, *rest: Any) -> None:
        if kind in kinds:
            raise exc("from the observer")

    ledger = Ledger()
    rt = Runtime(FAST, observer=observer).start()
    ledger.channel(rt, "a", "a", then=lambda m: 1 / 0)
    sender = Channel("a", runtime=rt)
    seqs = [sender.send({}).seq, sender.send({}, expiry=timedelta(-1)).seq]
    assert rt.join(10) and workers_alive(rt)
    assert ledger.count("a") == 1 and seqs
    assert bounded_shutdown(rt) is None
    with pytest.raises(ShutdownError):
        sender.send({})
