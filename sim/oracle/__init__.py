"""The history oracle: does one recorded run (``sim.history.History``) obey the spec?

``check(history, tolerance=0.0, complete=True)`` returns a ``Verdict``: the violations
found (each names its clause of ``specs/channels.md``, the message and subscription, the
event indices that show it, and one line of text a person can read), the verdict per
clause, and counts of the delivery obligations. The oracle trusts only the driver's
events; the implementation's ``drop`` reports tell a reported drop from a silent loss.

The code is one module per clause family, each a small checker over a shared, named
index of the history built in one pass (``index.HistoryIndex``), in the manner of
Jepsen's Elle: ``topics`` (T4), ``window`` (W2, W3, section 17's three values),
``delivery`` (D1, D2 and the loss rules), ``drops`` (drop reasons), ``order`` (O1-O3),
``copies`` (C1-C3), ``expiry`` (E2, E3), ``shutdown`` (S2-S6). Each module's docstring
states its rules; ``check`` runs them.
"""

from __future__ import annotations

from sim.oracle.check import CLAUSES, check
from sim.oracle.clauses import spec_clauses
from sim.oracle.verdict import Obligations, Verdict, Violation

__all__ = ["CLAUSES", "Obligations", "Verdict", "Violation", "check", "spec_clauses"]
