"""Namespaces: clients sharing one mock see only their own resources, clock, scenario queue and
defaults, and journal (X-Mock-Namespace on API calls, ?namespace= on admin routes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from comeback.testing import START, MockServer
from mockserver import engine as engine_module
from mockserver.app import create_app
from mockserver.servers import serve_in_thread as serve
from tests.mockserver.conftest import AGENT, AUTH, settings

RUNS = f"/v1/agents/{AGENT}/messages/async"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(settings())) as test_client:
        yield test_client


def _in(namespace: str | None) -> dict[str, str]:
    return {**AUTH["letta"], **({"X-Mock-Namespace": namespace} if namespace else {})}


def _create(client: TestClient, namespace: str | None, scenario: str | None = None) -> dict[str, Any]:
    headers = {**_in(namespace), **({"X-Mock-Scenario": scenario} if scenario else {})}
    answer = client.post(RUNS, json={"input": "hi"}, headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _admin(namespace: str | None) -> dict[str, str]:
    return {"namespace": namespace} if namespace else {}


def test_resources_of_one_namespace_are_unknown_in_another(client: TestClient) -> None:
    run = _create(client, "team-a")["id"]
    assert client.get(f"/v1/runs/{run}", headers=_in("team-a")).status_code == 200
    assert client.get(f"/v1/runs/{run}", headers=_in("team-b")).status_code == 404
    assert client.get(f"/v1/runs/{run}", headers=_in(None)).status_code == 404
    listed = {
        ns: client.get("/__mock/resources", params=_admin(ns)).json() for ns in ("team-a", "team-b", None)
    }
    assert [r["id"] for r in listed["team-a"]] == [run]
    assert listed["team-b"] == listed[None] == []
    assert client.get(f"/__mock/resources/letta/{run}", params=_admin("team-b")).status_code == 404


def test_each_namespace_has_its_own_manual_clock(client: TestClient) -> None:
    run_a = _create(client, "a", "happy")["id"]
    run_b = _create(client, "b", "happy")["id"]
    moved = client.post("/__mock/clock", params=_admin("a"), json={"seconds": 60})
    assert moved.json()["epoch"] == START + 60
    assert client.get("/__mock/clock", params=_admin("b")).json()["epoch"] == START
    assert client.get("/__mock/clock").json()["epoch"] == START
    assert client.get(f"/v1/runs/{run_a}", headers=_in("a")).json()["status"] == "completed"
    assert client.get(f"/v1/runs/{run_b}", headers=_in("b")).json()["status"] != "completed"


def test_queue_and_default_are_per_namespace(client: TestClient) -> None:
    assert (
        client.put("/__mock/scenarios/letta/default", params=_admin("a"), json={"name": "failed"}).status_code
        == 200
    )
    assert client.post("/__mock/scenarios/letta/next", params=_admin("b"), json={"name": "happy"}).json()[
        "queued"
    ] == ["happy"]
    assert client.get("/__mock/scenarios", params=_admin("a")).json()["letta"]["default"] == "failed"
    assert client.get("/__mock/scenarios").json()["letta"]["default"] != "failed"
    assert _create(client, "a")["id"]
    assert _create(client, None)["id"]
    scenarios = {
        ns: [r["scenario"] for r in client.get("/__mock/resources", params=_admin(ns)).json()]
        for ns in ("a", None)
    }
    assert scenarios["a"] == ["failed"]
    assert scenarios[None] != ["failed"]
    ui = client.get("/__mock/ui/scenarios", params=_admin("b")).json()["letta"]
    assert ui["queued"] == ["happy"]  # not taken by the creates in a and the default namespace
    assert client.get("/__mock/ui/scenarios", params=_admin("a")).json()["letta"]["queued"] == []


def test_journal_and_reset_are_per_namespace(client: TestClient) -> None:
    _create(client, "a")
    _create(client, "b")
    journals = {ns: client.get("/__mock/journal", params=_admin(ns)).json() for ns in ("a", "b", None)}
    assert [e["operation"] for e in journals["a"]] == ["createAgentMessageAsync"]
    assert len(journals["b"]) == 1
    assert journals[None] == []
    assert client.post("/__mock/reset", params=_admin("a"), json={}).status_code == 200
    assert client.get("/__mock/resources", params=_admin("a")).json() == []
    assert client.get("/__mock/journal", params=_admin("a")).json() == []
    assert len(client.get("/__mock/resources", params=_admin("b")).json()) == 1
    assert len(client.get("/__mock/journal", params=_admin("b")).json()) == 1


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "a;b", "a/b"])
def test_a_bad_namespace_is_refused_in_the_vendors_shape_with_the_rule(client: TestClient, name: str) -> None:
    answer = client.get("/v1/runs/run-1", headers={**AUTH["letta"], "X-Mock-Namespace": name})
    assert answer.status_code == 400
    assert "1 to 64 characters from A-Z, a-z, 0-9" in answer.json()["detail"]  # Letta's error shape
    admin = client.get("/__mock/resources", params={"namespace": name})
    assert admin.status_code == 400
    assert admin.headers["content-type"].startswith("application/problem+json")
    assert "?namespace=" in admin.json()["detail"]


def test_namespaces_per_process_are_bounded(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "MAX_NAMESPACES", 3)  # the default one, then two more
    _create(client, "one")
    _create(client, "two")
    refused = client.post(RUNS, json={"input": "hi"}, headers=_in("three"))
    assert refused.status_code == 400
    assert "namespaces are in use" in refused.json()["detail"]
    assert client.post("/__mock/reset", params=_admin("two"), json={}).status_code == 200  # frees one
    _create(client, "three")


def test_a_preflight_may_send_the_namespace_header(client: TestClient) -> None:
    answer = client.options(
        RUNS,
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, x-mock-namespace",
        },
    )
    assert answer.status_code == 200
    assert "x-mock-namespace" in answer.headers["access-control-allow-headers"].lower()


def test_mock_server_namespace_option_scopes_its_client_and_controls() -> None:
    with MockServer.start(apis=["letta"], namespace="ci-7") as mock:
        run = mock.client.post(RUNS, json={"input": "hi"}, headers=AUTH["letta"]).json()["id"]
        mock.advance(60)
        assert mock.state("letta", run) == "completed"
        assert mock.journal.calls() == ["POST createAgentMessageAsync"]
        assert mock.client.get("/__mock/clock", params={"namespace": "ci-7"}).json()["epoch"] == START + 60
        assert mock.client.get("/__mock/clock").json()["epoch"] == START  # the default namespace's
        assert mock.client.get(f"/v1/runs/{run}", headers=_in("other")).status_code == 404
    with (
        pytest.raises(ValueError, match="namespace must be 1 to 64 characters"),
        MockServer.start(apis=["letta"], namespace="no spaces"),
    ):
        pass


def test_a_reset_namespace_starts_over_its_clock_too_but_the_default_keeps_its_time(
    client: TestClient,
) -> None:
    for namespace in ("a", None):
        client.post("/__mock/clock", params=_admin(namespace), json={"seconds": 30})
        assert client.post("/__mock/reset", params=_admin(namespace), json={}).status_code == 200
    assert client.get("/__mock/clock", params=_admin("a")).json()["epoch"] == START
    assert client.get("/__mock/clock").json()["epoch"] == START + 30


def test_one_namespaces_clock_ages_no_other_namespaces_resources() -> None:
    with TestClient(create_app(settings(max_age_seconds=60))) as client:
        mine = _create(client, None, "never-finishes")["id"]
        client.post("/__mock/clock", params=_admin("ahead"), json={"seconds": 3_600})
        _create(client, "ahead")  # a create sweeps idle resources: by each one's own clock
        assert client.get(f"/v1/runs/{mine}", headers=_in(None)).status_code == 200
        client.post("/__mock/clock", json={"seconds": 61})
        _create(client, None)
        assert client.get(f"/v1/runs/{mine}", headers=_in(None)).status_code == 404  # now it is idle


def test_a_stream_in_a_reset_namespace_ends() -> None:
    with serve(create_app(settings())) as url:
        created = httpx.post(
            url + RUNS, json={"input": "hi"}, headers={**_in("gone"), "X-Mock-Scenario": "never-finishes"}
        )
        run = created.json()["id"]
        # a read timeout (not a hang) if the stream did not end
        with httpx.stream(
            "POST", f"{url}/v1/runs/{run}/stream", json={}, headers=_in("gone"), timeout=10
        ) as stream:
            assert stream.status_code == 200
            assert httpx.post(f"{url}/__mock/reset", params=_admin("gone"), json={}).status_code == 200
            stream.read()
