"""Smoke tests of the benchmark suite: every measurement runs at a tiny size and returns
well-formed figures. Nothing here is timed or compares speeds (shared, noisy machines):
the figures' *values* are only checked for shape, except the counts that are exact
(refimpl loses and reorders nothing, a mutant witness fails on its first schedule).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bench import (
    blocking,
    bugfinding,
    fanout,
    interposed,
    lines,
    long_topics,
    memory,
    oracle_speed,
    profile_fanout,
    redis_fanout,
    reorder,
    scaling,
    send_cost,
    sim_speed,
)
from bench.__main__ import MEASURES, main
from bench.figure import Figure, Measurement, fmt, ratio
from bench.loglog import loglog_svg
from bench.realthreads import analyse
from bench.report import to_markdown
from sim.strategies import make_strategy


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_figure(figure: Figure, measurement: str) -> None:
    assert figure.key.startswith(measurement + "."), figure.key
    assert figure.label and figure.unit and figure.peer and figure.target
    assert _number(figure.value) or isinstance(figure.value, str), figure
    if figure.ratio is not None:
        assert _number(figure.ratio) and figure.ratio >= 0, figure
        assert _number(figure.peer_value), figure
    if figure.target == "none set":
        assert figure.met is None, figure
    else:
        assert isinstance(figure.met, bool), figure
    assert figure.verdict() in ("met", "NOT MET", "n/a")
    json.dumps(figure.to_json())  # serialisable


def check_measurement(m: Measurement, name: str) -> dict[str, Figure]:
    assert m.name == name and m.title and m.notes
    assert m.figures
    for figure in m.figures:
        check_figure(figure, name)
    for table in m.tables:
        for row in table.rows:
            assert len(row) == len(table.headers), (table.title, row)
    json.dumps(m.to_json())
    return {f.key: f for f in m.figures}


def test_registry_names_every_measurement_once() -> None:
    assert list(MEASURES) == [
        "fanout",
        "blocking",
        "send",
        "sim",
        "oracle",
        "mutants",
        "reorder",
        "lines",
        "interposed",
        "memory",
        "scaling",
        "long_topics",
        "redis",
    ]


def test_analyse_counts_violations_losses_duplicates() -> None:
    stats = analyse([0, 2, 1, 3, 3], expected=5)
    assert (stats.received, stats.violations, stats.losses, stats.duplicates) == (5, 1, 1, 1)
    assert analyse(list(range(4)), expected=4).violations == 0


def test_ratio_and_fmt() -> None:
    assert ratio(3, 2) == 1.5
    assert ratio(1, 0) is None and ratio(None, 2) is None
    assert fmt(1234567.8) == "1,234,568" and fmt(None) == "—" and fmt(12) == "12"


def test_fanout_tiny() -> None:
    figures = check_measurement(fanout.measure(messages=50, subscribers=2, repeats=1), "fanout")
    assert figures["fanout.violations"].value == 0  # refimpl's per-subscriber order (O2)
    assert figures["fanout.losses"].value == 0
    assert figures["fanout.deliveries_per_s"].peer == "Lona 1.16.2"
    assert isinstance(figures["fanout.deliveries_per_s"].peer_value, float)


def test_blocking_tiny() -> None:
    figures = check_measurement(blocking.measure(messages=14, subscribers=2, repeats=1), "blocking")
    assert figures["blocking.losses"].value == 0


def test_send_cost_tiny() -> None:
    m = send_cost.measure(batches=2, calls=20)
    figures = check_measurement(m, "send")
    assert len(m.raw["ns_per_call"]["refimpl"]) == 2
    assert figures["send.ns_per_call"].unit == "ns/call"


def test_sim_speed_tiny() -> None:
    m = sim_speed.measure(
        schedules=1, campaign_seeds=2, round_trips=100, repeats=1, bare_points=50, make_sim_seeds=2
    )
    check_measurement(m, "sim")
    assert m.raw["standard"]["oracle_ok"] == 1  # the standard scenario is a legal run
    assert m.raw["campaign"]["failed"] == 0


def test_greenlet_switches_positive() -> None:
    assert sim_speed.greenlet_switches_per_second(round_trips=100, repeats=1) > 0


def test_oracle_speed_tiny() -> None:
    check_measurement(oracle_speed.measure(n_events=500, schedules=1), "oracle")


def test_bugfinding_tiny() -> None:
    budgets = {"random": 3, "pct": 3, "exhaustive": 3, "generated": 2}
    m = bugfinding.measure(budgets, control_seeds=1, only=["deep_copy"])
    figures = check_measurement(m, "mutants")
    assert figures["mutants.found_random"].value == 1  # of 1 mutant
    assert figures["mutants.control"].met is True
    result = m.raw["results"]["deep_copy"]["random"]
    assert result["found"] and result["schedules"] == 1 and "C3" in result["clause"].split("+")


def test_bugfinding_reports_budget_exhaustion() -> None:
    search = bugfinding.search("deep_copy", "generated", 0)
    assert not search.found and search.cell().startswith("not found within 0")


def test_reorder_program_fixed_never_reorders_and_bug_is_reachable() -> None:
    assert all(
        reorder.our_program(make_strategy("random", s), fixed=True) == [0, 1, 2] for s in range(20)
    )
    orders = [reorder.our_program(make_strategy("random", s)) for s in range(50)]
    assert all(sorted(o) == [0, 1, 2] for o in orders)
    assert any(o != [0, 1, 2] for o in orders)


def test_reorder_tiny() -> None:
    m = reorder.measure(searches=1, budget=30, executions=5, repeats=1)
    check_measurement(m, "reorder")
    theirs = m.raw["frontrun"]
    # frontrun either ran (and is reported per variant) or its absence is said in the notes
    assert "variants" in theirs or any("frontrun could not be run" in n for n in m.notes)


def test_scaling_tiny(tmp_path: Path) -> None:
    chart = tmp_path / "scaling.svg"
    m = scaling.measure(sizes=(10, 100), messages=40, chart=chart)
    figures = check_measurement(m, "scaling")
    assert {"scaling.distinct_share", "scaling.cost_growth", "scaling.subscribe_100"} <= set(
        figures
    )
    assert len(m.tables[0].rows) == 4  # 2 sizes x (1, 10k) send topics, both implementations
    assert all(row[3] > 0 for row in m.tables[0].rows)  # Lona's deliveries all arrived
    ElementTree.fromstring(chart.read_text(encoding="utf-8"))  # well-formed SVG


def test_loglog_svg_draws_every_series_and_refuses_non_positive_points() -> None:
    svg = loglog_svg("t", "x", "y", [("a", "red", [(10, 5.0), (1000, 50.0)]), ("b", "blue", [])])
    root = ElementTree.fromstring(svg)
    assert len(root.findall("{http://www.w3.org/2000/svg}polyline")) == 2
    with pytest.raises(ValueError):
        loglog_svg("t", "x", "y", [("a", "red", [(0, 1.0)])])


def test_long_topics_tiny() -> None:
    m = long_topics.measure(count=20, length=300)
    figures = check_measurement(m, "long_topics")
    assert figures["long_topics.peak_growth_mib"].met is not None


@pytest.mark.settrace
def test_lines_tiny() -> None:
    m = lines.measure(executions=3, peer_executions=2, budget=20)
    figures = check_measurement(m, "lines")
    assert figures["lines.double_subscribe_executions"].met  # found by race-directed mode
    assert m.raw["points"]["race"]["points"] == 3 * 2 * (3 * lines.programs.ROUNDS + 1)


def test_interposed_tiny() -> None:
    m = interposed.measure(schedules=2)
    check_measurement(m, "interposed")
    raw = m.raw
    assert raw["interposed"]["steps"] > 0 and raw["seam"]["steps"] > 0


def test_memory_tiny() -> None:
    m = memory.measure(messages=200, subscribers=2, every=100, seeds=2, seeds_every=1)
    figures = check_measurement(m, "memory")
    assert set(figures) == {
        f"memory.{workload}_{series}"
        for workload in ("runtime", "campaign")
        for series in ("peak", "blocks", "rss")
    }
    assert figures["memory.runtime_rss"].met is None  # informational: allocator retention
    assert isinstance(figures["memory.runtime_peak"].met, bool)
    samples = m.raw["runtime"]["samples"]
    assert [s["done"] for s in samples] == [100, 200]
    assert all(s["peak_mib"] >= s["rss_mib"] > 0 and s["blocks"] > 0 for s in samples)


def test_redis_fanout_tiny() -> None:
    # real processes on a real redis-server (make test installs it), at a tiny size
    m = redis_fanout.measure(messages=30, paced=6, interval=0.002, processes=(2,), idle=5.0)
    figures = check_measurement(m, "redis")
    assert figures["redis.losses"].value == 0  # nothing lost, repeated or reordered (P1, P3)
    assert "redis.deliveries_per_s_2" in figures
    assert "pipelined" in figures["redis.deliveries_per_s_2_pipelined"].peer
    assert figures["redis.latency_p99"].peer == "redis-py XADD/XREAD"
    assert [row[:2] for row in m.tables[0].rows] == [
        [kind, 2] for kind in ("refimpl", "streams", "streams-pipelined", "pubsub")
    ]
    for row in m.tables[0].rows:  # every kind delivered every message to every process
        assert row[2] > 0 and row[5:] == [0, 0, 0], row


def test_profile_fanout_tiny() -> None:
    stats = profile_fanout.profile(messages=20, subscribers=2)
    handled = [k for k in stats.stats if k[2] == "_release"]  # type: ignore[attr-defined]
    assert handled  # the worker threads were profiled, not only the sender


def test_profile_fanout_phases_tiny() -> None:
    # phases() itself asserts that every message reached every subscriber
    costs = profile_fanout.phases(messages=20, subscribers=2, repeats=1)
    assert set(costs) == {"send", "route", "deliver", "total"} and costs["total"] >= 0


def test_cli_writes_markdown_and_json(tmp_path: Path) -> None:
    stem = tmp_path / "results"
    assert main(["--only", "send,oracle", "--quick", "--out", str(stem)]) == 0
    data = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    machine = data["machine"]
    for key in ("platform", "cpu_model", "cores", "memory_gib", "python", "git_commit"):
        assert key in machine
    assert set(machine["packages"]) == {"greenlet", "lona", "frontrun", "hypothesis"}
    assert [f["key"] for f in data["figures"]] == ["send.ns_per_call", "oracle.events_per_s"]
    assert data["figures"][0]["command"] == "python -m bench --only send --quick"
    text = stem.with_suffix(".md").read_text(encoding="utf-8")
    assert "python -m bench --only oracle --quick" in text and "| Verdict |" in text


def test_cli_rejects_unknown_names() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--only", "nosuch"])
    assert exit_info.value.code == 2


def test_markdown_shows_a_miss() -> None:
    m = Measurement("x", "X", notes=["n"])
    m.figures.append(Figure("x.y", "Y", 1.0, "u", "peer", 2.0, 0.5, ">= 1x", False))
    text = to_markdown(
        [m],
        {
            "command": "c",
            "quick": False,
            "started": "s",
            "seconds": 1.0,
            "machine": {
                "cpu_model": "cpu",
                "cores": 1,
                "cores_usable": 1,
                "memory_gib": 1,
                "platform": "p",
                "python": "3",
                "python_implementation": "C",
                "packages": {},
                "git_commit": "abc",
            },
        },
    )
    assert "NOT MET" in text


def test_sim_breakdown_charges_every_component() -> None:
    from bench import sim_breakdown

    assert sim_breakdown.component_of("/x/sim/scheduler.py") == "scheduler"
    assert sim_breakdown.component_of("/x/sim/strategies/pct.py") == "scheduler"
    assert sim_breakdown.component_of("/x/sim/history.py") == "driver"
    assert sim_breakdown.component_of("/x/refimpl/worker.py") == "refimpl"
    assert sim_breakdown.component_of("/usr/lib/python3.11/random.py") == "other"
    result = sim_breakdown.breakdown(schedules=3)
    assert result["steps"] and result["us_per_step"] > 0  # type: ignore[operator]
    assert sim_breakdown.main(["x"]) == 2  # a bad argument: usage, exit 2
