"""``pytest tests/properties --impl NAME``: the property suite against another implementation.

The properties themselves live in ``sim/suite`` (shipped with the package, run elsewhere
through the plugin's ``--chanspec-impl``); the modules here run the same functions, and
``--impl`` is this repository's short name for the plugin's option.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--impl",
        default="refimpl",
        help="implementation under test: refimpl | mutant:NAME | lona | module:factory",
    )


@pytest.fixture(scope="session")
def chanspec_impl(request: pytest.FixtureRequest) -> str:
    name: str = request.config.getoption("--impl")
    return name
