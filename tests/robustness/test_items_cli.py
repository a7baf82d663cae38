"""Issue 11, items 11-13: the command line and the files it reads.

Every bad input ends in exactly one line on stderr and exit status 2, before anything
runs; a trace file never chooses code to import; nothing that looks like a success is
one. Most cases call ``sim.cli.main`` in-process (fast); the code-execution case runs a
real subprocess, because a regression would abort the interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.explore import RunSpec, campaign_specs, judge
from sim.runs import record
from sim.strategies import make_strategy

ROOT = Path(__file__).resolve().parents[2]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(result: tuple[int, str, str], *words: str) -> None:
    code, _, err = result
    assert code == 2, result
    assert err.count("\n") == 1 and err.endswith("\n"), f"not one line: {err!r}"
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def usage_exit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Like ``cli``, for argparse errors (it raises SystemExit(2))."""
    with pytest.raises(SystemExit) as stop:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(stop.value.code or 0), out, err


def good_trace() -> dict[str, Any]:
    spec = RunSpec(1)
    trace = record(spec.scenario(), "refimpl", make_strategy("random", 1), 1, 200_000, judge)
    data: dict[str, Any] = trace.to_json()
    return data


GOOD = good_trace()


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


# item 11 ------------------------------------------------------------------------------------
@pytest.mark.spec("V1")
def test_item11_a_trace_cannot_choose_code_to_import(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    module = tmp_path / "planted_impl.py"
    module.write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
        "def factory():\n    raise SystemExit('factory ran')\n",
        encoding="utf-8",
    )
    for impl in ("os:abort", "planted_impl:factory"):
        path = write(tmp_path, "evil.json", {**GOOD, "impl": impl})
        done = subprocess.run(
            [sys.executable, "-m", "sim", "replay", path],
            cwd=ROOT,
            env={"PYTHONPATH": f"{ROOT}:{tmp_path}", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, done
        assert done.stderr.count("\n") == 1 and "not a registered adapter" in done.stderr
        assert f"--impl {impl}" in done.stderr and not done.stdout
        assert not marker.exists()


@pytest.mark.spec("V1")
def test_item11_an_explicit_impl_replays_a_trace_the_user_trusts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "t.json", {**GOOD, "impl": "tests.robustness.test_items_cli:nothing"})
    assert_usage_error(cli(capsys, "replay", path), "not a registered adapter")
    code, out, _ = cli(capsys, "replay", path, "--impl", "refimpl")
    assert code == 0 and "replayed exactly" in out  # the user chose the adapter


# item 12: corrupted traces --------------------------------------------------------------------
def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(data))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


