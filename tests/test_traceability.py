"""Traceability between the spec and the tests: every clause is cited, every citation exists.

Clauses are the ``### X9 — title`` headings of ``specs/channels.md``; citations are the
``@pytest.mark.spec("X9", ...)`` markers of the collected tests.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLAUSE_HEADING = re.compile(r"^### ([A-Z]\d+) — ", re.MULTILINE)


def spec_clauses() -> set[str]:
    return set(CLAUSE_HEADING.findall((ROOT / "specs" / "channels.md").read_text(encoding="utf-8")))


def cited_clauses() -> dict[str, set[str]]:
    """clause -> the test files citing it, from ``pytest.mark.spec(...)`` calls in tests/."""
    cited: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "spec"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "mark"
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        cited.setdefault(arg.value, set()).add(path.name)
                    elif isinstance(arg, ast.Starred):
                        cited.setdefault("*", set()).add(path.name)  # spec(*mutant.clauses)
    return cited


def test_the_spec_has_the_clause_groups() -> None:
    clauses = spec_clauses()
    assert len(clauses) >= 50
    assert {c[0] for c in clauses} == set("TAVWDOCESLIHR")


def test_every_clause_is_cited_by_a_test() -> None:
    cited = cited_clauses()
    missing = sorted(spec_clauses() - set(cited))
    assert not missing, f"clauses no test cites: {missing}"


def test_every_citation_names_a_clause() -> None:
    unknown = {
        c: files for c, files in cited_clauses().items() if c != "*" and c not in spec_clauses()
    }
    assert not unknown, f"tests cite clauses the spec does not have: {unknown}"


def test_every_mutant_breaks_a_real_clause() -> None:
    from sim.mutants import MUTANTS

    for mutant in MUTANTS.values():
        assert set(mutant.clauses) <= spec_clauses(), mutant.name
