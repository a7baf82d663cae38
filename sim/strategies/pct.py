"""PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte 2010).

Every thread has a priority and the highest-priority runnable thread always runs.
Initial priorities are distinct random values above ``depth``; ``depth - 1`` change
points are drawn uniformly from ``[1, expected_steps]``, and at the i-th one the
running thread's priority drops to ``i`` — below every initial priority. A run thus
contains at most ``depth - 1`` priority inversions placed at random, which finds a
bug of depth d in a run of n threads and k steps with probability at least
1/(n·k^(d-1)); ``expected_steps`` should be close to the real k. The default, 250, is
about the length of the campaign's generated runs (``make bench`` reports it); change
points past the end of a shorter run never fire, so a run much longer or shorter than
that wants its own value.

Threads appear while the program runs, so a thread gets its initial priority when
the strategy first sees it: a uniformly random rank among the threads that still hold
their initial priority, drawn from the seeded generator (the result is the same
random permutation the paper draws up front). The strategy sees the scheduler only
at decisions, so a change point that falls between two decisions takes effect at the
next one, on the thread that was running (``current``, or the last thread chosen if
it has just blocked).
"""

from __future__ import annotations

import random

__all__ = ["PCT"]


class PCT:
    """Same seed, same program: same decisions, on every machine."""

    def __init__(self, seed: int, depth: int = 3, expected_steps: int = 250) -> None:
        if depth < 1:
            raise ValueError(f"PCT depth must be at least 1, not {depth}")
        if expected_steps < 1:
            raise ValueError(f"PCT expected_steps must be at least 1, not {expected_steps}")
        self.seed = seed
        self.depth = depth
        self.expected_steps = expected_steps
        self._random = random.Random(seed)
        draws = sorted(self._random.randint(1, expected_steps) for _ in range(depth - 1))
        #: the change points, ascending; the i-th (from 1) lowers a priority to i
        self.change_points: list[int] = draws
        self._fired = 0
        self._ranked: list[int] = []  # threads still at their initial priority, highest first
        self._lowered: dict[int, int] = {}  # thread -> its lowered priority (1 .. depth-1)
        self._seen: set[int] = set()  # threads given an initial priority
        self._last: int | None = None

    def priority(self, thread: int) -> int:
        """The thread's priority now (initial ones are depth+1, depth+2, ...)."""
        if thread in self._lowered:
            return self._lowered[thread]
        return self.depth + len(self._ranked) - self._ranked.index(thread)

    def _see(self, thread: int) -> None:
        if thread not in self._seen:
            self._seen.add(thread)
            self._ranked.insert(self._random.randint(0, len(self._ranked)), thread)

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        seen = self._seen
        for thread in runnable:  # ascending ids: a deterministic order of first sightings
            if thread not in seen:
                self._see(thread)
        running = current if current is not None else self._last
        while self._fired < len(self.change_points) and self.change_points[self._fired] <= step:
            self._fired += 1
            if running is not None:
                if running in self._ranked:
                    self._ranked.remove(running)
                self._lowered[running] = self._fired
        # the highest priority (priorities are distinct): a thread still at its initial
        # priority outranks every lowered one, and among those the earliest ranked wins
        lowered = self._lowered
        initial = [t for t in runnable if t not in lowered] if lowered else runnable
        if initial:
            chosen = min(initial, key=self._ranked.index)
        else:
            chosen = max(runnable, key=lowered.__getitem__)
        self._last = chosen
        return chosen

    def describe(self) -> dict[str, object]:
        return {
            "name": "pct",
            "seed": self.seed,
            "params": {"depth": self.depth, "expected_steps": self.expected_steps},
        }
