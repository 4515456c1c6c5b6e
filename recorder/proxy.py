"""The recording proxy: every request goes to the target unchanged, every answer comes back
unchanged (streams as they arrive), and what the answers say about created resources is recorded.

    client -> proxy (this app) -> target          answers and stream chunks flow straight back
                 |  operation by method and path (``routes``), then by the lifecycle's role:
                 |  create -> a new ``Recording``; view -> an observation; stream -> frames;
                 |  token issuer -> which resource a stream token opens; delete -> done
                 +-> optional own polling of each unfinished resource (``poll``)
                 +-> ``POST /__record/flush`` or shutdown -> scenario files (``writer``)

The proxy never changes an exchange: a recording problem is logged, never sent to the client.
What an exchange means for the recordings is ``session.Recorder``'s business.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, quote

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from lifecycle.hosts import HostRule, is_loopback_origin
from recorder.frames import FrameReader, classify
from recorder.recording import StreamCapture
from recorder.routes import Route as Matched
from recorder.secrets import redact_query
from recorder.session import LOG, Exchange, Options, Recorder, json_or_none, retry_after

__all__ = ["Options", "Recorder", "create_app", "forward"]

CONTROL = "/__record"
# hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, not to the exchange
_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"}
)
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def forward(recorder: Recorder, request: Request) -> Response:
    """Send ``request`` to the target unchanged and answer with the target's answer; record on the way."""
    assert recorder.client is not None, "the app's lifespan opens the client"
    body = await request.body()
    query = request.url.query
    raw_path = request.scope.get("raw_path")  # the path exactly as the client encoded it
    path = raw_path.decode("latin-1") if raw_path else quote(request.url.path)
    url = recorder.options.target.rstrip("/") + path
    if query:
        url += "?" + query
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP]
    recorder.secrets.learn(headers, parse_qsl(query, keep_blank_values=True))
    recorder.secrets.learn_body(body)  # secret fields too: an answer may echo them into a recording
    sent = recorder.clock()
    try:
        upstream = await recorder.client.send(
            recorder.client.build_request(request.method, url, headers=headers, content=body), stream=True
        )
    except httpx.HTTPError as error:
        LOG.warning("comeback record: %s %s: target unreachable: %s", request.method, request.url.path, error)
        return JSONResponse(
            {"title": "the recording proxy could not reach the target", "detail": str(error)},
            status_code=502,
            media_type="application/problem+json",
        )
    route = recorder.router.match(request.method, request.url.path)
    answer_headers = [
        (k, v)
        for k, v in upstream.headers.multi_items()
        if k.lower() not in _HOP | {"content-length", "content-encoding"}
    ]
    LOG.info(
        "comeback record: %s %s%s -> %d",
        request.method,
        request.url.path,
        "?" + redact_query(query, recorder.secrets.query) if query else "",
        upstream.status_code,
    )
    exchange = _partial(
        route,
        query=dict(parse_qsl(query)),
        headers=dict(headers),
        body=body,
        upstream=upstream,
        sent=sent,
    )
    if upstream.headers.get("content-type", "").startswith("text/event-stream"):
        capture = recorder.stream_capture(exchange) if exchange is not None else None
        stream = _Streamed(recorder, upstream, capture)
        response: Response = StreamingResponse(stream.chunks(), status_code=upstream.status_code)
        response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer_headers]
        return response
    content = await upstream.aread()
    await upstream.aclose()
    if exchange is not None:
        recorder.safely(recorder.observe, _with_body(exchange, content, recorder.clock()))
    response = Response(content, status_code=upstream.status_code)
    response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer_headers] + [
        (b"content-length", str(len(content)).encode())
    ]
    return response


