"""The HTML failure view, opened in a real headless browser (Chromium from Debian's packages).

``make test`` installs Chromium first (``make browser``); if it is missing these tests fail,
they never skip. The screenshots are kept in ``test-output/html-view/`` (or
``$CHANSPEC_TEST_OUTPUT``) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.explore import RunSpec, run_one
from sim.history import History, MessageInfo
from sim.htmlview import render

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("CHANSPEC_TEST_OUTPUT", ROOT / "test-output")) / "html-view"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is not installed: run `make browser` (apt-get install chromium)")


def _browser(page: Path, profile: Path, *mode: str) -> str:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1600,900",
    ]
    done = subprocess.run(
        [_chromium(), *flags, *mode, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _page_for(spec: RunSpec, tmp_path: Path) -> tuple[Path, dict[str, object]]:
    result = run_one(spec, tmp_path / "traces", keep=True)
    out = tmp_path / "view.html"
    done = subprocess.run(
        [sys.executable, "-m", "sim", "replay", result.trace_path, "--html", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == (1 if result.failed else 0), done.stdout + done.stderr
    return out, {"violations": result.violations}


def _first_failing(impl: str, tmp_path: Path) -> RunSpec:
    """The first seed on which *impl* fails (which one moves whenever refimpl's points do)."""
    for seed in range(100):
        if run_one(RunSpec(seed, impl), tmp_path / "hunt").failed:
            return RunSpec(seed, impl)
    raise AssertionError(f"{impl} did not fail on seeds 0..99")


@pytest.mark.spec("O2")
def test_the_page_draws_lanes_arrows_and_pins_the_violation(tmp_path: Path) -> None:
    page, run = _page_for(_first_failing("mutant:unordered_commit", tmp_path), tmp_path)
    dom = _browser(page, tmp_path / "profile", "--dump-dom")
    assert 'data-rendered="true"' in dom  # the drawing code ran to its end
    threads = len(re.findall(r'class="lane thread"', dom))
    subs = len(re.findall(r'class="lane sub"', dom))
    assert threads >= 3 and subs >= 1
    assert len(re.findall(r'class="arrow"', dom)) >= 3  # sends to their deliveries
    violations = run["violations"]
    assert isinstance(violations, list) and violations
    markers = re.findall(r'class="violation-marker" id="violation-\d+" data-clause="(\w+)"', dom)
    assert markers == [v["clause"] for v in violations]
    assert len(re.findall(r'class="witness"', dom)) >= len(violations[0]["witness"])
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "unordered_commit-seed26.png"
    _browser(page, tmp_path / "profile", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000


@pytest.mark.spec("O2")
def test_a_passing_run_has_lanes_and_no_violation_marker(tmp_path: Path) -> None:
    page, _ = _page_for(RunSpec(10, "refimpl"), tmp_path)
    dom = _browser(page, tmp_path / "profile", "--dump-dom")
    assert 'data-rendered="true"' in dom and 'class="lane sub"' in dom
    assert 'class="violation-marker"' not in dom and 'class="witness"' not in dom


def test_no_text_from_a_history_can_become_markup() -> None:
    evil = "</script><script>alert(1)</script><b>"
    history = History()
    history.topics[0] = evil
    history.messages[0] = MessageInfo(evil, None, False, False, 0)
    history.add(0.0, 0, "sub_call", sub=0, info=evil)
    history.add(0.0, 0, "send_call", 0, info=evil)
    violation = {"clause": "T4", "text": evil, "witness": [1]}
    page = render(history, [evil], [violation], title=evil, status="violation", command=evil)
    assert evil not in page and "alert(1)</script>" not in page
    assert page.count("</script>") == 2  # the page's own two scripts, nothing more
