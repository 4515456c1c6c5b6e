"""Settings that change behaviour: token, no-auth, API subset, CORS, eviction, seed."""

from __future__ import annotations

from starlette.testclient import TestClient

from mockserver.app import create_app
from tests.mockserver import clients
from tests.mockserver.conftest import AUTH, settings


def test_a_configured_token_must_be_the_credential() -> None:
    with TestClient(create_app(settings(token="s3cret"))) as client:
        assert client.get("/v1/runs/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/v1/runs/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert (
            client.get("/v1/messages/async/x/status", headers={"Authorization": "s3cret"}).status_code == 404
        )


def test_no_auth_accepts_requests_without_credentials() -> None:
    with TestClient(create_app(settings(auth=False))) as client:
        assert client.get("/v1/runs/").status_code == 200


def test_api_subset_serves_only_those_apis() -> None:
    with TestClient(create_app(settings(apis=frozenset({"letta"})))) as client:
        assert client.get("/v1/runs/", headers=AUTH["letta"]).status_code == 200
        assert client.get("/v1/messages/async/x/status", headers=AUTH["privategpt"]).status_code == 404
        assert client.get("/__mock/scenarios").json().keys() == {"letta"}


def test_cors_preflight_from_a_browser_on_another_port() -> None:
    with TestClient(create_app(settings())) as client:
        response = client.options(
            "/v1/messages/async",
            headers={
                "Origin": "http://localhost:5173",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] in ("*", "http://localhost:5173")
        listed = client.get(
            "/chats/c/messages", headers={**AUTH["invent"], "Origin": "http://localhost:5173"}
        )
        assert "pagination-count" in listed.headers["access-control-expose-headers"]


def test_cors_can_be_switched_off() -> None:
    with TestClient(create_app(settings(cors_origins=()))) as client:
        response = client.get("/v1/runs/", headers={**AUTH["letta"], "Origin": "http://localhost:5173"})
        assert "access-control-allow-origin" not in response.headers


def test_memory_stays_bounded_without_evicting_in_flight_resources() -> None:
    with TestClient(create_app(settings(max_resources=5))) as client:
        in_flight = clients.create(client, "privategpt", "never-finishes")
        finished = [clients.create(client, "privategpt", "happy") for _ in range(3)]
        client.post("/__mock/clock", json={"seconds": 10})
        later = [clients.create(client, "privategpt", "happy") for _ in range(4)]
        kept = {r["id"] for r in client.get("/__mock/resources").json()}
        assert len(kept) == 5
        assert in_flight in kept  # never finishes, so never evicted while there are finished ones
        assert not set(finished) & kept  # the oldest finished ones went first
        assert set(later) <= kept


def test_idle_resources_are_forgotten_after_max_age() -> None:
    with TestClient(create_app(settings(max_age_seconds=60))) as client:
        old = clients.create(client, "letta", "happy")
        client.post("/__mock/clock", json={"seconds": 61})
        clients.create(client, "letta", "happy")
        status, _ = clients.read(client, "letta", old)
        assert status == 404


def test_same_seed_and_id_give_the_same_fake_data() -> None:
    def run_messages(seed: int, run_id: str) -> object:
        renderer = create_app(settings(seed=seed)).state.engine.renderers["letta"]
        operation = renderer.spec.operations["listMessagesForRun"]
        return renderer.fake_body(operation, 200, run_id)

    run = "run-4c5c7d5a-4196-44b1-a7a9-45aebe39c6d7"
    assert run_messages(7, run) == run_messages(7, run)
    assert run_messages(7, run) != run_messages(8, run)
    assert run_messages(7, run) != run_messages(7, run.replace("4c5c", "5d6d"))
