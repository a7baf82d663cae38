"""``python -m sim``: run seeds, replay traces, run campaigns, mutants and conformance.

Every failure printed comes with a one-line command that reproduces it. Exit status is
0 when everything passed, 1 on a violation, divergence or failed run, 2 on bad usage:
then one line on stderr, before anything runs (``sim.inputs`` checks values, output
paths, scenario and trace files up front).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.inputs import (
    InputError,
    OneLineParser,
    column_width,
    impl_name,
    negative_values,
    non_negative_int,
    os_reason,
    output_dir,
    output_file,
    positive_int,
    seed,
    seed_range,
    strategies,
    tolerance,
)
from sim.runs import MAX_STEPS

if TYPE_CHECKING:
    from sim.explore import RunSpec
    from sim.scenario import Scenario

__all__ = ["main"]

TRACE_DIR = Path("traces")


#: the most processes ``--jobs`` may ask for: a pool forks them all at once
MAX_JOBS = 256


def _jobs(text: str) -> int:
    from sim.explore import jobs_count

    try:
        jobs = jobs_count(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--jobs must be 1 to {MAX_JOBS} processes or 'auto', not {text[:20]!r}"
        ) from None
    if jobs > MAX_JOBS:  # --jobs 100000 forked 100,000 processes
        raise argparse.ArgumentTypeError(f"--jobs must be 1 to {MAX_JOBS} processes, not {jobs}")
    return jobs


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--impl",
        default="refimpl",
        type=impl_name,
        help="refimpl | mutant:NAME | lona | lona-1worker | module:factory",
    )
    p.add_argument(
        "--brokers",
        type=int,
        choices=(1, 2, 3),
        help="broker threads (default: drawn per seed, 1-3)",
    )
    p.add_argument(
        "--workers",
        type=int,
        choices=(1, 2, 3, 4),
        help="task workers (default: drawn per seed, 1-4)",
    )
    p.add_argument(
        "--max-steps",
        type=positive_int,
        default=MAX_STEPS,
        help="step limit (livelock) per schedule",
    )
    p.add_argument(
        "--jobs", type=_jobs, default=2, help="processes, or 'auto' for every core (default 2)"
    )
    p.add_argument("--trace-dir", default=str(TRACE_DIR), help="where failing traces are written")
    p.add_argument(
        "--size", choices=("s", "l"), default=None, help="scenario size (campaign default: both)"
    )
    _add_lines(p)


def _add_lines(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--preempt-lines",
        metavar="MODULE[,MODULE]",
        default="",
        help="a scheduling point before each line of these modules ('none': off; "
        "default: the adapter's preempt_lines)",
    )


def _lines_error(impl: str, preempt_lines: str, strategy: str = "") -> str | None:
    """Why this combination of --preempt-lines and strategy cannot run, or None."""
    from sim.lines import LineTracingUnavailable, check_available
    from sim.lines.config import module_file
    from sim.lines.plan import modules_for

    try:
        modules = modules_for(impl, preempt_lines)
        for module in modules:
            module_file(module)
        if strategy == "race" and not modules:
            return f"--strategy race needs --preempt-lines (the adapter of {impl!r} names none)"
        if modules:
            check_available()
    except (ValueError, LineTracingUnavailable) as exc:
        return str(exc)
    return None


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m sim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run seeds under a strategy and check every schedule")
    group = run.add_mutually_exclusive_group()
    group.add_argument("--seed", type=seed)
    group.add_argument("--seeds", type=seed_range, help="N or A..B (inclusive), seeds >= 0")
    run.add_argument(
        "--strategy", default="random", choices=("random", "pct", "race", "exhaustive")
    )
    run.add_argument(
        "--preemption-bound",
        type=non_negative_int,
        default=2,
        help="exhaustive: preemptions per schedule",
    )
    run.add_argument(
        "--budget", type=positive_int, default=2000, help="exhaustive: schedules per seed at most"
    )
    run.add_argument("--trace-out", help="write this (single-seed) run's trace here, pass or fail")
    run.add_argument("--scenario", help="play this scenario file (JSON) instead of generated ones")
    run.add_argument(
        "--real",
        action="store_true",
        help="run on real threads instead (not replayable; the oracle judges each real history)",
    )
    run.add_argument(
        "--record",
        metavar="FILE.jsonl",
        help="--real, one run: write its history in the chanspec-history/1 format",
    )
    run.add_argument(
        "--determinism",
        action="store_true",
        help="self-check: run each seed twice and compare the traces byte for byte",
    )
    _add_common(run)

    camp = sub.add_parser(
        "campaign", help="the main job: many seeds, random and PCT, all configurations"
    )
    camp.add_argument("--seeds", type=seed_range, default=seed_range("0..39999"))
    camp.add_argument(
        "--fresh",
        action="store_true",
        help="shift the seed range by a random offset (printed), to explore new seeds each run",
    )
    camp.add_argument("--strategies", type=strategies, default=strategies("random,pct"))
    camp.add_argument(
        "--shard",
        metavar="I/N",
        help="run only shard I of N (1-based) of the seed range: a deterministic slice",
    )
    camp.add_argument("--report", metavar="FILE.json", help="write the campaign's JSON report")
    _add_common(camp)

    mrg = sub.add_parser(
        "merge", help="merge the JSON reports of a sharded campaign into one summary"
    )
    mrg.add_argument("reports", nargs="+", metavar="REPORT")

    rep = sub.add_parser("replay", help="re-execute a trace, print its timeline, check it")
    rep.add_argument("file")
    rep.add_argument("--steps", action="store_true", help="one row per scheduling step")
    rep.add_argument("--width", type=column_width, default=18, help="lane width (1-1000)")
    rep.add_argument(
        "--impl",
        type=impl_name,
        help="run the trace against this implementation; needed when the trace names one "
        "that is not a registered adapter (a trace never chooses code to import)",
    )
    rep.add_argument("--html", metavar="OUT.html", help="also write the run as an HTML page")

    chk = sub.add_parser(
        "check",
        help="judge a recorded history (chanspec-history/1 JSON Lines) of any implementation",
    )
    chk.add_argument("file")
    chk.add_argument("--html", metavar="OUT.html", help="also write the history as an HTML page")
    chk.add_argument(
        "--tolerance",
        type=tolerance,
        help="clock tolerance in seconds for the expiry rules (default: the file header's)",
    )

    mut = sub.add_parser("mutants", help="run the suite's checks against every mutant: a table")
    mut.add_argument(
        "--budget", type=positive_int, default=1000, help="seeds per strategy at most, per mutant"
    )
    mut.add_argument("--json", help="also write the table as JSON here")

    conf = sub.add_parser(
        "conform", help="clause-by-clause conformance report for an implementation"
    )
    conf.add_argument("--impl", required=True, type=impl_name)
    conf.add_argument("--report", help="write the JSON report here")
    conf.add_argument(
        "--budget",
        type=positive_int,
        default=None,
        help="simulated schedules per strategy (default: sim.conform.DEFAULT_BUDGET)",
    )
    conf.add_argument("--trace-dir", default=str(TRACE_DIR))
    _add_lines(conf)
    conf.add_argument(
        "--real-only",
        action="store_true",
        help="real threads only (automatic when the adapter declines simulation)",
    )
    conf.add_argument(
        "--fresh",
        action="store_true",
        help="shift the seeds by a random offset (printed), as make sim does",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    quirk = next((t for t in given if re.fullmatch(r"--[\w-]+=--", t)), None)
    if quirk is not None:  # argparse would take [] for it, unchecked, and run
        print(f"python -m sim: error: {quirk}: '--' is not a value", file=sys.stderr)
        return 2
    args = _parser().parse_args(negative_values(given))
    logging.getLogger("refimpl").setLevel(logging.CRITICAL)
    logging.getLogger("lona").setLevel(logging.CRITICAL)
    try:
        _check_outputs(args)
        return _dispatch(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away: sim.inputs.exit_with ends quietly
        raise
    except OSError as exc:  # an output that passed the probe failed at the end (disk full, ...)
        print(f"error: {os_reason(exc)}", file=sys.stderr)
        return 2


#: (argument, what, kind): outputs checked before any run, so no result is lost at the end
_OUTPUTS = (
    ("trace_out", "--trace-out", "file"),
    ("record", "--record", "file"),
    ("report", "--report", "file"),
    ("json", "--json", "file"),
    ("html", "--html", "file"),
    ("trace_dir", "--trace-dir", "dir"),
)


def _check_outputs(args: argparse.Namespace) -> None:
    for name, what, kind in _OUTPUTS:
        path = getattr(args, name, None)
        if path:
            (output_file if kind == "file" else output_dir)(path, what)
    scenario = getattr(args, "scenario", None)
    if scenario:
        from sim.inputs import scenario_file

        scenario_file(scenario)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "campaign":
        return _cmd_campaign(args)
    if args.command == "replay":
        return _cmd_replay(args)
    if args.command == "merge":
        return _cmd_merge(args)
    if args.command == "check":
        return _cmd_check(args)
    if args.command == "mutants":
        from sim.mutation import main as mutants_main

        return mutants_main(args.budget, args.json)
    from sim.conform import DEFAULT_BUDGET
    from sim.conform import main as conform_main

    error = _lines_error(args.impl, args.preempt_lines)
    if error is not None:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return conform_main(
        args.impl,
        args.report,
        DEFAULT_BUDGET if args.budget is None else args.budget,
        Path(args.trace_dir),
        real_only=args.real_only,
        fresh=args.fresh,
        lines=args.preempt_lines,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.explore import (
        RunSpec,
        SeedSpecs,
        campaign,
        explore_exhaustive,
        progress_printer,
        run_one,
    )

    seeds = range(args.seed, args.seed + 1) if args.seed is not None else (args.seeds or range(1))
    trace_dir = Path(args.trace_dir)
    specs = SeedSpecs(
        seeds,
        partial(
            RunSpec,
            impl=args.impl,
            strategy=args.strategy,
            brokers=args.brokers,
            workers=args.workers,
            max_steps=args.max_steps,
            size=args.size or "s",
            scenario_file=args.scenario or "",
            preempt_lines=args.preempt_lines,
        ),
    )
    if not args.real:
        error = _lines_error(args.impl, args.preempt_lines, args.strategy)
        if error is not None:
            raise InputError(error)
    elif args.preempt_lines and args.preempt_lines != "none":
        raise InputError("--preempt-lines applies to simulated runs, not --real")
    if args.record and not (args.real and len(specs) == 1):
        raise InputError("--record needs --real and one run (one seed)")
    simulated_once = not (args.real or args.determinism or args.strategy == "exhaustive")
    if args.trace_out and not (simulated_once and len(specs) == 1):
        raise InputError(
            "--trace-out needs one seed, simulated with --strategy random or pct "
            "(not --real, --determinism or exhaustive)"
        )
    if args.real:
        return _real(specs, args.record)
    if args.determinism:
        return _determinism(specs)
    if args.strategy == "exhaustive":
        failed = 0
        for spec in specs:
            found = explore_exhaustive(spec, args.preemption_bound, args.budget, trace_dir)
            state = "complete" if found.complete else f"stopped at the budget of {args.budget}"
            print(
                f"seed {spec.seed}: {found.explored} schedules explored ({state}), "
                f"{len(found.failures)} failing"
            )
            for r in found.failures[:5]:
                print(f"  FAIL {r.headline()}\n       replay: {r.replay_command()}")
            failed += bool(found.failures)
        return 1 if failed else 0
    if len(specs) == 1:
        result = run_one(specs[0], trace_dir, keep=False)
        if args.trace_out:
            from sim.runs import judge, record

            spec = specs[0]
            scenario = spec.scenario()
            strategy, lines = spec.plan(scenario)
            trace = record(
                scenario, spec.impl, strategy, spec.seed, spec.max_steps, judge, lines=lines
            )
            Path(args.trace_out).write_text(trace.dumps(), encoding="utf-8")
            result.trace_path = args.trace_out
        print(
            f"seed {result.spec.seed} ({result.spec.impl}, {result.spec.strategy}, "
            f"{result.brokers} brokers x {result.workers} workers): {result.status}, "
            f"{result.steps} steps, {result.preemptions} preemptions"
        )
        if result.failed:
            for v in result.violations:
                print(f"  [{v['clause']}] {v['text']}")
            if result.error:
                print(f"  {result.error}")
            print(f"replay: {result.replay_command()}")
        return 1 if result.failed else 0
    summary = campaign(specs, args.jobs, trace_dir, progress_printer())
    print(summary.text())
    return 1 if summary.failures else 0


def _real(specs: Sequence[RunSpec], record: str | None = None) -> int:
    """Each spec's scenario on real threads, judged by the oracle (with its clock tolerance)."""
    from sim import jsonl
    from sim.runs import REAL_TOLERANCE, run_real

    bad = 0
    for spec in specs:
        run = run_real(spec.scenario(), spec.impl)
        if run.verdict is None:  # a run that cannot finish is a finding too
            bad += 1
            print(f"seed {spec.seed} on real threads: ERROR: {run.error}")
            print(f"  rerun: {spec.command()} --real")
            continue
        if record:
            options = {"impl": spec.impl, "thread_names": run.thread_names}
            try:
                jsonl.save(record, run.history, tolerance=REAL_TOLERANCE, **options)
            except OSError as exc:
                print(f"error: cannot write {record}: {exc.strerror or exc}", file=sys.stderr)
                return 2
            print(f"history written to {record} (python -m sim check {record})")
        print(f"seed {spec.seed} on real threads: {'ok' if run.ok else 'VIOLATED'}")
        if not run.ok:
            bad += 1
            print(run.summary())
            print(f"  rerun: {spec.command()} --real")
    return 1 if bad else 0


