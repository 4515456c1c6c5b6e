"""The journal's admin routes: list (with filters), clear, and verify.

GET    /__mock/journal?api=&operation=&resource=&method=&status=&limit=   entries, oldest first
                                                        (limit: only the newest N)
DELETE /__mock/journal                                             forget them
POST   /__mock/journal/verify   {"method", "path", "operation", "api", "resource", "status",
                                 "body": {"field.path": value}, "count"}
       -> {"matched": n, "calls": [...], "ok": bool (with count), "nearest": [...] (when none matched)}
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mockserver.engine import Engine
from mockserver.journal import FILTERS, PATTERN_KEYS, PatternError, check_pattern, select, verify
from mockserver.problems import problem, read_json


def journal_routes(engine: Engine, prefix: str) -> list[Route]:
    """The journal routes under ``prefix``, bound to ``engine``."""

    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            await engine.clear_journal()
            return JSONResponse({"cleared": True})
        unknown = sorted(set(request.query_params) - {*FILTERS, "limit", "namespace"})
        if unknown:
            detail = f"unknown query parameter(s) {unknown}"
            return problem(400, "Unknown filter", detail, known=[*FILTERS, "limit", "namespace"])
        filters = dict(request.query_params)
        limit = filters.pop("limit", None)
        filters.pop("namespace", None)  # the journal is the namespace's already
        if limit is not None and not (limit.isdecimal() and len(limit) < 10):
            return problem(400, "Bad limit", "limit must be a non-negative integer", found=limit[:50])
        entries = await engine.journal()
        entries = select(entries, filters) if filters else entries
        if limit is not None:
            entries = entries[len(entries) - int(limit) :] if int(limit) else []
        return JSONResponse([entry.as_dict() for entry in entries])

    async def verify_calls(request: Request) -> Response:
        body = await read_json(request)
        if isinstance(body, Response):
            return body
        try:
            pattern = check_pattern(body)
        except PatternError as error:
            return problem(400, "Bad verify pattern", str(error), known=sorted(PATTERN_KEYS))
        return JSONResponse(verify(await engine.journal(), pattern))

    return [
        Route(f"{prefix}/journal", journal, methods=["GET", "DELETE"]),
        Route(f"{prefix}/journal/verify", verify_calls, methods=["POST"]),
    ]
