"""Memory: does resident memory stay flat once the queues drain?

Two workloads, each in its own subprocess (``python -m bench.memory KIND JSON``), so
that their peaks do not mix with each other or with the rest of the benchmark:

* ``runtime``: a started refimpl ``Runtime`` at Lona's defaults, 10 subscribers with
  no-op handlers; the main thread sends messages in chunks of *every* and calls
  ``runtime.join()`` after each chunk, then samples.
* ``campaign``: ``sim.explore.run_one(RunSpec(seed))`` for seeds 0 .. n-1 in one
  process, sampled every *every* seeds.

Each sample holds, from ``/proc/self/status``, the current resident set (``VmRSS``)
and the peak so far (``VmHWM``), in MiB, and the number of memory blocks the Python
heap has allocated (``sys.getallocatedblocks()`` right after ``gc.collect()``: live
Python objects and buffers).

* The peak is ``VmHWM`` rather than ``getrusage(RUSAGE_SELF).ru_maxrss`` because Linux
  carries ``ru_maxrss`` over from the parent through fork and exec: in the child it
  starts at the *parent's* peak (the benchmark process, ~100 MiB after the earlier
  measurements), which would hide the child's own. ``ru_maxrss`` is still recorded
  in the JSON samples.
* The current RSS after a drain wanders: the allocator keeps some of the memory the
  drained backlog used (pymalloc frees an arena only when it is entirely empty; glibc
  keeps freed heap). It never exceeds the peak, so it is reported without a target;
  a leak would show as growing peak and growing allocated blocks.
* ``tracemalloc`` is not used: it would slow the 10-million-delivery run several-fold.

The first sample is taken after the first chunk; the growth that matters is from the
second sample to the last (the first chunk still pays for imports, caches and the
allocator's arenas). Target: the peak and the allocated blocks grow by at most 5 %
from the second sample to the last (flat).
"""

from __future__ import annotations

import gc
import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.figure import Figure, Measurement, Table, ratio

__all__ = ["FLAT", "NAME", "campaign", "measure", "run", "runtime", "sample"]

NAME = "memory"
FLAT = 1.05  #: last / second sample at most this
ROOT = Path(__file__).resolve().parent.parent


def _status_mib(*fields: str) -> dict[str, float]:
    """``VmRSS``/``VmHWM``-style fields of ``/proc/self/status``, in MiB (NaN if unreadable)."""
    found = dict.fromkeys(fields, float("nan"))
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name in found:
                    found[name] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return found


def sample(done: int) -> dict[str, float]:
    gc.collect()  # count live blocks, not garbage the cyclic collector has not reached yet
    status = _status_mib("VmRSS", "VmHWM")
    return {
        "done": done,
        "rss_mib": status["VmRSS"],
        "peak_mib": status["VmHWM"],
        "blocks": sys.getallocatedblocks(),
        "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "t": time.perf_counter(),
    }


def _noop(message: Any) -> None:
    return None


def runtime(messages: int, subscribers: int, every: int) -> list[dict[str, float]]:
    from refimpl import Channel, Runtime

    rt = Runtime().start()
    samples = []
    try:
        keep = [Channel("bench.memory", _noop, runtime=rt) for _ in range(subscribers)]
        send = Channel("bench.memory", runtime=rt).send
        rt.join()
        sent = 0
        while sent < messages:
            for i in range(sent, min(sent + every, messages)):
                send({"i": i})
            sent = min(sent + every, messages)
            rt.join()
            samples.append(sample(sent))
        del keep
    finally:
        rt.shutdown()
    return samples


def campaign(seeds: int, every: int) -> list[dict[str, float]]:
    from sim.explore import RunSpec, run_one

    logging.getLogger("refimpl").setLevel(logging.CRITICAL)
    samples = []
    for seed in range(seeds):
        run_one(RunSpec(seed))
        if (seed + 1) % every == 0 or seed + 1 == seeds:
            samples.append(sample(seed + 1))
    return samples