def _determinism(specs: Sequence[RunSpec]) -> int:
    """Run each spec twice here and once in fresh processes (other PYTHONHASHSEED values).

    Any difference between the traces is a harness bug (or nondeterminism in the implementation
    that the simulator does not control): the first differing step is printed.
    """
    from sim.determinism import HASH_SEEDS, across_processes
    from sim.runs import determinism_check, judge

    results = []
    for spec in specs:
        scenario = spec.scenario()
        lines = spec.plan(scenario)[1]

        def fresh(_seed: int, spec: RunSpec = spec, scenario: Scenario = scenario) -> Any:
            return spec.plan(scenario)[0]  # the race plan is memoised: same lines both times

        results.append(
            determinism_check(
                scenario, spec.impl, fresh, spec.seed, spec.max_steps, judge, lines=lines
            )
        )
    elsewhere = across_processes(specs, [r.original for r in results])
    bad = 0
    for spec, result, others in zip(specs, results, elsewhere, strict=True):
        if result.ok and not others:
            print(
                f"seed {spec.seed}: deterministic ({result.original.steps} steps, twice here and "
                f"in fresh processes with PYTHONHASHSEED={','.join(HASH_SEEDS)})"
            )
        else:
            bad += 1
            print(f"seed {spec.seed}: NOT DETERMINISTIC: {result.first or others[0]}")
            print(f"  rerun: {spec.command()} --determinism")
    return 1 if bad else 0


