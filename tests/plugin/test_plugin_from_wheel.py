"""The pytest plugin, proven from a project outside this repository, installed from a wheel.

The test builds chanspec's wheel with pip, installs it (with its ``test`` extra, from the
pip cache or index) into a fresh virtual environment, writes a small project whose
adapter module lives only there, and runs ``pytest --chanspec-impl mypkg.adapter:NAME``
in it. A correct adapter passes the whole shipped suite (simulated and real-thread
properties); a broken one fails with the clause and a replay command, and that command,
run in the other project, replays the failure. About 40 s, most of it pip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ADAPTER = '''\
"""The project's adapters: its own module, importable only from this project."""

from sim.adapters import RefimplAdapter
from sim.mutants import MUTANTS


def factory():
    return RefimplAdapter()


def broken():
    return MUTANTS["deep_copy"].adapter()
'''


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.spec("C3", "D1", "O2", "W1")
def test_another_project_runs_the_suite_through_the_plugin(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CHANSPEC_TRACE_DIR")}
    source = tmp_path / "source"  # a copy, so the build leaves nothing in this checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("refimpl", "sim", "specs"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)],
        tmp_path,
        env,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("chanspec-*.whl")
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env).returncode == 0
    bin_dir = venv / "bin"
    installed = _run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", f"{wheel}[test]"], tmp_path, env
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    project = tmp_path / "project"
    (project / "mypkg").mkdir(parents=True)
    (project / "mypkg" / "__init__.py").write_text("")
    (project / "mypkg" / "adapter.py").write_text(ADAPTER)
    (project / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"

    where = _run(["python", "-c", "import sim; print(sim.__file__)"], project, env)
    assert where.stdout.startswith(str(venv)), where.stdout  # the wheel's copy, not this repo

    pytest_cmd = ["pytest", "-p", "no:cacheprovider", "--hypothesis-profile", "chanspec-smoke"]
    good = _run([*pytest_cmd, "--chanspec-impl", "mypkg.adapter:factory"], project, env)
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-2000:]
    assert re.search(r"\b10 passed\b", good.stdout), good.stdout[-2000:]
    assert "test_prop_real_threads.py" in good.stdout or "passed" in good.stdout

    bad = _run([*pytest_cmd, "--chanspec-impl", "mypkg.adapter:broken", "-x"], project, env)
    assert bad.returncode == 1, bad.stdout[-3000:]
    assert "[C3]" in bad.stdout
    replay = re.search(r"replay: (python -m sim replay [^\s{}]+\.json(?: --impl \S+)?)", bad.stdout)
    assert replay, bad.stdout[-3000:]
    again = _run(replay.group(1).split(), project, env)
    assert again.returncode == 1 and "replayed exactly" in again.stdout, again.stdout[-2000:]
    assert "[C3]" in again.stdout

    wrong = _run([*pytest_cmd, "--chanspec-impl", "mypkg.nothing:here"], project, env)
    assert wrong.returncode == 4 and "--chanspec-impl mypkg.nothing:here" in wrong.stderr
