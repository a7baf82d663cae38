"""Sharded campaigns: a deterministic slice per machine, JSON reports, one merged summary.

A campaign is a list of ``RunSpec`` in a fixed order. Shard *i* of *n* (1-based, as in
``--shard 2/4``) takes the specs at positions ``k`` with ``k % n == i - 1``: the slices
are disjoint, cover the list, and are balanced across scenario sizes and strategies. Each
shard needs no coordinator, so a campaign runs on any batch runner (a CI matrix, a Slurm
array, a Kubernetes indexed Job: pass ``$((INDEX + 1))/N`` for a 0-based index).

Every shard writes a report (``chanspec-campaign/1``): the campaign's parameters, the
shard, and each run's result with the spec that reproduces it. ``merge`` checks that the
reports belong to one campaign and together hold every shard once, puts the results back
in campaign order, and gives the same ``CampaignSummary`` as the unsharded run (only the
timing differs). Reading a report runs no code: implementation names are only printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, fields
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from sim.explore import CampaignSummary, RunResult, RunSpec
from sim.files import read_file

__all__ = ["FORMAT", "ReportError", "load_report", "merge", "parse_shard", "report", "shard"]

FORMAT = "chanspec-campaign/1"
T = TypeVar("T")


class ReportError(ValueError):
    """A report that cannot be read or does not fit with the others (one line)."""


def parse_shard(text: str) -> tuple[int, int]:
    """``i/n`` with 1 <= i <= n; ValueError with a one-line reason otherwise."""
    found = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if found is None:
        raise ValueError(f"--shard wants i/n (e.g. 2/4), not {text!r}")
    i, n = int(found[1]), int(found[2])
    if not 1 <= i <= n:
        raise ValueError(f"--shard {text}: i must be between 1 and n")
    return i, n


def shard(items: Sequence[T], i: int, n: int) -> Sequence[T]:
    """Shard *i* of *n* (1-based) of *items*: every n-th item, starting at position i - 1.

    A slice, so a lazy sequence (``sim.explore.SeedSpecs``) stays lazy.
    """
    return items[i - 1 :: n]


# reports ----------------------------------------------------------------------------------
_SPEC_FIELDS = {f.name: f.type for f in fields(RunSpec)}
_RESULT_FIELDS = [f.name for f in fields(RunResult) if f.name != "spec"]


def report(
    summary: CampaignSummary, campaign: dict[str, Any], i: int = 1, n: int = 1
) -> dict[str, Any]:
    """A shard's report: *campaign* names the whole campaign (its parameters and size)."""
    return {
        "format": FORMAT,
        "campaign": campaign,
        "shard": [i, n],
        "seconds": summary.seconds,
        "results": [
            {"spec": asdict(r.spec), **{name: getattr(r, name) for name in _RESULT_FIELDS}}
            for r in summary.results
        ],
    }


def _typed(value: Any, kind: str) -> bool:
    checks: dict[str, Any] = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "int | None": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
        "str": lambda v: isinstance(v, str),
    }
    check = checks.get(kind)
    return check is not None and bool(check(value))


def _result(data: Any, where: str) -> RunResult:
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
        raise ReportError(f"{where}: a result must be an object with a 'spec'")
    spec = data["spec"]
    for name, kind in _SPEC_FIELDS.items():
        if name not in spec or not _typed(spec[name], str(kind)):
            raise ReportError(f"{where}: spec field {name!r} is missing or of the wrong type")
    for name in ("status", "digest", "trace_path", "error"):
        if not isinstance(data.get(name), str):
            raise ReportError(f"{where}: field {name!r} must be a string")
    for name in ("steps", "preemptions", "decisions", "brokers", "workers"):
        if not _typed(data.get(name), "int"):
            raise ReportError(f"{where}: field {name!r} must be an integer")
    violations = data.get("violations")
    if not isinstance(violations, list) or not all(
        isinstance(v, dict) and isinstance(v.get("clause"), str) and isinstance(v.get("text"), str)
        for v in violations
    ):
        raise ReportError(f"{where}: 'violations' must be a list of {{clause, text, ...}}")
    values = {name: data[name] for name in _RESULT_FIELDS}
    return RunResult(spec=RunSpec(**{k: spec[k] for k in _SPEC_FIELDS}), **values)


def load_report(path: str | Path) -> dict[str, Any]:
    """Read and check one report; ReportError (one line) if it is not one."""
    try:
        data = json.loads(read_file(path).decode("utf-8"))
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise ReportError(f"{path}: not a JSON report: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ReportError(f"{path}: not a {FORMAT} report")
    shard_field = data.get("shard")
    if not (
        isinstance(shard_field, list)
        and len(shard_field) == 2
        and all(_typed(x, "int") for x in shard_field)
        and 1 <= shard_field[0] <= shard_field[1]
    ):
        raise ReportError(f"{path}: 'shard' must be [i, n] with 1 <= i <= n")
    if not isinstance(data.get("campaign"), dict) or not isinstance(data.get("results"), list):
        raise ReportError(f"{path}: needs a 'campaign' object and a 'results' list")
    seconds = data.get("seconds", 0.0)
    number = isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
    if not number or not 0 <= seconds < 1e12:  # NaN and Infinity are JSON to Python
        raise ReportError(f"{path}: 'seconds' must be a number of seconds, 0 to 1e12")
    data["seconds"] = float(seconds)  # merge() sums it: a report without it counts 0
    data["results"] = [_result(r, f"{path}: result {k}") for k, r in enumerate(data["results"])]
    return data


def merge(reports: Sequence[dict[str, Any]]) -> CampaignSummary:
    """One summary from the reports of every shard of one campaign, in campaign order."""
    if not reports:
        raise ReportError("nothing to merge")
    campaign = reports[0]["campaign"]
    n = reports[0]["shard"][1]
    seen: dict[int, int] = {}
    for k, r in enumerate(reports):
        if r["campaign"] != campaign or r["shard"][1] != n:
            raise ReportError(
                f"report {k + 1} is from another campaign or split ({r['shard'][0]}/"
                f"{r['shard'][1]} of {json.dumps(r['campaign'], sort_keys=True)})"
            )
        i = r["shard"][0]
        if i in seen:
            raise ReportError(f"shard {i}/{n} is given twice (reports {seen[i] + 1} and {k + 1})")
        seen[i] = k
    if len(seen) != n:  # name the first few: n comes from a file and may be 2**63
        missing = islice((i for i in range(1, n + 1) if i not in seen), 5)
        more = ", ..." if n - len(seen) > 5 else ""
        listed = ", ".join(f"{i}/{n}" for i in missing)
        raise ReportError(f"missing shard(s) {listed}{more} ({n - len(seen)} of {n})")
    # shard i holds positions i-1, i-1+n, ...: interleave them back into campaign order
    by_shard = [reports[seen[i]]["results"] for i in range(1, n + 1)]
    results: list[RunResult] = []
    for position in range(max(len(s) for s in by_shard)):
        results += [s[position] for s in by_shard if position < len(s)]
    return CampaignSummary(results, sum(float(r["seconds"]) for r in reports))
