"""Regressions from the adversarial audit of refimpl's public API (notes/audit.md).

Each test is one defect the audit found with inputs written apart from this repository:
a call that accepted what could never work, an error raised by the user's own object
instead of the documented ``TypeError``, or a check that ran the user's methods.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import pytest

import refimpl.runtime as runtime_module
from refimpl import Channel, Message, Runtime, Scope, set_default_runtime
from refimpl.settings import MAX_THREADS
from tests.robustness.helpers import FAST, bounded_shutdown, workers_alive


class Planted(BaseException):
    """What the hostile objects below raise when any of their methods runs."""


class RaisingRepr:
    def __repr__(self) -> str:
        raise Planted("repr")


class CallableProxy:
    """A callable whose every attribute lookup fails, as lazy proxies and mocks can."""

    def __init__(self, target: Any) -> None:
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        raise Planted(f"getattr {name}")

    def __call__(self, message: Message) -> None:
        object.__getattribute__(self, "_target")(message)


class LyingClass:
    """``isinstance()`` asks ``__class__`` when the type does not match: it raises."""

    def __init__(self, got: list[Message]) -> None:
        self.got = got

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise Planted("__class__")

    def __call__(self, message: Message) -> None:
        self.got.append(message)


def generator(message: Message) -> Any:
    yield message


async def async_generator(message: Message) -> Any:
    yield message


async def coroutine(message: Message) -> None:
    return None


class GeneratorCall:
    def __call__(self, message: Message) -> Any:
        yield message


class Holder:
    def method(self, message: Message) -> Any:
        yield message


@pytest.mark.spec("A2")
@pytest.mark.parametrize(
    "handler",
    [
        generator,
        async_generator,
        functools.partial(generator),
        functools.partial(functools.partial(async_generator)),
        GeneratorCall(),
        Holder().method,
        coroutine,
    ],
    ids=["gen", "async-gen", "partial-gen", "partial-partial", "gen-call", "gen-method", "coro"],
)
def test_a_handler_whose_body_would_never_run_is_refused(handler: Any) -> None:
    with Runtime(FAST) as rt:
        channel = Channel("a", runtime=rt)
        with pytest.raises(TypeError, match=r"never|nobody"):
            channel.subscribe(handler)
        assert channel.handler is None
        with pytest.raises(TypeError, match=r"never|nobody"):
            Channel("a", handler, runtime=rt)
        assert rt.get_channels("a") == []


@pytest.mark.spec("A2", "V2")
@pytest.mark.parametrize("kind", ["getattr", "class"])
def test_a_callable_proxy_is_accepted_without_running_its_methods(kind: str) -> None:
    got: list[Message] = []
    handler: Any = CallableProxy(got.append) if kind == "getattr" else LyingClass(got)
    with Runtime(FAST) as rt:
        Channel("a", handler, runtime=rt)  # used to raise Planted from inspect
        Channel("a", runtime=rt).send({"n": 1})
        assert rt.join(10)
        assert workers_alive(rt)
        assert [m.data for m in got if m.topic == "a"] == [{"n": 1}]


@pytest.mark.spec("V1")
def test_a_bad_flag_is_a_type_error_even_when_its_repr_raises() -> None:
    with Runtime(FAST) as rt:
        channel = Channel("a", runtime=rt)
        for flags in ({"local": RaisingRepr()}, {"droppable": RaisingRepr()}):
            with pytest.raises(TypeError, match="must be a bool, not <RaisingRepr object"):
                channel.send({}, **flags)
        with pytest.raises(TypeError, match="must be bools"):
            Message("a", {}, None, RaisingRepr())


@pytest.mark.spec("V1", "T1")
def test_an_error_message_quotes_a_bad_value_briefly() -> None:
    with Runtime(FAST) as rt:
        with pytest.raises(ValueError) as caught:
            Channel("x" * 1_000_000 + "[", runtime=rt)
        assert len(str(caught.value)) < 200
        with pytest.raises(TypeError) as flag:
            Channel("a", runtime=rt).send({}, local="y" * 1_000_000)
        assert len(str(flag.value)) < 200


@pytest.mark.spec("V1", "A1", "R3")
def test_a_bad_handler_does_not_create_the_default_runtime() -> None:
    old = set_default_runtime(None)
    try:
        with pytest.raises(TypeError):
            Channel("a", 5)
        with pytest.raises(TypeError):
            Channel("a", generator)
        with pytest.raises(TypeError):
            Channel.get_channels("a", runtime="rt")  # type: ignore[arg-type]
        assert runtime_module._default is None
    finally:
        made = set_default_runtime(old)
        if made is not None:
            made.shutdown()


@pytest.mark.spec("A4")
def test_get_channels_refuses_a_runtime_that_is_not_one() -> None:
    for bad in ("rt", 5, object()):
        with pytest.raises(TypeError, match=r"runtime must be a refimpl\.Runtime"):
            Channel.get_channels("a", runtime=bad)  # type: ignore[arg-type]


@pytest.mark.spec("H2")
@pytest.mark.parametrize(
    "arguments",
    [{"runtime": "rt"}, {"on_error": 5}, {"on_error": coroutine}, {"on_error": generator}],
    ids=["runtime", "on_error-int", "on_error-async", "on_error-generator"],
)
def test_a_scope_checks_its_arguments_when_it_is_made(arguments: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match=r"runtime|on_error"):
        Scope(**arguments)


@pytest.mark.spec("H2", "V2")
def test_a_scope_on_error_is_called_for_a_raising_handler() -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    def on_error(exc: BaseException, channel: Channel, message: Message) -> None:
        errors.append(exc)
        done.set()

    rt = Runtime(FAST).start()
    scope = Scope(rt, on_error=on_error)
    scope.subscribe("a", lambda m: 1 / 0)
    Channel("a", runtime=rt).send({})
    assert done.wait(10)
    assert [type(e) for e in errors] == [ZeroDivisionError]
    bounded_shutdown(rt)


@pytest.mark.spec("R1")
def test_thread_counts_are_bounded_at_runtime_construction() -> None:
    for name in ("MAX_CHANNEL_MESSAGE_BROKER_THREADS", "MAX_CHANNEL_TASK_WORKER_THREADS"):
        with pytest.raises(ValueError, match=f"{name} must be at most 10,000"):
            Runtime({name: 10**9})  # start() used to build 10**9 workers first
        Runtime({name: MAX_THREADS})  # the bound itself is accepted (not started)


@pytest.mark.spec("R1")
@pytest.mark.parametrize("path", [".x.Y", "..", "a..b", "refimpl.", "a b.C"])
def test_a_worker_class_path_must_be_a_dotted_path(path: str) -> None:
    with pytest.raises(ValueError, match=r"CHANNEL_MESSAGE_BROKER_CLASS: .* is not a dotted path"):
        Runtime({"CHANNEL_MESSAGE_BROKER_CLASS": path})


@pytest.mark.spec("R4", "V2", "D2")
@pytest.mark.parametrize("bad", ["text", None, {"topic": "a"}], ids=["str", "none", "dict"])
def test_a_custom_broker_scheduling_a_non_message_fails_at_its_call(bad: Any) -> None:
    """It used to fail in the task worker (``_copy_for_subscriber`` of a str): the delivery
    was neither made nor reported, and ``join()`` waited for it forever."""
    from refimpl import MessageBroker
    from tests.robustness.helpers import Ledger

    class Broker(MessageBroker):
        def run(self) -> None:
            message = self.get_message()
            for channel in self.get_channels(message):
                self.schedule_task(channel, bad)

    ledger = Ledger()
    rt = Runtime({**FAST, "CHANNEL_MESSAGE_BROKER_CLASS": Broker}, observer=ledger.observer)
    rt.start()
    ledger.channel(rt, "s", "a")
    sent = Channel("a", runtime=rt).send({})
    assert rt.join(10)
    assert workers_alive(rt)
    assert ledger.unaccounted("s", [sent.seq]) == []
    assert ("s", sent.seq, "error") in ledger.dropped
    assert bounded_shutdown(rt) is None


@pytest.mark.spec("H3")
def test_a_scope_closed_while_it_subscribes_leaves_nothing_subscribed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``close()`` on another thread, while ``subscribe()`` is between creating its channel
    and recording it: the close used to miss that channel, which stayed subscribed."""
    import refimpl.scope as scope_module

    closer: list[threading.Thread] = []

    class Interleaved(Channel):
        def subscribe(self, handler: Any) -> None:
            if not closer:  # the first subscribe: a close() starts now, on another thread
                closer.append(threading.Thread(target=scope.close))
                closer[0].start()
                closer[0].join(0.3)  # it must wait for this subscribe to be recorded
            super().subscribe(handler)

    monkeypatch.setattr(scope_module, "Channel", Interleaved)
    with Runtime(FAST) as rt:
        scope = Scope(rt)
        channel = scope.subscribe("a", lambda m: None)
        closer[0].join(10)
        assert scope.closed
        assert channel.handler is None, "subscribed after the scope was closed"
        assert rt.get_channels("a") == []
        with pytest.raises(RuntimeError, match="closed"):
            scope.subscribe("a", lambda m: None)


@pytest.mark.spec("R4", "V1")
def test_hand_built_workers_and_tasks_check_their_arguments() -> None:
    """``Worker(rt, timeout="5")`` was stored and raised in the worker's queue ``get``;
    ``Worker("rt")`` and ``Task("x", "y")`` raised ``AttributeError``."""
    from refimpl import MessageBroker, Task, TaskWorker

    with Runtime(FAST) as rt:
        for timeout in ("5", float("inf"), -1, True):
            with pytest.raises(ValueError, match="timeout"):
                TaskWorker(rt, timeout)
        assert TaskWorker(rt, 2).timeout == 2.0
        assert TaskWorker(rt, 0.0).timeout == 0.0  # a non-blocking get (bench.profile_fanout)
        with pytest.raises(TypeError, match=r"runtime must be a refimpl\.Runtime"):
            MessageBroker("rt")  # type: ignore[arg-type]
        channel = Channel("a", runtime=rt)
        with pytest.raises(TypeError, match="not a Message"):
            Task(channel, "y")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="not a channel"):
            Task("x", Message("a"))  # type: ignore[arg-type]
        assert Task(channel, Message("a")).handler is None  # not subscribed: no handler
