"""Hypothesis-generated hostile files and arguments for the command line.

Traces with any field replaced by any JSON value, scenario files of any JSON shape, and
bad values for every numeric option: ``python -m sim`` must answer each with a run
(exit 0 or 1) or with exactly one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from tests.robustness.test_items_cli import GOOD

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (keys and list indices), the root's children first."""
    found: list[tuple[Any, ...]] = []
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        found.append((*prefix, key))
        if len(prefix) < 3:
            found.extend(_paths(child, (*prefix, key)))
    return found


PATHS = _paths(GOOD)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as stop:  # argparse
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_handled(result: tuple[int, str, str]) -> None:
    code, out, err = result
    assert code in (0, 1, 2), result
    assert "Traceback" not in err + out
    if code == 2:
        assert err.count("\n") == 1, f"not one line: {err!r}"


@FUZZ
@given(st.sampled_from(PATHS), JSON, st.booleans())
@pytest.mark.spec("V1")
def test_a_trace_with_any_field_replaced_is_replayed_or_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    path: tuple[Any, ...],
    value: Any,
    delete: bool,
) -> None:
    data = json.loads(json.dumps(GOOD))
    target = data
    for key in path[:-1]:
        target = target[key]
    if delete and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = value
    file = tmp_path / "t.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    result = run_cli(capsys, "replay", str(file))
    assert_handled(result)
    if result[0] == 0:  # "replayed exactly": only when the replay really is the same run
        assert "replayed exactly" in result[1]


@FUZZ
@given(st.binary(max_size=64), st.integers(0, 2000))
@pytest.mark.spec("V1")
def test_a_truncated_or_garbled_trace_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], noise: bytes, cut: int
) -> None:
    text = json.dumps(GOOD).encode()
    file = tmp_path / "t.json"
    file.write_bytes(text[:cut] + noise)
    assert_handled(run_cli(capsys, "replay", str(file)))


@FUZZ
@given(
    st.one_of(
        JSON,
        st.fixed_dictionaries(
            {
                "channels": st.lists(st.lists(JSON, max_size=6), max_size=3),
                "threads": st.lists(st.lists(st.lists(JSON, max_size=4), max_size=3), max_size=2),
                "brokers": JSON,
                "workers": JSON,
                "timeout": JSON,
                "shutdown": JSON,
            }
        ),
    )
)
@pytest.mark.spec("V1")
def test_any_scenario_file_runs_or_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario: Any
) -> None:
    file = tmp_path / "s.json"
    file.write_text(json.dumps(scenario), encoding="utf-8")
    assert_handled(run_cli(capsys, "run", "--scenario", str(file), "--max-steps", "5000"))


BAD_NUMBERS = st.sampled_from(
    ["-1", "0", "-5", "x", "", "1.5", "1e3", "nan", "--", "٣x", "9" * 30 + "x"]
)
OPTIONS = [
    ("run", "--max-steps"),
    ("run", "--preemption-bound"),
    ("run", "--budget"),
    ("run", "--seed"),
    ("run", "--seeds"),
    ("run", "--jobs"),
    ("campaign", "--seeds"),
    ("campaign", "--strategies"),
    ("campaign", "--shard"),
    ("replay", "--width"),
    ("mutants", "--budget"),
    ("conform", "--budget"),
    ("check", "--tolerance"),
]


@FUZZ
@given(st.sampled_from(OPTIONS), BAD_NUMBERS)
@pytest.mark.spec("V1")
def test_a_bad_option_value_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], option: tuple[str, str], value: str
) -> None:
    command, flag = option
    if value == "0" and flag in ("--preemption-bound", "--seed", "--seeds"):
        value = "-1"  # 0 is a valid bound and a valid seed
    extra = {"replay": ["t.json"], "check": ["h.jsonl"], "conform": ["--impl", "refimpl"]}
    argv = [command, *extra.get(command, []), f"{flag}={value}"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (argv, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err
