"""Schedules drawn by Hypothesis, so that a failing schedule shrinks to few preemptions.

Each decision draws an index into an ordering of the runnable threads in which index 0
is ``current`` (when it is still runnable) and the rest follow in ascending id. Index
0 is thus "no preemption" (or, when the running thread blocked, "the lowest id", the
same default as ``sim.strategies.exhaustive``), and Hypothesis' shrinking, which
drives integers towards 0 and deletes draws, removes preemptions from a failing
schedule until only the ones the failure needs are left.

Use inside a Hypothesis test::

    @given(st.data())
    def test_x(data):
        strategy = HypothesisSchedule(data)
        ...

or draw a ready-made one: ``@given(schedules())``.
"""

from __future__ import annotations

from typing import Any, Protocol

from hypothesis import strategies as st

__all__ = ["HypothesisSchedule", "schedules"]


class _Drawer(Protocol):
    def draw(self, strategy: st.SearchStrategy[Any], label: Any = None) -> Any: ...


class HypothesisSchedule:
    """A strategy whose decisions come from a ``hypothesis.strategies.DataObject``."""

    def __init__(self, data: _Drawer) -> None:
        self.data = data
        self.preemptions = 0  #: decisions that did not pick index 0 while current could run
        self.decisions: list[int] = []  #: the threads chosen so far

    def choose(self, runnable: list[int], current: int | None, step: int) -> int:
        order = list(runnable)
        if current is not None and current in order:
            order.remove(current)
            order.insert(0, current)
        index: int = self.data.draw(st.integers(0, len(order) - 1))
        if current is not None and order[index] != current:
            self.preemptions += 1
        self.decisions.append(order[index])
        return order[index]

    def __repr__(self) -> str:
        return f"HypothesisSchedule(decisions={self.decisions}, preemptions={self.preemptions})"

    def describe(self) -> dict[str, object]:
        return {"name": "hypothesis", "seed": None, "params": {}}


class _DrawFunction:
    """A ``@composite`` draw function seen as a DataObject."""

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def draw(self, strategy: st.SearchStrategy[Any], label: Any = None) -> Any:
        return self._draw(strategy)


@st.composite
def schedules(draw: st.DrawFn) -> HypothesisSchedule:
    """A Hypothesis strategy of schedules; each draws its decisions lazily, while it runs."""
    return HypothesisSchedule(_DrawFunction(draw))
