"""Seeded random walk: at every decision, a uniformly random runnable thread."""

from __future__ import annotations

import random

__all__ = ["RandomWalk"]


class RandomWalk:
    """The same seed gives the same decisions, on every machine (``random.Random`` is portable).

    A draw is ``random.Random(seed).randrange(n)`` as CPython computes it for a small *n*
    (the fewest bits that hold *n*, drawn again while the value is *n* or more), written
    out: ``randrange``'s argument checks cost about 8% of a simulated step, and the
    decisions must stay those of every trace already recorded with this strategy.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)
        #: ``getrandbits`` of its generator: ``Scheduler.point`` draws with it directly
        self.draw = self._random.getrandbits

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        n = len(runnable)
        k = n.bit_length()
        bits = self.draw
        r = bits(k)
        while r >= n:
            r = bits(k)
        return runnable[r]
