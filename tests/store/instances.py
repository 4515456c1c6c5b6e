"""Real ``comeback serve`` processes on one real Redis, and the small client the tests drive them with."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from bench.procs import Running, server

BODY = {"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
AGENT = "agent-123e4567-e89b-42d3-8456-426614174000"


def serve_command(store: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "comeback.cli", "serve", "--port", "{port}", "--no-auth", "--no-watch",
        "--store", store, "--log-level", "warning", *extra,
    ]  # fmt: skip


@contextmanager
def instance(store: str, *extra: str) -> Iterator[Running]:
    """One mock process (not pinned: the tests share the machine's cores)."""
    with server(serve_command(store, *extra), "/__mock/clock", core=None, timeout=60) as running:
        yield running


class Client:
    """PrivateGPT calls against one instance, in one namespace."""

    def __init__(self, running: Running, namespace: str = "default") -> None:
        self.url = running.url
        self.namespace = namespace
        self.headers = {"X-Mock-Namespace": namespace}

    def create(self, scenario: str = "happy") -> str:
        answer = httpx.post(
            f"{self.url}/v1/messages/async", json=BODY, headers={**self.headers, "X-Mock-Scenario": scenario}
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["message_id"])

    def status(self, message: str) -> httpx.Response:
        return httpx.get(f"{self.url}/v1/messages/async/{message}/status", headers=self.headers)

    def state(self, message: str) -> str | int:
        """The status, or the HTTP code when it is not 200."""
        answer = self.status(message)
        return str(answer.json()["status"]) if answer.status_code == 200 else answer.status_code

    def cancel(self, message: str) -> httpx.Response:
        return httpx.post(f"{self.url}/v1/messages/async/{message}/cancel", headers=self.headers)

    def delete(self, message: str) -> httpx.Response:
        return httpx.delete(f"{self.url}/v1/messages/async/{message}/delete", headers=self.headers)

    def admin(self, method: str, path: str, **options: Any) -> httpx.Response:
        params = {"namespace": self.namespace}
        return httpx.request(method, f"{self.url}/__mock/{path}", params=params, timeout=10, **options)

    def advance(self, seconds: float) -> None:
        answer = self.admin("POST", "clock", json={"seconds": seconds})
        assert answer.status_code == 200, answer.text


def eventually(check: Callable[[], Any], expected: Any, seconds: float = 10.0) -> None:
    """``check()`` equals ``expected`` within ``seconds`` (another instance hears of a change within
    moments: the store's message travels after the changing call answered)."""
    deadline = time.monotonic() + seconds
    while (found := check()) != expected:
        assert time.monotonic() < deadline, f"still {found!r}, expected {expected!r}"
        time.sleep(0.02)


@contextmanager
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    """A callback receiver on 127.0.0.1: its URL, and the bodies POSTed to it (answered 204)."""
    posts: list[bytes] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/done", posts
    finally:
        server.shutdown()
        server.server_close()


def create_run(client: Client, callback_url: str, scenario: str = "happy") -> str:
    """A Letta async run with a callback, created through ``client``; its id."""
    body = {"messages": [{"role": "user", "content": "hi"}], "callback_url": callback_url}
    headers = {**client.headers, "X-Mock-Scenario": scenario}
    created = httpx.post(f"{client.url}/v1/agents/{AGENT}/messages/async", json=body, headers=headers)
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def run_field(client: Client, run: str, field: str) -> Any:
    return httpx.get(f"{client.url}/v1/runs/{run}", headers=client.headers).json()[field]


def watch_feed(client: Client, done: Callable[[str, str], bool]) -> tuple[threading.Thread, list[str]]:
    """The dashboard's event feed of ``client``'s namespace, read in a thread as ``"KIND DATA"`` frames
    until ``done(kind, data)``; returned once the feed's snapshot has come."""
    frames: list[str] = []

    def watch() -> None:
        url = f"{client.url}/__mock/events"
        with httpx.stream("GET", url, params={"namespace": client.namespace}, timeout=15) as answer:
            kind = ""
            for line in answer.iter_lines():
                kind = line.removeprefix("event: ") if line.startswith("event: ") else kind
                if line.startswith("data:"):
                    frames.append(f"{kind} {line}")
                    if done(kind, line):
                        return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    eventually(lambda: any(frame.startswith("snapshot") for frame in frames), True)
    return thread, frames
