"""What a measurement hands back: figures (one table row each), notes and detail tables.

Every figure carries its own absolute value, the named peer's value, the ratio
``value / peer_value``, the target in words, and whether it was met. ``met`` is
``None`` only where no target was set; a missed target is ``False`` and is printed
as "not met", never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Figure", "Measurement", "Table", "fmt", "ratio"]

Number = int | float


@dataclass
class Figure:
    key: str  #: unique id, e.g. ``fanout.deliveries_per_s``
    label: str  #: what it is, in words
    value: Number | str | None  #: chanspec's figure (None: could not be measured; see ``note``)
    unit: str
    peer: str  #: the named peer, e.g. ``Lona 1.16.2`` or ``bare greenlet switch``
    peer_value: Number | str | None
    ratio: float | None  #: value / peer_value (None where undefined)
    target: str  #: the target in words, or ``none set``
    met: bool | None  #: None only when no target was set
    note: str = ""  #: e.g. why a value is missing, how it was aggregated
    command: str = ""  #: the one-line command that reproduces just this figure (set by the CLI)

    def verdict(self) -> str:
        if self.met is None:
            return "n/a"
        return "met" if self.met else "NOT MET"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict()
        return data


@dataclass
class Table:
    title: str
    headers: Sequence[str]
    rows: list[list[Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "headers": list(self.headers), "rows": self.rows}


@dataclass
class Measurement:
    name: str  #: the ``--only`` name
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  #: method, sizes, caveats
    tables: list[Table] = field(default_factory=list)
    seconds: float = 0.0  #: wall time the measurement took
    raw: dict[str, Any] = field(default_factory=dict)  #: every sample, for the JSON file

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "seconds": round(self.seconds, 3),
            "figures": [f.to_json() for f in self.figures],
            "notes": self.notes,
            "tables": [t.to_json() for t in self.tables],
            "raw": self.raw,
        }


def ratio(value: Number | None, peer: Number | None) -> float | None:
    """``value / peer``; None when either is missing or the peer is zero."""
    if value is None or peer is None or peer == 0:
        return None
    return float(value) / float(peer)


def fmt(value: object, digits: int = 3) -> str:
    """A number for a table: thousands separators, *digits* significant digits for small floats."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "nan"
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.0f}"
        if magnitude == 0:
            return "0"
        return f"{value:.{digits}g}"
    return str(value)
