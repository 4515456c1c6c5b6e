"""Conformance through Schemathesis' own engine: the phases, checks and stopping rules of
``schemathesis run --checks all`` (examples, coverage, fuzzing, stateful links), so the kit finds
what plain Schemathesis finds on the same budget, plus what it adds:

- generation goes on after a failure until the budget (``continue-on-failure``), and every distinct
  failure (Schemathesis' own identity: failure class and operation) is reported once per operation;
- ``--param`` values are used for the parameters of those names in every generated request, and
  ``--header`` values are sent with each one (credentials as Schemathesis auth, so its auth checks
  know which header is which);
- the deployment's auth (``--auth``) decides the auth checks: ``required`` as the spec says,
  ``any-credential`` (a credential must be present, its value is not checked) and ``none``;
- the spec's tolerated deviations excuse exactly the statuses (and missing fields) they name;
- reproductions show every request of the failing sequence, credentials as environment references.

Streaming operations keep their status and header checks here, but their frames are the stream
probe's: Schemathesis reads an OpenAPI 3.1 ``text/event-stream`` schema as the schema of each
event, while these specs describe the body as one string of frames.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import schemathesis
import yaml
from schemathesis import Config
from schemathesis.engine import events, from_schema

from contracts.conformance_findings import Findings
from contracts.drops import Drops
from contracts.follow import following_5xx
from contracts.report import Report, Violation
from lifecycle.model import Lifecycle

AuthMode = Literal["required", "any-credential", "none"]
AUTH_MODES: tuple[AuthMode, ...] = ("required", "any-credential", "none")

# the checks ``schemathesis run --checks all`` runs on an OpenAPI schema without a response-time
# limit or a second identity; each is a case per operation in the report
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "object_level_authorization",
    "allow_header_conformance",
)
STREAM_SECONDS, STREAM_EVENTS = 2, 3  # what conformance reads of one stream
MAX_TIME = 25.0  # the default budget of the conformance phase, in seconds
_DEFAULT_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # Schemathesis' own default


@dataclass
class Settings:
    """What one conformance run sends and how long it may take."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    auth: AuthMode = "required"
    tolerate: frozenset[str] = frozenset()
    references: Mapping[str, str] = field(default_factory=dict)
    examples: int = 25
    seed: int = 0
    time_budget: float = MAX_TIME
    operations: tuple[str, ...] = ()  # only these operationIds (default: all)
    progress: Callable[[str], None] = lambda _: None
    drops: Drops = field(default_factory=Drops)  # what the requests after a 5xx met


def conformance(spec_path: Path, lifecycle: Lifecycle, report: Report, settings: Settings) -> None:
    """Run Schemathesis' engine against the target; record every case and distinct failure."""
    document = schema_document(spec_path)
    auth, plain = credentials(document, settings.headers)
    checks: dict[str, Any] = {"enabled": True}
    if settings.auth == "none":
        checks["ignored_auth"] = {"enabled": False}
    config = Config.from_dict(
        {
            "base-url": settings.base_url,
            "headers": plain,
            **({"auth": {"openapi": auth}} if auth else {}),
            "seed": settings.seed,
            "max-time": max(1, round(settings.time_budget)),
            "continue-on-failure": True,
            # no crash cache in the user's folder: each run is judged on what it sees itself
            "cache": {"enabled": False},
            "checks": checks,
            "generation": {"max-examples": settings.examples, "database": "none"},
            "parameters": dict(settings.params),
            "request-timeout": 10,
            "output": {"sanitization": {"enabled": False}},
            "operations": [
                *per_operation(lifecycle),
                # the engine reads its filters from the config (a filtered schema is not enough)
                *(
                    {"include-operation-id": operation, "enabled": False}
                    for operation in _operation_ids(document)
                    if settings.operations and operation not in settings.operations
                ),
            ],
        }
    )
    schema: Any = schemathesis.openapi.from_path(str(spec_path), config=config)
    _fresh_caller_ids(schema, lifecycle)
    labels = {
        result.ok().label: str(result.ok().definition.raw.get("operationId", result.ok().label))
        for result in schema.get_all_operations()
        if hasattr(result, "ok")
        and (not settings.operations or result.ok().definition.raw.get("operationId") in settings.operations)
    }
    enabled = [c for c in CHECKS if not (c == "ignored_auth" and settings.auth == "none")]
    stream_label = next(
        (label for label, op in labels.items() if lifecycle.stream and op == lifecycle.stream.operation), None
    )
    for label in labels:
        for check in (*enabled, "transport"):
            if not (label == stream_label and check == "response_schema_conformance"):  # the stream probe's
                report.expect(f"conformance.{check}", label)
    recorder = Findings(report, lifecycle, settings, labels, document)
    stream = from_schema(schema).execute()
    try:
        with following_5xx(settings.drops, settings.references):
            _consume(stream, recorder, report, settings)
    finally:
        _FRESH.pop(id(schema), None)
    for label in labels:
        for check in enabled:
            if (f"conformance.{check}", label) not in report.cases:
                continue
            report.not_observed(
                f"conformance.{check}",
                label,
                reason="no generated request reached this check (budget, or it does not apply)",
            )
        report.not_observed("conformance.transport", label, reason="no request was sent")


