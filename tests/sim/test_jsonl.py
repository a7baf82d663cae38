"""The language-neutral history format (specs/history-format.md): round trip and hostile files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim import jsonl
from sim.generate import scenario_from_seed
from sim.history import History
from sim.oracle import check
from sim.runs import judge, record
from sim.strategies import make_strategy


def _recorded(seed: int, impl: str) -> tuple[History, list[str]]:
    trace = record(
        scenario_from_seed(seed), impl, make_strategy("random", seed), seed, 200_000, judge
    )
    return trace.load_history(), trace.threads


@pytest.mark.spec("O2", "C1", "D2")
@pytest.mark.parametrize("impl", ["refimpl", "mutant:shared_task_queue", "mutant:no_send_copy"])
def test_a_history_written_and_read_back_is_the_same_history_with_the_same_verdict(
    impl: str,
) -> None:
    verdicts = set()
    for seed in range(12):  # seed 9 is a schedule on which unordered_commit fails
        history, threads = _recorded(seed, impl)
        text = jsonl.dumps(history, impl=impl, thread_names=dict(enumerate(threads)))
        back = jsonl.loads(text)
        order: dict[int, int] = {}
        for event in history.events:
            order.setdefault(event.thread, len(order))
        assert back.history.events == [e._replace(thread=order[e.thread]) for e in history.events]
        assert back.history.topics == history.topics
        assert back.threads == [threads[t] for t in order]
        verdict = check(history).to_json()
        assert check(back.history).to_json() == verdict
        verdicts.add(verdict["ok"])
    if impl != "refimpl":
        assert False in verdicts  # the mutants' histories carry their violations through the file


HEADER = '{"format": "chanspec-history/1"}'
SEND = '{"ev": "send_call", "t": 0, "thread": "a", "msg": 0, "topic": "a", "expiry": null, "droppable": false, "local": false}'  # noqa: E501

BAD_FILES = {
    "empty": "",
    "not json": "{nope",
    "header missing": SEND,
    "other format": '{"format": "chanspec-history/2"}',
    "NaN time": HEADER + '\n{"ev": "settle_call", "t": NaN, "thread": "a"}',
    "deep nesting": HEADER + "\n" + "[" * 100_000 + "]" * 100_000,
    "unknown kind": HEADER + '\n{"ev": "explode", "t": 0, "thread": "a"}',
    "missing field": HEADER + '\n{"ev": "sub_call", "t": 0, "thread": "a", "sub": 0}',
    "bool as id": HEADER + '\n{"ev": "sub_call", "t": 0, "thread": "a", "sub": true, "topic": "a"}',
    "negative id": HEADER + '\n{"ev": "sub_call", "t": 0, "thread": "a", "sub": -1, "topic": "a"}',
    "thread not a string": HEADER + '\n{"ev": "settle_call", "t": 0, "thread": 3}',
    "start before send": HEADER
    + '\n{"ev": "sub_call", "t": 0, "thread": "a", "sub": 0, "topic": "a"}'
    + '\n{"ev": "start", "t": 0, "thread": "a", "msg": 0, "sub": 0, "copy": "ok"}',
    "second send_call": HEADER + "\n" + SEND + "\n" + SEND,
    "bad copy": HEADER
    + "\n"
    + SEND
    + '\n{"ev": "sub_call", "t": 0, "thread": "a", "sub": 0, "topic": "a"}'
    + '\n{"ev": "start", "t": 0, "thread": "a", "msg": 0, "sub": 0, "copy": "weird"}',
    "bad tolerance": '{"format": "chanspec-history/1", "tolerance": -1}',
    "event is a list": HEADER + "\n[1, 2]",
    "impl names code": '{"format": "chanspec-history/1", "impl": ["os", "abort"]}',
    "notice without about": '{"format": "chanspec-history/1", "notices": true}'
    + '\n{"ev": "sub_call", "t": 0, "thread": "a", "sub": 0, "topic": "*"}'
    + '\n{"ev": "internal", "t": 0, "thread": "w", "sub": 0, "topic": "lona.channels.subscribe"}',
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_history_file_is_one_line_on_stderr_and_exit_2(name: str, tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(BAD_FILES[name], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr


def test_unreadable_files_are_one_line_errors_too(tmp_path: Path) -> None:
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe\x00")
    for target in (tmp_path / "binary.jsonl", tmp_path / "missing.jsonl", tmp_path):
        with pytest.raises(jsonl.HistoryFormatError) as info:
            jsonl.load(target)
        assert str(info.value).startswith(str(target)) and "\n" not in str(info.value)


@pytest.mark.spec("O2")
def test_check_judges_a_hand_written_history_clause_by_clause(tmp_path: Path) -> None:
    """A history no Python driver made: one subscriber runs message 1 before message 0."""
    rows = [
        {"format": "chanspec-history/1", "impl": "by hand"},
        {"ev": "sub_call", "t": 0, "thread": "main", "sub": 0, "topic": "a.*"},
        {"ev": "sub_ret", "t": 0, "thread": "main", "sub": 0},
    ]
    for m in (0, 1):
        rows.append(
            {
                "ev": "send_call",
                "t": 0,
                "thread": "s",
                "msg": m,
                "topic": "a.b",
                "expiry": None,
                "droppable": False,
                "local": False,
            }
        )
        rows.append({"ev": "send_ret", "t": 0, "thread": "s", "msg": m, "seq": m})
    for m in (1, 0):
        rows.append({"ev": "start", "t": 0, "thread": "w", "msg": m, "sub": 0, "copy": "ok"})
        rows.append({"ev": "end", "t": 0, "thread": "w", "msg": m, "sub": 0})
    rows += [
        {"ev": "shutdown_call", "t": 1, "thread": "main"},
        {"ev": "shutdown_ret", "t": 1, "thread": "main"},
    ]
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "violated clauses: O2" in done.stdout
    assert "[O2] subscription 0 ('a.*') received message 1 before message 0" in done.stdout
    # the same history in the right order conforms: the check is not a constant
    fixed = [*rows[:7], rows[9], rows[10], rows[7], rows[8], *rows[11:]]
    path.write_text("\n".join(json.dumps(r) for r in fixed) + "\n", encoding="utf-8")
    ok = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0 and "OK: 0 violation(s)" in ok.stdout, ok.stdout


@pytest.mark.spec("D2")
def test_a_real_thread_run_records_its_history_and_check_reads_it(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", "--seed", "2", "--real", "--record", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    recorded = jsonl.load(out)
    assert recorded.impl == "refimpl" and recorded.tolerance == 5.0
    assert "MainThread" in recorded.threads and any(
        t.startswith("sender-") for t in recorded.threads
    )
    again = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0 and "OK" in again.stdout, again.stdout
    several = subprocess.run(
        [sys.executable, "-m", "sim", "run", "--seeds", "0..1", "--real", "--record", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert several.returncode == 2 and several.stderr.count("\n") == 1


def _notice_rows(notices: bool, heard: tuple[str, ...]) -> list[dict[str, object]]:
    """Subscription 0 listens on lona.channels.*, then subscription 1 ('a') subscribes; the
    listener's handler heard the subscribe notices about *heard*."""
    header: dict[str, object] = {"format": "chanspec-history/1", "impl": "outside"}
    if notices:
        header["notices"] = True
    rows: list[dict[str, object]] = [header]
    for sub, topic in ((0, "lona.channels.*"), (1, "a")):
        rows.append({"ev": "sub_call", "t": 0, "thread": "main", "sub": sub, "topic": topic})
        rows.append({"ev": "sub_ret", "t": 0, "thread": "main", "sub": sub})
    for about in heard:
        notice = {"ev": "internal", "t": 0, "thread": "w", "sub": 0}
        rows.append({**notice, "topic": "lona.channels.subscribe", "about": about})
    rows.append({"ev": "shutdown_call", "t": 1, "thread": "main"})
    rows.append({"ev": "shutdown_ret", "t": 1, "thread": "main"})
    return rows


