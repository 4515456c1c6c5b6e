"""The servers measured side by side: how to start each, and whether this machine has it.

- ``comeback``: the mock as a user installs and starts it (``comeback serve``: uvloop and httptools
  come with ``uvicorn[standard]``), default log settings.
- ``comeback-pure``: the same app on the pure-Python event loop and HTTP parser (asyncio + h11),
  what a platform without uvloop/httptools wheels gets.
- ``floor``: bare Starlette on uvicorn with uvloop and httptools, the same routes answering fixed
  bodies of the same size: the fastest a Starlette app can answer these calls (``bench/floor.py``).
- ``prism``: Stoplight Prism 5 mocking our own ``openapi/privategpt.yaml`` (its own example bodies).
- ``wiremock``: WireMock 3 standalone with hand-written stubs returning the mock's bodies, after a
  longer warm-up so the JVM has compiled its hot path.

``bench/setup.sh`` installs wrk, Java, Prism and WireMock.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import python_command
from lifecycle.bundled import bundled_scenarios, bundled_specs
from mockserver.settings import Settings, settings_to_json

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "bench" / ".tools" / "node_modules"
TOKEN = "bench-token"
PGPT_SPEC = ROOT / "openapi" / "privategpt.yaml"
COMEBACK = [*python_command("-m", "comeback.cli")]


@dataclass(frozen=True, slots=True)
class Contender:
    name: str
    label: str
    command: list[str]
    probe: str
    env: dict[str, str] = field(default_factory=dict)
    warmup_seconds: float = 3.0
    is_mock: bool = False  # a comeback mock: bench-1 must be created on it before it is measured
    missing: str | None = None  # why it cannot run here (then it is reported, not measured)


def comeback_serve(*extra: str) -> list[str]:
    """``comeback serve`` as a user starts it (plus the bench's port and token)."""
    return [*COMEBACK, "serve", "--port", "{port}", "--token", TOKEN, *extra]


def contenders(bodies: Mapping[str, str], workdir: Path, probe: str) -> list[Contender]:
    """Every contender. ``bodies`` maps "METHOD /route/{param}" to the mock's answer, for the servers
    that answer fixed bodies; ``workdir`` holds generated files (WireMock's stubs)."""
    pure_settings = Settings(  # what `comeback serve --api privategpt --token ...` builds
        spec_paths=tuple(bundled_specs()),
        scenario_dir=bundled_scenarios(),
        apis=frozenset({"privategpt"}),
        token=TOKEN,
    )
    uvicorn = python_command("-m", "uvicorn")
    pure = [
        *uvicorn,
        "mockserver.app:app_from_environment",
        "--factory",
        "--port",
        "{port}",
        "--loop",
        "asyncio",
        "--http",
        "h11",
        "--no-access-log",  # as comeback serve
        "--no-proxy-headers",
        "--timeout-keep-alive",
        "75",
    ]
    floor = [
        *uvicorn,
        "bench.floor:create_floor",
        "--factory",
        "--port",
        "{port}",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    prism = TOOLS / ".bin" / "prism"
    jar = next(iter(sorted((TOOLS / "wiremock" / "build").glob("wiremock-standalone-*.jar"))), None)
    wiremock_root = workdir / "wiremock"
    write_wiremock_stubs(wiremock_root, bodies)
    fast_stack = _importable("uvloop") and _importable("httptools")
    return [
        Contender(
            "comeback",
            "comeback serve (as installed)",
            comeback_serve("--api", "privategpt"),
            "/__mock/clock",
            is_mock=True,
        ),
        Contender(
            "comeback-pure",
            "the same on asyncio + h11 (no uvloop/httptools)",
            pure,
            "/__mock/clock",
            env={"COMEBACK_SETTINGS": settings_to_json(pure_settings)},
            is_mock=True,
        ),
        Contender(
            "floor",
            "floor: bare Starlette, uvicorn + uvloop + httptools",
            floor,
            probe,
            env={"FLOOR_BODIES": json.dumps(dict(bodies))},
            missing=None if fast_stack else "uvloop/httptools not installed",
        ),
        Contender(
            "prism",
            "Prism 5 (openapi/privategpt.yaml)",
            [str(prism), "mock", "-h", "127.0.0.1", "-p", "{port}", str(PGPT_SPEC)],
            probe,
            missing=None if prism.exists() else "not installed (bench/setup.sh)",
        ),
        Contender(
            "wiremock",
            "WireMock 3 (hand-written stubs, warm JVM)",
            [
                "java",
                "-jar",
                str(jar),
                "--port",
                "{port}",
                "--bind-address",
                "127.0.0.1",
                "--root-dir",
                str(wiremock_root),
                "--disable-banner",
            ],
            probe,
            warmup_seconds=10.0,
            missing=None if jar and shutil.which("java") else "not installed (bench/setup.sh)",
        ),
    ]


def write_wiremock_stubs(root: Path, bodies: Mapping[str, str]) -> Path:
    """WireMock mappings answering each route with its body: path parameters become ``[^/]+``."""
    mappings = []
    for key, body in bodies.items():
        method, path = key.split(" ", 1)
        request: dict[str, Any] = {"method": method}
        if "{" in path:
            pattern = "/".join("[^/]+" if part.startswith("{") else part for part in path.split("/"))
            request["urlPathPattern"] = pattern
        else:
            request["urlPath"] = path
        mappings.append(
            {
                "request": request,
                "response": {"status": 200, "body": body, "headers": {"Content-Type": "application/json"}},
            }
        )
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    target = root / "mappings" / "bench.json"
    target.write_text(json.dumps({"mappings": mappings}, indent=2), encoding="utf-8")
    return target


def _importable(module: str) -> bool:
    import importlib.util  # noqa: PLC0415

    return importlib.util.find_spec(module) is not None