CORRUPT: dict[str, Any] = {
    "not_utf8": b"\xff\xfe\x00{",
    "not_json": "{",
    "deep_nesting": "[" * 100_000 + "]" * 100_000,
    "deep_object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "a_list": [1, 2],
    "empty": "",
    "no_format": {"impl": "refimpl"},
    "old_format": {**GOOD, "format": "chanspec-trace/0"},
    "format_not_str": {**GOOD, "format": ["x"]},
    "missing_field": {k: v for k, v in GOOD.items() if k != "log"},
    "impl_int": {**GOOD, "impl": 5},
    "unknown_impl": {**GOOD, "impl": "nonexistent"},
    "unknown_mutant": {**GOOD, "impl": "mutant:nope"},
    "steps_str": {**GOOD, "steps": "x"},
    "steps_mismatch": {**GOOD, "steps": GOOD["steps"] + 1},
    "decisions_not_ints": {**GOOD, "decisions": ["a"]},
    "log_bad": {**GOOD, "log": [[0]]},
    "clock_nan": {**GOOD, "clock": [[0, "nan"]]},
    "time_str": {**GOOD, "time": "soon"},
    "max_steps_zero": {**GOOD, "max_steps": 0},
    "outcome_bad_status": {**GOOD, "outcome": {"status": "great"}},
    "outcome_violations_bad": {**GOOD, "outcome": {"status": "ok", "violations": [1]}},
    "partial_str": {**GOOD, "partial": "yes"},
    "unknown_op": _set(GOOD, ("scenario", "threads", 0, 0), ["explode", 1]),
    "op_channel_out_of_range": _set(GOOD, ("scenario", "threads", 0, 0), ["send", 99]),
    "scenario_list": {**GOOD, "scenario": [1]},
    "scenario_workers_huge": _set(GOOD, ("scenario", "workers"), 10**9),
    "scenario_timeout_inf": _set(GOOD, ("scenario", "timeout"), 1e400),
    "scenario_bad_topic": _set(GOOD, ("scenario", "channels", 0, "topic"), "a["),
    "history_events_bad": _set(GOOD, ("history", "events"), [[1, 2, 3]]),
    "history_not_object": {**GOOD, "history": []},
    "strategy_not_object": {**GOOD, "strategy": "random"},
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
@pytest.mark.spec("V1")
def test_item12_a_corrupted_trace_is_one_line_and_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = CORRUPT[name]
    path = tmp_path / "t.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write(tmp_path, "t.json", content)
    code, out, err = cli(capsys, "replay", str(path))
    assert_usage_error((code, out, err))
    assert not out  # nothing of the forged content was printed


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "--impl", "nope", "--seed", "0"),
        ("campaign", "--impl", "nope:thing"),
        ("conform", "--impl", "mutant:nope"),
        ("campaign", "--strategies", "bogus"),
        ("campaign", "--strategies", ","),
        ("campaign", "--strategies", ""),
        ("campaign", "--strategies", "random,exhaustive"),
        ("run", "--strategy", "exhaustive", "--preemption-bound", "-1"),
        ("run", "--max-steps", "0"),
        ("run", "--seed", "x"),
        ("run", "--seeds", "5..1"),
        ("run", "--seeds", "1.."),
        ("replay", "t.json", "--width", "-5"),
        ("replay", "t.json", "--width", "0"),
        ("check", "h.jsonl", "--tolerance", "-1"),
        ("check", "h.jsonl", "--tolerance", "nan"),
        ("run", "--jobs", "0"),
        ("campaign", "--shard", "3/2"),
    ],
)
@pytest.mark.spec("V1")
def test_item12_bad_arguments_are_one_line_and_exit_2(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    result = usage_exit(capsys, *argv) if argv[:3] != ("campaign", "--shard", "3/2") else None
    if result is None:
        result = cli(capsys, *argv)
    assert_usage_error(result)


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (("run", "--seed", "0", "--trace-out", "{missing}/t.json"), "--trace-out"),
        (("run", "--seed", "0", "--trace-out", "{file}/t.json"), "--trace-out"),
        (("run", "--seed", "0", "--trace-out", "{dir}"), "--trace-out"),
        (("run", "--seed", "0", "--trace-dir", "{file}"), "--trace-dir"),
        (("run", "--seed", "0", "--trace-dir", "{file}/sub"), "--trace-dir"),
        (("campaign", "--seeds", "0", "--report", "{missing}/r.json"), "--report"),
        (("conform", "--impl", "refimpl", "--report", "{missing}/r.json"), "--report"),
        (("mutants", "--json", "{missing}/m.json"), "--json"),
        (("replay", "{trace}", "--html", "{missing}/p.html"), "--html"),
        (("run", "--seed", "0", "--real", "--record", "{missing}/h.jsonl"), "--record"),
    ],
)
@pytest.mark.spec("V1")
def test_item12_unwritable_outputs_are_refused_before_the_run(
    argv: tuple[str, ...], what: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    trace = write(tmp_path, "t.json", GOOD)
    names = {
        "missing": str(tmp_path / "missing"),
        "file": str(tmp_path / "file"),
        "dir": str(tmp_path / "dir"),
        "trace": trace,
    }
    code, out, err = cli(capsys, *(a.format(**names) for a in argv))
    assert_usage_error((code, out, err), what)
    assert not out  # refused before anything ran
    assert not (tmp_path / "missing").exists()  # no directory was created


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "invalid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"channels": [["a"]]}', "lacks threads"),
        (
            '{"channels": [], "threads": [], "brokers": 1, "workers": 1, "timeout": 1, '
            '"shutdown": true}',
            "channels",
        ),
        (
            '{"channels": [["a"]], "threads": [[["send", 3]]], "brokers": 1, "workers": 1, '
            '"timeout": 1, "shutdown": true}',
            "role 3",
        ),
        (
            '{"channels": [["a"]], "threads": [[["sub", -1]]], "brokers": 1, "workers": 1, '
            '"timeout": 1, "shutdown": true}',
            "not -1",
        ),
        (
            '{"channels": [["a"]], "threads": [], "brokers": 0, "workers": 1, "timeout": 1, '
            '"shutdown": true}',
            "brokers",
        ),
        (
            '{"channels": [[5]], "threads": [], "brokers": 1, "workers": 1, "timeout": 1, '
            '"shutdown": true}',
            "topic",
        ),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
@pytest.mark.spec("V1")
def test_item12_a_bad_scenario_file_is_one_line_and_exit_2(
    content: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "s.json", content)
    assert_usage_error(cli(capsys, "run", "--scenario", path), words)


@pytest.mark.spec("V1")
def test_item12_a_missing_or_directory_scenario_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_usage_error(cli(capsys, "run", "--scenario", str(tmp_path / "none.json")))
    assert_usage_error(cli(capsys, "run", "--scenario", str(tmp_path)), "directory")


# item 13: silent successes --------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ("conform", "--impl", "mutant:shared_task_queue", "--budget", "0"),
        ("conform", "--impl", "refimpl", "--budget", "-1"),
        ("mutants", "--budget", "-1"),
        ("mutants", "--budget", "0"),
        ("run", "--strategy", "exhaustive", "--budget", "0"),
    ],
)
@pytest.mark.spec("V1")
def test_item13_a_budget_below_one_is_refused(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert_usage_error(usage_exit(capsys, *argv), "budget")


@pytest.mark.spec("V1")
def test_item13_a_forged_partial_trace_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "t.json", {**GOOD, "partial": True})
    assert_usage_error(cli(capsys, "replay", path), "partial")