def _child(kind: str, **params: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", kind, json.dumps(params)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("[")]
    if done.returncode != 0 or not lines:
        tail = " | ".join(done.stderr.strip().splitlines()[-5:])
        return {"error": f"bench.memory {kind} failed (exit {done.returncode}): {tail}"}
    return {"samples": json.loads(lines[-1])}


#: (sample field, words, unit, flat target?)
_SERIES = (
    ("peak_mib", "peak RSS (VmHWM)", "MiB", True),
    ("blocks", "Python heap blocks (sys.getallocatedblocks)", "blocks", True),
    ("rss_mib", "current RSS (VmRSS)", "MiB", False),
)


def _figures(m: Measurement, key: str, label: str, result: dict[str, Any], unit_done: str) -> None:
    if "error" in result:
        m.notes.append(result["error"])
        m.figures.append(
            Figure(
                f"{NAME}.{key}_peak",
                f"{label}: peak RSS (VmHWM)",
                None,
                "MiB",
                "2nd sample",
                None,
                None,
                f"<= {FLAT:g}x 2nd sample (flat)",
                False,
                result["error"],
            )
        )
        return
    samples = result["samples"]
    second, last = samples[min(1, len(samples) - 1)], samples[-1]
    for field, words, unit, flat in _SERIES:
        r = ratio(last[field], second[field])
        growth = last[field] - second[field]
        note = f"growth 2nd -> last sample: {growth:+,.1f} {unit}"
        if not flat:
            note += " (allocator retention after each drain; bounded by the peak, see the notes)"
        m.figures.append(
            Figure(
                f"{NAME}.{key}_{field.removesuffix('_mib')}",
                f"{label}: {words} at the last sample",
                last[field],
                unit,
                f"2nd sample ({second['done']:,} {unit_done})",
                second[field],
                r,
                f"<= {FLAT:g}x 2nd sample (flat)" if flat else "none set",
                (r is not None and r <= FLAT) if flat else None,
                note,
            )
        )
    table = Table(
        f"{label}: samples",
        [unit_done, "current RSS MiB", "peak RSS MiB", "heap blocks", "seconds"],
    )
    t0 = samples[0]["t"]
    for s in samples:
        table.rows.append(
            [
                int(s["done"]),
                round(s["rss_mib"], 1),
                round(s["peak_mib"], 1),
                int(s["blocks"]),
                round(s["t"] - t0, 2),
            ]
        )
    m.tables.append(table)


def measure(
    messages: int = 1_000_000,
    subscribers: int = 10,
    every: int = 100_000,
    seeds: int = 1000,
    seeds_every: int = 100,
) -> Measurement:
    rt = _child("runtime", messages=messages, subscribers=subscribers, every=every)
    camp = _child("campaign", seeds=seeds, every=seeds_every)
    m = Measurement(NAME, "Memory")
    m.notes.append(
        f"refimpl runtime: {messages:,} messages to {subscribers} subscribers (no-op handlers, "
        "1 broker + "
        f"4 task workers), in chunks of {every:,} with runtime.join() after each, then a sample. "
        f"Campaign: run_one over seeds 0..{seeds - 1}, a sample every {seeds_every} seeds. "
        "Each in its own "
        "subprocess. Peak = VmHWM, current RSS = VmRSS (/proc/self/status; ru_maxrss is "
        "inherited from the parent across fork+exec on Linux, so it is only kept in the JSON); "
        "heap blocks = sys.getallocatedblocks(); tracemalloc not used. The current RSS after a "
        "drain keeps part of the drained backlog's memory (allocator retention), never above "
        "the peak: it has no target; a leak would show in the peak and the heap blocks. The "
        "sample records themselves (a dict of floats each, kept in the child) add about 9 heap "
        "blocks per sample."
    )
    _figures(m, "runtime", f"Runtime, {messages:,} msgs x {subscribers} subs", rt, "messages")
    _figures(m, "campaign", f"Campaign, {seeds:,} seeds", camp, "seeds")
    m.raw = {"runtime": rt, "campaign": camp}
    return m


def run(quick: bool) -> Measurement:
    if quick:
        return measure(messages=50_000, every=5_000, seeds=50, seeds_every=5)
    return measure()


def main(argv: list[str]) -> int:
    kind, params = argv[0], json.loads(argv[1])
    samples = runtime(**params) if kind == "runtime" else campaign(**params)
    print(json.dumps(samples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
