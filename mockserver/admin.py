"""The admin API under ``/__mock/``: reset, resources and their timelines, the journal, scenarios,
the manual clock, and forcing a resource's next step. Answers are JSON; errors are problem+json."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lifecycle.scenario import Scenario
from mockserver.admin_journal import journal_routes
from mockserver.admin_scenarios import scenario_routes
from mockserver.engine import ClockError, Engine
from mockserver.paths import PREFIX
from mockserver.problems import problem, read_json
from mockserver.render import iso
from mockserver.store import Resource

__all__ = ["PREFIX", "admin_routes", "problem"]  # PREFIX and problem re-exported from their leaf modules


class _Admin:
    """The admin endpoints, bound to one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self, resource: Resource) -> dict[str, Any]:
        timeline = self.engine.look(resource)  # an admin look is not a client's: no touch, no read
        return {
            "api": resource.api,
            "id": resource.id,
            "scope": resource.scope,
            "scenario": resource.scenario,
            "state": timeline.state,
            "terminal": self.engine.is_terminal(resource),
            "reads": timeline.reads,
            "watchers": resource.watchers,  # open streams and pending callbacks
            "next_change_at": iso(due) if (due := timeline.next_change_at()) is not None else None,
            "history": [
                {"state": e.state, "at": iso(e.at), "cause": e.cause, "values": dict(e.values)}
                for e in timeline.history
            ],
        }

    async def reset(self, request: Request) -> Response:
        await self.engine.reset()
        return JSONResponse({"reset": True})

    async def resources(self, request: Request) -> Response:
        api = request.query_params.get("api")
        return JSONResponse([self.describe(r) for r in await self.engine.resources(api)])

    async def find(self, request: Request) -> Resource | Response:
        api, resource_id = request.path_params["api"], request.path_params["resource_id"]
        resource = await self.engine.find(api, resource_id)
        if resource is None:
            return problem(
                404,
                "No such resource",
                f"no {api} resource {resource_id!r}",
                known_apis=sorted(self.engine.catalog),
            )
        return resource

    async def resource(self, request: Request) -> Response:
        found = await self.find(request)
        return found if isinstance(found, Response) else JSONResponse(self.describe(found))

    async def next_step(self, request: Request) -> Response:
        found = await self.find(request)
        if isinstance(found, Response):
            return found
        await self.engine.force_next(found)
        return JSONResponse(self.describe(found))

    async def scenarios(self, request: Request) -> Response:
        namespace = self.engine.namespace
        listing = {
            name: {
                "default": await self.engine.book.default(namespace, name),
                "scenarios": [
                    {
                        "name": s.name,
                        "description": s.description,
                        "match": s.match_text,
                        "source": api.sources.get(s.name, ""),  # a file, "derived ...", or a PUT
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
            for name, api in self.engine.catalog.items()
        }
        return JSONResponse(listing)

    async def named_scenario(self, request: Request) -> tuple[str, Scenario] | Response:
        """The API in the path and the scenario named in the body, or the problem with them."""
        api = request.path_params["api"]
        if api not in self.engine.catalog:
            return problem(404, "Unknown API", f"no API {api!r}", known_apis=sorted(self.engine.catalog))
        body = await read_json(request)
        if isinstance(body, Response):
            return body
        name = body.get("name") if isinstance(body, dict) else None
        scenarios = self.engine.catalog[api].scenarios
        if not isinstance(name, str) or name not in scenarios:
            detail = f"{name!r} is not a scenario of {api}"
            return problem(400, "Unknown scenario", detail, known_scenarios=sorted(scenarios))
        return api, scenarios[name]

    async def set_default(self, request: Request) -> Response:
        chosen = await self.named_scenario(request)
        if isinstance(chosen, Response):
            return chosen
        api, scenario = chosen
        await self.engine.book.set_default(self.engine.namespace, api, scenario.name)
        return JSONResponse({"api": api, "default": scenario.name})

    async def queue_next(self, request: Request) -> Response:
        chosen = await self.named_scenario(request)
        if isinstance(chosen, Response):
            return chosen
        api, scenario = chosen
        await self.engine.queue_scenario(api, scenario)
        return JSONResponse({"api": api, "queued": await self.engine.book.queued(self.engine.namespace, api)})

    async def clock(self, request: Request) -> Response:
        if request.method == "POST":
            body = await read_json(request)
            if isinstance(body, Response):
                return body
            seconds = body.get("seconds") if isinstance(body, dict) else None
            try:
                await self.engine.advance_clock(seconds)
            except TypeError as error:
                return problem(409, "Clock is not manual", str(error))
            except ClockError as error:
                return problem(400, "Bad clock advance", str(error), found=seconds)
        mode = "manual" if self.engine.settings.clock == "manual" else "real"
        return JSONResponse(
            {
                "mode": mode,
                "speed": self.engine.settings.speed,
                "now": iso(self.engine.clock.now()),
                "epoch": self.engine.clock.now(),
            }
        )

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}/reset", self.reset, methods=["POST"]),
            Route(f"{PREFIX}/resources", self.resources, methods=["GET"]),
            Route(f"{PREFIX}/resources/{{api}}/{{resource_id}}", self.resource, methods=["GET"]),
            Route(f"{PREFIX}/resources/{{api}}/{{resource_id}}/next", self.next_step, methods=["POST"]),
            *journal_routes(self.engine, PREFIX),
            Route(f"{PREFIX}/scenarios", self.scenarios, methods=["GET"]),
            Route(f"{PREFIX}/scenarios/{{api}}/default", self.set_default, methods=["PUT"]),
            Route(f"{PREFIX}/scenarios/{{api}}/next", self.queue_next, methods=["POST"]),
            Route(f"{PREFIX}/clock", self.clock, methods=["GET", "POST"]),
        ]


def admin_routes(engine: Engine) -> list[Route]:
    """The admin endpoints, bound to ``engine``."""
    return _Admin(engine).routes() + scenario_routes(engine)
