"""``comeback serve``: the mock, every bundled spec and scenario on 127.0.0.1:8000 by default.

The options become one ``Settings`` value; the app is built (every spec and scenario checked: a
problem stops the start with its findings), then served by one uvicorn process (``mockserver.serving``:
graceful shutdown, header timeout) or several workers (each with its own state on the memory store,
one state on a shared store).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
from pathlib import Path
from typing import Any

from comeback.scenario_options import add_scenario_options
from comeback.store_option import add_store_option, describe
from comeback.store_option import check as check_store
from lifecycle.bundled import bundled_scenarios, bundled_specs
from lifecycle.errors import SourceError
from mockserver import serving
from mockserver.app import create_app
from mockserver.reload import show_reloads
from mockserver.serving import DEFAULT_HEADER_TIMEOUT, GRACE_SECONDS, HEADER_TIMEOUT_KEY
from mockserver.settings import ENVIRONMENT_KEY, LOOPBACK_NAMES, Settings, settings_to_json
from mockserver.state.choose import StoreChoiceError

EXIT_OK, EXIT_USAGE = 0, 2
# uvicorn's default of 5 s closes idle connections that pooling clients (browsers, SDKs, load tools)
# are about to reuse; 75 s is the common server default
KEEP_ALIVE_SECONDS = 75


def add_parser(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve", help="start the mock server", description="Serve the specs' APIs from one port."
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument(
        "--api",
        action="append",
        dest="apis",
        metavar="NAME",
        help="serve only this API (repeatable; default: every API of the specs)",
    )
    serve.add_argument(
        "--specs", type=Path, nargs="+", metavar="FILE", help="spec files (default: the bundled specs)"
    )
    add_scenario_options(serve)
    serve.add_argument(
        "--watch",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="reload changed scenario files while serving; broken files keep their previous version "
        "(default: on)",
    )
    serve.add_argument("--seed", type=int, default=0, help="seed of the fake data (default: 0)")
    serve.add_argument(
        "--clock",
        choices=["real", "manual"],
        default="real",
        help="real, or manual: time moves only via POST /__mock/clock (default: real)",
    )
    serve.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="real clock only: run scenarios this many times faster (default: 1)",
    )
    serve.add_argument(
        "--token", help="accept only this credential (default: any credential, but one is required)"
    )
    serve.add_argument(
        "--no-auth", action="store_true", help="accept requests without credentials (default: off)"
    )
    serve.add_argument(
        "--strict", action="store_true", help="validate every response against the spec (default: off)"
    )
    serve.add_argument(
        "--cors-origin", action="append", metavar="ORIGIN", help="allowed browser origin (default: any)"
    )
    serve.add_argument("--no-cors", action="store_true", help="send no CORS headers (default: off)")
    serve.add_argument(
        "--callback-host",
        action="append",
        metavar="HOST",
        help="also send callbacks to this host; '*' for any (repeatable; default: loopback only)",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        metavar="HOST",
        help="also answer requests whose Host header names HOST ('.example.com' for a domain, "
        "'*' for any; repeatable; default: loopback addresses, localhost and the --host value)",
    )
    serve.add_argument(
        "--admin-token",
        metavar="T",
        help="require the header 'X-Mock-Admin-Token: T' on /__mock/ (default: none required)",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help="close connections whose request headers, or then whose body, take longer "
        "(default: %(default)s)",
    )
    serve.add_argument(
        "--max-resources", type=int, default=10_000, help="keep at most this many resources (default: 10000)"
    )
    serve.add_argument(
        "--max-age",
        type=float,
        default=3600.0,
        help="forget idle resources after this many seconds (default: 3600)",
    )
    add_store_option(serve)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (with --store memory each has its own resources; with a Redis store "
        "they share them; default: 1)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="how much the server logs (default: info)",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="also log one line per request (default: off; the journal, GET /__mock/journal, "
        "records every request)",
    )
    serve.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Start the mock as the options say; returns the exit code (2: bad options or unusable files)."""
    for name, value, low, high in (
        ("--speed", arguments.speed, 1e-6, 1e6),
        ("--max-age", arguments.max_age, 1e-3, 1e9),
        ("--max-resources", arguments.max_resources, 1, 10**9),
        ("--header-timeout", arguments.header_timeout, 0.01, 3600),
    ):
        if not math.isfinite(value) or not low <= value <= high:
            print(f"comeback serve: {name} must be a number from {low:g} to {high:g}", file=sys.stderr)
            return EXIT_USAGE
    origins: tuple[str, ...] = () if arguments.no_cors else tuple(arguments.cors_origin or ["*"])
    settings = Settings(
        spec_paths=tuple(arguments.specs or bundled_specs()),
        scenario_dir=None if arguments.only_scenarios else bundled_scenarios(),
        scenario_layers=tuple(arguments.scenarios or ()),
        watch=arguments.watch,
        apis=frozenset(arguments.apis) if arguments.apis else None,
        seed=arguments.seed,
        clock=arguments.clock,
        speed=arguments.speed,
        auth=not arguments.no_auth,
        token=arguments.token,
        strict=arguments.strict,
        cors_origins=origins,
        max_resources=arguments.max_resources,
        callback_hosts=LOOPBACK_NAMES | {host.lower() for host in arguments.callback_host or ()},
        max_age_seconds=arguments.max_age,
        allowed_hosts=(arguments.host, *(arguments.allow_host or ())),
        admin_token=arguments.admin_token,
        store=arguments.store,
    )
    if (problem := check_store(settings.store)) is not None:
        print(f"comeback serve: {problem}; nothing started", file=sys.stderr)
        return EXIT_USAGE
    try:
        app = create_app(settings)
    except StoreChoiceError as error:
        print(f"comeback serve: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SourceError as error:
        for finding in error.findings:
            print(finding, file=sys.stderr)
        print(
            f"comeback serve: {len(error.findings)} problem(s) in the specs or scenarios; nothing started",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if settings.watch:
        show_reloads()
    # the specs, schemas and fake-data tables live as long as the process: keep them out of the
    # garbage collector's way, so full collections stay short under load
    gc.freeze()
    address = f"http://{arguments.host}:{arguments.port}"
    served = ", ".join(sorted([*app.state.engine.catalog, *app.state.stateless]))
    print(f"comeback mock: serving {served} on {address} (admin API under /__mock/)")
    for stateless in app.state.stateless.values():
        print(stateless.notice)
    uvicorn_options: dict[str, Any] = {
        "host": arguments.host,
        "port": arguments.port,
        "log_level": arguments.log_level,
        "access_log": arguments.access_log,
        # the mock reads neither the client address nor the scheme: X-Forwarded-* need no parsing
        "proxy_headers": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }
    if arguments.workers > 1:
        if app.state.engine.state.shared:
            shared = describe(settings.store)
            print(f"comeback mock: {arguments.workers} workers sharing one state in {shared}")
        else:
            print(
                f"comeback mock: {arguments.workers} workers with --store memory, each with its OWN "
                "resources, clock, journal and admin state; a resource created through one worker is "
                "unknown (404) to the others. For workers that act as one mock, share a store: "
                "--store redis://127.0.0.1:6379/0"
            )
        os.environ[ENVIRONMENT_KEY] = settings_to_json(settings)
        os.environ[HEADER_TIMEOUT_KEY] = str(arguments.header_timeout)
        try:
            serving.run_workers(
                "mockserver.app:app_from_environment",
                factory=True,
                workers=arguments.workers,
                http="mockserver.serving:HeaderTimeoutProtocol",
                timeout_graceful_shutdown=GRACE_SECONDS,
                **uvicorn_options,
            )
        except serving.PortInUseError as error:
            print(f"comeback serve: {error}; nothing started", file=sys.stderr)
            return EXIT_USAGE
        return EXIT_OK
    serving.run(app, header_timeout=arguments.header_timeout, **uvicorn_options)
    return EXIT_OK
