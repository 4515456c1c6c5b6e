"""Which scenario a new resource walks: the header, a trigger word in the body, or the API's default."""

from __future__ import annotations

from tests.mockserver import clients
from tests.mockserver.conftest import Mock


def test_default_scenario(mock: Mock) -> None:
    run = clients.create(mock.client, "letta")
    assert mock.resource("letta", run)["scenario"] == "happy"


def test_header_chooses_the_scenario(mock: Mock) -> None:
    run = clients.create(mock.client, "letta", "failed")
    assert mock.resource("letta", run)["scenario"] == "failed"


def test_trigger_word_in_a_chat_message_chooses_the_scenario(mock: Mock) -> None:
    message = clients.create(mock.client, "privategpt", text="please answer slowly #SLOW")
    assert mock.resource("privategpt", message)["scenario"] == "slow"
    other = clients.create(mock.client, "chatzy", text="what now? #never")
    assert mock.resource("chatzy", other)["scenario"] == "never-finishes"


def test_the_header_wins_over_a_trigger_word(mock: Mock) -> None:
    message = clients.create(mock.client, "invent", "failed", text="#slow")
    assert mock.resource("invent", message)["scenario"] == "failed"


def test_choice_is_per_resource_without_global_side_effects(mock: Mock) -> None:
    failing = clients.create(mock.client, "invent", "failed")
    plain = clients.create(mock.client, "invent")
    assert [mock.resource("invent", r)["scenario"] for r in (failing, plain)] == ["failed", "happy"]


def test_admin_can_change_the_default(mock: Mock) -> None:
    response = mock.client.put("/__mock/scenarios/letta/default", json={"name": "never-finishes"})
    assert response.json() == {"api": "letta", "default": "never-finishes"}
    run = clients.create(mock.client, "letta")
    assert mock.resource("letta", run)["scenario"] == "never-finishes"
    refused = mock.client.put("/__mock/scenarios/letta/default", json={"name": "nope"})
    assert refused.status_code == 400
    assert "happy" in refused.json()["known_scenarios"]
