"""The mock's own log lines reach the console of ``comeback serve`` (callbacks, at INFO), and the
access log masks credentials in query strings."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import uvicorn

from mockserver import serving
from mockserver.app import create_app
from mockserver.masking import Masker
from mockserver.serving import MaskedAccessLog
from tests.mockserver.conftest import AGENT, settings
from tests.safety.conftest import serve


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@contextmanager
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_callback_lines_appear_in_the_serve_log(tmp_path: Path) -> None:
    with receiver() as hook, serve(tmp_path, "--api", "letta", "--clock", "manual") as mock:
        headers = {"Authorization": "Bearer any"}
        for url in (hook + "?key=s3cret", "https://client.example.com/done"):
            body = {"messages": [{"role": "user", "content": "hi"}], "callback_url": url}
            created = httpx.post(f"{mock.url}/v1/agents/{AGENT}/messages/async", json=body, headers=headers)
            assert created.status_code == 200
        httpx.post(f"{mock.url}/__mock/clock", json={"seconds": 5})
        deadline = time.monotonic() + 10
        while mock.output().count("callback for letta") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        output = mock.output()
    assert "INFO:     callback for letta run-" in output
    assert f"to {hook}: sent, answered 204" in output
    assert "WARNING:     callback for letta run-" in output
    assert (
        "to https://client.example.com/done: callback not sent: host 'client.example.com' is not allowed"
        in output
    )
    assert "s3cret" not in output


def test_the_access_log_masks_credentials_in_query_strings() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/runs?api_key=s3cret&limit=5", "1.1", 200),
        None,
    )
    assert MaskedAccessLog(Masker(query=["api_key"])).filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /runs?api_key=***&limit=5 HTTP/1.1" 200'


def test_serving_freezes_what_start_up_built_out_of_the_collectors_walks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen: list[int] = []
    monkeypatch.setattr(serving.GracefulServer, "run", lambda self: frozen.append(gc.get_freeze_count()))
    # no process-wide logging set-up inside the test process
    monkeypatch.setattr(uvicorn.Config, "load", lambda self: None)
    monkeypatch.setattr(serving, "configure_logging", lambda level, engine: None)
    try:
        serving.run(create_app(settings()), header_timeout=5.0, port=0, log_level="warning")
    finally:
        gc.unfreeze()
    assert len(frozen) == 1
    assert frozen[0] > 1_000