@pytest.mark.spec("V1")
def test_item13_a_partial_flag_that_differs_is_a_divergence() -> None:
    from sim.trace import Trace, compare

    whole = Trace.from_json(GOOD)
    claimed = Trace.from_json(
        {
            **GOOD,
            "partial": True,
            "log": [],
            "threads": [],
            "steps": 0,
            "history": {"events": [], "messages": {}, "topics": {}},
        }
    )
    assert any(line.startswith("capture:") for line in compare(claimed, whole))


@pytest.mark.spec("V1")
def test_item13_trace_out_with_several_seeds_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "f.json"
    assert_usage_error(cli(capsys, "run", "--seeds", "0..2", "--trace-out", str(out)), "one seed")
    assert not out.exists()
    code, _, _ = cli(capsys, "run", "--seeds", "0..0", "--trace-out", str(out))
    assert code == 0 and json.loads(out.read_text())["seed"] == 0


@pytest.mark.spec("V1")
def test_item13_report_paths_create_no_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "nonexistent" / "x.json"
    assert_usage_error(cli(capsys, "conform", "--impl", "refimpl", "--report", str(report)))
    assert not report.parent.exists()


@pytest.mark.spec("V1")
def test_item13_a_huge_seed_range_is_lazy() -> None:
    specs = campaign_specs(range(0, 1_000_000_001), "refimpl", ["random", "pct"], ["s", "l"])
    assert len(specs) == 1_000_000_001
    assert specs[-1].seed == 1_000_000_000 and specs[3].strategy == "pct"
    shard = specs[1::4]
    assert len(shard) == 250_000_000 and shard[0].seed == 1
    assert [s.seed for s in specs[:3]] == [0, 1, 2]


@pytest.mark.parametrize("argv", [("--seeds", "-3..-1"), ("--seeds=-3..-1"), ("--seed", "-3")])
@pytest.mark.spec("V1")
def test_item13_negative_seeds_are_refused_clearly(
    argv: tuple[str, ...] | str, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = (argv,) if isinstance(argv, str) else argv
    assert_usage_error(usage_exit(capsys, "run", *parts), "seeds are integers >= 0")
