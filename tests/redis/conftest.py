"""A Redis server per test, on a free loopback port (``CHANSPEC_REDIS_URL``: an existing one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.redis_server import RedisServer


@pytest.fixture(params=[False, True], ids=["volatile", "persistent"])
def any_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisServer]:
    """A server without, then with, persistence (append-only file, fsync always)."""
    server = RedisServer(tmp_path, persist=request.param).start()
    yield server
    server.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path, persist=True).start()
    yield server
    server.stop()
