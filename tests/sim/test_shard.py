"""Sharded campaigns: slices are disjoint and complete; shards merge into the unsharded summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.explore import campaign, campaign_specs, jobs_count
from sim.shard import ReportError, load_report, merge, parse_shard, report, shard


@pytest.mark.parametrize("n", [1, 2, 3, 7, 40])
def test_shards_are_disjoint_and_cover_the_campaign(n: int) -> None:
    items = list(range(23))
    slices = [shard(items, i, n) for i in range(1, n + 1)]
    assert sorted(x for s in slices for x in s) == items
    assert max(map(len, slices)) - min(map(len, slices)) <= 1


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_shard(text)


def test_jobs_auto_is_every_usable_core() -> None:
    assert jobs_count("auto") == len(os.sched_getaffinity(0))
    assert jobs_count("3") == 3
    with pytest.raises(ValueError):
        jobs_count("0")


@pytest.mark.spec("C3")
def test_two_shards_merge_into_the_summary_of_the_unsharded_run(tmp_path: Path) -> None:
    specs = campaign_specs(range(16), impl="mutant:deep_copy")
    identity = {"seeds": [0, 15, 16], "impl": "mutant:deep_copy"}
    whole = campaign(specs, jobs=1, trace_dir=tmp_path)
    reports = []
    for i in (2, 1):  # any order
        part = campaign(shard(specs, i, 2), jobs=1, trace_dir=tmp_path)
        path = tmp_path / f"shard{i}.json"
        path.write_text(json.dumps(report(part, identity, i, 2)), encoding="utf-8")
        reports.append(load_report(path))
    merged = merge(reports)
    assert merged.text(timing=False) == whole.text(timing=False)
    assert whole.failures  # the summaries carry failures, each with its replay command
    assert "replay: python -m sim replay" in merged.text(timing=False)
    with pytest.raises(ReportError, match="missing shard"):
        merge(reports[:1])
    with pytest.raises(ReportError, match="given twice"):
        merge([reports[0], reports[0]])
    other = dict(reports[1], campaign={"seeds": [0, 99, 100]})
    with pytest.raises(ReportError, match="another campaign"):
        merge([reports[0], other])


def _sim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_shards_and_merges(tmp_path: Path) -> None:
    base = ("campaign", "--seeds", "0..9", "--impl", "mutant:deep_copy")
    whole = _sim(*base, cwd=tmp_path)
    a = _sim(*base, "--shard", "1/2", "--report", "a.json", cwd=tmp_path)
    b = _sim(*base, "--shard", "2/2", "--report", "b.json", "--jobs", "auto", cwd=tmp_path)
    assert whole.returncode == a.returncode == b.returncode == 1
    assert "/s, " in a.stderr and " left, " in a.stderr  # progress: rate and time left
    merged = _sim("merge", "a.json", "b.json", cwd=tmp_path)
    assert merged.returncode == 1

    def summary(text: str) -> list[str]:
        start = text.index("== chanspec simulation campaign ==")
        return [
            line for line in text[start:].splitlines() if not line.startswith(("wall", "report"))
        ]

    assert summary(merged.stdout) == summary(whole.stdout)
    (tmp_path / "bad.json").write_text('{"format": "chanspec-campaign/1", "shard": [1, 1]}')
    for bad in (["merge", "bad.json"], ["merge", "nope.json"], ["campaign", "--shard", "3/2"]):
        done = _sim(*bad, cwd=tmp_path)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
