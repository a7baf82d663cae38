"""``pytest tests/properties --impl NAME``: the property suite against another implementation."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--impl",
        default="refimpl",
        help="implementation under test: refimpl | mutant:NAME | lona | module:factory",
    )


@pytest.fixture(scope="session")
def impl(request: pytest.FixtureRequest) -> str:
    name: str = request.config.getoption("--impl")
    return name
