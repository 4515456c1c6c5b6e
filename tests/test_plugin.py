"""The pytest plugin itself: fixtures, marker, clean mocks, inline scenarios, readable failures."""

from __future__ import annotations

import pytest

from comeback.testing import START, MockServer
from lifecycle import SourceError
from lifecycle.bundled import bundled_scenarios, bundled_specs
from lifecycle.scenario import load_scenario
from lifecycle.spec import load_spec

HEADER = """
AGENT = "agent-123e4567-e89b-42d3-8456-426614174000"
BEARER = {"Authorization": "Bearer key"}
"""


def test_a_wrong_journal_assertion_shows_a_readable_difference(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
def test_client(comeback_mock):
    url = f"/v1/agents/{AGENT}/messages/async"
    created = comeback_mock.client.post(url, json={"input": "hi"}, headers=BEARER)
    run = created.json()
    comeback_mock.client.get(f"/v1/runs/{run['id']}", headers=BEARER)
    comeback_mock.journal.assert_calls(["POST createAgentMessageAsync", "GET retrieveRun", "GET retrieveRun"])
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*the client's calls differ from the expected ones (- expected, + actual):*",
            "*  POST createAgentMessageAsync",
            "*  GET retrieveRun",
            "*- GET retrieveRun",
        ]
    )


def test_a_wrong_poll_count_lists_the_calls_made(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
def test_client(comeback_mock):
    comeback_mock.client.post(f"/v1/agents/{AGENT}/messages/async", json={"input": "hi"}, headers=BEARER)
    comeback_mock.journal.assert_count("retrieveRun", 3)
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*retrieveRun was called 0 times, expected 3; the calls were:*", "*POST createAgentMessageAsync*"]
    )


def test_each_test_starts_from_a_clean_mock_and_the_marker_applies(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
import pytest

def test_first(comeback_mock):
    comeback_mock.client.post(f"/v1/agents/{AGENT}/messages/async", json={"input": "hi"}, headers=BEARER)
    assert len(comeback_mock.journal) == 1

def test_second_sees_nothing_of_the_first(comeback_mock):
    assert len(comeback_mock.journal) == 0
    assert comeback_mock.client.get("/v1/runs/", headers=BEARER).json() == []

@pytest.mark.comeback(apis=["invent"], seed=3)
def test_marker_serves_only_invent(comeback_mock):
    assert set(comeback_mock.engine.catalog) == {"invent"}
    assert comeback_mock.engine.settings.seed == 3
    assert comeback_mock.client.get("/v1/runs/", headers=BEARER).status_code == 404

def test_on_a_real_port(comeback_mock_on_port):
    import httpx
    assert httpx.get(comeback_mock_on_port.url + "/__mock/clock").json()["mode"] == "manual"
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=4)


def test_the_marker_is_declared_with_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.comeback(apis=None, seed=0, clock='manual', port=False, strict=True, scenarios=(), "
            "namespace='default', store='memory')*"
        ]
    )


def test_a_bad_inline_scenario_fails_with_the_same_message_as_a_file(pytester: pytest.Pytester) -> None:
    letta = next(p for p in bundled_specs() if p.stem == "letta")
    lifecycle = load_spec(letta.read_text(encoding="utf-8"), "letta.yaml").lifecycle
    text = (
        (bundled_scenarios() / "letta" / "happy.yaml")
        .read_text(encoding="utf-8")
        .replace("state: completed", "state: complted")
    )
    with pytest.raises(SourceError) as from_file:
        load_scenario(text, "letta/happy.yaml", lifecycle, api="letta")
    file_message = str(from_file.value).split(": ", 1)[1]  # without the file:line location
    pytester.makepyfile(
        """
import pytest
from comeback.testing import START, MockServer
from lifecycle import SourceError

def test_inline(comeback_mock):
    with pytest.raises(SourceError) as caught:
        done = {"state": "complted", "after": "2s", "set": {"stop_reason": "end_turn"}}
        steps = [{"state": "created"}, done]
        comeback_mock.scenario("letta", steps)
    print("INLINE:", str(caught.value))
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    inline = next(line for line in result.outlines if "INLINE: " in line).split("INLINE: ", 1)[1]
    assert inline.startswith("<inline scenario 'inline'>: ")
    assert inline.split(": ", 1)[1] == file_message


@pytest.mark.comeback(apis=["letta"], namespace="job-42")
def test_the_marker_sets_the_namespace(comeback_mock: MockServer) -> None:
    assert comeback_mock.namespace == "job-42"
    assert comeback_mock.client.headers["X-Mock-Namespace"] == "job-42"
    comeback_mock.advance(5)
    assert (
        comeback_mock.client.get("/__mock/clock", params={"namespace": "job-42"}).json()["epoch"] == START + 5
    )
    assert comeback_mock.client.get("/__mock/clock").json()["epoch"] == START
