"""What the oracle says about a history: violations, the verdict per clause, obligation counts.

``Findings`` collects violations while the checkers run: at most one per (clause,
message, subscription), the one with the earliest witness, so a rule broken a thousand
times by one pair is reported once and the report stays readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sim.history import History

__all__ = ["Findings", "Obligations", "Verdict", "Violation"]


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``witness``: ascending event indices that together show it."""

    clause: str
    msg: int
    sub: int
    witness: tuple[int, ...]
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "clause": self.clause,
            "msg": self.msg,
            "sub": self.sub,
            "witness": list(self.witness),
            "text": self.text,
        }


@dataclass
class Obligations:
    """Counts over matching (message, subscription) pairs and deliveries."""

    must: int = 0
    may: int = 0
    must_not: int = 0
    unchecked: int = 0  #: MUST pairs not checked for loss (no quiescent point, or incomplete)
    delivered: int = 0  #: ``start`` events
    dropped: dict[str, int] = field(default_factory=dict)  #: ``drop`` events by reason
    #: operations the implementation's adapter could not express (``skip`` events), by kind:
    #: they were not exercised, which is neither a pass nor a violation
    skipped: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "must": self.must,
            "may": self.may,
            "must_not": self.must_not,
            "unchecked": self.unchecked,
            "delivered": self.delivered,
            "dropped": dict(sorted(self.dropped.items())),
            "skipped": dict(sorted(self.skipped.items())),
        }


@dataclass
class Verdict:
    violations: list[Violation]
    clauses: dict[str, str]  #: every checked clause -> "pass" or "violated"
    obligations: Obligations

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        o = self.obligations
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(o.dropped.items())) or "none"
        lines = [
            f"{'OK' if self.ok else 'VIOLATED'}: {len(self.violations)} violation(s); "
            f"pairs must {o.must} (unchecked {o.unchecked}), may {o.may}, must-not {o.must_not}; "
            f"delivered {o.delivered}; dropped: {dropped}",
        ]
        if o.skipped:
            skipped = ", ".join(f"{k} {v}" for k, v in sorted(o.skipped.items()))
            lines.append(f"not exercised (the adapter cannot express them): {skipped}")
        bad = [c for c, v in self.clauses.items() if v != "pass"]
        if bad:
            lines.append("violated clauses: " + " ".join(bad))
        for v in self.violations:
            lines.append(f"  [{v.clause}] {v.text} (events {', '.join(map(str, v.witness))})")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "violations": [v.to_json() for v in self.violations],
            "clauses": dict(self.clauses),
            "obligations": self.obligations.to_json(),
        }


class Findings:
    """Violations keyed by (clause, msg, sub); the one with the earliest witness wins."""

    def __init__(self, history: History) -> None:
        self.found: dict[tuple[str, int, int], Violation] = {}
        self.history = history

    def add(self, clause: str, msg: int, sub: int, witness: Iterable[int], text: str) -> None:
        w = tuple(sorted({i for i in witness if i >= 0}))
        key = (clause, msg, sub)
        old = self.found.get(key)
        if old is None or w < old.witness:
            self.found[key] = Violation(clause, msg, sub, w, text)

    def sub(self, s: int) -> str:
        """How a subscription is named in a violation's text."""
        topic = self.history.topics.get(s)
        return f"subscription {s}" if topic is None else f"subscription {s} ({topic!r})"

    def msg(self, m: int) -> str:
        info = self.history.messages.get(m)
        return f"message {m}" if info is None else f"message {m} ({info.topic!r})"

    def sorted(self) -> list[Violation]:
        return sorted(
            self.found.values(),
            key=lambda v: (v.witness[0] if v.witness else -1, v.clause, v.msg, v.sub, v.witness),
        )
