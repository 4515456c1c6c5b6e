"""Scenarios over HTTP.

    PUT    /__mock/scenarios/{api}/{name}   a scenario as YAML or JSON (the same checks and messages
                                            as a file; 422 problem+json with the findings)
    GET    /__mock/scenarios/{api}/{name}   one scenario, as a file would say it, with its source
    DELETE /__mock/scenarios/{api}/{name}   remove a scenario that was PUT (a file's version returns)

A PUT scenario lies over the files (``ScenarioBook.upload``) and survives hot reloads and
``POST /__mock/reset``; it lasts until it is deleted or the mock stops. ``default`` and ``next``
are not scenario names here: those paths are the older default and queue calls.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lifecycle.errors import SourceError
from lifecycle.findings import Finding
from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario, scenario_from_document, scenario_to_data
from lifecycle.source import Document, load_document
from mockserver.engine import Engine
from mockserver.paths import PREFIX
from mockserver.problems import problem
from mockserver.reload import PUT_SOURCE
from mockserver.safejson import BadJson, loads

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
RESERVED = frozenset({"default", "next"})
JSON_TYPES = ("application/json", "+json")


def scenario_routes(engine: Engine) -> list[Route]:
    """The one-scenario routes, bound to ``engine``."""
    admin = _Scenarios(engine)
    path = f"{PREFIX}/scenarios/{{api}}/{{name}}"
    return [
        Route(path, admin.put, methods=["PUT"]),
        Route(path, admin.get, methods=["GET"]),
        Route(path, admin.delete, methods=["DELETE"]),
    ]


class _Scenarios:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _api(self, request: Request) -> str | Response:
        api: str = request.path_params["api"]
        if api not in self.engine.catalog:
            return problem(404, "Unknown API", f"no API {api!r}", known_apis=sorted(self.engine.catalog))
        return api

    async def put(self, request: Request) -> Response:
        api = self._api(request)
        if isinstance(api, Response):
            return api
        name = request.path_params["name"]
        if not NAME.match(name) or name in RESERVED:
            return problem(
                400,
                "Bad scenario name",
                f"{name!r} cannot name a scenario here",
                expected="letters, digits, '.', '_' or '-' (not 'default' or 'next')",
            )
        source = f"{PUT_SOURCE}/{api}/{name}"
        body = await request.body()
        limit = self.engine.settings.max_body_bytes
        if len(body) > limit:
            return problem(413, "Scenario too large", f"the body has {len(body)} bytes; at most {limit}")
        try:  # in a worker thread: a hostile upload must not hold up the event loop's other clients
            lifecycle = self.engine.lifecycle(api)
            content_type = request.headers.get("content-type", "")
            scenario = await run_in_threadpool(
                _scenario, body, content_type, source, lifecycle, api=api, name=name
            )
        except SourceError as error:
            return _invalid(source, error.findings)
        existed = name in self.engine.catalog[api].scenarios
        findings = await self.engine.book.upload(scenario)
        if findings:
            return _invalid(source, findings)
        return JSONResponse(await self.describe(api, name), status_code=200 if existed else 201)

    async def get(self, request: Request) -> Response:
        api = self._api(request)
        if isinstance(api, Response):
            return api
        name = request.path_params["name"]
        if name not in self.engine.catalog[api].scenarios:
            return self._unknown(api, name)
        return JSONResponse(await self.describe(api, name))

    async def delete(self, request: Request) -> Response:
        api = self._api(request)
        if isinstance(api, Response):
            return api
        name = request.path_params["name"]
        if name not in self.engine.book.uploaded(api):
            if name in self.engine.catalog[api].scenarios:
                source = self.engine.catalog[api].sources.get(name, "a file")
                return problem(
                    409,
                    "Scenario not deletable",
                    f"{api}/{name} comes from {source}, not from a PUT; remove or edit the file instead",
                )
            return self._unknown(api, name)
        findings = await self.engine.book.discard(api, name)
        if findings:  # the file version below it clashes with a PUT one
            return _invalid(f"{PUT_SOURCE}/{api}/{name}", findings)
        still = name in self.engine.catalog[api].scenarios
        return JSONResponse(
            {"api": api, "deleted": name, "now": await self.describe(api, name) if still else None}
        )

    def _unknown(self, api: str, name: str) -> Response:
        known = sorted(self.engine.catalog[api].scenarios)
        return problem(404, "Unknown scenario", f"{name!r} is not a scenario of {api}", known_scenarios=known)

    async def describe(self, api: str, name: str) -> dict[str, Any]:
        served = self.engine.catalog[api]
        scenario = served.scenarios[name]
        return {
            "api": api,
            "name": name,
            "source": served.sources.get(name, ""),
            "default": await self.engine.book.default(self.engine.namespace, api) == name,
            "scenario": scenario_to_data(scenario),
        }


def _scenario(
    body: bytes, content_type: str, source: str, lifecycle: Lifecycle, *, api: str, name: str
) -> Scenario:
    """The checked scenario a PUT body holds (pure: run off the event loop)."""
    return scenario_from_document(_document(body, content_type, source), lifecycle, api=api, name=name)


def _document(body: bytes, content_type: str, source: str) -> Document:
    """The body as a located document: JSON when the Content-Type says so, else YAML."""
    text = body.decode("utf-8", errors="replace")
    media = content_type.split(";", 1)[0].strip().lower()
    if media.endswith(JSON_TYPES):
        try:  # safejson: deep nesting, NaN, 1e400 and huge integers are refusals, not 500s
            data = loads(text)
        except BadJson as error:
            raise SourceError([Finding(source, None, "", f"not valid JSON: {error}")]) from None
        if isinstance(data, dict):
            data.setdefault("api", source.rsplit("/", 2)[-2])
        return Document(source, data, {})
    if not text.strip():
        raise SourceError(
            [Finding(source, None, "", "the body is empty", expected="a scenario in YAML or JSON")]
        )
    document = load_document(text, source)
    if isinstance(document.data, dict):
        document.data.setdefault("api", source.rsplit("/", 2)[-2])
    return document


def _invalid(source: str, findings: tuple[Finding, ...] | list[Finding]) -> Response:
    return problem(
        422,
        "Invalid scenario",
        f"{source}: {len(findings)} problem(s); nothing changed",
        findings=[str(finding) for finding in findings],
        problems=[f.as_dict() for f in findings],
    )
