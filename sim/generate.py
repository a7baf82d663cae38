"""Scenario generation, from a seed or from Hypothesis.

One generator, written against a tiny ``Source`` of choices, serves both: a seeded
``random.Random`` (``RandomSource``, for ``python -m sim run --seed N``) and
Hypothesis (``HypothesisSource``, for the property suite, where shrinking makes the
scenario small). Every choice shrinks towards the first/lowest option, and the first
options are the simplest (no expiry, not droppable, one thread, ...).

Topics come from a small pool built so that subscriptions overlap (literal and wildcard
topics, wildcard senders, classes, case variants, a non-ASCII topic) and, for
``grammar_percent`` of the roles, from ``sim.topicgen``: the whole grammar, derived from
the pool's stems (metacharacters of other pattern languages, reversed ranges, ``]``
first in a class, runs of ``*``, case variants, non-ASCII), on both sides.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sim import topicgen
from sim.scenario import (
    BAD_INPUTS,
    Advance,
    Bad,
    ChannelSpec,
    Expiry,
    Op,
    Scenario,
    Send,
    Settle,
    Shutdown,
    Subscribe,
    Unsubscribe,
)

__all__ = [
    "GenConfig",
    "HypothesisSource",
    "RandomSource",
    "Source",
    "generate",
    "scenario_from_seed",
    "scenarios",
]

T = TypeVar("T")

#: Topics roles draw from; the first ones are the simplest (shrinking prefers them).
TOPICS: tuple[str, ...] = (
    "a.b",
    "a.*",
    "*",
    "a.?",
    "a.c",
    "*.b",
    "a.[bc]",
    "a.[!b]",
    "A.b",
    "a.b*",
    "é.b",
    "*b",
    "lona.channels.*",
)
#: literal stems that grammar topics are derived from (they overlap the pool)
STEMS: tuple[str, ...] = ("a.b", "a.c", "é.b")
EXPIRIES: tuple[float | None, ...] = (None, None, None, 1.5, 0.0, 0.5, 3.0)
SLEEPS: tuple[float, ...] = (0.0, 0.0, 0.0, 0.25, 2.0)
BATCHES: tuple[int, ...] = (128, 1, 2, 3)
#: a datetime expiry's kind, and the fixed UTC offsets (minutes) of the ``offset`` kind
DATETIME_KINDS: tuple[str, ...] = ("utc", "naive", "offset")
OFFSETS: tuple[int, ...] = (330, -480, 60)


class Source(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...


class RandomSource:
    """Choices from a seeded ``random.Random`` (portable across machines).

    ``integer`` is ``randint(lo, hi)`` as CPython computes it -- ``lo`` plus a draw below
    ``hi - lo + 1`` of that many bits, drawn again while it is too large -- written out:
    ``randint``'s argument handling was a third of generating a scenario, and every seed
    must keep giving the scenario it always gave (``tests/sim/test_generate.py``).
    """

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._bits = self._random.getrandbits

    def integer(self, lo: int, hi: int) -> int:
        n = hi - lo + 1
        if n <= 0:
            raise ValueError(f"empty range for integer({lo}, {hi})")
        k = n.bit_length()
        bits = self._bits
        r = bits(k)
        while r >= n:
            r = bits(k)
        return lo + r


class HypothesisSource:
    """Choices drawn from Hypothesis, so that failing scenarios shrink."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self._data = data
        self._st = st

    def integer(self, lo: int, hi: int) -> int:
        value: int = self._data.draw(self._st.integers(lo, hi))
        return value


def _pick(source: Source, options: Sequence[T]) -> T:
    return options[source.integer(0, len(options) - 1)]


def _chance(source: Source, percent: int) -> bool:
    """True with about *percent* % probability; shrinks to False."""
    return source.integer(0, 99) >= 100 - percent


