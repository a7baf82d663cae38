"""Regressions from the adversarial audit of the command-line tools (spec V3, notes/audit.md).

Every entry point answers bad input with one line on stderr and exit status 2: files
that are devices, too large, too deep or hold huge integers; scenario values that cannot
run; outputs that fail when written; bad flags of ``bench``, ``sim.net`` and the
examples. Entry points are called in-process (fast); ``main`` functions that exit
through ``argparse`` raise ``SystemExit(2)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sim.files
from sim.cli import main as sim_main
from sim.net.__main__ import main as net_main
from tests.robustness.test_items_cli import GOOD

Main = Callable[[list[str]], int]


def one_line_exit_2(
    capsys: pytest.CaptureFixture[str], entry: Main, *argv: str, words: tuple[str, ...] = ()
) -> str:
    """Run *entry* with *argv*; assert exit status 2 and exactly one line on stderr."""
    try:
        code = entry(list(argv))
    except SystemExit as stop:  # argparse's way out
        code = int(stop.code or 0) if not isinstance(stop.code, str) else 2
    _, err = capsys.readouterr()
    assert code == 2, (argv, code, err)
    assert err.count("\n") == 1 and err.endswith("\n"), f"not one line: {err!r}"
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    return err


def _scenario(**changes: Any) -> dict[str, Any]:
    send = {"op": "send", "channel": 0, "expiry": None, "droppable": False, "local": False}
    role = {"topic": "a.*", "subscribed": True, "raises": "", "sleep": 0.0, "reply": None}
    data: dict[str, Any] = {
        "version": 2, "brokers": 1, "workers": 1, "timeout": 1.0, "shutdown": True,
        "channels": [{**role, "reply_droppable": False, "actions": []}], "threads": [[send]],
    }  # fmt: skip
    data.update(changes)
    return data


READERS: list[tuple[str, Main, tuple[str, ...]]] = [
    ("replay", sim_main, ("replay",)),
    ("check", sim_main, ("check",)),
    ("scenario", sim_main, ("run", "--seed", "1", "--scenario")),
    ("merge", sim_main, ("merge",)),
    ("sim.net replay", net_main, ("replay",)),
]


@pytest.mark.spec("V3")
@pytest.mark.parametrize("reader", READERS, ids=[r[0] for r in READERS])
def test_a_device_is_refused_not_read_until_memory_runs_out(
    reader: tuple[str, Main, tuple[str, ...]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, entry, argv = reader
    one_line_exit_2(capsys, entry, *argv, "/dev/zero", words=("device",))


@pytest.mark.spec("V3")
@pytest.mark.parametrize("reader", READERS, ids=[r[0] for r in READERS])
def test_a_file_over_the_bound_is_refused(
    reader: tuple[str, Main, tuple[str, ...]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sim.files, "MAX_FILE_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"pad": "x" * 2000}), encoding="utf-8")
    _, entry, argv = reader
    one_line_exit_2(capsys, entry, *argv, str(big), words=("larger than",))


@pytest.mark.spec("V3")
@pytest.mark.parametrize(
    ("name", "text"),
    [("bignum", '{"format": ' + "9" * 5000 + "}"), ("deep", "[" * 100_000 + "]" * 100_000)],
)
@pytest.mark.parametrize("reader", READERS, ids=[r[0] for r in READERS])
def test_json_that_python_cannot_hold_is_refused(
    reader: tuple[str, Main, tuple[str, ...]],
    name: str,
    text: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    _, entry, argv = reader
    one_line_exit_2(capsys, entry, *argv, str(path))


@pytest.mark.spec("V3", "E1")
@pytest.mark.parametrize("where", ["thread", "action"])
@pytest.mark.parametrize("expiry", [1e300, {"kind": "naive", "seconds": -1e300}])
def test_a_scenario_expiry_beyond_any_clock_is_refused(
    where: str, expiry: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to run and end in ``OverflowError`` inside the driver (or, in a handler's
    action, in a swallowed handler error)."""
    send = {"op": "send", "channel": 0, "expiry": expiry, "droppable": False, "local": False}
    data = _scenario()
    if where == "thread":
        data["threads"] = [[send]]
    else:
        data["channels"][0]["actions"] = [send]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    one_line_exit_2(capsys, sim_main, "run", "--scenario", str(path), words=("expiry",))


