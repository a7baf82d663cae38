"""Regressions from the audit of the library face, ``import sim`` (spec V3, notes/audit.md).

Each argument of the wrong type or range is a ``TypeError``/``ValueError`` at the call,
naming the argument, not an error from deep inside a run (or a run that silently does
something else: ``budget=True`` ran once, ``sim.replay(5)`` read and closed descriptor 5).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import sim
from sim.generate import GenConfig


@pytest.mark.spec("V3")
@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ({"budget": "3"}, TypeError, "budget"),
        ({"budget": True}, TypeError, "budget"),
        ({"budget": 1.5}, TypeError, "budget"),
        ({"seed": "1"}, TypeError, "seed"),
        ({"seed": -1}, ValueError, "seed"),
        ({"max_steps": 0}, ValueError, "max_steps"),
        ({"strategy": 5}, TypeError, "strategy"),
        ({"strategy": "nope"}, ValueError, "strategy"),
        ({"config": "big"}, TypeError, "config"),
        ({"scenarios": "abc"}, TypeError, "scenarios"),
        ({"scenarios": [{"version": 2}]}, TypeError, "scenarios"),
        ({"trace_dir": 5}, TypeError, "trace_dir"),
    ],
)
def test_explore_checks_its_arguments_at_the_call(
    arguments: dict[str, Any], error: type[Exception], words: str
) -> None:
    options: dict[str, Any] = {"budget": 1, "trace_dir": None, **arguments}
    with pytest.raises(error, match=words):
        sim.explore("refimpl", **options)


@pytest.mark.spec("V3")
def test_explore_refuses_a_trace_dir_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):  # FileExistsError after a run
        sim.explore("mutant:deep_copy", budget=1, trace_dir=target)


@pytest.mark.spec("V3")
def test_a_descriptor_number_is_not_a_path(tmp_path: Path) -> None:
    """``open(5)`` reads descriptor 5 and closes it: a number must be refused."""
    fd = os.open(tmp_path / "kept", os.O_CREAT | os.O_RDWR)
    try:
        with pytest.raises(TypeError, match="path"):
            sim.replay(fd)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="path"):
            sim.check_history(fd)  # type: ignore[arg-type]
        os.fstat(fd)  # still open
    finally:
        os.close(fd)


@pytest.mark.spec("V3")
@pytest.mark.parametrize(
    ("tolerance", "error"),
    [("x", TypeError), (float("nan"), ValueError), (-5, ValueError), (1e300, ValueError)],
)
def test_check_history_checks_its_tolerance(tolerance: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="tolerance"):
        sim.check_history(sim.History(), tolerance=tolerance)


@pytest.mark.spec("V3")
@pytest.mark.parametrize(
    "fields",
    [
        {"max_threads": -1},
        {"max_ops": 0},
        {"brokers": 0},
        {"workers": 65},
        {"droppable_percent": 101},
        {"weights": (0, 0, 0, 0, 0, 0)},
        {"weights": (1, 2)},
        {"topics": ()},
        {"topics": ("a[",)},
        {"expiries": (float("inf"),)},
    ],
)
def test_a_generator_config_out_of_range_is_refused_when_made(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        GenConfig(**fields)


@pytest.mark.spec("V3")
def test_scenarios_refuses_a_config_that_is_not_one() -> None:
    with pytest.raises(TypeError, match="GenConfig"):
        sim.scenarios("big")  # type: ignore[arg-type]
