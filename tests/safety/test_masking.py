"""Findings 5 and 6 (round 2): secrets masked in the journal stay masked wherever an answer echoes
them, and masking knows the wider set of names, values of any type, escaped keys and form bodies."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from lifecycle.credentials import is_secret_name
from mockserver.masking import Masker
from recorder.proxy import Options, Recorder, create_app
from tests.mockserver.conftest import AGENT
from tests.recorder.conftest import spec_of
from tests.safety.conftest import app

SECRETS = {
    "password": "pw-hunter22",
    "api_key": "ak-9f8e7d6c",
    "openai_api_key": "sk-openai-555",
    "token": "tok-abcdef",
    "private_key": "pk-BEGIN-xyz",
}


def test_a_validation_error_that_echoes_the_input_shows_no_secret() -> None:
    """Letta's 422 lists each refused value under ``input``: the journal masks that echo too."""
    body = {"messages": "not a list", **SECRETS, "api-key": 424242, "nested": {"secret": ["s-list-1"]}}
    with TestClient(app()) as client:
        answer = client.post(
            f"/v1/agents/{AGENT}/messages/async",
            content=json.dumps(body).encode(),
            headers={"Authorization": "Bearer any", "Content-Type": "application/json"},
        )
        assert answer.status_code == 422
        assert (
            SECRETS["password"] in answer.text
        )  # the client's own answer echoes its input; the journal may not
        journal = client.get("/__mock/journal").text
        form = client.post(
            f"/v1/agents/{AGENT}/messages/async",
            content=b"password=form-pw-1&user=bob&api-key=form-key-2",
            headers={"Authorization": "Bearer any", "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code < 500
        journal += client.get("/__mock/journal").text
    leaked = [s for s in (*SECRETS.values(), "424242", "s-list-1", "form-pw-1", "form-key-2") if s in journal]
    assert not leaked, f"in clear in GET /__mock/journal: {leaked}"
    assert "bob" in journal  # not everything is masked


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("openai_api_key", True),
        ("api-key", True),
        ("X-Api-Key", True),
        ("apiKey", True),
        ("token", True),
        ("accessToken", True),
        ("private_key", True),
        ("client_secret", True),
        ("PASSWORD", True),
        ("max_tokens", False),
        ("tokens_per_second", False),
        ("return_token_ids", False),
        ("key", False),
        ("monkey", False),
    ],
)
def test_secret_looking_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ('{"openai_api_key": 12345, "max_tokens": 5}', '{"openai_api_key": "***", "max_tokens": 5}'),
        ('{"api\\u005fkey": "s3cr3t", "b": 1}', '{"api\\u005fkey": "***", "b": 1}'),
        ('{"token": {"a": [1, "}"]}, "b": 2}', '{"token": "***", "b": 2}'),
        ('{"private_key": [1, 2', '{"private_key": "***'),
        ('{"password": "cut-in-ha', '{"password": "***'),
        ('{"secret": true, "password": null}', '{"secret": true, "password": null}'),
        ("password=hunter2&user=bob&api-key=zz", "password=***&user=bob&api-key=***"),
    ],
)
def test_masking_reads_any_value_escaped_keys_and_form_bodies(text: str, masked: str) -> None:
    assert Masker().text(text) == masked


def test_an_all_letter_authorization_value_is_masked_whole() -> None:
    masker = Masker()
    assert masker.header("authorization", "abcdefsecret rest") == "***"
    assert masker.header("authorization", "Bearer abc") == "Bearer ***"
    assert masker.header("x-auth-token", "plain") == "***"


def test_echoes_of_a_request_secret_are_masked_under_any_name() -> None:
    masker = Masker()
    echoes = masker.request_secrets(
        {"authorization": "Bearer abcdef"}, "api_key=qqqq", '{"password": 123456}'
    )
    answer = '{"detail": [{"input": "abcdef"}, {"input": 123456}, {"input": "qqqq"}]}'
    assert masker.text(answer, echoes) == '{"detail": [{"input": "***"}, {"input": ***}, {"input": "***"}]}'


def test_the_recorder_masks_echoes_of_secret_body_fields_in_what_it_writes(tmp_path: Path) -> None:
    def target(request: httpx.Request) -> httpx.Response:  # a 422 that echoes its input, as Letta's does
        return httpx.Response(422, json={"detail": [{"input": request.content.decode()}]})

    options = Options(
        spec_of("letta"),
        "http://target",
        tmp_path,
        spec_label="letta.yaml",
        transport=httpx.MockTransport(target),
    )
    recorder = Recorder(options)
    with TestClient(create_app(options, recorder)) as client:
        body = {"messages": 7, "password": "pw-recorded-1", "openai_api_key": 31415926}
        answer = client.post(f"/v1/agents/{AGENT}/messages/async", json=body)
        form = client.post(f"/v1/agents/{AGENT}/messages/async", content=b"api-key=form-recorded-2")
    assert "pw-recorded-1" in answer.text  # the proxy passes the echo to its client unchanged
    assert form.status_code == 422
    written = recorder.secrets.text(
        f"error_message: {answer.text} {form.text}"
    )  # what every file goes through
    assert "pw-recorded-1" not in written
    assert "31415926" not in written
    assert "form-recorded-2" not in written
