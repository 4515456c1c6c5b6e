"""The pytest plugin: a fresh mock per test, in-process or on a real port.

    @pytest.mark.comeback(apis=["letta"], seed=7)
    def test_my_client_gives_up(comeback_mock):
        comeback_mock.next_scenario("letta", "never-finishes")
        ...
        comeback_mock.journal.assert_count("retrieveRun", 30)

Registered through the ``pytest11`` entry point, so installing the project is enough.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from comeback.testing import MockServer

MARKER = "comeback"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(apis=None, seed=0, clock='manual', port=False, strict=True): how the comeback_mock "
        "fixture starts the mock: which APIs (default all), the fake-data seed, the clock ('manual' or "
        "'real'), whether to serve on a real 127.0.0.1 port (for browsers, subprocesses, SDKs), and "
        "strict response checks.",
    )


@pytest.fixture
def comeback_mock(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """A mock of the bundled APIs for one test, started clean; configure it with ``@pytest.mark.comeback``."""
    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    with MockServer.start(**options) as mock:
        yield mock


@pytest.fixture
def comeback_mock_on_port(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """Like ``comeback_mock`` but always on a real 127.0.0.1 port (``.url`` is reachable by anything)."""
    marker = request.node.get_closest_marker(MARKER)
    options = {**(marker.kwargs if marker is not None else {}), "port": True}
    with MockServer.start(**options) as mock:
        yield mock