def _cmd_campaign(args: argparse.Namespace) -> int:
    from sim.explore import campaign, campaign_specs, progress_printer
    from sim.shard import parse_shard, report, shard

    try:
        i, n = parse_shard(args.shard) if args.shard is not None else (1, 1)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    chosen = args.strategies
    sizes = [args.size] if args.size else ["s", "l"]
    error = _lines_error(args.impl, args.preempt_lines, "race" if "race" in chosen else "")
    if error is not None:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.fresh:
        import secrets

        offset = secrets.randbelow(10**9) * 100_000  # the only randomness: which seeds, printed
        args.seeds = range(args.seeds.start + offset, args.seeds.stop + offset)
        print(f"fresh seeds {args.seeds[0]}..{args.seeds[-1]}", flush=True)
    specs: Sequence[RunSpec] = campaign_specs(
        args.seeds,
        args.impl,
        chosen,
        sizes,
        args.brokers,
        args.workers,
        args.max_steps,
        args.preempt_lines,
    )
    if n > 1:
        specs = shard(specs, i, n)
        print(f"shard {i}/{n}: {len(specs)} of the campaign's schedules", flush=True)
    summary = campaign(specs, args.jobs, Path(args.trace_dir), progress_printer())
    print(summary.text())
    if args.report:
        identity = {
            "seeds": [args.seeds[0], args.seeds[-1], len(args.seeds)],
            "impl": args.impl,
            "strategies": chosen,
            "sizes": sizes,
            "brokers": args.brokers,
            "workers": args.workers,
            "max_steps": args.max_steps,
            **({"preempt_lines": args.preempt_lines} if args.preempt_lines else {}),
        }
        try:
            Path(args.report).write_text(
                json.dumps(report(summary, identity, i, n), sort_keys=True) + "\n",
                encoding="utf-8",
            )
        except OSError as exc:
            print(f"error: cannot write {args.report}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"report: {args.report} (python -m sim merge REPORT...)")
    return 1 if summary.failures else 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from sim.shard import ReportError, load_report, merge

    try:
        summary = merge([load_report(path) for path in args.reports])
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.text().replace("wall time", "wall time (sum of shards)", 1))
    return 1 if summary.failures else 0


