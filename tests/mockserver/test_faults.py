"""Faults on demand: by header on one request, or from a scenario step; in the vendor's error shape."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from mockserver.app import create_app
from tests.mockserver import clients
from tests.mockserver.conftest import AGENT, AUTH, Mock, settings


def test_header_fault_answers_the_vendor_error_and_touches_nothing(mock: Mock) -> None:
    message = clients.create(mock.client, "privategpt", "slow")
    response = mock.client.get(
        f"/v1/messages/async/{message}/status", headers={**AUTH["privategpt"], "X-Mock-Fault": "status=503"}
    )
    assert response.status_code == 503
    assert response.json()["type"] == "error"  # PrivateGPT's envelope, even in strict mode
    assert response.headers["x-mock-fault-injected"] == "true"
    assert mock.resource("privategpt", message)["reads"] == 0  # the faulted call did not count as a read


def test_429_carries_retry_after(mock: Mock) -> None:
    response = mock.client.get(
        "/v1/runs/", headers={**AUTH["letta"], "X-Mock-Fault": "status=429; retry_after=7s"}
    )
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert response.headers["retry-after-ms"] == "7000"
    assert response.json() == {"detail": "Too Many Requests (injected by the comeback mock)"}


def test_retry_after_is_scenario_time_and_scales_with_speed() -> None:
    with TestClient(create_app(settings(clock="real", speed=10))) as client:
        response = client.get(
            "/v1/runs/",
            headers={
                **AUTH["letta"],
                "X-Mock-Fault": "status=429; retry_after=5s",
                "Origin": "http://a.test",
            },
        )
    assert (response.headers["retry-after"], response.headers["retry-after-ms"]) == ("1", "500")
    exposed = response.headers["access-control-expose-headers"].lower()
    assert {"x-mock-fault-injected", "x-mock-control-error", "retry-after", "retry-after-ms"} <= set(
        exposed.split(", ")
    )


def test_header_latency_delays_the_answer(mock: Mock) -> None:
    started = time.perf_counter()
    response = mock.client.get("/v1/runs/", headers={**AUTH["letta"], "X-Mock-Fault": "latency=300ms"})
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_a_bad_fault_header_is_a_clear_400(mock: Mock) -> None:
    response = mock.client.get("/v1/runs/", headers={**AUTH["letta"], "X-Mock-Fault": "stauts=503"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("X-Mock-Fault: unknown fault 'stauts'")


def test_scenario_fault_for_the_next_n_calls_of_a_step(mock: Mock) -> None:
    message = clients.create(mock.client, "privategpt", "flaky-status")
    assert clients.read(mock.client, "privategpt", message)[0] == 200  # pending: no fault
    mock.advance(1)  # processing: the next two status reads fail
    statuses = [clients.read(mock.client, "privategpt", message)[0] for _ in range(3)]
    assert statuses == [503, 503, 200]
    mock.advance(3)
    assert clients.state(mock.client, "privategpt", message) == "completed"


def test_seeded_probability_is_the_same_on_every_run(mock: Mock) -> None:
    def statuses() -> list[int]:
        mock.client.post("/__mock/reset", json={})
        run = mock.client.post(
            f"/v1/agents/{AGENT}/messages/async",
            json={"input": "hi"},
            headers={**AUTH["letta"], "X-Mock-Scenario": "rate-limited"},
        ).json()["id"]
        return [mock.client.get(f"/v1/runs/{run}", headers=AUTH["letta"]).status_code for _ in range(12)]

    first = statuses()
    assert set(first) == {200, 429}
    assert len(first) == 12
