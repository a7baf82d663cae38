"""Mutant tests; ``mutant_params`` parametrizes a test over every mutant."""

from __future__ import annotations

import pytest

from sim.mutants import MUTANTS


def mutant_params(spec: bool = False) -> list[object]:
    """One ``pytest.param`` per mutant (*spec*: marked with the clauses it breaks). A mutant
    whose race needs line points needs ``sys.settrace``, which coverage holds: it is marked
    ``settrace`` (skipped under ``make coverage``)."""
    out: list[object] = []
    for name, mutant in MUTANTS.items():
        marks = [pytest.mark.spec(*mutant.clauses)] if spec else []
        marks += [pytest.mark.settrace] if mutant.preempt_lines else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out
