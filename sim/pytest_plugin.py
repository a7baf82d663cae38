"""The pytest plugin: run chanspec's property suite against any implementation.

Registered through the ``pytest11`` entry point, so installing chanspec is enough::

    pip install 'chanspec[test]'
    pytest --chanspec-impl mypkg.adapter:factory

``--chanspec-impl NAME`` (``refimpl``, ``mutant:NAME``, ``lona`` or ``module:factory``
returning an adapter, see ``specs/adapter-protocol.md``) adds the suite's directory
(``sim/suite``, collected with pytest's default ``test_*.py`` pattern) to the collection
and hands NAME to its tests through the ``chanspec_impl`` fixture. Failures read as in
chanspec's own suite: the clauses broken, then the ``python -m sim replay ...`` command
(simulated runs) or the saved scenario and its commands (real-thread runs); traces go
to ``$CHANSPEC_TRACE_DIR`` (default ``traces``). The name is resolved once at start-up,
so a wrong one is a usage error, not ten failures.

Also registered: the ``spec`` marker, and two Hypothesis profiles for
``--hypothesis-profile``: ``chanspec-ci`` (derandomised, 60 examples: what chanspec's CI
runs) and ``chanspec-smoke`` (derandomised, 5 examples, no shrinking: a quick look).
"""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["chanspec_impl"]


def _register_profiles() -> None:
    try:
        from hypothesis import HealthCheck, Phase, settings
    except ImportError:  # the suite needs the [test] extra; said at --chanspec-impl
        return
    quiet = [HealthCheck.too_slow, HealthCheck.data_too_large]
    base = settings(derandomize=True, deadline=None, print_blob=True, suppress_health_check=quiet)
    settings.register_profile("chanspec-ci", base, max_examples=60)
    no_shrink = [p for p in Phase if p is not Phase.shrink]
    settings.register_profile("chanspec-smoke", base, max_examples=5, phases=no_shrink)


_register_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chanspec", "chanspec property suite")
    group.addoption(
        "--chanspec-impl",
        metavar="NAME",
        default=None,
        help="run chanspec's property suite against NAME: refimpl | mutant:NAME | lona | "
        "package.module:factory (a factory returning an adapter)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "spec(*clauses): the spec clauses (specs/channels.md) a test checks"
    )
    name = config.getoption("chanspec_impl", default=None)
    if not name:
        return
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise pytest.UsageError(
            "--chanspec-impl needs Hypothesis: pip install 'chanspec[test]'"
        ) from None
    from sim.adapters import load_adapter

    try:
        load_adapter(name)
    except Exception as exc:  # any failure to resolve the name is the user's to fix
        raise pytest.UsageError(f"--chanspec-impl {name}: {type(exc).__name__}: {exc}") from None
    suite = str(Path(__file__).parent / "suite")
    if suite not in config.args:
        config.args.append(suite)


@pytest.fixture(scope="session")
def chanspec_impl(request: pytest.FixtureRequest) -> str:
    """The implementation under test (``--chanspec-impl``; refimpl when not given)."""
    name = request.config.getoption("chanspec_impl", default=None)
    return str(name) if name else "refimpl"