@dataclass(frozen=True)
class GenConfig:
    """Bounds of generated scenarios. ``None`` for brokers/workers: drawn (1-3, 1-4)."""

    brokers: int | None = None
    workers: int | None = None
    max_roles: int = 5
    max_threads: int = 3
    max_ops: int = 7
    topics: tuple[str, ...] = TOPICS
    #: relative weights of send, subscribe, unsubscribe, advance, settle, shutdown ops
    weights: tuple[int, int, int, int, int, int] = (62, 10, 8, 8, 7, 5)
    expiries: tuple[float | None, ...] = EXPIRIES
    droppable_percent: int = 30
    raises_percent: int = 10
    #: roles whose topic comes from the whole grammar (``sim.topicgen``), not the pool
    grammar_percent: int = 35
    # scenario format 2 (each shrinks to "off"):
    #: a subscribe/unsubscribe works on the role's current channel object, whatever its
    #: state: re-subscription of one object, two threads on one object (A2, W2, W3)
    direct_percent: int = 40
    #: an expiry is a datetime (naive, aware UTC, another offset) instead of a timedelta
    datetime_percent: int = 40
    past_percent: int = 10  #: ... and lies in the past (E1)
    resubscribe_percent: int = 60  #: ... a direct unsubscribe is followed by a re-subscribe
    bad_percent: int = 2  #: an operation is bad input instead, to be rejected at the call (V1)
    action_percent: int = 15  #: a role's handler sends, subscribes or unsubscribes
    base_raise_percent: int = 40  #: a raising handler raises a BaseException (H1)

    def __post_init__(self) -> None:
        """Every bound checked here, not found out of range in the middle of a generation."""
        from refimpl.topics import validate_topic

        def count(name: str, low: int, high: int) -> None:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(
                    f"GenConfig.{name} must be an int from {low} to {high}, not {value!r}"
                )

        for name in ("brokers", "workers"):
            if getattr(self, name) is not None:
                count(name, 1, 64)
        for name in ("max_roles", "max_threads", "max_ops"):
            count(name, 1, 10_000)
        for name in self.__dataclass_fields__:
            if name.endswith("_percent"):
                count(name, 0, 100)
        if not isinstance(self.topics, tuple) or not self.topics:
            raise ValueError("GenConfig.topics must be a non-empty tuple of topics")
        for topic in self.topics:
            validate_topic(topic)
        weights = self.weights
        if not (
            isinstance(weights, tuple)
            and len(weights) == 6
            and all(isinstance(w, int) and not isinstance(w, bool) and w >= 0 for w in weights)
            and sum(weights) > 0
        ):
            raise ValueError(f"GenConfig.weights must be 6 ints >= 0, not all 0, not {weights!r}")
        if (
            not isinstance(self.expiries, tuple)
            or not self.expiries
            or not all(
                e is None
                or (isinstance(e, (int, float)) and not isinstance(e, bool) and abs(e) <= 1e6)
                for e in self.expiries
            )
        ):
            raise ValueError(
                "GenConfig.expiries must be a non-empty tuple of seconds (|s| <= 1e6) or None"
            )


