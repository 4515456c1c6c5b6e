"""Scenarios over HTTP: PUT (YAML or JSON, checked like files), GET and DELETE; unknown admin paths."""

from __future__ import annotations

import json

from tests.mockserver.conftest import AGENT, AUTH, Mock

YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}
SLOW = """api: letta
description: Completes after 7 s.
match: {text_contains: "#seven"}
steps:
  - state: created
  - state: completed
    after: 7s
    set: {stop_reason: end_turn}
"""


def create_run(mock: Mock, text: str = "hi", scenario: str | None = None) -> str:
    headers = {**AUTH["letta"], **({"X-Mock-Scenario": scenario} if scenario else {})}
    body = {"messages": [{"role": "user", "content": text}]}
    response = mock.client.post(f"/v1/agents/{AGENT}/messages/async", json=body, headers=headers)
    assert response.status_code == 200, response.text
    run_id: str = response.json()["id"]
    return run_id


def test_put_yaml_adds_a_scenario_that_the_next_run_walks(mock: Mock) -> None:
    response = mock.client.put("/__mock/scenarios/letta/seven", content=SLOW, headers=YAML)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["source"] == "PUT /__mock/scenarios/letta/seven"
    assert body["scenario"]["steps"][1]["after"] == "7s"
    run = create_run(mock, "go #seven")
    mock.advance(6)
    assert mock.resource("letta", run)["state"] == "created"
    mock.advance(1)
    assert mock.resource("letta", run)["scenario"] == "seven"
    assert mock.resource("letta", run)["state"] == "completed"
    listed = mock.client.get("/__mock/scenarios").json()["letta"]["scenarios"]
    sources = {s["name"]: s["source"] for s in listed}
    assert sources["seven"] == "PUT /__mock/scenarios/letta/seven"
    assert sources["happy"].endswith("scenarios/letta/happy.yaml")


def test_put_json_replaces_a_bundled_scenario_and_delete_brings_the_file_back(mock: Mock) -> None:
    data = {"description": "Fails at once.", "steps": [{"state": "created"}]}
    response = mock.client.put("/__mock/scenarios/letta/failed", content=json.dumps(data), headers=JSON)
    assert response.status_code == 200, response.text
    assert response.json()["scenario"]["api"] == "letta"  # the path names the API
    got = mock.client.get("/__mock/scenarios/letta/failed").json()
    assert got["scenario"]["description"] == "Fails at once."
    deleted = mock.client.delete("/__mock/scenarios/letta/failed", headers=JSON)
    assert deleted.status_code == 200
    assert deleted.json()["now"]["source"].endswith("scenarios/letta/failed.yaml")
    assert mock.client.delete("/__mock/scenarios/letta/failed", headers=JSON).status_code == 409


def test_put_with_default_true_takes_the_default(mock: Mock) -> None:
    text = "description: Mine.\ndefault: true\nsteps:\n  - state: created\n"
    assert mock.client.put("/__mock/scenarios/letta/mine", content=text, headers=YAML).status_code == 201
    assert mock.client.get("/__mock/scenarios").json()["letta"]["default"] == "mine"
    run = create_run(mock)
    assert mock.resource("letta", run)["scenario"] == "mine"
    mock.client.delete("/__mock/scenarios/letta/mine", headers=JSON)
    assert mock.client.get("/__mock/scenarios").json()["letta"]["default"] == "happy"


def test_a_bad_scenario_gets_the_same_findings_as_a_file(mock: Mock) -> None:
    text = "api: letta\ndescription: d\nsteps:\n  - state: created\n  - state: complted\n    after: 1s\n"
    response = mock.client.put("/__mock/scenarios/letta/typo", content=text, headers=YAML)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["findings"] == [
        "PUT /__mock/scenarios/letta/typo:5: /steps/1/state: unknown state; found 'complted'; "
        "expected one of 'cancelled', 'completed', 'created', 'failed', 'running'; did you mean 'completed'?"
    ]
    assert problem["problems"][0]["line"] == 5
    assert mock.client.get("/__mock/scenarios/letta/typo").status_code == 404


def test_put_refuses_broken_yaml_json_a_clashing_trigger_and_reserved_names(mock: Mock) -> None:
    broken = mock.client.put("/__mock/scenarios/letta/x", content="steps: [", headers=YAML)
    assert broken.status_code == 422
    assert "not valid YAML" in broken.json()["findings"][0]
    bad_json = mock.client.put("/__mock/scenarios/letta/x", content="{", headers=JSON)
    assert "not valid JSON" in bad_json.json()["findings"][0]
    clash = SLOW.replace("#seven", "#FAIL")
    clashing = mock.client.put("/__mock/scenarios/letta/x", content=clash, headers=YAML)
    assert clashing.status_code == 422
    assert "another scenario has the same trigger" in clashing.json()["findings"][0]
    assert mock.client.put("/__mock/scenarios/letta/next", content=SLOW, headers=YAML).status_code == 400
    huge = SLOW + "#" * 1_100_000
    assert mock.client.put("/__mock/scenarios/letta/x", content=huge, headers=YAML).status_code == 413
    unknown = mock.client.put("/__mock/scenarios/leta/x", content=SLOW, headers=YAML)
    assert unknown.status_code == 404
    assert unknown.json()["known_apis"] == ["chatzy", "invent", "letta", "privategpt"]


def test_a_run_in_flight_keeps_its_scenario_when_it_is_replaced(mock: Mock) -> None:
    run = create_run(mock, scenario="slow")  # 25 s in the bundled file
    fast = "description: Fast.\nsteps:\n  - state: created\n  - state: completed\n    after: 1s\n"
    fast += "    set: {stop_reason: end_turn}\n"
    assert mock.client.put("/__mock/scenarios/letta/slow", content=fast, headers=YAML).status_code == 200
    mock.advance(2)
    assert mock.resource("letta", run)["state"] == "created"
    assert mock.resource("letta", create_run(mock, scenario="slow"))["state"] == "created"
    mock.advance(1.5)
    resources = mock.client.get("/__mock/resources?api=letta").json()
    assert [r["state"] for r in resources] == ["created", "completed"]


def test_get_and_delete_unknown_scenarios(mock: Mock) -> None:
    missing = mock.client.get("/__mock/scenarios/letta/nope")
    assert missing.status_code == 404
    assert "happy" in missing.json()["known_scenarios"]
    assert mock.client.delete("/__mock/scenarios/letta/nope", headers=JSON).status_code == 404
    assert mock.client.get("/__mock/scenarios/letta/happy").json()["default"] is True


def test_unknown_admin_paths_list_the_admin_routes(mock: Mock) -> None:
    response = mock.client.get("/__mock/resorces")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    routes = response.json()["routes"]
    assert "PUT /__mock/scenarios/{api}/{name}" in routes
    assert "GET /__mock/journal" in routes
    assert not any(route.startswith(("POST /v1", "GET /v1")) for route in routes)
    wrong_method = mock.client.put("/__mock/clock", json={})
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, POST"
