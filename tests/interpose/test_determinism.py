"""Interposed runs are deterministic byte for byte, across processes and PYTHONHASHSEED values.

``python -m sim run --determinism`` records each run twice in-process and again in fresh
interpreters with other hash seeds (``sim.determinism``); it must pass for the worked example
and for Lona (a ThreadPoolExecutor, whose threads live in a set), and it must catch, naming the
step's thread and line, an implementation whose scheduling follows string hashing. Replay
reports the same first divergence.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HASHY = "tests.interpose.impls.hashy:factory"


def sim(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_interposed_runs_are_the_same_in_every_process(capsys: pytest.CaptureFixture[str]) -> None:
    from sim.cli import main

    for impl, seeds in (("examples.plain_channels.adapter:factory", "0..1"), ("lona", "3")):
        assert main(["run", "--seeds", seeds, "--impl", impl, "--determinism"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines and all("deterministic" in x and "PYTHONHASHSEED=1,2" in x for x in lines)


def test_hash_dependent_scheduling_is_caught_with_its_line(tmp_path: Path) -> None:
    done = sim("run", "--seed", "1", "--impl", HASHY, "--determinism")
    assert done.returncode == 1
    assert "NOT DETERMINISTIC: step" in done.stdout
    assert "'acquire tests.interpose.impls.hashy:" in done.stdout
    trace = tmp_path / "hashy.json"
    sim("run", "--seed", "1", "--impl", HASHY, "--trace-out", str(trace), hash_seed="0")
    again = sim("replay", str(trace), "--impl", HASHY, hash_seed="1")
    assert again.returncode == 1 and "DIVERGED" in again.stdout
    assert "'acquire tests.interpose.impls.hashy:" in again.stdout
    same = sim("replay", str(trace), "--impl", HASHY, hash_seed="0")
    assert "replayed exactly" in same.stdout
