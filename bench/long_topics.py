"""Memory after many distinct long topics: bounded in refimpl, growing in Lona.

Each implementation runs in its own subprocess (``python -m bench.long_topics IMPL COUNT
LENGTH``): 10 subscribers (five literal topics, five patterns), then COUNT messages to
distinct LENGTH-character topics, half of them literal and half patterns (a sender-side
pattern is compiled to be matched), sent in chunks of 100, each drained before the next.
The figure is the growth of the peak resident set (``VmHWM``) from just before the first
send to the end, in MiB.

refimpl compiles only patterns, into its own cache bounded by ``CACHE_CHARS`` pattern
characters (about 18 bytes each once compiled: ~18 MiB), and bypasses ``fnmatch``'s and
``re``'s process-wide caches; target: growth <= 64 MiB after 10,000 topics of 10,000
characters. Lona's ``fnmatch`` compiles every topic it compares and keeps up to 32,768
of them; it is run with a tenth as many topics and its growth is shown scaled by ten
(it is linear until that cache is full).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.figure import Figure, Measurement, ratio
from bench.memory import ROOT, _status_mib
from bench.realthreads import LONA_PEER

__all__ = ["BOUND_MIB", "NAME", "measure", "run"]

NAME = "long_topics"
BOUND_MIB = 64.0
CHUNK = 100

_SUBSCRIBED = ["t.1", "t.2", "t.3", "t.4", "t.5", "x*", "*y", "t.[12]*", "a?c", "*"]


def _topics(start: int, stop: int, length: int) -> list[str]:
    """Distinct topics of *length* characters, made a chunk at a time (never all held)."""
    out = []
    for i in range(start, stop):
        tag = f"{i:08d}"
        body = "q" * (length - len(tag) - 1)
        out.append(f"{tag}{body}*" if i % 2 else f"{tag}{body}z")  # every other one a pattern
    return out


def _peak() -> float:
    return _status_mib("VmHWM")["VmHWM"]


def _noop(message: Any) -> None:
    return None


def child_refimpl(count: int, length: int) -> dict[str, float]:
    from refimpl import Channel, Runtime

    rt = Runtime().start()
    keep = [Channel(t, _noop, runtime=rt) for t in _SUBSCRIBED]
    rt.join()
    before = _peak()
    for start in range(0, count, CHUNK):
        for topic in _topics(start, min(start + CHUNK, count), length):
            Channel(topic, runtime=rt).send()
        rt.join()
    after = _peak()
    rt.shutdown()
    del keep
    return {"before_mib": before, "after_mib": after, "growth_mib": after - before}


def child_lona(count: int, length: int) -> dict[str, float]:
    from bench.realthreads import lona_system

    with lona_system() as channel_class:
        for topic in _SUBSCRIBED:
            channel = channel_class(topic)
            channel._handler = _noop
            channel_class._channels.setdefault(topic, []).append(channel)
        before = _peak()
        for start in range(0, count, CHUNK):
            for topic in _topics(start, min(start + CHUNK, count), length):
                channel_class(topic).send()
            while not (channel_class._messages.empty() and channel_class._tasks.empty()):
                time.sleep(0.002)
        time.sleep(0.05)
        after = _peak()
    return {"before_mib": before, "after_mib": after, "growth_mib": after - before}


def _child(impl: str, count: int, length: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.long_topics", impl, str(count), str(length)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"bench.long_topics {impl} failed (exit {done.returncode}): {tail}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def measure(count: int = 10_000, length: int = 10_000) -> Measurement:
    ours = _child("refimpl", count, length)
    theirs = _child("lona", count // 10, length)
    lona_scaled = theirs["growth_mib"] * 10
    m = Measurement(NAME, "Memory after distinct long topics")
    m.notes.append(__doc__.split("\n\n", 1)[1].replace("\n", " ") if __doc__ else "")
    m.notes.append(
        f"refimpl: {count:,} topics of {length:,} characters, peak {ours['before_mib']:.0f} -> "
        f"{ours['after_mib']:.0f} MiB; Lona: {count // 10:,} topics, peak "
        f"{theirs['before_mib']:.0f} -> {theirs['after_mib']:.0f} MiB (x10 in the figure)."
    )
    m.figures.append(
        Figure(
            f"{NAME}.peak_growth_mib",
            f"peak RSS growth after {count:,} distinct {length:,}-character topics",
            ours["growth_mib"],
            "MiB",
            LONA_PEER + " (x10 of a tenth as many topics)",
            lona_scaled,
            ratio(ours["growth_mib"], lona_scaled),
            f"<= {BOUND_MIB:g} MiB",
            ours["growth_mib"] <= BOUND_MIB,
        )
    )
    m.raw = {"refimpl": ours, "lona": theirs}
    return m


def run(quick: bool) -> Measurement:
    return measure(count=1_000 if quick else 10_000)


if __name__ == "__main__":
    impl, count_text, length_text = sys.argv[1:4]
    runner = child_refimpl if impl == "refimpl" else child_lona
    print(json.dumps(runner(int(count_text), int(length_text))))
