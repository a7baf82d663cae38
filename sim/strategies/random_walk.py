"""Seeded random walk: at every decision, a uniformly random runnable thread."""

from __future__ import annotations

import random

__all__ = ["RandomWalk"]


class RandomWalk:
    """The same seed gives the same decisions, on every machine (``random.Random`` is portable)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        return runnable[self._random.randrange(len(runnable))]
