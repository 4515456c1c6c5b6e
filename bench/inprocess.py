"""The mock's own cost per request, without a server or a network: ``python -m bench.inprocess``.

Calls the ASGI app of ``comeback serve --api privategpt`` directly (the bench's status GET of a
completed message, or its create POST), after ``gc.freeze()`` as ``comeback serve`` does, and
prints one of:

- CPU time per request (``time.process_time``), the minimum and median over batches of 250: the
  minimum is what a shared machine disturbs least;
- ``--calls``: Python function calls per request (cProfile; the same on every run, whatever the load);
- ``--only-load``: nothing; runs ``--requests`` calls after the warm-up, so that an instruction
  counter (``valgrind --tool=callgrind``) run with 0 and with N requests gives instructions per
  request as (count(N) - count(0)) / N, also unaffected by other processes.

``--source DIR`` measures another checkout (e.g. an older commit in a git worktree) with this
harness, so a before/after pair is measured the same way:

    python -m bench.inprocess --call GET --source ../before
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

HEADERS = [(b"host", b"127.0.0.1:8000"), (b"authorization", b"Bearer bench-token"), (b"user-agent", b"wrk")]
BODY = json.dumps({"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}).encode()
STATUS = "/v1/messages/async/bench-1/status"
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def call(
    app: App, method: str, path: str, query: bytes = b"", body: bytes | None = None
) -> tuple[int, bytes]:
    """One request through the app: its status and body."""
    headers = list(HEADERS)
    if body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body or b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)  # the client never disconnects
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def started() -> tuple[App, asyncio.Task[None]]:
    """The app as ``comeback serve --api privategpt`` serves it, started (its lifespan task), with
    bench-1 completed."""
    from mockserver.app import create_app, default_settings  # noqa: PLC0415 - after --source

    app: App = create_app(replace(default_settings(), apis=frozenset({"privategpt"})))
    startup: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

    async def serve_lifespan() -> None:
        await app(lifespan, startup.get, done.put)

    running = asyncio.get_running_loop().create_task(serve_lifespan())
    await done.get()
    status, text = await call(app, "POST", "/v1/messages/async", b"message_id=bench-1", BODY)
    assert status == 200, text
    for _ in range(10):
        status, text = await call(app, "GET", STATUS)
        if json.loads(text).get("status") == "completed":
            return app, running
        await call(app, "POST", "/__mock/resources/privategpt/bench-1/next", body=b"{}")
    raise RuntimeError(f"bench-1 did not complete: {text!r}")


async def measure(arguments: argparse.Namespace) -> None:
    app, running = await started()
    try:
        await _measure(app, arguments)
    finally:
        running.cancel()


async def _measure(app: App, arguments: argparse.Namespace) -> None:
    method, path, body = (
        ("GET", STATUS, None) if arguments.call == "GET" else ("POST", "/v1/messages/async", BODY)
    )

    def request() -> Awaitable[tuple[int, bytes]]:
        return call(app, method, path, body=body)

    gc.collect()
    gc.freeze()  # as comeback serve does once started
    for _ in range(2_000):  # warm-up: caches filled, the journal full
        status, text = await request()
    assert status == 200, text
    count = arguments.requests
    if arguments.only_load:
        for _ in range(count):
            await request()
        return
    if arguments.calls:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(count):
            await request()
        profile.disable()
        calls = sum(row[1] for row in pstats.Stats(profile).stats.values())  # type: ignore[attr-defined]
        print(f"{arguments.call}: {calls / count:.1f} function calls per request")
        return
    batches = []
    for _ in range(max(1, count // 250)):
        began = time.process_time()
        for _ in range(250):
            await request()
        batches.append((time.process_time() - began) / 250 * 1e6)
    batches.sort()
    print(
        f"{arguments.call}: {batches[0]:.1f} µs CPU per request (min of {len(batches)} batches of 250), "
        f"median {batches[len(batches) // 2]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__.splitlines()[0])
    parser.add_argument("--call", choices=["GET", "POST"], default="GET", help="what to call (default: GET)")
    parser.add_argument("--requests", type=int, default=10_000, help="requests measured (default: 10000)")
    parser.add_argument("--source", type=Path, help="the checkout to measure (default: this one)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--calls", action="store_true", help="count function calls instead (default: CPU time)")
    what.add_argument("--only-load", action="store_true", help="print nothing (for an instruction counter)")
    arguments = parser.parse_args(argv)
    if arguments.source is not None:
        sys.path.insert(0, str(arguments.source.resolve()))
    asyncio.run(measure(arguments))
    return 0


if __name__ == "__main__":
    sys.exit(main())