class _Streamed:
    """Passes a stream's chunks through as they arrive, feeding the recording's frame reader."""

    def __init__(self, recorder: Recorder, upstream: httpx.Response, capture: StreamCapture | None) -> None:
        self.recorder = recorder
        self.upstream = upstream
        self.capture = capture
        self.reader = FrameReader()

    async def chunks(self) -> AsyncIterator[bytes]:
        ended = "client"
        try:
            async for chunk in self.upstream.aiter_bytes():
                self._feed(chunk)
                yield chunk
            ended = "server"
        except httpx.HTTPError as error:  # the target cut the connection
            LOG.warning("comeback record: stream cut by the target: %s", error)
            ended = "server"
        finally:
            if self.capture is not None:
                self.capture.closed = self.recorder.clock()
                self.capture.closed_by = ended
            await self.upstream.aclose()

    def _feed(self, chunk: bytes) -> None:
        capture, stream = self.capture, self.recorder.lifecycle.stream
        if capture is None or stream is None:
            return
        now = self.recorder.clock()
        for frame in self.reader.feed(chunk):
            capture.frames += 1
            meaning = classify(frame, stream)
            if meaning.kind == "keepalive":
                continue
            if meaning.kind == "malformed":
                LOG.warning(
                    "comeback record: off contract: a stream frame that does not parse: %r", frame.data[:80]
                )
            capture.events.append((now, meaning))


def _partial(
    route: Matched | None,
    *,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    upstream: httpx.Response,
    sent: float,
) -> Exchange | None:
    if route is None:
        return None
    return Exchange(
        route,
        query,
        headers,
        json_or_none(body),
        upstream.status_code,
        None,
        retry_after(upstream.headers),
        sent,
        sent,
    )


def _with_body(exchange: Exchange, content: bytes, received: float) -> Exchange:
    return Exchange(
        exchange.route,
        exchange.query,
        exchange.headers,
        exchange.request_body,
        exchange.status,
        json_or_none(content),
        exchange.retry_after,
        exchange.sent,
        received,
    )


def create_app(
    options: Options, recorder: Recorder | None = None, *, hosts: Iterable[str] = ("testserver",)
) -> Starlette:
    """The proxy app; ``POST /__record/flush`` (JSON) writes what was recorded, shutdown writes all.

    ``hosts``: ``Host`` values served besides loopback and localhost (the bound host, --allow-host;
    "testserver" is Starlette's test client), as the mock's ``--allow-host``."""
    recorder = recorder or Recorder(options)

    async def flush(request: Request) -> Response:
        refused = _refuse(request)
        if refused is not None:
            return refused
        try:
            body = json.loads(await request.body() or b"{}")
        except (ValueError, RecursionError):  # deep nesting too: a 400, never a 500
            body = None
        if not isinstance(body, dict):
            return _problem(400, 'the body must be a JSON object, e.g. {} or {"unfinished": true}')
        return JSONResponse(recorder.flush(unfinished=bool(body.get("unfinished"))))

    async def proxy(request: Request) -> Response:
        return await forward(recorder, request)

    async def listing(request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "id": r.id,
                    "state": r.state,
                    "steps": [s.state for s in r.segments],
                    "streams": len(r.streams),
                }
                for r in recorder.recordings
            ]
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        recorder.client = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, read=None), follow_redirects=False, transport=options.transport
        )
        try:
            yield
        finally:
            await recorder.close()
            recorder.flush(unfinished=True)

    app = Starlette(
        routes=[
            Route(f"{CONTROL}/flush", flush, methods=["POST"]),
            Route(f"{CONTROL}/recordings", listing, methods=["GET"]),
            Route("/{path:path}", proxy, methods=_METHODS),
        ],
        lifespan=lifespan,
        middleware=[Middleware(_HostCheck, rule=HostRule(hosts))],
    )
    app.state.recorder = recorder
    return app


class _HostCheck:
    """Every route answers only under a loopback or allowed ``Host``, as the mock does: a
    DNS-rebinding page (its domain resolving to 127.0.0.1) names its own domain and is refused,
    so it can neither read the recorded server through the proxy nor drive ``/__record``."""

    def __init__(self, app: ASGIApp, rule: HostRule) -> None:
        self.app = app
        self.rule = rule

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = self.rule.refusal(scope["headers"], "comeback record")
            if refused is not None:
                await _problem(403, "Host not allowed", refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refuse(request: Request) -> Response | None:
    """The control endpoint writes files: only JSON calls, and none from a web page elsewhere."""
    origin = request.headers.get("origin")
    if origin is not None and not is_loopback_origin(origin):  # exact: not http://localhost.evil.example
        return _problem(403, "foreign Origin refused")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _problem(415, "send Content-Type: application/json")
    return None


def _problem(status: int, title: str, detail: str | None = None) -> Response:
    body: dict[str, object] = {"title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type="application/problem+json")