def generate(source: Source, config: GenConfig = GenConfig()) -> Scenario:
    brokers = config.brokers if config.brokers is not None else source.integer(1, 3)
    workers = config.workers if config.workers is not None else source.integer(1, 4)
    n_roles = source.integer(1, config.max_roles)
    channels: list[ChannelSpec] = []
    for _ in range(n_roles):
        if _chance(source, config.grammar_percent):
            topic = topicgen.topic(source, STEMS)
        else:
            topic = _pick(source, config.topics)
        reply = source.integer(0, n_roles - 1) if _chance(source, 15) else None
        subscribed = not _chance(source, 30)
        raises = _chance(source, config.raises_percent)
        sleep = _pick(source, SLEEPS)
        reply_droppable = reply is not None and _chance(source, 40)
        actions: tuple[Send | Subscribe | Unsubscribe, ...] = ()
        if _chance(source, config.action_percent):
            actions = _handler_action(source, config, n_roles, len(channels))
        channels.append(
            ChannelSpec(
                topic=topic,
                subscribed=subscribed,
                raises=("base" if _chance(source, config.base_raise_percent) else "exception")
                if raises
                else "",
                sleep=sleep,
                reply=reply,
                reply_droppable=reply_droppable,
                actions=actions,
            )
        )
    bounds = []
    total = 0
    for weight in config.weights:
        total += weight
        bounds.append(total)
    threads = []
    for _ in range(source.integer(1, config.max_threads)):
        ops: list[Op] = []
        for _ in range(source.integer(1, config.max_ops)):
            kind = source.integer(0, total - 1)
            role = source.integer(0, n_roles - 1)
            if _chance(source, config.bad_percent):
                ops.append(Bad(role, _pick(source, BAD_INPUTS)))
            elif kind < bounds[0]:
                ops.append(_send(source, config, role))
            elif kind < bounds[1]:
                ops.append(Subscribe(role, direct=_chance(source, config.direct_percent)))
            elif kind < bounds[2]:
                direct = _chance(source, config.direct_percent)
                ops.append(Unsubscribe(role, direct=direct))
                if direct and _chance(source, config.resubscribe_percent):
                    ops.append(Subscribe(role, direct=True))  # the same object, a new handler
            elif kind < bounds[3]:
                ops.append(Advance(_pick(source, (0.5, 1.0, 2.0))))
            elif kind < bounds[4]:
                ops.append(Settle())
            else:
                ops.append(Shutdown())
        threads.append(tuple(ops))
    # small batches too, so that handing a subscription back and committing part of a
    # broker's work happen inside the explored interleavings
    task_batch = _pick(source, BATCHES)
    route_batch = _pick(source, BATCHES)
    return Scenario(
        tuple(channels),
        tuple(threads),
        brokers=brokers,
        workers=workers,
        task_batch=task_batch,
        route_batch=route_batch,
    )


def _send(source: Source, config: GenConfig, role: int) -> Send:
    seconds = _pick(source, config.expiries)
    droppable = _chance(source, config.droppable_percent)
    local = _chance(source, 15)
    expiry = None
    if seconds is not None:
        expiry = Expiry("timedelta", seconds)
        if _chance(source, config.datetime_percent):
            kind = _pick(source, DATETIME_KINDS)
            offset = _pick(source, OFFSETS) if kind == "offset" else 0
            if _chance(source, config.past_percent):
                seconds = -1.0 - seconds
            expiry = Expiry(kind, seconds, offset)
    return Send(role, expiry=expiry, droppable=droppable, local=local)


def _handler_action(
    source: Source, config: GenConfig, n_roles: int, own: int
) -> tuple[Send | Subscribe | Unsubscribe, ...]:
    """What a handler does on a first-hop message: send, subscribe, unsubscribe (and maybe
    re-subscribe) a role -- its own or another."""
    kind = source.integer(0, 2)
    role = source.integer(0, n_roles - 1)
    if kind == 2 and _chance(source, 50):
        role = own  # a handler that re-subscribes its own channel while more mail is queued
    if kind == 0:
        return (Send(role),)
    direct = _chance(source, config.direct_percent)
    if kind == 1:
        return (Subscribe(role, direct),)
    if direct and _chance(source, config.resubscribe_percent):
        return (Unsubscribe(role, True), Subscribe(role, True))  # a new handler, same object
    return (Unsubscribe(role, direct),)


def scenario_from_seed(seed: int, config: GenConfig = GenConfig()) -> Scenario:
    """The scenario for ``python -m sim run --seed N`` (same seed, same scenario, anywhere)."""
    return generate(RandomSource(seed), config)


def scenarios(config: GenConfig = GenConfig()) -> Any:
    """A Hypothesis strategy of scenarios (shrinks to fewer roles, threads and ops)."""
    from hypothesis import strategies as st

    if not isinstance(config, GenConfig):  # else it fails at the first draw, inside a test
        raise TypeError(f"config must be a sim.GenConfig, not {type(config).__name__}")

    @st.composite
    def build(draw: Any) -> Scenario:
        return generate(HypothesisSource(_Drawer(draw)), config)

    return build()


class _Drawer:
    """Adapts ``st.composite``'s ``draw`` to the ``data.draw`` shape ``HypothesisSource`` uses."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
