"""Language-neutral histories, proven on a JavaScript implementation (examples/node-channels).

Node.js plays generated workloads against its own channels implementation and records each
run in the ``chanspec-history/1`` format; the same oracle that judges Python runs judges
these files. Both directions are checked: the correct implementation conforms on every
workload and seed, and the variant with a planted ordering bug is reported on O2 (and only
on O2: the check names the clause it breaks, not a symptom).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim import jsonl
from sim.oracle import check

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node-channels"
WORKLOADS = ("fanout", "churn", "expiry", "shutdown")
SEEDS = "0..9"


def _node() -> str:
    node = shutil.which("node")
    if node is None:  # fail loudly: this proof must not silently disappear from CI
        pytest.fail("Node.js (node) is not installed; it is needed to check examples/node-channels")
    return node


def _record(out: Path, workload: str, bug: str = "") -> list[Path]:
    args = [_node(), str(EXAMPLE / "run.mjs"), "--workload", workload, "--seeds", SEEDS]
    args += ["--out-dir", str(out)] + (["--bug", bug] if bug else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    paths = [Path(line) for line in done.stdout.split()]
    assert len(paths) == 10
    return paths


@pytest.mark.spec("W1", "W2", "D1", "D2", "O2", "O3", "C1", "C2", "C3", "E2", "E3", "S2", "S4")
def test_the_correct_javascript_implementation_conforms_on_every_workload(tmp_path: Path) -> None:
    delivered = 0
    threads: set[str] = set()
    for workload in WORKLOADS:
        for path in _record(tmp_path, workload):
            recorded = jsonl.load(path)
            verdict = check(recorded.history, tolerance=recorded.tolerance)
            assert verdict.ok, f"{path}:\n{verdict.summary()}"
            assert verdict.obligations.unchecked == 0
            delivered += verdict.obligations.delivered
            assert recorded.impl == "node-channels"
            threads.update(recorded.threads)
    assert {"main", "sender-0", "worker-0", "worker-1", "broker-0"} <= threads
    assert delivered > 100  # the workloads do deliver: a conforming verdict is not vacuous


@pytest.mark.spec("O2")
def test_the_planted_ordering_bug_is_reported_on_o2(tmp_path: Path) -> None:
    caught: list[Path] = []
    for workload in WORKLOADS:
        for path in _record(tmp_path, workload, bug="unordered-commit"):
            verdict = check(jsonl.load(path).history)
            assert {v.clause for v in verdict.violations} <= {"O2"}, verdict.summary()
            if not verdict.ok:
                caught.append(path)
    assert len(caught) >= 5, caught
    done = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(caught[0])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "violated clauses: O2" in done.stdout and "[O2] subscription" in done.stdout


def test_the_recorder_rejects_bad_options() -> None:
    done = subprocess.run(
        [_node(), str(EXAMPLE / "run.mjs"), "--workload", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: unknown workload")
