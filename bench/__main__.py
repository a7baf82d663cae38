"""``python -m bench [--quick] [--only NAME,...] [--out STEM]``: see ``bench/__init__.py``.

Exit status 0 when every selected measurement ran (whatever the verdicts: a missed
target is reported, not turned into a failure), 1 when one of them crashed (it is
reported in the table as a NOT MET row with the error), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    blocking,
    bugfinding,
    fanout,
    interposed,
    lines,
    long_topics,
    memory,
    oracle_speed,
    redis_fanout,
    reorder,
    scaling,
    send_cost,
    sim_speed,
)
from bench.figure import Figure, Measurement
from bench.machine import describe
from bench.report import summary_table, write
from sim.inputs import InputError, OneLineParser, exit_with, os_reason, output_dir, output_file

__all__ = ["MEASURES", "main"]

#: --only name -> run(quick); in the order they run and are reported
MEASURES: dict[str, Callable[[bool], Measurement]] = {
    fanout.NAME: fanout.run,
    blocking.NAME: blocking.run,
    send_cost.NAME: send_cost.run,
    sim_speed.NAME: sim_speed.run,
    oracle_speed.NAME: oracle_speed.run,
    bugfinding.NAME: bugfinding.run,
    reorder.NAME: reorder.run,
    lines.NAME: lines.run,
    interposed.NAME: interposed.run,
    memory.NAME: memory.run,
    scaling.NAME: scaling.run,
    long_topics.NAME: long_topics.run,
    redis_fanout.NAME: redis_fanout.run,
}

RESULTS = Path(__file__).resolve().parent / "results"


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in MEASURES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown measurement(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(MEASURES)}"
        )
    return names


def _stem(text: str) -> Path:
    """``--out``: a results path without extension whose .md and .json can be written
    (probed now, so that a long run does not end in a traceback)."""
    stem = Path(text)
    if stem.name in ("", ".", ".."):
        raise argparse.ArgumentTypeError(f"{text!r} names no file (want e.g. bench/results/run1)")
    try:
        output_dir(str(stem.parent), "--out")
        if stem.parent.is_dir():
            for suffix in (".md", ".json"):
                output_file(str(stem.with_suffix(suffix)), "--out")
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return stem


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="shrink every size ~20x (a fast check)"
    )
    parser.add_argument(
        "--only", type=_names, help=f"comma-separated subset of: {', '.join(MEASURES)}"
    )
    parser.add_argument(
        "--out", type=_stem, help="results path without extension (default: see above)"
    )
    parser.add_argument("--list", action="store_true", help="list the measurements and exit")
    return parser


def _command(name: str, quick: bool) -> str:
    return f"python -m bench --only {name}" + (" --quick" if quick else "")


def _crashed(name: str, error: BaseException) -> Measurement:
    text = f"{type(error).__name__}: {error}"
    m = Measurement(name, f"{name} (crashed)")
    m.notes.append(
        "The measurement raised:\n\n```\n" + "".join(traceback.format_exception(error)) + "```"
    )
    m.figures.append(
        Figure(
            f"{name}.crashed",
            f"{name}: measurement crashed",
            None,
            "",
            "",
            None,
            None,
            "runs to completion",
            False,
            text,
        )
    )
    return m


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        for name, run in MEASURES.items():
            print(f"{name:10} {(run.__module__ or '').removeprefix('bench.')}")
        return 0
    names: list[str] = args.only or list(MEASURES)
    partial = args.quick or args.only is not None
    stem: Path = args.out or RESULTS / ("partial" if partial else "latest")
    command = "python -m bench" + (" --quick" if args.quick else "")
    if args.only:
        command += " --only " + ",".join(names)
    machine = describe()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    begin = time.perf_counter()
    results: list[Measurement] = []
    crashed = False
    for name in names:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            m = MEASURES[name](args.quick)
        except Exception as error:  # reported in the table, not hidden
            crashed = True
            m = _crashed(name, error)
        m.seconds = time.perf_counter() - t0
        for figure in m.figures:
            figure.command = _command(name, args.quick)
        results.append(m)
        print(f"[bench] {name} done in {m.seconds:.1f} s", file=sys.stderr, flush=True)
    try:
        load_at_end = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load_at_end = []
    meta = {
        "load_average_at_end": load_at_end,
        "command": command,
        "quick": bool(args.quick),
        "started": started,
        "seconds": time.perf_counter() - begin,
        "machine": machine,
    }
    try:
        md, js = write(stem, results, meta)
    except OSError as exc:  # the disk filled up during the run, ...
        print(f"python -m bench: error: {os_reason(exc)}", file=sys.stderr)
        return 2
    print(summary_table(results))
    print(f"\nwritten: {md} and {js} ({meta['seconds']:.1f} s)")
    return 1 if crashed else 0


if __name__ == "__main__":
    exit_with(main)
