"""``python -m examples.corpus [NAME ...]``: ``python -m sim conform`` at its default budget on
every corpus implementation (or the ones named), each in its own process, and a table of
verdicts with wall and CPU (user + system) time. Exit 1 if any verdict is not the expected one:
a control reported violated, or a planted bug not found on any of its clauses.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the repository: the children import ``examples.corpus`` from it, wherever this runs from
ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):  # run as a file or a directory: make the repository importable
    sys.path.insert(0, str(ROOT))

from examples.corpus import CORPUS, Entry, impl  # noqa: E402


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def verdict(entry: Entry, violated: set[str]) -> str:
    """What is wrong with the report, or "ok". A bug found on its clauses and on others too is
    "ok, also ...": the others are printed, so a symptom reported beside the cause stays
    visible, but the bug was found."""
    if not entry.expect:
        return "ok" if not violated else "FALSE ALARM"
    if not violated & entry.expect:
        return "MISSED"
    also = " ".join(sorted(violated - entry.expect))
    return f"ok, also {also}" if also else "ok"


class BadUsage(Exception):
    """``sim conform`` refused its arguments: one line, exit status 2, no table."""


def run(entry: Entry, out: Path, extra: list[str]) -> tuple[str, set[str], float, float]:
    report = out / f"{entry.name}.json"
    cmd = [sys.executable, "-m", "sim", "conform", "--impl", impl(entry.name)]
    cmd += ["--report", str(report), "--trace-dir", str(out / "traces"), *extra]
    began, cpu = time.monotonic(), _cpu()
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall, cpu = time.monotonic() - began, _cpu() - cpu
    (out / f"{entry.name}.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode == 2:  # bad usage (a flag passed through): the same for every entry
        raise BadUsage((done.stderr.strip().splitlines() or ["exit status 2"])[-1])
    if done.returncode not in (0, 1):
        return f"ERROR exit {done.returncode}", set(), wall, cpu
    clauses = json.loads(report.read_text(encoding="utf-8"))["clauses"]
    violated = {c["clause"] for c in clauses if c["result"] == "violated"}
    return verdict(entry, violated), violated, wall, cpu


def main(argv: list[str]) -> int:
    extra = [a for a in argv if a.startswith("--")]
    names = [a for a in argv if not a.startswith("--")]
    unknown = sorted(set(names) - {e.name for e in CORPUS})
    if unknown:  # one line, exit 2: a misspelt name must not pass as an empty, clean table
        known = ", ".join(e.name for e in CORPUS)
        print(
            f"python -m examples.corpus: unknown {', '.join(unknown)}; known: {known}",
            file=sys.stderr,
        )
        return 2
    entries = [e for e in CORPUS if not names or e.name in names]
    # Path("") is ".", which is truthy: test the variable itself, or the reports land in the cwd
    given = os.environ.get("CORPUS_OUT", "")
    try:
        out = Path(given) if given else Path(tempfile.mkdtemp(prefix="corpus-"))
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"python -m examples.corpus: CORPUS_OUT {given}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"python -m sim conform --impl {impl('<name>')} {' '.join(extra)}; reports in {out}")
    print("| implementation | planted bug | expected | reported | verdict | wall s | CPU s |")
    print("|---|---|---|---|---|---|---|")
    bad = 0
    for entry in entries:
        try:
            result, violated, wall, cpu = run(entry, out, extra)
        except BadUsage as exc:
            print(f"python -m examples.corpus: {exc}", file=sys.stderr)
            return 2
        bad += not result.startswith("ok")
        expected = " ".join(sorted(entry.expect)) or "conforms"
        found = " ".join(sorted(violated)) or "conforms"
        print(
            f"| {entry.name} | {entry.what} | {expected} | {found} | {result} "
            f"| {wall:.0f} | {cpu:.0f} |",
            flush=True,
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
