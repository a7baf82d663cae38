"""Running a benchmark child under frontrun 0.7's CLI, which instruments the interpreter it
starts: the one place that finds the CLI, runs the child and reads its JSON result line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.machine import ROOT

__all__ = ["run_child"]

TIMEOUT = 600  #: seconds a child may take


def run_child(module: str, args: dict[str, Any]) -> dict[str, Any]:
    """``frontrun python -m <module> <args as JSON>``: the child's last JSON line, or
    ``{"error": why}`` if frontrun is missing, the child failed or timed out."""
    cli = Path(sys.executable).with_name("frontrun")
    if not cli.exists():
        return {
            "error": f"frontrun CLI not found next to the interpreter ({cli}); "
            "pip install frontrun==0.7.0"
        }
    try:
        done = subprocess.run(
            [str(cli), sys.executable, "-m", module, json.dumps(args)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"frontrun child timed out after {TIMEOUT} s"}
    found = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not found:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return {"error": f"frontrun child failed (exit {done.returncode}): " + " | ".join(tail)}
    result: dict[str, Any] = json.loads(found[-1])
    return result