@pytest.mark.spec("V3")
def test_an_output_that_fails_at_the_end_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # /dev/full passes the probe (it can be opened) and fails when written: a full disk
    one_line_exit_2(capsys, sim_main, "run", "--seed", "1", "--trace-out", "/dev/full")
    one_line_exit_2(
        capsys, net_main, "run", "--seed", "1", "--trace", "/dev/full", words=("space",)
    )


@pytest.mark.spec("V3")
def test_sim_net_probes_its_outputs_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "no" / "t.txt")
    one_line_exit_2(capsys, net_main, "run", "--seed", "1", "--trace", missing, words=("--trace",))
    one_line_exit_2(capsys, net_main, "run", "--seed", "1", "--trace", str(tmp_path))
    (tmp_path / "file").write_text("x")
    not_a_dir = str(tmp_path / "file")
    one_line_exit_2(capsys, net_main, "campaign", "--seeds", "0..0", "--out", not_a_dir)


@pytest.mark.spec("V3")
@pytest.mark.parametrize("jobs", ["100000", "0", "x", "-1"])
def test_jobs_are_bounded(jobs: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--jobs 100000`` forked 100,000 processes before the first run."""
    one_line_exit_2(capsys, sim_main, "run", "--seeds", "0..3", "--jobs", jobs, words=("--jobs",))


@pytest.mark.spec("V3")
def test_a_timeline_width_is_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.json"
    trace.write_text(json.dumps(GOOD), encoding="utf-8")
    one_line_exit_2(capsys, sim_main, "replay", str(trace), "--width", "100000000", words=("1000",))


@pytest.mark.spec("V3")
@pytest.mark.parametrize(
    "argv",
    [["--bogus"], ["--only", ""], ["--out", ""], ["--out", "/proc/no/x"], ["--list", "x"]],
    ids=["flag", "only", "out-empty", "out-unwritable", "extra"],
)
def test_bench_usage_errors_are_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.__main__ import main as bench_main

    one_line_exit_2(capsys, bench_main, *argv)


@pytest.mark.spec("V3")
def test_the_examples_usage_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from examples.corpus.__main__ import main as corpus_main
    from examples.lona_chat.drive import main as drive_main
    from examples.lona_cluster.cluster import main as cluster_main

    one_line_exit_2(capsys, cluster_main, "--bogus")
    one_line_exit_2(capsys, drive_main, "--burst", "0")
    one_line_exit_2(capsys, drive_main, "--runs", "x")
    # a flag passed through to ``sim conform`` that it refuses: one line, no table of errors
    one_line_exit_2(capsys, corpus_main, "mailbox", "--bogus", words=("--bogus",))
    monkeypatch.setenv("CORPUS_OUT", "/proc/no/such")
    one_line_exit_2(capsys, corpus_main, "mailbox", words=("CORPUS_OUT",))


@pytest.mark.spec("V3")
@pytest.mark.parametrize(
    ("argv", "shows"),
    [
        (["-m", "examples.plain_channels"], "received 3 messages, in send order"),
        (["{root}/examples/plain_channels"], "received 4 messages, in send order"),
        (["{root}/examples/redis_server.py"], "PING -> True"),
        (["{root}/examples/lona_cluster", "--port", "x"], None),
        (["{root}/examples/corpus", "no_such_design"], None),
    ],
    ids=["plain-module", "plain-directory", "redis-file", "cluster-directory", "corpus-directory"],
)
def test_an_example_runs_as_a_script_from_anywhere(
    argv: list[str], shows: str | None, tmp_path: Path
) -> None:
    """Run from a directory outside the repository (``examples`` is not installed): the
    directory and file forms used to fail with ``ModuleNotFoundError``."""
    import subprocess
    import sys

    from tests.robustness.helpers import ROOT

    args = [a.format(root=ROOT) for a in argv]
    cwd = ROOT if args[0] == "-m" else tmp_path
    done = subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    if shows is None:  # a usage error, reported the V3 way
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done
    else:
        assert done.returncode == 0, done
        assert shows in done.stdout, done.stdout


def _history(*events: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    head = {"format": "chanspec-history/1", "clock": "s", **(header or {})}
    return "\n".join(json.dumps(e) for e in (head, *events)) + "\n"


SEND = {"ev": "send_call", "t": 0.0, "thread": "main", "msg": 0, "topic": "a", "droppable": False}


@pytest.mark.spec("V3")
@pytest.mark.parametrize(
    "text",
    [
        _history({"ev": ["send_call"], "t": 0.0, "thread": "main"}),  # unhashable: TypeError
        _history({"ev": {"k": 1}, "t": 0.0, "thread": "main"}),
        _history({**SEND, "expiry": 1e308, "local": False}),  # the oracle's us(): OverflowError
        _history({**SEND, "t": -1e300, "expiry": None, "local": False}),
        _history(header={"tolerance": 1e303}),
        _history({"ev": "advance", "t": 0.0, "thread": "main", "seconds": 1e300}),
    ],
    ids=["ev-list", "ev-dict", "expiry-huge", "t-huge", "tolerance-huge", "advance-huge"],
)
def test_a_history_with_values_no_clock_holds_is_one_line(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(text, encoding="utf-8")
    one_line_exit_2(capsys, sim_main, "check", str(path))


@pytest.mark.spec("V3")
def test_a_huge_tolerance_option_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(_history(), encoding="utf-8")
    one_line_exit_2(capsys, sim_main, "check", str(path), "--tolerance", "1e303")


def _report(tmp_path: Path, **changes: Any) -> str:
    from sim.explore import CampaignSummary
    from sim.shard import report

    data = report(CampaignSummary([], 0.5), {"seeds": [0, 1]}, 1, 1)
    data.update(changes)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.mark.spec("V3")
def test_merge_of_a_report_claiming_2_63_shards_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Listing the missing shards built a list of 2**63 numbers (the process was killed)."""
    path = _report(tmp_path, shard=[1, 2**63])
    one_line_exit_2(capsys, sim_main, "merge", path, words=("missing shard", "2/"))


@pytest.mark.spec("V3")
def test_merge_counts_a_report_without_seconds_as_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(Path(_report(tmp_path)).read_text(encoding="utf-8"))
    del data["seconds"]  # merge() read r["seconds"]: KeyError
    path = tmp_path / "no-seconds.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert sim_main(["merge", str(path)]) == 0
    capsys.readouterr()
    infinite = tmp_path / "inf.json"
    infinite.write_text(json.dumps(data).replace("{", '{"seconds": Infinity, ', 1))
    one_line_exit_2(capsys, sim_main, "merge", str(infinite), words=("seconds",))


@pytest.mark.spec("V3")
@pytest.mark.parametrize("broker", [["plain"], {"plain": 1}, 5, None])
def test_sim_net_replay_of_a_trace_naming_no_broker_is_one_line(
    broker: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.net.run import run
    from sim.net.scenario import generate

    lines = run(generate(1), "plain").trace.split("\n")
    head = json.loads(lines[0])
    head["broker"] = broker  # a list made ``broker in BROKERS`` raise TypeError
    path = tmp_path / "t.txt"
    path.write_text("\n".join([json.dumps(head), *lines[1:]]), encoding="utf-8")
    one_line_exit_2(capsys, net_main, "replay", str(path), words=("broker",))


@pytest.mark.spec("V3")
def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    """``python -m bench --list | head -3`` ended in a ``BrokenPipeError`` traceback."""
    import subprocess
    import sys

    from tests.robustness.helpers import ROOT

    program = (
        "from sim.inputs import exit_with\n"
        "def main():\n"
        "    for _ in range(10**6):\n"
        "        print('x' * 100)\n"
        "    return 0\n"
        "exit_with(main)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", program],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline() == "x" * 100 + "\n"
    child.stdout.close()  # as ``head -1`` does
    err = child.stderr.read()
    assert child.wait(timeout=60) == 141
    assert err == "", err


@pytest.mark.spec("V3")
def test_sim_net_says_why_a_negative_seed_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse read ``-5..1`` as an option: "expected one argument"."""
    one_line_exit_2(capsys, net_main, "campaign", "--seeds", "-5..1", words=(">= 0",))


@pytest.mark.spec("V3")
def test_refimpl_lona_names_a_directory_given_as_the_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from refimpl.lona import main as lona_main

    one_line_exit_2(capsys, lona_main, str(tmp_path), words=("is a directory",))
    one_line_exit_2(capsys, lona_main, str(tmp_path / "none.py"), words=("no such script",))
