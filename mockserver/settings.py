"""Settings of one mock server: everything ``create_app`` needs, as one frozen value."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ClockMode = Literal["real", "manual"]
LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True, slots=True)
class Settings:
    """How to run the mock. Defaults serve every bundled API the way the quickstart does."""

    spec_paths: tuple[Path, ...]
    scenario_dir: Path | None = None  # the base scenario folder (normally the bundled one)
    scenario_layers: tuple[Path, ...] = ()  # folders laid over the base, in order (--scenarios)
    apis: frozenset[str] | None = None  # None: every API whose spec is given
    seed: int = 0
    clock: ClockMode = "real"
    speed: float = 1.0  # real clock only: 10 makes every scenario run ten times faster
    start_time: float | None = None  # manual clock only: its reading at start (default: the real time)
    auth: bool = True
    token: str | None = None  # None: any credentials are accepted, but they must be present
    strict: bool = False  # validate every response against the spec; a violation becomes an error
    cors_origins: tuple[str, ...] = ("*",)
    max_body_bytes: int = 1_048_576
    max_resources: int = 10_000
    max_age_seconds: float = 3_600.0
    journal_size: int = 5_000  # entries; and at most journal_bytes in all (oldest go first)
    journal_bytes: int = 16 * 1_048_576
    journal_value_bytes: int = 4_096  # a longer header value is cut, with a marker
    journal_body_bytes: int = 16_384  # a longer request or response body is cut, with a marker
    # callbacks go only to these hosts; "*" allows any (``--callback-host``)
    callback_hosts: frozenset[str] = LOOPBACK_NAMES
    # Host header values served besides loopback addresses and localhost (``--allow-host``);
    # "testserver" is what Starlette's in-process test client sends. ``comeback serve`` replaces
    # this with the bound host and its --allow-host values.
    allowed_hosts: tuple[str, ...] = ("testserver",)
    admin_token: str | None = None  # required as X-Mock-Admin-Token on /__mock/ when set
    admin_max_body_bytes: int = 1_048_576
    keepalive_seconds: float = (
        15.0  # real seconds of stream silence before a keep-alive (PrivateGPT's idle time)
    )
    store: str = "memory"  # where state lives: "memory", or a shared store's URL (mockserver.state.choose)
    watch: bool = False  # reload changed spec and scenario files while serving (mockserver.reload)

    def scenario_folders(self) -> tuple[Path, ...]:
        """The base scenario folder (if any) followed by the layers over it."""
        base = (self.scenario_dir,) if self.scenario_dir is not None else ()
        return (*base, *self.scenario_layers)


ENVIRONMENT_KEY = "COMEBACK_SETTINGS"


def settings_to_json(settings: Settings) -> str:
    """The settings as JSON, for worker processes started by uvicorn (see ``from_environment``)."""
    data = {
        name: (
            sorted(value)
            if isinstance(value, frozenset)
            else [str(v) for v in value]
            if name in ("spec_paths", "scenario_layers")
            else value
        )
        for name in Settings.__dataclass_fields__
        if (value := getattr(settings, name)) is not None
    }
    if settings.scenario_dir is not None:
        data["scenario_dir"] = str(settings.scenario_dir)
    return json.dumps(data)


def settings_from_json(text: str) -> Settings:
    data = json.loads(text)
    data["spec_paths"] = tuple(Path(p) for p in data["spec_paths"])
    data["scenario_layers"] = tuple(Path(p) for p in data.get("scenario_layers", ()))
    if "scenario_dir" in data:
        data["scenario_dir"] = Path(data["scenario_dir"])
    for name in ("apis", "callback_hosts"):
        if name in data:
            data[name] = frozenset(data[name])
    data["cors_origins"] = tuple(data.get("cors_origins", ()))
    if "allowed_hosts" in data:
        data["allowed_hosts"] = tuple(data["allowed_hosts"])
    return Settings(**data)
