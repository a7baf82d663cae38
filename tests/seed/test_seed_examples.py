"""The seed's examples run as scripts and print what the seed says they print.

Each script is run in a fresh interpreter two ways: unchanged (``from lona import Channel``)
through ``python -m refimpl.lona``, and with that import changed to ``from refimpl import
Channel`` under plain ``python``. Nothing in the scripts waits: the default runtime's
drain at interpreter exit (R7) is what delivers their messages before the process ends.

Expected output, from the seed's rules (T4 matching, I1/I2 notices, W1/W2 windows): in
``channels.py`` five channels subscribe, ``*`` last, so ``*`` gets its own subscribe
notice only; the four sends reach 2, 3, 4 and 5 subscribers (``chat.rooms.lona`` does not
match ``chat.rooms.lona-*``); the explicit subscribe/unsubscribe at the end sends two
notices that only ``*`` receives: 17 lines. Run after the two notice examples, those
report every subscribe (8, their own included, in order: one subscriber, O2) and the
one unsubscribe; and ``Channel('*').send(...)`` reaches them too (a wildcard sender
matches every topic, internal ones included, T4), where ``message.data['topic']`` raises
``KeyError``: logged, and the script goes on (H1).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).with_name("examples")
V = "{'lona-version': '2.0'}"
CHANNELS = [
    "lona.channels.subscribe: {'topic': '*'}",
    *["chat.rooms.releases: " + V] * 2,
    *["chat.rooms.lona: {}"] * 3,
    *["chat.rooms.lona-*: " + V] * 4,
    *["*: " + V] * 5,
    "lona.channels.subscribe: {'topic': 'chat.rooms.lona'}",
    "lona.channels.unsubscribe: {'topic': 'chat.rooms.lona'}",
]
SUBSCRIBED = [
    f"one user subscribed to {topic}"
    for topic in (
        "lona.channels.subscribe",
        "lona.channels.unsubscribe",
        "chat.rooms.lona",
        "chat.rooms.lona-releases",
        "chat.rooms.lona-*",
        "chat.rooms.*",
        "*",
        "chat.rooms.lona",
    )
]
#: case -> (the examples, in order, as one script; its output lines; handler errors logged)
CASES = {
    "channels": (["channels.py"], CHANNELS, 0),
    "subscribe_notice": (["subscribe_notice.py"], SUBSCRIBED[:1], 0),
    "notices_then_channels": (
        ["subscribe_notice.py", "unsubscribe_notice.py", "channels.py"],
        [*SUBSCRIBED, "one user unsubscribed from chat.rooms.lona", *CHANNELS],
        2,
    ),
    # the listings serve a non-default runtime: its subscriber gets all three messages (in
    # order: one subscriber, O2), the default runtime's nothing (R8)
    "listings": (["listings.py"], [f"rt got {{'n': {n}}}" for n in range(3)], 0),
}


def segment(output: str, expected: list[str]) -> list[str] | None:
    """*output* as a sequence of exactly the *expected* lines, or None if it is not one.

    ``print`` writes a line's text and its newline separately, so lines printed by
    different worker threads can interleave ("A" "B" "\\n" "\\n"): the newlines are
    dropped and the rest is split into the expected texts (with backtracking: one text
    can be the end of another).
    """
    text = output.replace("\n", "")
    left = Counter(expected)

    def split(at: int) -> list[str] | None:
        if at == len(text):
            return [] if not +left else None
        for line in sorted(left):
            if left[line] and text.startswith(line, at):
                left[line] -= 1
                rest = split(at + len(line))
                left[line] += 1
                if rest is not None:
                    return [line, *rest]
        return None

    return split(0) if output.count("\n") == len(expected) else None


def _script(tmp_path: Path, files: list[str], mode: str) -> list[str]:
    source = "\n\n".join((EXAMPLES / name).read_text() for name in files)
    if mode == "refimpl-import":
        source = source.replace("from lona import", "from refimpl import")
        source = source.replace("from lona.channels import", "from refimpl import")
        assert not re.search(r"^\s*(from|import) lona\b", source, re.M)
    script = tmp_path / "example.py"
    script.write_text(source)
    runner = ["-m", "refimpl.lona"] if mode == "lona-runner" else []
    return [sys.executable, *runner, str(script)]


@pytest.mark.spec("R7", "R8", "R4", "T4", "I1", "I2", "W1", "D1", "O2", "H1")
@pytest.mark.parametrize("mode", ["lona-runner", "refimpl-import"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_seed_example_prints_what_the_seed_says(case: str, mode: str, tmp_path: Path) -> None:
    files, expected, errors = CASES[case]
    command = _script(tmp_path, files, mode)
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    replay = f"replay: {' '.join(command)}  (script kept in {tmp_path})"
    assert done.returncode == 0, f"{done.stderr}\n{replay}"
    logged = done.stderr.count("exception was raised while running")
    assert logged == errors == done.stderr.count("KeyError: 'topic'"), f"{done.stderr}\n{replay}"
    lines = segment(done.stdout, expected)
    assert lines is not None, f"not the expected lines:\n{done.stdout}\n{replay}"
    # one subscriber's lines come in send order (O2)
    for one in ("one user subscribed", "rt got"):
        assert [x for x in lines if x.startswith(one)] == [x for x in expected if x.startswith(one)]


@pytest.mark.spec("D1")
def test_interleaved_prints_are_split_into_the_expected_lines_and_nothing_else() -> None:
    expected = ["*: 1", "a-*: 1", "b"]
    assert segment("a-*: 1*: 1\n\nb\n", expected) == ["a-*: 1", "*: 1", "b"]
    assert segment("*: 1\na-*: 1\nb\n", expected) == expected
    assert segment("*: 1\na-*: 1\n", expected) is None  # a line missing
    assert segment("*: 1\na-*: 1\nb\nb\n", expected) is None  # a line twice
    assert segment("*: 1\na-*: 2\nb\n", expected) is None  # a wrong line
