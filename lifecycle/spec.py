"""An API spec loaded for use: the OpenAPI document, its operations and its lifecycle model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lifecycle.errors import SourceError
from lifecycle.lint import lint_document
from lifecycle.model import Lifecycle, build_lifecycle
from lifecycle.openapi import Operation, operations
from lifecycle.source import Document, load_document


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """A spec that passed lint: safe to serve and to check against."""

    name: str
    document: Document
    operations: Mapping[str, Operation]
    lifecycle: Lifecycle

    @property
    def data(self) -> Mapping[str, Any]:
        return self.document.data  # type: ignore[no-any-return]


def load_spec(text: str, source: str, *, name: str | None = None, validate_openapi: bool = True) -> ApiSpec:
    """Parse and lint a spec; raise SourceError listing every finding if it is not usable.

    ``source`` names the file in messages; ``name`` (default: the file's stem) names the API.
    """
    document = load_document(text, source)
    findings = lint_document(document, validate_openapi=validate_openapi)
    if findings:
        raise SourceError(findings)
    api = name or source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return ApiSpec(api, document, operations(document.data), build_lifecycle(document.data["x-lifecycle"]))