def _consume(stream: Any, recorder: Findings, report: Report, settings: Settings) -> None:
    """Record the engine's events as they come; stop it if it overruns the budget."""
    started = time.monotonic()
    for event in stream:
        if isinstance(event, events.ScenarioFinished) and event.label:
            recorder.scenario(event)
            elapsed = time.monotonic() - started
            settings.progress(f"conformance: {event.phase.value} {event.label or ''} ({elapsed:.0f}s)")
            if elapsed > settings.time_budget + 2:  # the engine's own max-time is checked between phases
                stream.stop()
        elif isinstance(event, events.NonFatalError):
            recorder.error(event)
        elif isinstance(event, events.FatalError):
            report.add(
                Violation("conformance.transport", f"Schemathesis stopped: {event.exception}", unit="")
            )


def per_operation(lifecycle: Lifecycle) -> list[dict[str, Any]]:
    """Settings the lifecycle implies: a create that refuses a duplicate caller-chosen id answers the
    documented ``duplicate_status`` (PrivateGPT: 400), which is not a rejection of valid data; a
    stream's frames are checked by the stream probe, not against the response schema."""
    settings: list[dict[str, Any]] = []
    create = lifecycle.create
    if create.caller_id is not None and create.duplicate_status is not None:
        accepted = [*_DEFAULT_ACCEPTED, str(create.duplicate_status)]
        settings.append(
            {
                "include-operation-id": create.operation,
                "checks": {"positive_data_acceptance": {"expected-statuses": accepted}},
            }
        )
    if lifecycle.stream is not None:
        # a stream answers while its resource works (seconds to minutes): a few events or two
        # seconds say what conformance judges (status, headers), the stream probe reads the rest
        settings.append(
            {
                "include-operation-id": lifecycle.stream.operation,
                "checks": {"response_schema_conformance": {"enabled": False}},
                "request-timeout": STREAM_SECONDS,
                "max-stream-events": STREAM_EVENTS,
            }
        )
    return settings


# schemas whose creates get a fresh caller-chosen id: id(schema) -> (operationId, query parameter)
_FRESH: dict[int, tuple[str, str]] = {}


def _fresh_caller_ids(schema: Any, lifecycle: Lifecycle) -> None:
    """A caller-chosen id (PrivateGPT's ``message_id``) gets a fresh value in every generated create:
    the spec's example would make every create after the first a documented duplicate (400), and
    the create's other answers (to invalid bodies, say) would never be seen. Schemathesis allows a
    ``before_call`` hook only globally: it is registered once and acts only on the kit's schemas."""
    caller = lifecycle.create.caller_id
    if caller is None or not caller.startswith("$request.query."):
        return
    if not _FRESH:
        schemathesis.hook(_before_call)
    _FRESH[id(schema)] = (lifecycle.create.operation, caller.removeprefix("$request.query."))


def _before_call(context: Any, case: Any, kwargs: Any) -> None:
    fresh = _FRESH.get(id(case.operation.schema))
    if fresh is None or case.operation.definition.raw.get("operationId") != fresh[0]:
        return
    if isinstance(case.query, dict) and isinstance(case.query.get(fresh[1]), str):
        case.query[fresh[1]] = f"comeback-{uuid.uuid4()}"


_before_call.__name__ = "before_call"


def _operation_ids(document: Mapping[str, Any]) -> list[str]:
    return [
        str(operation["operationId"])
        for item in (document.get("paths") or {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]


def schema_document(spec_path: Path) -> Mapping[str, Any]:
    loaded: Mapping[str, Any] = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    return loaded


def credential_headers(document: Mapping[str, Any]) -> frozenset[str]:
    """The (lower-case) header names the spec's security schemes read credentials from."""
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    names = set()
    for scheme in schemes.values():
        if scheme.get("type") == "http":
            names.add("authorization")
        elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            names.add(str(scheme.get("name", "")).lower())
    return frozenset(names)


def credentials(
    document: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Credentials per security scheme (so Schemathesis' auth checks know which header is which)
    from the headers given, and the headers that are not credentials."""
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    lowered = {name.lower(): (name, value) for name, value in headers.items()}
    auth: dict[str, Any] = {}
    used: set[str] = set()
    for scheme_name, scheme in schemes.items():
        if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            found = lowered.get("authorization")
            if found and found[1].lower().startswith("bearer "):
                auth[scheme_name] = {"bearer": found[1][7:].strip()}
                used.add("authorization")
        elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            found = lowered.get(str(scheme.get("name", "")).lower())
            if found and str(scheme["name"]).lower() not in used:
                auth[scheme_name] = {"api_key": found[1]}
                used.add(str(scheme["name"]).lower())
    plain = {name: value for name, value in headers.items() if name.lower() not in used}
    return auth, plain
