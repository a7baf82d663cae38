"""Every mutant is caught by the suite's simulation checks (the ``make mutants`` table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.mutation import hunt, table
from tests.mutants import mutant_params

BUDGET = 1000  #: seeds per strategy; registry_race (a rare race) needs about 730 (`make mutants`)


@pytest.mark.parametrize("name", mutant_params())
def test_mutant_is_caught(name: str, tmp_path: Path) -> None:
    report = hunt(name, BUDGET, tmp_path)
    assert report.caught, (
        f"mutant {name} ({report.breaks}) survived {BUDGET} seeds of random and PCT"
    )
    assert report.replay.startswith("python -m sim replay ")
    assert Path(report.replay.split()[-1]).exists()
    assert "yes" in table([report])


def test_the_reference_implementation_survives_the_same_hunt(tmp_path: Path) -> None:
    from sim.explore import RunSpec, run_one

    for strategy in ("random", "pct"):
        for seed in range(60):
            assert not run_one(RunSpec(seed, "refimpl", strategy), tmp_path).failed
