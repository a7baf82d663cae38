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
    Advance,
    ChannelSpec,
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
)
#: literal stems that grammar topics are derived from (they overlap the pool)
STEMS: tuple[str, ...] = ("a.b", "a.c", "é.b")
EXPIRIES: tuple[float | None, ...] = (None, None, None, 1.5, 0.0, 0.5, 3.0)
SLEEPS: tuple[float, ...] = (0.0, 0.0, 0.0, 0.25, 2.0)
BATCHES: tuple[int, ...] = (128, 1, 2, 3)


class Source(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...


class RandomSource:
    """Choices from a seeded ``random.Random`` (portable across machines)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self._random.randint(lo, hi)


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


def generate(source: Source, config: GenConfig = GenConfig()) -> Scenario:
    brokers = config.brokers if config.brokers is not None else source.integer(1, 3)
    workers = config.workers if config.workers is not None else source.integer(1, 4)
    n_roles = source.integer(1, config.max_roles)
    channels = []
    for _ in range(n_roles):
        if _chance(source, config.grammar_percent):
            topic = topicgen.topic(source, STEMS)
        else:
            topic = _pick(source, config.topics)
        reply = source.integer(0, n_roles - 1) if _chance(source, 15) else None
        channels.append(
            ChannelSpec(
                topic=topic,
                subscribed=not _chance(source, 30),
                raises=_chance(source, config.raises_percent),
                sleep=_pick(source, SLEEPS),
                reply=reply,
                reply_droppable=reply is not None and _chance(source, 40),
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
            if kind < bounds[0]:
                ops.append(
                    Send(
                        role,
                        expiry=_pick(source, config.expiries),
                        droppable=_chance(source, config.droppable_percent),
                        local=_chance(source, 15),
                    )
                )
            elif kind < bounds[1]:
                ops.append(Subscribe(role))
            elif kind < bounds[2]:
                ops.append(Unsubscribe(role))
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


def scenario_from_seed(seed: int, config: GenConfig = GenConfig()) -> Scenario:
    """The scenario for ``python -m sim run --seed N`` (same seed, same scenario, anywhere)."""
    return generate(RandomSource(seed), config)


def scenarios(config: GenConfig = GenConfig()) -> Any:
    """A Hypothesis strategy of scenarios (shrinks to fewer roles, threads and ops)."""
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Scenario:
        return generate(HypothesisSource(_Drawer(draw)), config)

    return build()


class _Drawer:
    """Adapts ``st.composite``'s ``draw`` to the ``data.draw`` shape ``HypothesisSource`` uses."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
