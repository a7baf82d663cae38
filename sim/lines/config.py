"""Which lines are scheduling points: ``LinePoints``, stored in a trace so replay sets the same.

``--preempt-lines lona.channels,mypkg.core`` names modules; ``LinePoints(modules)`` makes
every line of their files a point, ``LinePoints(modules, lines)`` only the listed lines
(``"module:lineno"``, sorted: race-directed mode keeps the conflicting ones). Modules are
named, never imported here: ``module_file`` finds the source file without running it,
and code loaded from that file under any module name (interposition loads private
copies) is matched by its ``co_filename``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.machinery import PathFinder
from typing import Any

__all__ = [
    "LinePoints",
    "LineTracingUnavailable",
    "check_available",
    "module_file",
    "parse_modules",
]


class LineTracingUnavailable(RuntimeError):
    """Line preemption cannot run here: ``sys.settrace`` is taken, or not CPython 3.11+."""


def parse_modules(text: str) -> tuple[str, ...]:
    """``"a.b, c"`` -> ``("a.b", "c")``; ValueError on an empty or malformed name."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise ValueError("--preempt-lines needs at least one module name")
    for name in names:
        if not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"--preempt-lines: {name!r} is not a module name")
    return names


def module_file(name: str) -> str:
    """The source file of module *name*, found without importing it or its packages."""
    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
        for i in range(1, len(parts)):
            if spec is None or spec.submodule_search_locations is None:
                spec = None
                break
            spec = PathFinder.find_spec(".".join(parts[: i + 1]), spec.submodule_search_locations)
    except (ImportError, ValueError) as exc:
        raise ValueError(f"--preempt-lines: cannot find module {name!r}: {exc}") from exc
    if spec is None:
        raise ValueError(f"--preempt-lines: no module named {name!r}")
    if not spec.origin or not spec.origin.endswith(".py"):
        raise ValueError(f"--preempt-lines: module {name!r} has no Python source file")
    return spec.origin


def check_available() -> None:
    """Raise ``LineTracingUnavailable`` with the reason if a traced run cannot start now.

    On CPython 3.11 a thread has one ``sys.settrace`` slot. Coverage.py and debuggers use
    it; replacing their tracer would silently corrupt their data, and chaining to it would
    make every line event cost two tracers. So line preemption refuses to start instead.
    """
    from sim.lines.guard import tracing_api_available

    if not tracing_api_available():
        raise LineTracingUnavailable("line preemption needs CPython 3.11 or later")
    current = sys.gettrace()
    if current is not None:
        owner = type(current).__module__ or type(current).__name__
        raise LineTracingUnavailable(
            f"line preemption needs sys.settrace, which is in use by {owner} "
            "(coverage or a debugger); run without it"
        )


@dataclass(frozen=True)
class LinePoints:
    """Scheduling points before lines of *modules*: all of them, or only *lines*."""

    modules: tuple[str, ...]
    lines: tuple[str, ...] | None = None  #: sorted ``"module:lineno"``; None: every line

    @classmethod
    def of(cls, modules: Sequence[str], lines: Iterable[str] | None = None) -> LinePoints:
        chosen = None if lines is None else tuple(sorted(set(lines), key=_line_order))
        return cls(tuple(modules), chosen)

    def files(self) -> dict[str, str]:
        """Source file -> module name."""
        return {module_file(name): name for name in self.modules}

    def wanted(self, module: str) -> frozenset[int] | None:
        """The line numbers of *module* that are points (None: all)."""
        if self.lines is None:
            return None
        prefix = module + ":"
        return frozenset(int(key[len(prefix) :]) for key in self.lines if key.startswith(prefix))

    def to_json(self) -> dict[str, Any]:
        return {
            "modules": list(self.modules),
            "lines": None if self.lines is None else list(self.lines),
        }

    @classmethod
    def from_json(cls, data: Any) -> LinePoints:
        if not isinstance(data, dict) or not isinstance(data.get("modules"), list):
            raise ValueError(f"not a line-points description: {data!r}")
        lines = data.get("lines")
        if lines is not None and not all(
            isinstance(x, str) and x.rpartition(":")[2].isdigit() for x in lines
        ):
            raise ValueError(f"malformed line list in {data!r}")
        modules = data["modules"]
        if not all(isinstance(m, str) for m in modules):
            raise ValueError(f"malformed module list in {data!r}")
        parse_modules(",".join(modules))
        return cls(tuple(modules), None if lines is None else tuple(lines))


def _line_order(key: str) -> tuple[str, int]:
    module, _, line = key.rpartition(":")
    return module, int(line)
