"""The tutorial's multi-user chat on a real Lona server with refimpl's channels.

Two browser sessions send bursts at the same time; then the server is stopped while the
slow transcript subscriber still has messages in flight (``examples/lona_chat/drive.py``).
The same run on Lona's own channels reorders: see ``python -m examples.lona_chat.drive
--compare`` (a comparison, not a test: what Lona does varies from run to run).
"""

from __future__ import annotations

import pytest

from examples.lona_chat.drive import chat


@pytest.mark.spec("O2", "D1", "S1", "S2")
async def test_both_users_see_every_message_in_order_and_a_stop_loses_none() -> None:
    run = await chat("refimpl", burst=20, stop_burst=100)
    replay = "replay: .venv-lona/bin/python -m examples.lona_chat.drive --impl refimpl"
    assert run.exit_code == 0, f"{replay}\n{run.log[-3000:]}"
    first = {f"{u}: {t}" for u in run.sent for t in run.sent[u][: run.burst]}
    for user, lines in run.seen.items():
        assert set(lines) == first and len(lines) == len(first), (user, lines, replay)
        assert all(run.in_send_order(s, lines, first=True) for s in run.sent), (user, replay)
    assert run.seen["Alice"] == run.seen["Bob"], replay  # one order for the whole room
    # the stop came while messages were in flight, and none was lost or doubled
    assert run.archived_at_stop < len(run.all_sent), f"nothing was in flight at the stop; {replay}"
    assert sorted(run.transcript) == sorted(run.all_sent), replay
    assert all(run.in_send_order(user, run.transcript) for user in run.sent), replay
