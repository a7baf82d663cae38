"""Determinism across processes: the same run, recorded in fresh interpreters, gives the same bytes.

``sim.runs.determinism_check`` runs a spec twice in one process. That cannot see what differs
*between* processes: memory addresses (identity hashes, so the iteration order of sets of
objects) and ``PYTHONHASHSEED`` (string hashes, so the order of sets of strings). Here each
spec is recorded again in fresh interpreters, one per hash seed in ``HASH_SEEDS``, and every
trace must equal this process's byte for byte; otherwise the first divergence is named with
the thread and code location of the first differing step (interposed points are logged as
``"op module:line"``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sim.explore import RunSpec
from sim.runs import judge, record
from sim.trace import Trace, compare, load

__all__ = ["HASH_SEEDS", "across_processes", "record_spec"]

HASH_SEEDS: tuple[str, ...] = ("1", "2")
_TIMEOUT = 600.0


def record_spec(spec: RunSpec) -> Trace:
    """The trace ``python -m sim run ... --trace-out`` writes for *spec* (as ``run_one``)."""
    scenario = spec.scenario()
    strategy, lines = spec.plan(scenario)
    return record(scenario, spec.impl, strategy, spec.seed, spec.max_steps, judge, lines=lines)


def _child(specs_json: str, out_dir: str) -> None:
    """In the fresh interpreter: record every spec into *out_dir* (one file per spec)."""
    for n, fields in enumerate(json.loads(specs_json)):
        Path(out_dir, f"{n}.json").write_text(record_spec(RunSpec(**fields)).dumps(), "utf-8")


def across_processes(
    specs: Sequence[RunSpec], local: Sequence[Trace], hash_seeds: Sequence[str] = HASH_SEEDS
) -> list[list[str]]:
    """For each spec, the divergences of its fresh-process traces from *local* (its trace here)."""
    found: list[list[str]] = [[] for _ in specs]
    payload = json.dumps([dataclasses.asdict(spec) for spec in specs])
    for hash_seed in hash_seeds:
        with tempfile.TemporaryDirectory() as out:
            code = "import sys; from sim.determinism import _child; _child(*sys.argv[1:])"
            env = dict(os.environ, PYTHONHASHSEED=hash_seed)
            done = subprocess.run(
                [sys.executable, "-c", code, payload, out],
                env=env,
                capture_output=True,
                text=True,
                timeout=_TIMEOUT,
                check=False,
            )
            for n, mine in enumerate(local):
                path = Path(out, f"{n}.json")
                name = f"PYTHONHASHSEED={hash_seed}"
                if not path.exists():
                    tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
                    found[n].append(f"{name}: the fresh process recorded nothing ({tail[0]})")
                    continue
                other = load(path)
                if other.dumps() != mine.dumps():
                    diffs = compare(mine, other, ("this process", name)) or ["trace bytes differ"]
                    found[n].append(diffs[0])
    return found
