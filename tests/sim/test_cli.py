"""``python -m sim`` end to end, in subprocesses: determinism across processes, exit codes,
and every printed replay command reproduces its failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def sim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_same_seed_writes_a_byte_identical_trace_in_separate_processes(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        done = sim(
            "run",
            "--seed",
            "7",
            "--strategy",
            "pct",
            "--size",
            "l",
            "--trace-out",
            name,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert json.loads((tmp_path / "a.json").read_text())["format"] == "chanspec-trace/1"
    again = sim("replay", "a.json", "--steps", cwd=tmp_path)  # a passing run replays: exit 0
    assert (
        again.returncode == 0
        and "replayed exactly" in again.stdout
        and "outcome: ok" in again.stdout
    )


def test_a_failure_prints_a_replay_command_that_reproduces_it(tmp_path: Path) -> None:
    done = sim("run", "--seeds", "0..60", "--impl", "mutant:shared_task_queue", cwd=tmp_path)
    assert done.returncode == 1
    lines = [x.strip() for x in done.stdout.splitlines() if x.strip().startswith("replay: ")]
    command = lines[0].removeprefix("replay: ").split()
    assert command[:3] == ["python", "-m", "sim"]
    again = sim(*command[3:], cwd=tmp_path)
    assert again.returncode == 1
    assert "replayed exactly" in again.stdout
    assert "[O2]" in again.stdout or "[O3]" in again.stdout  # the mutant's two clauses


def test_a_tampered_trace_is_reported_as_divergent(tmp_path: Path) -> None:
    assert (
        sim(
            "run", "--seed", "4", "--workers", "3", "--trace-out", "t.json", cwd=tmp_path
        ).returncode
        == 0
    )
    data = json.loads((tmp_path / "t.json").read_text())
    data["decisions"][0] = 999  # no such thread
    (tmp_path / "t.json").write_text(json.dumps(data))
    done = sim("replay", "t.json", cwd=tmp_path)
    assert done.returncode == 1
    assert "DIVERGED" in done.stdout


def test_campaign_summary_and_exit_status(tmp_path: Path) -> None:
    ok = sim("campaign", "--seeds", "0..39", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (
        "schedules 40" in ok.stdout
        and "failures 0" in ok.stdout
        and "distinct interleavings" in ok.stdout
    )
    bad = sim("campaign", "--seeds", "0..9", "--impl", "mutant:deep_copy", cwd=tmp_path)
    assert bad.returncode == 1
    assert (
        "replay: python -m sim replay traces/" in bad.stdout
        and "rerun:  python -m sim run" in bad.stdout
    )


def test_exhaustive_search_reports_how_many_schedules_it_explored(tmp_path: Path) -> None:
    done = sim(
        "run",
        "--seed",
        "2",
        "--strategy",
        "exhaustive",
        "--preemption-bound",
        "1",
        "--budget",
        "300",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout
    assert "schedules explored" in done.stdout


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    assert sim("run", "--strategy", "nonsense", cwd=tmp_path).returncode == 2
    (tmp_path / "x.json").write_text("{}")
    assert sim("replay", "x.json", cwd=tmp_path).returncode == 2
    (tmp_path / "old.json").write_text('{"format": "chanspec-trace/0"}')
    old = sim("replay", "old.json", cwd=tmp_path)
    assert old.returncode == 2 and "not supported" in old.stderr


def test_determinism_self_check_and_fresh_campaign_seeds(tmp_path: Path) -> None:
    done = sim("run", "--seeds", "0..3", "--strategy", "pct", "--determinism", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert done.stdout.count("deterministic (") == 4
    fresh = sim("campaign", "--seeds", "0..9", "--fresh", cwd=tmp_path)
    assert fresh.returncode == 0
    first = fresh.stdout.splitlines()[0]
    assert first.startswith("fresh seeds ") and first != "fresh seeds 0..9"


def test_a_scenario_file_runs_in_simulation_and_on_real_threads(tmp_path: Path) -> None:
    from sim.generate import scenario_from_seed

    (tmp_path / "s.json").write_text(json.dumps(scenario_from_seed(1).to_json()))
    simulated = sim("run", "--scenario", "s.json", "--seeds", "0..20", cwd=tmp_path)
    assert simulated.returncode == 0 and "failures 0" in simulated.stdout
    real = sim("run", "--scenario", "s.json", "--seeds", "0..1", "--real", cwd=tmp_path)
    assert real.returncode == 0 and real.stdout.count("on real threads: ok") == 2
    broken = sim(
        "run",
        "--scenario",
        "s.json",
        "--seed",
        "0",
        "--real",
        "--impl",
        "mutant:deep_copy",
        cwd=tmp_path,
    )
    assert broken.returncode == 1 and "[C3]" in broken.stdout
    assert "rerun: python -m sim run --seed 0 --impl mutant:deep_copy" in broken.stdout
    assert "--scenario s.json --real" in broken.stdout
