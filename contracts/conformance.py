"""Conformance through Schemathesis 4: every operation with positive and negative data and all of
its built-in checks, then a stateful run that follows the spec's links.

Streaming operations are left to the stream probe: Schemathesis reads the schema of an OpenAPI 3.1
``text/event-stream`` response as the schema of each event, while these specs (and ``lint``)
describe the body as one string of frames.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.errors
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase
from schemathesis import Config
from schemathesis.core.failures import Failure
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from contracts.report import Report, Violation
from lifecycle.model import Lifecycle

_CURL = re.compile(r"^\s*(curl .*)$", re.M)


def conformance(
    spec_path: Path,
    base_url: str,
    lifecycle: Lifecycle,
    report: Report,
    *,
    headers: Mapping[str, str],
    tolerate: frozenset[str],
    examples: int = 10,
    seed: int = 0,
    time_budget: float = 120.0,
) -> None:
    """Run Schemathesis against ``base_url``; every failure becomes a violation (or a tolerated warning)."""
    auth, plain = _auth(schema_document(spec_path), headers)
    config = Config.from_dict(
        {
            "base-url": base_url,
            "headers": plain,
            **({"auth": {"openapi": auth}} if auth else {}),
            "seed": seed,
            "checks": {"enabled": True},
            "generation": {"max-examples": examples, "deterministic": True, "database": "none"},
            "request-timeout": 10,
            "operations": _per_operation(lifecycle),
        }
    )
    schema = schemathesis.openapi.from_path(str(spec_path), config=config)
    streaming = {lifecycle.stream.operation} if lifecycle.stream is not None else set()
    started = time.monotonic()
    report.ran("conformance.operations")
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            report.add(
                Violation("conformance.schema", f"Schemathesis cannot use an operation: {result.err()}")
            )
            continue
        operation = result.ok()
        operation_id = str(operation.definition.raw.get("operationId", operation.label))
        if operation_id in streaming:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() - started > time_budget:
                return
            for failure, text in _run(operation, mode, examples, seed):
                _record(
                    report, lifecycle, tolerate=tolerate, operation=operation_id, failure=failure, text=text
                )
    if time.monotonic() - started <= time_budget:
        report.ran("conformance.stateful")
        labels = {  # "POST /path" -> operationId, so a stateful failure finds its deviation too
            op.ok().label: str(op.ok().definition.raw.get("operationId", ""))
            for op in schema.get_all_operations()
            if isinstance(op, Ok)
        }
        for failure, text in _stateful(schema, examples):
            _record(
                report,
                lifecycle,
                tolerate=tolerate,
                operation=f"stateful sequence, {failure.operation or 'an operation'}",
                failure=failure,
                text=text,
                operation_id=labels.get(failure.operation or ""),
            )


_DEFAULT_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # Schemathesis' own default
_STATUS_FAILURES = {"UndefinedStatusCode", "AcceptedNegativeData"}  # what an extra-statuses deviation excuses


def _per_operation(lifecycle: Lifecycle) -> list[dict[str, Any]]:
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
    if lifecycle.stream is not None:  # reached through links in the stateful run; see the module docstring
        settings.append(
            {
                "include-operation-id": lifecycle.stream.operation,
                "checks": {"response_schema_conformance": {"enabled": False}},
            }
        )
    return settings


def schema_document(spec_path: Path) -> Mapping[str, Any]:
    loaded: Mapping[str, Any] = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    return loaded


def _auth(document: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
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


def _settings(examples: int, seed: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
        report_multiple_bugs=True,
    )


def _run(operation: Any, mode: GenerationMode, examples: int, seed: int) -> list[tuple[Failure, str]]:
    found: list[tuple[Failure, str]] = []

    @_settings(examples, seed)
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def probe(case: Any) -> None:
        case.call_and_validate()

    try:
        probe()
    except hypothesis.errors.Unsatisfiable:
        return found  # nothing to generate in this mode (e.g. no way to make a request invalid)
    except BaseException as error:  # Hypothesis re-raises what the checks raised, grouped
        found.extend(_failures(error))
    return found


def _stateful(schema: Any, examples: int) -> list[tuple[Failure, str]]:
    machine = schema.as_state_machine()
    settings = hypothesis.settings(
        machine.TestCase.settings,
        max_examples=examples,
        derandomize=True,
        database=None,
        stateful_step_count=5,
    )
    try:
        machine.run(settings=settings)
    except BaseException as error:
        return _failures(error)
    return []


def _failures(error: BaseException) -> list[tuple[Failure, str]]:
    """The Schemathesis failures inside whatever Hypothesis raised (groups nest)."""
    if isinstance(error, Failure):
        return [(error, str(error))]
    found: list[tuple[Failure, str]] = []
    for inner in getattr(error, "exceptions", ()):
        for failure, text in _failures(inner):
            found.append((failure, text if "curl" in text else str(error)))
    if not found and not isinstance(error, KeyboardInterrupt):
        raise error
    return found


def _record(
    report: Report,
    lifecycle: Lifecycle,
    *,
    tolerate: frozenset[str],
    operation: str,
    failure: Failure,
    text: str,
    operation_id: str | None = None,
) -> None:
    name = "conformance." + re.sub(r"[^a-z0-9]+", "_", (failure.title or "failure").lower()).strip("_")
    excuse = next(
        (
            d
            for d in lifecycle.deviations
            if d.kind == "extra-statuses"
            and d.effect["operation"] in (operation, operation_id)
            and d.name in tolerate
            and type(failure).__name__ in _STATUS_FAILURES
        ),
        None,
    )
    curls = tuple(_CURL.findall(text))[:3]
    message = (
        f"{operation}: {failure.title}: {failure.message.strip().splitlines()[0] if failure.message else ''}"
    )
    if curls:
        message += "\n    reproduce: " + "\n               ".join(curls)
    violation = Violation(name, message, tolerated_by=excuse.name if excuse else None)
    if not any(v.check == name and v.message == violation.message for v in report.found):
        report.add(violation)
