"""Conformance's findings: Schemathesis' scenarios turned into report cases (passes, one finding
per distinct failure and operation), with the spec's deviations as exact excuses and the stream's
documented unavailable statuses judged as the stream probe judges them."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any, Protocol

import jsonschema
from schemathesis.core.errors import NoLinksFound
from schemathesis.core.failures import Failure
from schemathesis.engine import Status, events

from contracts.report import Report, Violation
from contracts.target import hide_secrets
from lifecycle.model import Deviation, Lifecycle


class Settings(Protocol):
    """What the findings need of ``contracts.conformance.Settings`` (a seam: no import circle)."""

    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def references(self) -> Mapping[str, str]: ...
    @property
    def tolerate(self) -> frozenset[str]: ...
    @property
    def auth(self) -> str: ...


class Findings:
    """Turns the engine's scenarios into report cases: passes, distinct failures, excuses."""

    def __init__(
        self,
        report: Report,
        lifecycle: Lifecycle,
        settings: Settings,
        labels: Mapping[str, str],
        document: Mapping[str, Any],
    ) -> None:
        self.report = report
        self.lifecycle = lifecycle
        self.settings = settings
        self.labels = labels
        self.document = document
        self.seen: dict[tuple[str, str, str, str], Violation] = {}

    def scenario(self, event: events.ScenarioFinished) -> None:
        recorder = event.recorder
        for case_id, nodes in recorder.checks.items():
            node_case = recorder.cases.get(case_id)
            if node_case is None:
                continue
            case = node_case.value
            label = case.operation.label
            self.report.passed("conformance.transport", label)
            for node in nodes:
                check = f"conformance.{node.name}"
                if (check, label) not in self.report.cases:
                    continue  # a check the report leaves to a probe (the stream's frames)
                if node.status == Status.SUCCESS or node.failure_info is None:
                    self.report.passed(check, label)
                    continue
                self.failure(check, label, case, node.failure_info, recorder.find_response(case_id=case_id))

    def failure(self, check: str, label: str, case: Any, info: Any, response: Any) -> None:
        failure: Failure = info.failure
        if (
            check == "conformance.ignored_auth"
            and self.settings.auth == "any-credential"
            and str(getattr(failure, "scenario", "")) != "no_auth"
        ):
            self.report.passed(check, label)  # any credential is fine here; a missing one is not
            return
        status = getattr(response, "status_code", None)
        stream = self.lifecycle.stream
        if (
            stream is not None
            and self.labels.get(label) == stream.operation
            and status in stream.unavailable_status
        ):
            # one verdict per answer: the stream probe calls this status documented, not observed
            self.report.not_observed(
                check,
                label,
                reason=f"the stream answered {status}, documented as unavailable "
                "(x-lifecycle.stream.unavailable_status)",
            )
            return
        key = (check, label, type(failure).__name__, failure._unique_key)
        deviation = self._excuse(label, failure, status, case)
        tolerated = (
            deviation.name if deviation is not None and deviation.name in self.settings.tolerate else None
        )
        if key in self.seen and (tolerated is None) == (self.seen[key].tolerated_by is None):
            return
        if tolerated is None and key in self.seen:
            self.report.found.remove(self.seen[key])  # an excused sighting is replaced by a real one
        detail = next((line.strip() for line in (failure.message or "").splitlines() if line.strip()), "")
        # Schemathesis' failure code first (ST101...): its documentation is indexed by it
        message = f"{failure.code} {failure.title}" + (f" (got {status})" if status is not None else "")
        message += f": {detail}" if detail else ""
        if deviation is not None and tolerated is None:
            message += f" (the known deviation {deviation.name!r} is not tolerated)"
        steps = [step.curl for step in info.steps] or [info.code_sample]
        reproduce = tuple(
            hide_secrets(text, self.settings.headers, self.settings.references).strip() for text in steps
        )
        violation = Violation(check, message, tolerated_by=tolerated, unit=label, reproduce=reproduce)
        self.seen[key] = violation
        self.report.add(violation)

    def error(self, event: events.NonFatalError) -> None:
        """A request Schemathesis could not complete (reset, timeout, protocol error): a finding.
        A stateful phase left with no link (``--operation`` kept none) is no request at all."""
        if isinstance(event.value, NoLinksFound):
            self.report.notes.append("conformance: no stateful run (the chosen operations keep no link)")
            return
        label = event.label if event.label in self.labels else ""
        sample = event.info.code_sample
        reproduce = (hide_secrets(sample, self.settings.headers, self.settings.references),) if sample else ()
        text = f"{type(event.value).__name__}: {event.value}".strip()
        message = f"expected an HTTP answer; the request failed: {text[:300]}"
        key = ("conformance.transport", label, type(event.value).__name__, "")
        if key not in self.seen:
            self.seen[key] = Violation("conformance.transport", message, unit=label, reproduce=reproduce)
            self.report.add(self.seen[key])

    # -- excuses --------------------------------------------------------------------------------
    def _excuse(self, label: str, failure: Failure, status: int | None, case: Any) -> Deviation | None:
        """The extra-statuses deviation that names exactly this status on this operation (and, when
        it names missing fields, a body whose only problem is those fields), if any. A deviation
        ``instead_of`` 405 excuses only a wrong answer to an undeclared method (a sibling route that
        matches the URL), and only such a deviation does."""
        kind = type(failure).__name__
        if status is None or kind not in (
            "UndefinedStatusCode",
            "AcceptedNegativeData",
            "RejectedPositiveData",
            "UnsupportedMethodResponse",
        ):
            return None
        operation_id = self.labels.get(label)
        for deviation in self.lifecycle.deviations:
            effect = deviation.effect
            if deviation.kind != "extra-statuses" or effect["operation"] != operation_id:
                continue
            if status not in effect["statuses"]:
                continue
            instead = [int(s) for s in effect.get("instead_of", ())]
            if kind == "AcceptedNegativeData" and not any(400 <= s < 500 for s in instead):
                continue
            if kind == "RejectedPositiveData" and not any(200 <= s < 300 for s in instead):
                continue
            if (kind == "UnsupportedMethodResponse") != (405 in instead):
                continue

            if effect.get("only_missing") and not self._only_missing(case, effect["only_missing"]):
                continue
            return deviation
        return None

    def _only_missing(self, case: Any, fields: list[str]) -> bool:
        """Whether the body sent is valid once ``fields`` are no longer required."""
        body = getattr(case, "body", None)
        if not isinstance(body, dict) or case.meta is None:
            return False
        operation = case.operation.definition.raw
        media = ((operation.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
        ref = (media.get("schema") or {}).get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return False
        root = copy.deepcopy(dict(self.document))
        node: Any = root
        for token in ref[2:].split("/"):
            node = node[token]
        node["required"] = [name for name in node.get("required", []) if name not in fields]
        root["$ref"] = ref
        try:
            jsonschema.Draft202012Validator(root).validate(json.loads(json.dumps(body)))
        except (jsonschema.ValidationError, ValueError):
            return False
        return True
