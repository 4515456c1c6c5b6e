"""The recorder's pure parts as tables: frames, routes, credentials, recordings, composing, grouping."""

from __future__ import annotations

from typing import Any

import pytest

from recorder.compose import compose, format_duration
from recorder.frames import Frame, FrameReader, Meaning, classify
from recorder.recording import Recording
from recorder.routes import Router
from recorder.secrets import Secrets
from recorder.writer import same_timeline
from tests.recorder.conftest import spec_of

PRIVATEGPT, LETTA, CHATZY = spec_of("privategpt"), spec_of("letta"), spec_of("chatzy")


def test_frames_are_split_however_the_chunks_fall() -> None:
    text = 'event: message_start\ndata: {"a": 1}\n\n: comment\n\ndata: l1\ndata: l2\r\n\r\ndata: "é"\n\n'
    raw = text.encode()
    whole = FrameReader().feed(raw)
    reader = FrameReader()
    pieces = [frame for index in range(len(raw)) for frame in reader.feed(raw[index : index + 1])]
    assert (
        pieces
        == whole
        == [
            Frame("message_start", '{"a": 1}'),
            Frame(None, "l1\nl2"),
            Frame(None, '"é"'),
        ]
    )


@pytest.mark.parametrize(
    ("spec", "frame", "meaning"),
    [
        (PRIVATEGPT, Frame("content_block_delta", '{"delta": {"text": "Hi "}}'), Meaning("text", "Hi ")),
        (PRIVATEGPT, Frame("message_stop", '{"type": "message_stop"}'), Meaning("signal", "message_stop")),
        (PRIVATEGPT, Frame("error", '{"type": "error"}'), Meaning("signal", "error")),
        (PRIVATEGPT, Frame("ping", '{"type": "ping"}'), Meaning("keepalive")),
        (PRIVATEGPT, Frame(None, '{"unterminated": '), Meaning("malformed", '{"unterminated": ')),
        (LETTA, Frame(None, '{"message_type": "assistant_message", "content": "A"}'), Meaning("text", "A")),
        (LETTA, Frame(None, '{"message_type": "reasoning_message", "content": "x"}'), Meaning("other")),
        (LETTA, Frame(None, '{"message_type": "ping"}'), Meaning("keepalive")),
        (LETTA, Frame(None, "[DONE]"), Meaning("signal", "[DONE]")),
        (CHATZY, Frame(None, '{"content": "word "}'), Meaning("text", "word ")),
        (CHATZY, Frame(None, "call_again"), Meaning("control", "call_again")),
        (CHATZY, Frame(None, "__ERROR__: boom"), Meaning("signal", "__ERROR__: boom")),
        (CHATZY, Frame(None, "close_connection"), Meaning("signal", "close_connection")),
    ],
)
def test_what_a_frame_means(spec: Any, frame: Frame, meaning: Meaning) -> None:
    assert classify(frame, spec.lifecycle.stream) == meaning


@pytest.mark.parametrize(
    ("method", "path", "operation", "parameters"),
    [
        ("GET", "/v1/runs/run-1", "retrieveRun", {"run_id": "run-1"}),
        ("POST", "/v1/runs/run-1/stream", "retrieveStreamForRun", {"run_id": "run-1"}),
        ("GET", "/v1/runs/", "listRuns", {}),
        ("DELETE", "/v1/runs/run%2F1", "deleteRun", {"run_id": "run/1"}),
    ],
)
def test_requests_are_matched_to_operations(method: str, path: str, operation: str, parameters: Any) -> None:
    route = Router(LETTA.operations).match(method, path)
    assert route is not None
    assert (route.operation.operation_id, dict(route.path)) == (operation, parameters)


def test_unknown_paths_match_nothing() -> None:
    assert Router(LETTA.operations).match("GET", "/nowhere") is None
    assert Router(LETTA.operations).match("PATCH", "/v1/runs/run-1") is None


def test_credentials_named_by_the_spec_are_masked_everywhere() -> None:
    secrets = Secrets(LETTA.data)
    assert {"authorization", "x-bare-password"} <= secrets.headers
    secrets.learn([("Authorization", "Bearer sk-123456"), ("X-Bare-Password", "password hunter22")])
    assert secrets.text("key sk-123456 and hunter22") == "key *** and ***"
    assert secrets.clean({"X-BARE-PASSWORD": "x", "note": ["Bearer sk-123456"], "n": 1}) == {
        "note": ["***"],
        "n": 1,
    }
    assert secrets.url("http://user:pw@host:8283/base?x=1") == "http://host:8283/base?x=1"
    assert secrets.masked_headers([("authorization", "Bearer a"), ("accept", "*/*")]) == [
        ("authorization", "***"),
        ("accept", "*/*"),
    ]


def test_short_values_are_not_taken_for_credentials() -> None:
    secrets = Secrets(PRIVATEGPT.data)
    secrets.learn([("Authorization", "abc")])
    assert secrets.text("abc def") == "abc def"


def letta_run() -> Recording:
    return Recording("letta", "run-1", LETTA.lifecycle, created=(0.0, 0.1))


