"""Schemathesis 4 against the strict mock, in-process (ASGI), for each bundled API.

* ``test_api``: ``schemathesis.pytest.parametrize`` over the four schemas, one pytest item per
  operation; each runs the examples, coverage and fuzzing phases with positive and negative data
  and validates every response with all built-in checks (``case.call_and_validate()``).
* ``test_stateful``: ``schema.as_state_machine()`` per API, following the specs' OpenAPI links
  (plus the links Schemathesis infers), with the same checks and data.

The mock runs in strict mode, so a response that violates its own spec comes back as a 500
problem+json and fails ``not_a_server_error`` / ``content_type_conformance``. It gets a token, so
Schemathesis' ``ignored_auth`` check has wrong credentials to send. Every stateless case and every
stateful scenario starts from a reset mock: a case must not see resources an earlier case created
(PrivateGPT answers a reused caller-chosen ``message_id`` with 400, which is not a mock bug).

Exclusions are per operation and each carries its reason; see ``OPERATIONS``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import hypothesis
import pytest
import schemathesis
import yaml
from schemathesis import Config
from schemathesis.python import asgi

from comeback.testing import START
from mockserver.app import create_app, default_settings
from tests.conftest import SPECS

SEED = 20250615
SPEC_PATH = "/__schemathesis__/openapi.json"  # outside every spec's paths and the admin API
TOKEN = "comeback-schemathesis-token"
# Security scheme name -> credentials, per API (chatzy has no security).
AUTH: dict[str, dict[str, Any]] = {
    "privategpt": {"selfHostedSecret": {"api_key": TOKEN}},
    "letta": {"bearerAuth": {"bearer": TOKEN}},
    "invent": {"bearerAuth": {"bearer": TOKEN}},
    "chatzy": {},
}
ANY_STATUS_BUT_BAD_REQUEST = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # Schemathesis' default

STREAMS = ("streamAsyncMessage", "retrieveStreamForRun", "getResponse")
OPERATIONS: list[dict[str, Any]] = [
    # An SSE stream stays open until its resource ends, and the manual clock never moves during a
    # request: read each stream for 1 s (Schemathesis keeps the frames received by then and checks them).
    *({"include-operation-id": operation, "request-timeout": 1.0} for operation in STREAMS),
    # The bundled specs are OpenAPI 3.1 and describe an SSE body as ONE string holding all frames
    # (that is what `comeback lint` checks the examples against). Schemathesis reads the `schema` of a
    # 3.1 `text/event-stream` response as the schema of EACH event ({"data", "event", ...}), the way
    # OpenAPI 3.2 uses `itemSchema`, so even the vendors' documented frames fail it. Spec-reading
    # conflict, not a mock bug; content_type_conformance still checks these operations.
    *(
        {"include-operation-id": operation, "checks": {"response_schema_conformance": {"enabled": False}}}
        for operation in STREAMS
    ),
    # PrivateGPT cancel: the spec keeps the vendor document's `EmptyCancelBody` (additionalProperties:
    # false) but says real servers never read the body, so a cancel of an existing stream with any body
    # is answered 200. Negative bodies are therefore accepted by design (vendor decision in the spec).
    {"include-operation-id": "cancelAsyncMessage", "checks": {"negative_data_rejection": {"enabled": False}}},
    # PrivateGPT create in a stateful scenario: two creates may reuse one caller-chosen `message_id`
    # (e.g. the spec's example), and the vendor answers a duplicate with 400 (documented), where
    # Schemathesis expects 409 for a conflict. Stateless cases run on a reset mock and keep the default.
    {
        "include-operation-id": "createAsyncMessage",
        "phases": {
            "stateful": {
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*ANY_STATUS_BUT_BAD_REQUEST, "400"]}
                }
            }
        },
    },
]


class Served:
    """One API's strict mock behind a wrapper that also serves its spec, for ``from_asgi``."""

    def __init__(self, api: str) -> None:
        self.mock = create_app(
            replace(
                default_settings(),
                apis=frozenset({api}),
                clock="manual",
                start_time=START,
                strict=True,
                token=TOKEN,
                callback_hosts=frozenset({"127.0.0.1"}),  # fuzzed callback_urls must not leave the machine
            )
        )
        spec = yaml.safe_load((SPECS / f"{api}.yaml").read_text(encoding="utf-8"))
        self.document = json.dumps(spec).encode()
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(("/__", SPEC_PATH)):
            self.requests += 1  # API calls only: proves a run was not vacuous
        if scope["type"] == "http" and scope["path"] == SPEC_PATH:
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": self.document})
            return
        await self.mock(scope, receive, send)

    def admin(self, path: str, body: dict[str, Any] | None = None) -> None:
        """POST to the mock's admin API through the same in-process client Schemathesis uses."""
        with asgi.get_client(self) as client:
            response = client.post(f"/__mock/{path}", json=body if body is not None else {})
        assert response.status_code == 200, response.text

    def reset(self) -> None:
        self.admin("reset")


def config(api: str) -> Config:
    data: dict[str, Any] = {
        "seed": SEED,
        "base-url": "http://127.0.0.1:8000",  # the specs' "comeback mock" server: no base path
        # "all": positive and negative data; deterministic: derandomized, so CI runs are reproducible
        "generation": {"mode": "all", "max-examples": 25, "deterministic": True, "database": "none"},
        "checks": {"enabled": True},  # every built-in check
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
        },
        "operations": OPERATIONS,
    }
    if AUTH[api]:
        data["auth"] = {"openapi": AUTH[api]}
    return Config.from_dict(data)


SERVED = {api: Served(api) for api in AUTH}
SCHEMAS = {api: schemathesis.openapi.from_asgi(SPEC_PATH, SERVED[api], config=config(api)) for api in AUTH}


@schemathesis.pytest.parametrize(**SCHEMAS)
def test_api(case: schemathesis.Case[Any]) -> None:
    served: Served = case.operation.schema.app
    served.reset()
    case.call_and_validate()


@pytest.mark.parametrize("api", sorted(SCHEMAS))
def test_stateful(api: str) -> None:
    served = SERVED[api]
    workflow = SCHEMAS[api].as_state_machine()

    class Workflow(workflow):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            served.reset()

        def before_call(self, case: schemathesis.Case[Any]) -> None:
            # Time passes between steps, so resources move through their scenarios (the default ones
            # take 1-2 s per state) and later steps see processing / finished resources and full streams.
            served.admin("clock", {"seconds": 1.5})

    # Schemathesis' own state-machine settings (generate phase only, no health checks), made reproducible.
    settings = hypothesis.settings(
        Workflow.TestCase.settings, max_examples=15, derandomize=True, database=None, stateful_step_count=6
    )
    before = served.requests
    Workflow.run(settings=settings)  # raises Schemathesis' failures
    assert served.requests - before >= 15  # it really walked the links: at least a call per example
