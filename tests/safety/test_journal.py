"""The journal: credentials masked, bounded in bytes, ISO times, bodies, filters and verify."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.journal import Journal, JournalEntry
from mockserver.masking import Masker
from tests.mockserver import clients
from tests.mockserver.conftest import AGENT
from tests.safety.conftest import app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app()) as test_client:
        yield test_client


def _journal(client: TestClient, **filters: str) -> list[dict[str, Any]]:
    answer = client.get("/__mock/journal", params=filters)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()
    return entries


def test_credentials_are_masked_wherever_the_journal_returns_them(client: TestClient) -> None:
    client.get(
        "/v1/runs/?api_key=q-secret",
        headers={
            "Authorization": "Bearer s3cret",
            "Cookie": "session=c-secret",
            "X-BARE-PASSWORD": "p-secret",
        },
    )
    client.get("/v1/messages/async/x/status", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    client.post(
        f"/v1/agents/{AGENT}/messages/async",
        json={"messages": [{"role": "user", "content": "hi"}], "password": "b-secret"},
        headers={"Authorization": "Bearer any"},
    )
    text = client.get("/__mock/journal").text
    for secret in ("s3cret", "c-secret", "p-secret", "dXNlcjpwYXNz", "b-secret"):
        assert secret not in text
    first, second, third = _journal(client)
    assert first["headers"]["authorization"] == "Bearer ***"
    assert first["headers"]["cookie"] == "***"
    assert first["headers"]["x-bare-password"] == "***"  # named by Letta's security scheme
    assert second["headers"]["authorization"] == "Basic ***"
    assert third["request_body"]["password"] == "***"
    assert third["request_body"]["messages"][0]["content"] == "hi"


def test_masking_rules() -> None:
    masker = Masker(headers=["X-Api-Key"], query=["api_key"])
    assert masker.header("x-api-key", "abc") == "***"
    assert masker.header("authorization", "Bearer") == "***"  # no value after the scheme: nothing kept
    assert masker.header("accept", "text/plain") == "text/plain"
    assert masker.query_string("a=1&API_KEY=zzz&b=2") == "a=1&API_KEY=***&b=2"
    assert masker.query_string("a=1") == "a=1"
    assert masker.text('{"api_key": "k\\"ey", "x": 1}') == '{"api_key": "***", "x": 1}'
    assert masker.text('{"password": "cut-in-ha') == '{"password": "***'  # cut inside the secret


def test_iso_times_bodies_and_filters(client: TestClient) -> None:
    run = clients.create(client, "letta", "slow")
    clients.read(client, "letta", run)
    clients.create(client, "invent")
    created, read, _ = _journal(client)
    assert created["time"] == "2025-06-15T15:06:40.000000Z"
    assert created["epoch"] == 1_750_000_000.0
    assert created["request_body"] == {"messages": [{"role": "user", "content": "hello"}]}
    assert created["response_body"]["id"] == run
    assert read["request_body"] in (None, "")
    assert read["response_body"]["status"] == "created"
    assert [e["operation"] for e in _journal(client, api="letta")] == [
        "createAgentMessageAsync",
        "retrieveRun",
    ]
    assert [e["operation"] for e in _journal(client, operation="retrieveRun")] == ["retrieveRun"]
    assert [e["api"] for e in _journal(client, resource=run)] == ["letta", "letta"]
    assert [e["api"] for e in _journal(client, method="POST", status="200")] == ["letta", "invent"]
    unknown = client.get("/__mock/journal", params={"colour": "red"})
    assert unknown.status_code == 400
    assert unknown.json()["known"] == [
        "api",
        "operation",
        "resource",
        "method",
        "status",
        "limit",
        "namespace",
    ]
    assert [e["api"] for e in _journal(client, limit="1")] == ["invent"]
    assert _journal(client, limit="0") == []
    assert client.get("/__mock/journal", params={"limit": "-1"}).status_code == 400


def test_a_refused_request_keeps_its_body(client: TestClient) -> None:
    client.post(
        f"/v1/agents/{AGENT}/messages/async",
        content=b'{"messages": 7}',
        headers={"Authorization": "Bearer any", "Content-Type": "application/json"},
    )
    (entry,) = _journal(client)
    assert entry["status"] == 422
    assert entry["request_body"] == {"messages": 7}
    assert entry["response_body"]["detail"]


def test_verify_counts_matches_and_shows_the_nearest_calls(client: TestClient) -> None:
    run = clients.create(client, "letta", text="please #fail now")
    for _ in range(2):
        clients.read(client, "letta", run)
    answer = client.post(
        "/__mock/journal/verify",
        json={"method": "get", "path": "/v1/runs/*", "operation": "retrieveRun", "count": 2},
    ).json()
    assert (answer["matched"], answer["ok"], answer["expected"]) == (2, True, 2)
    assert [call["resource_id"] for call in answer["calls"]] == [run, run]
    assert "nearest" not in answer
    body = client.post(
        "/__mock/journal/verify",
        json={"operation": "createAgentMessageAsync", "body": {"messages.0.content": "*#fail*"}},
    ).json()
    assert body["matched"] == 1
    missed = client.post(
        "/__mock/journal/verify", json={"method": "POST", "path": "/v1/runs/*/cancel", "count": 1}
    ).json()
    assert (missed["matched"], missed["ok"]) == (0, False)
    nearest = missed["nearest"]
    assert len(nearest) == 3
    assert nearest[0]["call"] == f"POST /v1/agents/{AGENT}/messages/async"  # right method, wrong path
    assert nearest[0]["differences"] == [
        f"path: expected '/v1/runs/*/cancel', found '/v1/agents/{AGENT}/messages/async'"
    ]
    assert nearest[1]["differences"][0] == "method: expected 'POST', found 'GET'"


@pytest.mark.parametrize(
    "pattern",
    [[1], {"colour": "red"}, {"method": 5}, {"count": -1}, {"count": True}, {"status": "x"}, {"body": ["a"]}],
)
def test_verify_refuses_unusable_patterns(client: TestClient, pattern: Any) -> None:
    answer = client.post("/__mock/journal/verify", json=pattern)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"


def test_long_values_are_cut_and_the_journal_stays_within_its_byte_budget() -> None:
    journal = Journal(size=10_000, budget_bytes=1_000_000, value_bytes=1_000, body_bytes=2_000)
    big = "x" * 60_000
    for number in range(200):
        journal.record(
            JournalEntry(
                "GET", f"/p/{number}", "", 200, None, None, None, None, 0.0, 0.0, {"x-big": big}, big, big
            )
        )
        assert journal.bytes <= 1_000_000
    kept = journal.entries()[-1]
    assert kept.headers["x-big"] == "x" * 1_000 + "…[truncated 59000 characters]"
    assert kept.request_body == "x" * 2_000 + "…[truncated 58000 characters]"
    assert 100 < len(journal) < 200  # the oldest went to keep the budget
    assert journal.entries()[-1].path == "/p/199"
    journal.clear()
    assert (len(journal), journal.bytes) == (0, 0)


def test_huge_headers_do_not_grow_the_served_journal(client: TestClient) -> None:
    for _ in range(30):
        client.get("/v1/runs/", headers={"Authorization": "Bearer x", "X-Pad": "p" * 12_000})
    entries = _journal(client)
    assert all(len(entry["headers"]["x-pad"]) < 4_200 for entry in entries)
    assert entries[0]["headers"]["x-pad"].endswith("…[truncated 7904 characters]")


def _entry(number: int, token: str = "Bearer s3cret") -> JournalEntry:
    return JournalEntry(
        "POST", f"/p/{number}", "", 200, "letta", "op", None, None, 0.0, 0.0,
        {"authorization": token}, '{"password": "hunter2"}', "{}",
    )  # fmt: skip


def test_entries_are_masked_before_anyone_reads_them_and_the_feed_gets_masked_ones() -> None:
    journal = Journal(size=100)
    fed: list[JournalEntry] = []
    journal.on_record, journal.listening = fed.append, lambda: False
    journal.record(_entry(1))  # nobody listens: kept unmasked until read
    journal.listening = lambda: True
    journal.record(_entry(2))
    assert [entry.path for entry in fed] == ["/p/2"]
    for entry in [*fed, *journal.entries()]:
        assert entry.headers["authorization"] == "Bearer ***"
        assert entry.request_body == '{"password": "***"}'
    assert journal.entries()[1] is fed[0]  # cleaned once, the same entry afterwards


def test_the_byte_count_stays_exact_whether_entries_were_read_or_not() -> None:
    journal = Journal(size=5, budget_bytes=10_000)
    for number in range(12):
        journal.record(_entry(number, "Bearer " + "t" * number))
        if number % 3 == 0:
            journal.entries()  # cleans some entries; their counted size must not change
    assert len(journal) == 5
    assert journal.bytes == sum(entry.size for entry in journal.entries())
    for number in range(12, 17):  # every earlier entry evicted: nothing of theirs stays counted
        journal.record(_entry(number))
    assert journal.bytes == sum(entry.size for entry in journal.entries())
    journal.clear()
    assert journal.bytes == 0