def _write(path: str, text: str) -> bool:
    """Write an output file; False (after a one-line error) if it cannot be written."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return False
    print(f"page: {path}")
    return True


def _cmd_check(args: argparse.Namespace) -> int:
    """Judge a history file recorded by any implementation (specs/history-format.md)."""
    from sim import jsonl
    from sim.oracle import check

    try:
        recorded = jsonl.load(args.file)
    except jsonl.HistoryFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tolerance = recorded.tolerance if args.tolerance is None else args.tolerance
    history = recorded.history
    print(
        f"{args.file}: {recorded.impl or 'unnamed implementation'}, {len(history.events)} events, "
        f"{len(history.messages)} messages, {len(history.topics)} subscriptions, "
        f"{len(recorded.threads)} threads; clock tolerance {tolerance:g} s"
    )
    verdict = check(history, tolerance=tolerance, complete=recorded.complete)
    print(verdict.summary())
    if not history.notices:
        internal = sum(1 for e in history.events if e.kind == "internal")
        print(
            'I1, I2 not judged: the header does not declare "notices": true'
            + (f" (the file has {internal} internal event(s))" if internal else "")
        )
    if not verdict.ok:
        print(f"check again: python -m sim check {args.file}")
    if args.html:
        from sim.htmlview import render

        page = render(
            history,
            recorded.threads,
            [v.to_json() for v in verdict.violations],
            title=f"{recorded.impl or 'history'}: {args.file}",
            status="ok" if verdict.ok else "violation",
            command=f"python -m sim check {args.file}",
        )
        if not _write(args.html, page):
            return 2
    return 0 if verdict.ok else 1


def _cmd_replay(args: argparse.Namespace) -> int:
    from sim.inputs import adapter_for_trace, replay_command
    from sim.runs import judge, replay
    from sim.trace import TraceFormatError, load, timeline

    try:
        trace = load(args.file)
    except (OSError, TraceFormatError) as exc:
        raise InputError(str(exc)) from None
    adapter = adapter_for_trace(trace.impl, args.impl)  # before anything is printed
    print(timeline(trace, steps=args.steps, width=args.width).rstrip("\n"))
    result = replay(trace, judge, adapter=adapter)
    if not result.ok:
        print("DIVERGED: the replay is not the recorded execution")
        for line in result.divergences[:10]:
            print(f"  {line}")
        return 1
    outcome = result.replayed.outcome
    if args.html:
        from sim.htmlview import render

        page = render(
            result.replayed.load_history(),
            result.replayed.threads,
            outcome.get("violations", []),
            title=f"{trace.impl}: {args.file}",
            status=outcome["status"],
            command=replay_command(args.file, trace.impl),
        )
        if not _write(args.html, page):
            return 2
    print(f"replayed exactly ({result.replayed.steps} steps); outcome: {outcome['status']}")
    for v in outcome.get("violations", []):
        print(f"  [{v['clause']}] {v['text']} (events {', '.join(map(str, v['witness']))})")
    return 0 if outcome["status"] == "ok" else 1
