"""The spec's clauses, read from ``specs/channels.md`` (its ``### X9 — title`` headings).

The clause list is not written down twice: the oracle's checkers each declare the
clauses they check, and reports order them as the spec does.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

__all__ = ["SPEC_PATH", "spec_clauses", "spec_order"]

#: ``specs/channels.md`` through a symlink in this package, so that a wheel carries the spec
SPEC_PATH = Path(__file__).resolve().parent / "channels.md"
_HEADING = re.compile(r"^### ([A-Z]\d+) — (.+)$", re.MULTILINE)


@cache
def spec_clauses() -> dict[str, str]:
    """Clause id -> title, in the spec's order."""
    try:
        text = SPEC_PATH.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuntimeError(f"cannot read the spec's clause list from {SPEC_PATH}: {exc}") from exc
    return dict(_HEADING.findall(text))


def spec_order(clauses: set[str] | frozenset[str]) -> tuple[str, ...]:
    """*clauses* in the spec's order; a clause the spec does not define is an error."""
    known = spec_clauses()
    unknown = sorted(clauses - known.keys())
    if unknown:
        raise ValueError(f"clauses not defined in {SPEC_PATH.name}: {', '.join(unknown)}")
    return tuple(c for c in known if c in clauses)
