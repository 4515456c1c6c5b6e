"""``comeback record SPEC --target URL``: a recording proxy that writes what a live server did as
scenarios the mock replays.

    comeback record openapi/letta.yaml --target http://127.0.0.1:8283 --port 8001 --out recorded --poll 250ms

Point the client at the proxy's port; every request goes to the target unchanged. On Ctrl-C
(SIGINT), SIGTERM, or ``POST /__record/flush`` (JSON body ``{}``, or ``{"unfinished": true}`` to
include resources still in flight) it writes ``OUT/<api>/recorded-*.yaml``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import uvicorn

from lifecycle.durations import parse_duration
from lifecycle.errors import SourceError
from lifecycle.spec import load_spec

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(subparsers: Any) -> None:
    """Register ``record`` on the CLI's subparsers."""
    record = subparsers.add_parser(
        "record",
        help="record a live server through a proxy into scenario files",
        description="Forward every request to --target unchanged and write each distinct observed "
        "timeline of a created resource as a scenario (on exit, or on POST /__record/flush).",
    )
    record.add_argument("spec", type=Path, help="the spec of the target's API, e.g. openapi/letta.yaml")
    record.add_argument("--target", required=True, help="base URL of the live server to record")
    record.add_argument("--host", default="127.0.0.1", help="address the proxy binds (default: 127.0.0.1)")
    record.add_argument("--port", type=int, default=8001, help="port of the proxy (default: 8001)")
    record.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host header names NAME (repeatable; default: none, only "
        "loopback, localhost and --host, against DNS rebinding)",
    )
    record.add_argument(
        "--out", type=Path, default=Path("recorded"), help="folder for OUT/<api>/*.yaml (default: recorded)"
    )
    record.add_argument(
        "--poll",
        default=None,
        metavar="DURATION",
        help="also read each unfinished resource's status this often, e.g. 250ms (default: off, only "
        "what the client reads is recorded)",
    )
    record.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log level (default: info)",
    )
    record.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    try:
        poll = parse_duration(arguments.poll) if arguments.poll is not None else None
    except ValueError as error:
        print(f"comeback record: --poll: {error}", file=sys.stderr)
        return EXIT_USAGE
    if poll is not None and poll <= 0:
        print("comeback record: --poll must be positive", file=sys.stderr)
        return EXIT_USAGE
    if not arguments.target.startswith(("http://", "https://")):
        print(f"comeback record: --target must be an http(s) URL, not {arguments.target!r}", file=sys.stderr)
        return EXIT_USAGE
    path: Path = arguments.spec
    try:
        spec = load_spec(path.read_text(encoding="utf-8"), str(path), validate_openapi=False)
    except OSError as error:
        print(f"comeback record: {path}: cannot read: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except SourceError as error:
        print(f"comeback record: the spec is not usable:\n{error}", file=sys.stderr)
        return EXIT_USAGE
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("comeback.record")
    logger.addHandler(handler)
    logger.setLevel(arguments.log_level.upper())
    # imported here: the proxy brings httpx and Starlette, which `comeback serve` and `lint` (the
    # same process start, since cli.py registers every subcommand) have no use for
    from recorder.proxy import Options, create_app  # noqa: PLC0415

    options = Options(spec, arguments.target, arguments.out, spec_label=str(path), poll=poll)
    app = create_app(options, hosts=[arguments.host, *arguments.allow_host])
    print(
        f"comeback record: recording {spec.name} from {app.state.recorder.secrets.url(arguments.target)} "
        f"on http://{arguments.host}:{arguments.port}; scenarios go to {arguments.out / spec.name} "
        "on Ctrl-C or POST /__record/flush",
        flush=True,
    )
    # an open stream must not hold the exit (and the writing) forever: 3 s, then it is cut
    uvicorn.run(
        app, host=arguments.host, port=arguments.port, log_level="warning", timeout_graceful_shutdown=3
    )
    groups = app.state.recorder.groups
    written = [group for group in groups if group.path is not None and group.path.exists()]
    print(f"comeback record: {len(written)} scenario file(s) in {arguments.out / spec.name}", flush=True)
    return EXIT_OK
