"""``python -m sim.net``: the simulated fault campaign of the networked broker, runs, replays.

    python -m sim.net campaign [--seeds 0..199] [--out DIR]   (make sim-net)
    python -m sim.net run --seed N [--broker NAME] [--trace FILE]
    python -m sim.net replay FILE

Exit status: 0 clean, 1 a violation (or an escaped mutant, or a replay that diverged),
2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sim.files import read_file
from sim.inputs import (
    InputError,
    exit_with,
    negative_values,
    os_reason,
    output_dir,
    output_file,
    seed_range,
)
from sim.net.campaign import campaign
from sim.net.run import BROKERS, CONTROLS, MUTANTS, TraceError, replay, run
from sim.net.scenario import generate


def _seeds(text: str) -> range:
    """``A..B`` (inclusive, as every ``python -m sim`` command), ``A:B`` (half-open) or ``N``
    (the first N seeds)."""
    if ".." in text:
        return seed_range(text)
    low, sep, high = text.partition(":")
    try:
        seeds = range(int(low), int(high)) if sep else range(int(low))
    except ValueError:
        wants = f"--seeds wants A..B, A:B or N, not {text[:20]!r}"
        raise argparse.ArgumentTypeError(wants) from None
    if not seeds or seeds.start < 0:
        raise argparse.ArgumentTypeError(f"--seeds {text[:20]!r} is empty or negative")
    return seeds


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"python -m sim.net: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m sim.net", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    camp = sub.add_parser("campaign", help="controls on every seed, each mutant until caught")
    camp.add_argument("--seeds", type=_seeds, default=range(200))
    camp.add_argument("--out", type=Path, default=Path(".simnet"),
                      help="where failing traces are written (default .simnet/)")
    one = sub.add_parser("run", help="one seed's scenario with one broker")
    one.add_argument("--seed", type=int, required=True)
    one.add_argument("--broker", choices=sorted(BROKERS), default="plain")
    one.add_argument("--trace", type=Path, help="write the trace file here")
    rep = sub.add_parser("replay", help="re-run a trace with its decisions; byte-for-byte check")
    rep.add_argument("file", type=Path)
    args = parser.parse_args(negative_values(sys.argv[1:] if argv is None else argv))
    logging.getLogger("refimpl").setLevel(logging.CRITICAL)
    try:  # outputs are probed before the run, not found unwritable at its end
        if args.command == "campaign":
            output_dir(str(args.out), "--out")
        if args.command == "run" and args.trace is not None:
            output_file(str(args.trace), "--trace")
        return _dispatch(args, parser)
    except BrokenPipeError:  # the reader went away: exit_with ends quietly
        raise
    except (InputError, OSError) as exc:
        reason = os_reason(exc) if isinstance(exc, OSError) else str(exc)
        print(f"python -m sim.net: {reason}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, parser: _Parser) -> int:
    if args.command == "campaign":
        summary = campaign(args.seeds, sorted(CONTROLS), sorted(MUTANTS), args.out)
        caught = sum(v is not None for v in summary.caught.values())
        print(f"sim.net: {summary.runs} runs, {summary.must} cross-process MUST pairs judged, "
              f"{len(summary.failures)} failing control runs, mutants caught "
              f"{caught}/{len(summary.caught)}")
        return 0 if summary.ok else 1
    if args.command == "run":
        if args.seed < 0:
            parser.error("--seed must be >= 0")
        outcome = run(generate(args.seed), args.broker)
        if args.trace is not None:
            args.trace.write_text(outcome.trace, encoding="utf-8")
        for v in outcome.violations[:20]:
            print(f"{v.clause}: {v.text}")
        print(f"{outcome.headline()}  counts {outcome.counts}")
        if outcome.failed:
            print(f"replay: {outcome.replay_command()}")
        return 1 if outcome.failed else 0
    try:
        text = read_file(args.file).decode("utf-8")
        outcome, same = replay(text)
    except (OSError, UnicodeDecodeError, TraceError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"python -m sim.net replay: {args.file}: {reason}", file=sys.stderr)
        return 2
    for v in outcome.violations[:20]:
        print(f"{v.clause}: {v.text}")
    print(("replayed exactly: " if same else "DIVERGED: the replay is not the recorded run; ")
          + outcome.headline())
    return 0 if same and not outcome.failed else 1


if __name__ == "__main__":
    exit_with(main)
