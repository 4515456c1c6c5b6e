"""Run the contract kit as a pytest suite, so teams can add their own tests beside it:

    pytest contracts/ --spec openapi/letta.yaml --base-url http://localhost:8283 \
        --header 'Authorization: Bearer KEY'

One test per phase; a failing phase shows the same report as ``comeback check``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.conformance import MAX_TIME
from contracts.phases import PHASES
from contracts.probes import Options
from contracts.report import Report
from contracts.run import check


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("comeback-contract", "comeback contract kit")
    group.addoption("--spec", type=Path, help="the spec to check against")
    group.addoption("--base-url", help="where the server under test listens")
    group.addoption("--header", action="append", default=[], help="'NAME: VALUE' sent with every request")
    group.addoption("--param", action="append", default=[], help="NAME=VALUE for a parameter")
    group.addoption("--deadline", type=float, default=30.0, help="seconds for a resource to finish")
    group.addoption("--examples", type=int, default=10, help="Schemathesis examples per operation")
    group.addoption("--seed", type=int, default=0, help="seed of the generated data")
    group.addoption(
        "--max-time", type=float, default=MAX_TIME, help="seconds for the conformance phase (default: 25)"
    )
    group.addoption(
        "--auth", choices=["required", "any-credential", "none"], default=None, help="the deployment's auth"
    )


@pytest.fixture(scope="session", params=PHASES)
def contract_report(request: pytest.FixtureRequest) -> Report:
    """The report of one phase of the contract run against ``--base-url``."""
    option = request.config.getoption
    if option("--spec") is None or option("--base-url") is None:
        pytest.skip("give --spec and --base-url to run the contract kit")
    headers = dict(text.split(":", 1) for text in option("--header"))
    params = dict(text.split("=", 1) for text in option("--param"))
    return check(
        option("--spec"),
        option("--base-url"),
        headers={name.strip(): value.strip() for name, value in headers.items()},
        params=params,
        phases=(request.param,),
        options=Options(deadline=option("--deadline")),
        examples=option("--examples"),
        seed=option("--seed"),
        max_time=option("--max-time"),
        auth=option("--auth"),
    )
