"""Throughput with blocking handlers on real threads: 8 subscribers that sometimes sleep.

Every handler sleeps 0.5 ms on every seventh message, so task workers spend much of
their time blocked: what counts is how well the implementation keeps the other
subscribers going meanwhile. Target: refimpl at least as fast as Lona 1.16.2 (>= 1x),
with no order violation and no loss (Lona's four task workers may reorder).
"""

from __future__ import annotations

from bench.figure import Measurement
from bench.realthreads import compare

__all__ = ["BLOCK_EVERY", "BLOCK_S", "NAME", "TARGET_RATIO", "measure", "run"]

NAME = "blocking"
TARGET_RATIO = 1.0
BLOCK_EVERY = 7
BLOCK_S = 0.0005


def measure(messages: int = 20_000, subscribers: int = 8, repeats: int = 5) -> Measurement:
    return compare(
        NAME,
        "Blocking handlers (0.5 ms sleep every 7th message)",
        messages=messages,
        subscribers=subscribers,
        repeats=repeats,
        block_every=BLOCK_EVERY,
        block_s=BLOCK_S,
        target_ratio=TARGET_RATIO,
    )


def run(quick: bool) -> Measurement:
    return measure(messages=1_000 if quick else 20_000)
