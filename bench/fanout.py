"""Fan-out throughput on real threads: 1 sender, 10 trivial subscribers, refimpl vs Lona.

Target: refimpl delivers at least 3x as many messages per second as Lona 1.16.2 at
Lona's defaults (1 broker, 4 task workers), with no order violation and no loss.
"""

from __future__ import annotations

from bench.figure import Measurement
from bench.realthreads import compare

__all__ = ["NAME", "TARGET_RATIO", "measure", "run"]

NAME = "fanout"
TARGET_RATIO = 3.0


def measure(messages: int = 100_000, subscribers: int = 10, repeats: int = 7) -> Measurement:
    m = compare(
        NAME,
        "Fan-out (1 sender, trivial handlers)",
        messages=messages,
        subscribers=subscribers,
        repeats=repeats,
        target_ratio=TARGET_RATIO,
    )
    m.notes.append(
        "Where refimpl's time goes: `python -m bench.profile_fanout` (cProfile in every thread)."
    )
    return m


def run(quick: bool) -> Measurement:
    return measure(messages=5_000 if quick else 100_000)
