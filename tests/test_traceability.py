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


def _is_spec_mark(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "spec"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "mark"
    )


def citations() -> dict[str, list[str]]:
    """clause -> the tests citing it (``path::name``), from ``pytest.mark.spec(...)`` marks."""
    cited: dict[str, list[str]] = {}
    shipped = (ROOT / "sim" / "suite").glob("test_*.py")  # the property suite, in the package
    for path in sorted([*(ROOT / "tests").rglob("test_*.py"), *shipped]):
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for mark in (d for d in node.decorator_list if _is_spec_mark(d)):
                assert isinstance(mark, ast.Call)
                for arg in mark.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        cited.setdefault(arg.value, []).append(f"{rel}::{node.name}")
                    elif isinstance(arg, ast.Starred):  # spec(*mutant.clauses)
                        cited.setdefault("*", []).append(f"{rel}::{node.name}")
    return cited


def cited_clauses() -> dict[str, set[str]]:
    """clause -> the test files citing it."""
    return {c: {t.split("::")[0] for t in tests} for c, tests in citations().items()}


def render_index() -> str:
    """``specs/traceability.md``: for every clause, the tests that check it."""
    headings = dict(
        re.findall(
            r"^### ([A-Z]\d+) — (.+)$", (ROOT / "specs" / "channels.md").read_text("utf-8"), re.M
        )
    )
    cited = citations()
    lines = [
        "# Traceability: spec clause -> tests",
        "",
        "Generated from the `@pytest.mark.spec(...)` marks by "
        "`python -m tests.test_traceability > specs/traceability.md`; "
        "`tests/test_traceability.py` fails when it is stale.",
        "",
    ]
    for clause, title in headings.items():
        tests = sorted(set(cited.get(clause, [])))
        lines.append(f"## {clause} — {title}")
        lines.append("")
        lines.extend(f"- `{t}`" for t in tests)
        lines.append("")
    return "\n".join(lines)


def test_the_spec_has_the_clause_groups() -> None:
    clauses = spec_clauses()
    assert len(clauses) >= 50
    assert {c[0] for c in clauses} == set("TAVWDOCESLIHRP")


def test_every_clause_is_cited_by_a_test() -> None:
    cited = cited_clauses()
    missing = sorted(spec_clauses() - set(cited))
    assert not missing, f"clauses no test cites: {missing}"


def test_every_citation_names_a_clause() -> None:
    unknown = {
        c: files for c, files in cited_clauses().items() if c != "*" and c not in spec_clauses()
    }
    assert not unknown, f"tests cite clauses the spec does not have: {unknown}"


def test_the_traceability_index_is_up_to_date() -> None:
    index = ROOT / "specs" / "traceability.md"
    assert index.read_text(encoding="utf-8") == render_index() + "\n", (
        "specs/traceability.md is stale: run "
        "`python -m tests.test_traceability > specs/traceability.md`"
    )


def test_every_mutant_breaks_a_real_clause() -> None:
    from sim.mutants import MUTANTS

    for mutant in MUTANTS.values():
        assert set(mutant.clauses) <= spec_clauses(), mutant.name


if __name__ == "__main__":
    print(render_index())
