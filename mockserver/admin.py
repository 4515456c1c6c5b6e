"""The admin API under ``/__mock/``: reset, resources and their timelines, the journal, scenarios,
the manual clock, and forcing a resource's next step. Answers are JSON; errors are problem+json."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mockserver.engine import Engine
from mockserver.render import iso
from mockserver.store import Resource

PREFIX = "/__mock"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def admin_routes(engine: Engine) -> list[Route]:
    """The admin endpoints, bound to ``engine``."""

    def describe(resource: Resource) -> dict[str, Any]:
        timeline = engine.observe(resource)
        return {
            "api": resource.api,
            "id": resource.id,
            "scope": resource.scope,
            "scenario": resource.scenario,
            "state": timeline.state,
            "terminal": engine.is_terminal(resource),
            "reads": timeline.reads,
            "watchers": resource.watchers,  # open streams and pending callbacks
            "next_change_at": iso(due) if (due := timeline.next_change_at()) is not None else None,
            "history": [
                {"state": e.state, "at": iso(e.at), "cause": e.cause, "values": dict(e.values)}
                for e in timeline.history
            ],
        }

    async def reset(request: Request) -> Response:
        await engine.reset()
        return JSONResponse({"reset": True})

    async def resources(request: Request) -> Response:
        api = request.query_params.get("api")
        return JSONResponse([describe(r) for r in engine.store if api is None or r.api == api])

    def find(request: Request) -> Resource | Response:
        api, resource_id = request.path_params["api"], request.path_params["resource_id"]
        resource = engine.find(api, resource_id)
        if resource is None:
            return problem(
                404,
                "No such resource",
                f"no {api} resource {resource_id!r}",
                known_apis=sorted(engine.catalog),
            )
        return resource

    async def resource(request: Request) -> Response:
        found = find(request)
        return found if isinstance(found, Response) else JSONResponse(describe(found))

    async def next_step(request: Request) -> Response:
        found = find(request)
        if isinstance(found, Response):
            return found
        engine.force_next(found)
        return JSONResponse(describe(found))

    async def journal(request: Request) -> Response:
        if request.method == "DELETE":
            engine.journal.clear()
            return JSONResponse({"cleared": True})
        api = request.query_params.get("api")
        return JSONResponse([e.as_dict() for e in engine.journal.entries() if api is None or e.api == api])

    async def scenarios(request: Request) -> Response:
        listing = {
            name: {
                "default": engine.defaults[name],
                "scenarios": [
                    {
                        "name": s.name,
                        "description": s.description,
                        "match": s.match_text,
                        "steps": [
                            {
                                "state": st.state,
                                "after": st.after,
                                "after_reads": st.after_reads,
                                "set": dict(st.set),
                            }
                            for st in s.steps
                        ],
                    }
                    for s in api.scenarios.values()
                ],
            }
            for name, api in engine.catalog.items()
        }
        return JSONResponse(listing)

    async def set_default(request: Request) -> Response:
        api = request.path_params["api"]
        if api not in engine.catalog:
            return problem(404, "Unknown API", f"no API {api!r}", known_apis=sorted(engine.catalog))
        body = await _json(request)
        name = body.get("name") if isinstance(body, dict) else None
        known = sorted(engine.catalog[api].scenarios)
        if name not in known:
            return problem(
                400, "Unknown scenario", f"{name!r} is not a scenario of {api}", known_scenarios=known
            )
        engine.defaults[api] = name
        return JSONResponse({"api": api, "default": name})

    async def queue_next(request: Request) -> Response:
        api = request.path_params["api"]
        if api not in engine.catalog:
            return problem(404, "Unknown API", f"no API {api!r}", known_apis=sorted(engine.catalog))
        body = await _json(request)
        name = body.get("name") if isinstance(body, dict) else None
        scenarios = engine.catalog[api].scenarios
        if not isinstance(name, str) or name not in scenarios:
            return problem(
                400,
                "Unknown scenario",
                f"{name!r} is not a scenario of {api}",
                known_scenarios=sorted(scenarios),
            )
        engine.queue_scenario(api, scenarios[name])
        return JSONResponse({"api": api, "queued": [s.name for s in engine.queued[api]]})

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request)
            seconds = body.get("seconds") if isinstance(body, dict) else None
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                return problem(
                    400, "Bad clock advance", 'send {"seconds": <non-negative number>}', found=seconds
                )
            try:
                engine.advance_clock(float(seconds))
            except TypeError as error:
                return problem(409, "Clock is not manual", str(error))
        mode = "manual" if engine.settings.clock == "manual" else "real"
        return JSONResponse(
            {
                "mode": mode,
                "speed": engine.settings.speed,
                "now": iso(engine.clock.now()),
                "epoch": engine.clock.now(),
            }
        )

    return [
        Route(f"{PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{PREFIX}/resources", resources, methods=["GET"]),
        Route(f"{PREFIX}/resources/{{api}}/{{resource_id}}", resource, methods=["GET"]),
        Route(f"{PREFIX}/resources/{{api}}/{{resource_id}}/next", next_step, methods=["POST"]),
        Route(f"{PREFIX}/journal", journal, methods=["GET", "DELETE"]),
        Route(f"{PREFIX}/scenarios", scenarios, methods=["GET"]),
        Route(f"{PREFIX}/scenarios/{{api}}/default", set_default, methods=["PUT"]),
        Route(f"{PREFIX}/scenarios/{{api}}/next", queue_next, methods=["POST"]),
        Route(f"{PREFIX}/clock", clock, methods=["GET", "POST"]),
    ]


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None
