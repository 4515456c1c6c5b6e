"""Checks that a spec is usable: valid OpenAPI 3.1, a valid ``x-lifecycle`` block, and the two agree.

``lint_document`` collects every finding instead of stopping at the first. It is pure: the caller
reads the file and passes a ``Document``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from lifecycle.examples import example_findings
from lifecycle.findings import Finding, closest, join, one_of
from lifecycle.lint_lifecycle import LIFECYCLE, LifecycleChecks
from lifecycle.model import build_lifecycle
from lifecycle.openapi import Operation, operations
from lifecycle.source import Document
from lifecycle.validation import schema_findings, shipped_validator


def lint_document(
    document: Document,
    *,
    validate_openapi: bool = True,
    require_lifecycle: bool = True,
    check_examples: bool = True,
) -> list[Finding]:
    """Every problem of the spec in ``document``, sorted by line.

    ``require_lifecycle=False`` accepts a spec without ``x-lifecycle`` (served statelessly);
    ``validate_openapi=False`` and ``check_examples=False`` skip the checks a bundled spec is known
    to pass (the test suite lints the bundled specs in full)."""
    data = document.data
    if not isinstance(data, Mapping):
        return [
            document.finding(
                "", "a spec must be a mapping", found=type(data).__name__, expected="an OpenAPI 3.1 document"
            )
        ]
    findings: list[Finding] = []
    if validate_openapi:
        findings.extend(_openapi_findings(document))
    ops = operations(data)
    findings.extend(_link_findings(document, ops))
    if check_examples:
        findings.extend(example_findings(document))
    block = data.get("x-lifecycle")
    if block is None and require_lifecycle:
        findings.append(
            document.finding("", "missing required key", expected="'x-lifecycle' (the API's lifecycle)")
        )
    elif block is not None:
        shape = schema_findings(shipped_validator("x-lifecycle.schema.json"), block, document, LIFECYCLE)
        findings.extend(shape)
        if not shape:
            findings.extend(LifecycleChecks(document, build_lifecycle(block), ops).run())
    return sorted(set(findings), key=lambda f: (f.line or 0, f.pointer, f.message, f.found or ""))


def _openapi_findings(document: Document) -> Iterator[Finding]:
    # imported here: the validator brings pydantic, requests and urllib3 (~0.5 s and ~15 MB), and
    # `comeback serve` with the bundled specs never runs this check (catalog.load_any_spec)
    from openapi_spec_validator import OpenAPIV31SpecValidator  # noqa: PLC0415

    for error in OpenAPIV31SpecValidator(document.data).iter_errors():
        summary = error.message.split("\n", 1)[0]  # the validator appends a multi-line dump of the instance
        yield document.finding(join("", *error.absolute_path), f"not valid OpenAPI 3.1: {summary}")


def _link_findings(document: Document, ops: Mapping[str, Operation]) -> Iterator[Finding]:
    """Every link must target a real operation and name only parameters that operation has."""
    for operation in ops.values():
        for status, response in (operation.definition.get("responses") or {}).items():
            links = response.get("links") if isinstance(response, Mapping) else None
            for name, link in (links or {}).items():
                pointer = join(operation.pointer, "responses", status, "links", name)
                target_id = link.get("operationId")
                if target_id is None:
                    yield document.finding(
                        pointer, "link without operationId", expected="an operationId of this spec"
                    )
                    continue
                target = ops.get(target_id)
                if target is None:
                    yield document.finding(
                        join(pointer, "operationId"),
                        "link targets an unknown operation",
                        found=repr(target_id),
                        expected=one_of(ops),
                        suggestion=closest(target_id, ops),
                    )
                    continue
                names = {p.get("name") for p in target.parameters}
                for parameter in link.get("parameters") or {}:
                    bare = parameter.split(".", 1)[-1]  # "path.message_id" qualifies the location
                    if bare not in names:
                        yield document.finding(
                            join(pointer, "parameters", parameter),
                            f"link parameter is not a parameter of {target_id!r}",
                            found=repr(parameter),
                            expected=one_of(n for n in names if n),
                            suggestion=closest(bare, [n for n in names if n]),
                        )


__all__ = ["lint_document"]