def _text(rows: list[dict[str, object]]) -> str:
    return "\n".join(json.dumps(r) for r in rows) + "\n"


@pytest.mark.spec("I1")
def test_internal_notices_of_an_outside_recording_are_judged_by_their_about_field() -> None:
    """A recorder in another language names a notice's data topic in ``about`` (documented);
    without it the oracle could not tell which subscribe() a notice was for, and a correct
    implementation read as missing every notice (I1)."""
    both = jsonl.loads(_text(_notice_rows(True, ("lona.channels.*", "a"))))
    assert both.history.notices and check(both.history).ok
    one = jsonl.loads(_text(_notice_rows(True, ("lona.channels.*",))))
    verdict = check(one.history)
    assert [v.clause for v in verdict.violations] == ["I1"]
    assert "about 'a'" in verdict.violations[0].text
    # written back, a notice keeps its data topic in its own field
    assert '"about": "a"' in jsonl.dumps(both.history)
    assert jsonl.loads(jsonl.dumps(both.history)).history.events == both.history.events


@pytest.mark.spec("I1")
def test_check_says_when_notices_are_not_judged(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(_text(_notice_rows(False, ("lona.channels.*",))), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'I1, I2 not judged: the header does not declare "notices": true' in done.stdout
    assert "1 internal event(s)" in done.stdout
