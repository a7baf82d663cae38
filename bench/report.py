"""Writing results: one Markdown table (plus a section per measurement) and one JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.figure import Figure, Measurement, Table, fmt

__all__ = ["machine_line", "summary_table", "to_json", "to_markdown", "write"]

HEADERS = [
    "Figure",
    "chanspec",
    "Unit",
    "Peer",
    "Peer value",
    "Ratio",
    "Target",
    "Verdict",
    "Reproduce",
]


def _cell(value: object) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def _ratio(figure: Figure) -> str:
    return "—" if figure.ratio is None else f"{figure.ratio:.3g}x"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(headers), _row(["---"] * len(headers)), *(_row(r) for r in rows)]


def summary_table(measurements: list[Measurement]) -> str:
    rows = []
    for m in measurements:
        for f in m.figures:
            rows.append(
                [
                    _cell(f.label),
                    _cell(f.value),
                    _cell(f.unit),
                    _cell(f.peer),
                    _cell(f.peer_value),
                    _ratio(f),
                    _cell(f.target),
                    f.verdict(),
                    f"`{f.command}`",
                ]
            )
    return "\n".join(_table(HEADERS, rows))


def machine_line(machine: dict[str, Any]) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    dirty = " (with uncommitted changes)" if machine.get("git_dirty") else ""
    load = " ".join(str(x) for x in machine.get("load_average_at_start", []))
    return (
        f"{machine['cpu_model']}, {machine['cores']} cores ({machine['cores_usable']} usable), "
        f"{machine['memory_gib']} GiB; {machine['platform']}; Python {machine['python']} "
        f"({machine['python_implementation']}); {packages}; "
        f"git {machine['git_commit'][:12]}{dirty}; "
        f"load average at start {load}"
    )


def _busy(meta: dict[str, Any]) -> list[str]:
    """A warning when the 1-minute load average exceeded the core count at start or end."""
    machine = meta["machine"]
    cores = machine.get("cores") or 1
    start = machine.get("load_average_at_start") or [0.0]
    end = meta.get("load_average_at_end") or [0.0]
    if max(start[0], end[0]) <= cores:
        return []
    return [
        f"**Warning: the machine was busy** (1-minute load average {start[0]} at start, "
        f"{end[0]} at the end, on {cores} cores; the end figure includes this benchmark's own "
        "last minute): other processes may have competed for the CPU, so throughput figures "
        "may be lower and noisier than on an idle machine.",
        "",
    ]


def _detail_table(table: Table) -> list[str]:
    rows = [[_cell(c) for c in row] for row in table.rows]
    return [f"**{table.title}**", "", *_table([str(h) for h in table.headers], rows), ""]


def to_markdown(measurements: list[Measurement], meta: dict[str, Any]) -> str:
    lines = [
        "# chanspec benchmark results",
        "",
        f"Command: `{meta['command']}` — started {meta['started']} UTC, "
        f"{meta['seconds']:.1f} s in total"
        + (" (**--quick**: sizes shrunk ~20x; not the figures of record)" if meta["quick"] else "")
        + ".",
        "",
        f"Machine: {machine_line(meta['machine'])}.",
        "",
        *_busy(meta),
        "Ratio = chanspec / peer. Verdict: met / NOT MET against the target; "
        "n/a where no target was set.",
        "",
        summary_table(measurements),
        "",
    ]
    for m in measurements:
        lines += [f"## {m.title} (`--only {m.name}`, {m.seconds:.1f} s)", ""]
        lines += [f"- {note}" for note in m.notes]
        notes = [f for f in m.figures if f.note]
        lines += [f"- {f.label}: {f.note}" for f in notes]
        lines.append("")
        for table in m.tables:
            lines += _detail_table(table)
    return "\n".join(lines).rstrip() + "\n"


def to_json(measurements: list[Measurement], meta: dict[str, Any]) -> str:
    data = {
        "format": "chanspec-bench/1",
        **meta,
        "figures": [f.to_json() for m in measurements for f in m.figures],
        "measurements": [m.to_json() for m in measurements],
    }
    return json.dumps(data, indent=1, sort_keys=False, default=str) + "\n"


def write(stem: Path, measurements: list[Measurement], meta: dict[str, Any]) -> tuple[Path, Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    md, js = stem.with_suffix(".md"), stem.with_suffix(".json")
    md.write_text(to_markdown(measurements, meta), encoding="utf-8")
    js.write_text(to_json(measurements, meta), encoding="utf-8")
    return md, js
