"""The HTML failure view: one self-contained page per run, for a person and a bug report.

``render(history, ...)`` draws what ``timeline`` prints as text, the way Porcupine draws a
failing history: one lane per thread and one per subscription, each call as a bar from
call to return, each handler run as a bar on its worker's lane and on its subscription's,
an arrow from every send to each of its deliveries (dashed to a drop), and every violation
pinned where it becomes visible (a red line at its last witness event, the witnesses
circled). The x axis is the history's order (one column per event), with the clock beside
it, since simulated time often stands still. The page needs nothing from the network: the
data is embedded as JSON (with ``<`` escaped, so no text in a history can close the
script), and the drawing code in ``sim/view.html`` only ever sets text, never markup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from sim.history import History

__all__ = ["render"]


def render(
    history: History,
    threads: Sequence[str],
    violations: Sequence[dict[str, Any]],
    *,
    title: str,
    status: str,
    command: str = "",
) -> str:
    """The page for one run; *violations* as in ``Violation.to_json()``."""
    data = {
        "title": title,
        "status": status,
        "command": command,
        "threads": list(threads),
        "topics": {str(k): v for k, v in sorted(history.topics.items())},
        "messages": {
            str(k): {"topic": m.topic, "droppable": m.droppable, "expiry": m.expiry}
            for k, m in sorted(history.messages.items())
        },
        "events": [list(e) for e in history.events],
        "violations": [
            {
                "clause": str(v["clause"]),
                "text": str(v["text"]),
                "witness": [int(w) for w in v.get("witness", [])],
            }
            for v in violations
        ],
    }
    payload = json.dumps(data, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e")
    page = files("sim").joinpath("view.html").read_text(encoding="utf-8")
    return page.replace("__TITLE__", html.escape(title)).replace("__DATA__", payload)
