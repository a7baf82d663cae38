"""``sim.cli.main`` quiets the ``refimpl`` and ``lona`` loggers for the whole process: tests that
call it in-process put them back, so that later tests (``caplog`` on Lona's records) still work.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_logger_levels() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("refimpl", "lona")]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
