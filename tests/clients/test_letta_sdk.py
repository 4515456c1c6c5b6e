"""Letta's official Python SDK (``letta-client``, pinned in the test extras) against the mock on a real
port, with the SDK's strict response validation: every body must parse into the SDK's own models."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from letta_client import Letta, NotFoundError, UnprocessableEntityError

from mockserver.app import create_app
from mockserver.servers import serve_in_thread
from tests.mockserver.conftest import AGENT, settings

TERMINAL = {"completed", "failed", "cancelled"}


class Walk:
    """The SDK client plus the admin call that moves the mock's manual clock."""

    def __init__(self, url: str) -> None:
        self.sdk = Letta(base_url=url, api_key="any", _strict_response_validation=True, max_retries=0)
        self.admin = httpx.Client(base_url=url, timeout=10)

    def advance(self, seconds: float) -> None:
        assert self.admin.post("/__mock/clock", json={"seconds": seconds}).status_code == 200

    def until_terminal(self, run_id: str, max_polls: int = 20) -> str:
        """Retrieve the run until it is terminal, moving the clock half a second between polls."""
        for _ in range(max_polls):
            status = self.sdk.runs.retrieve(run_id).status
            if status in TERMINAL:
                return str(status)
            self.advance(0.5)
        raise AssertionError(f"{run_id} never ended")


@pytest.fixture(scope="module")
def walk() -> Iterator[Walk]:
    with serve_in_thread(create_app(settings())) as url:
        walker = Walk(url)
        yield walker
        walker.sdk.close()
        walker.admin.close()


def test_create_async_then_retrieve_until_terminal(walk: Walk) -> None:
    run = walk.sdk.agents.messages.create_async(AGENT, input="What is on my calendar?")
    assert run.id.startswith("run-")
    assert run.status == "created"
    assert walk.until_terminal(run.id) == "completed"
    assert walk.sdk.runs.retrieve(run.id).stop_reason == "end_turn"


def test_runs_messages_and_steps_auto_paginate_to_an_end(walk: Walk) -> None:
    created = []
    for _ in range(3):
        created.append(walk.sdk.agents.messages.create_async(AGENT, input="Hi", extra_headers={}).id)
        walk.advance(1)
    walk.advance(10)
    listed = [run.id for run in walk.sdk.runs.list(agent_id=AGENT, limit=1, order="asc")]
    assert listed[-3:] == created  # the SDK followed `after` page by page and stopped
    messages = list(walk.sdk.runs.messages.list(created[0], limit=1))
    assert [m.message_type for m in messages] == ["user_message", "assistant_message"]
    assert all(m.id.startswith("message-") for m in messages)
    steps = list(walk.sdk.runs.steps.list(created[0], limit=1))
    assert len(steps) == 1
    assert steps[0].id == messages[1].step_id


def test_usage_adds_up_and_agrees_with_the_steps(walk: Walk) -> None:
    run = walk.sdk.agents.messages.create_async(AGENT, input="Count my tokens")
    walk.until_terminal(run.id)
    usage = walk.sdk.runs.usage.retrieve(run.id)
    (step,) = list(walk.sdk.runs.steps.list(run.id))
    assert usage.total_tokens == (usage.prompt_tokens or 0) + (usage.completion_tokens or 0) > 0
    assert (step.prompt_tokens, step.completion_tokens) == (usage.prompt_tokens, usage.completion_tokens)


def test_cancel_a_run_in_flight(walk: Walk) -> None:
    run = walk.sdk.agents.messages.create_async(
        AGENT, input="Take your time", extra_headers={"X-Mock-Scenario": "never-finishes"}
    )
    outcome = walk.sdk.agents.messages.cancel(AGENT, run_ids=[run.id])
    assert outcome == {run.id: "cancelled"}
    assert walk.sdk.runs.retrieve(run.id).status == "cancelled"


def test_stream_and_resume_after_a_seq_id(walk: Walk) -> None:
    run = walk.sdk.agents.messages.create_async(AGENT, input="Tell me a story")
    walk.until_terminal(run.id)
    frames = list(walk.sdk.runs.messages.stream(run.id))
    kinds = [frame.message_type for frame in frames]
    assert kinds[-2:] == ["stop_reason", "usage_statistics"]
    text = "".join(str(f.content) for f in frames if f.message_type == "assistant_message")
    resumed = list(walk.sdk.runs.messages.stream(run.id, starting_after=2))
    seq_ids = [getattr(f, "seq_id", None) for f in frames]  # the SDK's stop/usage models lack the field
    assert [getattr(f, "seq_id", None) for f in resumed] == [s for s in seq_ids if (s or 0) > 2]
    (stored,) = [m for m in walk.sdk.runs.messages.list(run.id) if m.message_type == "assistant_message"]
    assert stored.content == text.rstrip()


def test_errors_come_as_the_sdk_exceptions(walk: Walk) -> None:
    with pytest.raises(NotFoundError):
        walk.sdk.runs.retrieve("run-00000000-0000-4000-8000-000000000000")
    with pytest.raises(UnprocessableEntityError):
        walk.sdk.agents.messages.create_async(AGENT, max_steps="many")  # type: ignore[arg-type]