def test_a_walk_within_the_lifecycle_reports_nothing() -> None:
    run = letta_run()
    assert run.observe(0.5, 0.6, {"status": "created", "stop_reason": None}) == []
    assert (
        run.observe(1.9, 2.1, {"status": "completed", "stop_reason": "end_turn", "completed_at": "t"}) == []
    )
    assert [s.state for s in run.segments] == ["created", "completed"]
    assert not any(s.notes for s in run.segments)


def test_a_terminal_state_that_changes_is_reported_and_named_as_the_known_deviation() -> None:
    run = letta_run()
    run.observe(1.0, 1.1, {"status": "cancelled", "stop_reason": "cancelled", "completed_at": "t"})
    messages = run.observe(2.0, 2.1, {"status": "completed", "stop_reason": "end_turn", "completed_at": "t"})
    assert messages == [
        "letta run-1: off contract: the terminal state 'cancelled' changed to 'completed'; "
        "the spec knows it as deviation 'cancel-not-sticky'"
    ]
    assert run.segments[-1].notes[0]["kind"] == "transition"
    assert run.deviations == {"cancel-not-sticky"}


def test_values_outside_the_spec_are_reported_once() -> None:
    run = letta_run()
    done = {"status": "completed", "stop_reason": "because", "completed_at": None}
    first = run.observe(1.0, 1.1, done)
    assert run.observe(1.2, 1.3, done) == []
    assert [note["kind"] for note in run.segments[-1].notes] == ["value", "missing"]
    assert len(first) == 2
    assert "stop_reason='because' is not allowed in state 'completed'" in first[0]


def test_a_known_extra_value_names_its_deviation_instead_of_breaking_the_contract() -> None:
    run = letta_run()
    run.observe(1.0, 1.1, {"status": "completed", "stop_reason": "llm_api_error", "completed_at": "t"})
    assert run.deviations == {"completed-with-error-stop-reason"}
    assert run.segments[-1].notes == []


def test_a_status_that_is_no_state_is_noted_where_it_was_seen() -> None:
    run = letta_run()
    assert run.observe(1.0, 1.1, {"status": "paused"})
    assert run.segments[0].notes[0]["kind"] == "state"


def test_an_answer_asked_before_a_newer_state_was_seen_is_not_a_step_back() -> None:
    run = Recording("privategpt", "m", PRIVATEGPT.lifecycle, created=(0.0, 0.0))
    run.observe(1.0, 1.2, {"status": "processing"})
    assert run.observe(1.1, 1.3, {"status": "pending"}) == []  # sent before 1.2: stale
    assert run.observe(1.4, 1.5, {"status": "pending"})  # sent after: the state really went back
    assert [s.state for s in run.segments] == ["pending", "processing", "pending"]


def test_error_answers_become_a_fault_of_their_step() -> None:
    run = Recording("privategpt", "m", PRIVATEGPT.lifecycle, created=(0.0, 0.0))
    run.observe(0.9, 0.9, {"status": "pending"})
    for moment in (1.05, 1.15):
        run.call(moment, "getAsyncMessageStatus", 503)
    run.observe(1.2, 1.25, {"status": "processing"})
    run.call(1.25, "getAsyncMessageStatus", 200)
    run.observe(3.0, 3.0, {"status": "completed", "completed_at": "t"})
    data = compose(run, Secrets(PRIVATEGPT.data), source="here").data
    assert data["steps"][1]["fault"] == {"status": 503, "times": 2, "operations": ["getAsyncMessageStatus"]}
    assert data["steps"][1]["after"] == "0.975s"  # between the last pending answer and the first error


def test_errors_throughout_a_step_become_a_probability() -> None:
    run = Recording("letta", "r", LETTA.lifecycle, created=(0.0, 0.0))
    for index, status in enumerate([429, 200, 429, 200]):
        moment = 0.5 + index * 0.5
        run.call(moment, "retrieveRun", status, retry_after=2.0 if status == 429 else None)
        if status == 200:
            run.observe(moment, moment, {"status": "created"})
    run.observe(3.0, 3.0, {"status": "completed", "stop_reason": "end_turn", "completed_at": "t"})
    fault = compose(run, Secrets(LETTA.data), source="here").data["steps"][0]["fault"]
    assert fault == {"status": 429, "probability": 0.5, "retry_after": "2s", "operations": ["retrieveRun"]}


@pytest.mark.parametrize(("seconds", "text"), [(1.0, "1s"), (0.25, "0.25s"), (40.0004, "40s"), (0.0, "0s")])
def test_durations_are_written_to_the_millisecond(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def two_runs(second_after: float) -> tuple[Any, Any]:
    composed = []
    for after in (2.0, second_after):
        run = letta_run()
        run.observe(
            0.1 + after, 0.1 + after, {"status": "completed", "stop_reason": "end_turn", "completed_at": "t"}
        )
        composed.append(compose(run, Secrets(LETTA.data), source="here"))
    return composed[0], composed[1]


def test_same_timeline_means_same_steps_and_about_as_long() -> None:
    assert same_timeline(*two_runs(2.3), slack=0.5)
    assert not same_timeline(*two_runs(40.0), slack=0.5)  # "failed after 40 s" is its own timeline
