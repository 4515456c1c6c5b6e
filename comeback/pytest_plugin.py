"""The pytest plugin: a fresh mock per test, in-process or on a real port.

    @pytest.mark.comeback(apis=["letta"], seed=7)
    def test_my_client_gives_up(comeback_mock):
        comeback_mock.next_scenario("letta", "never-finishes")
        ...
        comeback_mock.journal.assert_count("retrieveRun", 30)

    @pytest.mark.comeback(scenarios=["scenarios/"])     # folders and files, relative to the test file
    def test_slow_export(comeback_mock): ...

    @pytest.mark.comeback(namespace="job-42")           # its own resources, clock, queue, journal
    def test_on_a_shared_mock(comeback_mock): ...

    @pytest.mark.comeback(store="redis://127.0.0.1:6379/0", namespace="job-42")  # state in Redis,
    def test_with_other_instances(comeback_mock): ...   # shared with every mock on that store

Registered through the ``pytest11`` entry point, so installing the project is enough. This module
imports nothing of the mock until a fixture is used: a project that has the package installed but
does not use it pays nothing and sees no warning (``pytest -W error`` included).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from comeback.testing import MockServer

MARKER = "comeback"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(apis=None, seed=0, clock='manual', port=False, strict=True, scenarios=(), "
        "namespace='default', store='memory'): how the comeback_mock fixture starts the mock: which APIs "
        "(default all), the fake-data seed, the clock ('manual' or 'real'), whether to serve on a real "
        "127.0.0.1 port (for browsers, subprocesses, SDKs), strict response checks, scenario files or "
        "folders to add (relative to the test file), the namespace its client and controls use "
        "(X-Mock-Namespace), and where its state lives ('memory', or redis://HOST:PORT/DB shared with "
        "every mock and comeback serve on that store).",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    if "scenarios" in options:
        here = Path(request.node.path).parent
        options["scenarios"] = [here / path for path in options["scenarios"]]
    return options


@pytest.fixture
def comeback_mock(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """A mock of the bundled APIs for one test, started clean; configure it with ``@pytest.mark.comeback``."""
    from comeback.testing import MockServer  # noqa: PLC0415  # only when a test uses the mock

    with MockServer.start(**_options(request)) as mock:
        yield mock


@pytest.fixture
def comeback_mock_on_port(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """Like ``comeback_mock`` but always on a real 127.0.0.1 port (``.url`` is reachable by anything)."""
    from comeback.testing import MockServer  # noqa: PLC0415  # only when a test uses the mock

    with MockServer.start(**{**_options(request), "port": True}) as mock:
        yield mock
