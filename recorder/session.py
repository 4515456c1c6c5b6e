"""A recording session: what the exchanges passing through the proxy say about created resources.

The ``Recorder`` maps each exchange to the lifecycle's role of its operation (create -> a new
``Recording``; view -> an observation; stream -> frames; token issuer -> which resource a stream
token opens; delete -> done), polls unfinished resources itself when asked to, and writes the
recordings as scenario files (``flush``). ``proxy.py`` is the web side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from lifecycle.expressions import parse_expression, resolve_pointer
from lifecycle.model import View
from lifecycle.spec import ApiSpec
from recorder.behaviour import behaviour
from recorder.compose import compose
from recorder.exchange import Exchange, evaluate, json_or_none, retry_after
from recorder.recording import Answered, Recording, StreamCapture
from recorder.routes import Route as Matched
from recorder.routes import Router
from recorder.secrets import Secrets
from recorder.upstreams import Upstreams
from recorder.writer import (
    Group,
    check,
    header_lines,
    render,
    same_timeline,
    scenario_name,
    with_behaviour,
    write_text,
)

LOG = logging.getLogger("comeback.record")
MAX_SAMPLES = 1000  # latency samples kept per operation
MAX_CONNECTIONS = 256  # client connections whose last answer is remembered


@dataclass(frozen=True, slots=True)
class Options:
    """How to record: the spec, where the target is, where files go, and the own polling interval."""

    spec: ApiSpec
    target: str
    out: Path
    spec_label: str
    poll: float | None = None  # seconds between own status reads of an unfinished resource; None: off
    default: bool = False  # mark the timeline most resources walked as the API's default scenario
    linger: int = 3  # own reads after a terminal state, to catch a state that changes again
    transport: httpx.AsyncBaseTransport | None = None  # how to reach the target (tests: a MockTransport)


class Recorder:
    """The state of one recording session: open recordings, stream tokens, written timelines."""

    def __init__(self, options: Options, clock: Callable[[], float] = time.monotonic) -> None:
        self.options = options
        self.spec = options.spec
        self.lifecycle = options.spec.lifecycle
        self.clock = clock
        self.router = Router(options.spec.operations)
        callback = self.lifecycle.callback
        self._timestamps = set(self.lifecycle.timestamps.values()) | (
            {callback.records["sent_at"]} if callback is not None and "sent_at" in callback.records else set()
        )
        self.secrets = Secrets(options.spec.data)
        self.recordings: list[Recording] = []
        self.by_id: dict[str, Recording] = {}
        self.tokens: dict[str, Recording] = {}
        self.started: dict[int, str] = {}  # id(recording) -> when it was created (UTC, for headers)
        self.credentials: dict[int, dict[str, str]] = {}  # kept in memory for own polling only
        self.groups: list[Group] = []
        self.flushed: set[int] = set()
        self.client: httpx.AsyncClient | None = None  # own polling
        self.upstreams = Upstreams(options.transport)  # the proxy's, per client connection
        self.tasks: set[asyncio.Task[None]] = set()
        self.latencies: dict[str, list[float]] = {}  # operationId -> how long its answers took
        self.last_answers: OrderedDict[Any, Answered] = OrderedDict()  # per client connection
        self._closing = False

    # -- the proxy ----------------------------------------------------------------------------------
    def safely(self, action: Callable[[Exchange], None], exchange: Exchange) -> None:
        try:
            action(exchange)
        except Exception:  # a recording bug must never break the client's exchange
            LOG.exception("comeback record: could not record %s", exchange.route.operation.operation_id)

    # -- what an exchange says about resources ------------------------------------------------------
    def observe(self, exchange: Exchange) -> None:
        operation = exchange.route.operation.operation_id
        lifecycle = self.lifecycle
        ok = 200 <= exchange.status < 300
        created: Recording | None = None
        if operation == lifecycle.create.operation and ok:
            created = self._create(exchange)
        if lifecycle.stream is not None and lifecycle.stream.token is not None and ok:
            for issuer in lifecycle.stream.token.issued_by:
                if issuer.operation == operation:
                    token = evaluate(issuer.token, exchange)
                    owner = created or self._addressed(exchange)
                    if isinstance(token, str) and owner is not None:
                        self.tokens[token] = owner
        self._timed(operation, exchange.received - exchange.sent)
        views = [view for view in lifecycle.views if view.operation == operation]
        for view in views:
            self._view(view, exchange, created)
        if not views and operation != lifecycle.create.operation:
            self._answered(exchange)
        if lifecycle.stream is not None and operation == lifecycle.stream.operation and not ok:
            self.stream_capture(exchange)  # an error answer instead of a stream: a fault of the step
        if lifecycle.delete is not None and operation == lifecycle.delete.operation and ok:
            recording = self._addressed(exchange, lifecycle.delete.id)
            if recording is not None:
                recording.deleted = True

    def _timed(self, operation: str, seconds: float) -> None:
        samples = self.latencies.setdefault(operation, [])
        if len(samples) < MAX_SAMPLES:
            samples.append(seconds)

    def _answered(self, exchange: Exchange) -> None:
        """An answer about one resource by an operation other than its create and views: kept with
        its body; a cancel or delete is also the client's action on it."""
        operation = exchange.route.operation.operation_id
        lifecycle = self.lifecycle
        action = next(
            (
                (name, part.id)
                for name, part in (("cancel", lifecycle.cancel), ("delete", lifecycle.delete))
                if part is not None and part.operation == operation
            ),
            None,
        )
        recording = self._addressed(exchange, action[1] if action else None)
        if recording is None:
            return
        answered = recording.answer(exchange.received, operation, exchange.status, exchange.response_body)
        if action is not None:
            recording.act(action[0], exchange.sent, answered)
        if exchange.connection is not None:
            self.last_answers[exchange.connection] = answered
            self.last_answers.move_to_end(exchange.connection)
            while len(self.last_answers) > MAX_CONNECTIONS:
                self.last_answers.popitem(last=False)

    def connection_cut(self, connection: Any) -> bool:
        """The target cut the client's connection instead of answering: the answer before on that
        connection is marked ``dropped``. True when there was one (the proxy cuts the client's too)."""
        answered = self.last_answers.pop(connection, None)
        if answered is None:
            return False
        answered.dropped = True
        LOG.warning(
            "comeback record: the target cut the connection after answering %s %d",
            answered.operation,
            answered.status,
        )
        return True

    def _create(self, exchange: Exchange) -> Recording | None:
        create = self.lifecycle.create
        resource_id = evaluate(create.id, exchange)
        if resource_id is None:
            LOG.warning("comeback record: %s answered without the id at %s", create.operation, create.id)
            return None
        scope = {name: evaluate(expression, exchange) for name, expression in create.scope.items()}
        recording = Recording(
            self.spec.name,
            str(resource_id),
            self.lifecycle,
            created=(exchange.sent, exchange.received),
            scope=scope,
        )
        self.recordings.append(recording)
        self.by_id[recording.id] = recording
        self.started[id(recording)] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.credentials[id(recording)] = {
            k: v for k, v in exchange.headers.items() if k.lower() in self.secrets.headers
        }
        LOG.info("comeback record: following %s %s %s", self.spec.name, self.lifecycle.resource, recording.id)
        if self.options.poll is not None and self.client is not None:
            view = self._poll_view()
            if view is not None:
                task = asyncio.get_running_loop().create_task(self._poll(recording, view))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        return recording

    def _addressed(self, exchange: Exchange, expression: str | None = None) -> Recording | None:
        """The recording a request names by the resource id (or a parameter named like it)."""
        value = evaluate(expression, exchange) if expression else None
        if value is None:
            name = self.lifecycle.id_name
            value = exchange.route.path.get(name) or exchange.query.get(name)
            if value is None and isinstance(exchange.request_body, Mapping):
                value = exchange.request_body.get(name)
        if isinstance(value, list) and len(value) == 1:  # Letta's cancel takes run_ids: [id]
            value = value[0]
        return self.by_id.get(str(value)) if value is not None else None

    def _view(self, view: View, exchange: Exchange, created: Recording | None) -> None:
        operation = exchange.route.operation.operation_id
        if view.items is None:
            recording = created if view.id is None else self._addressed(exchange, view.id)
            if recording is None:
                return
            recording.call(exchange.received, operation, exchange.status, exchange.retry_after)
            if exchange.status == view.status and isinstance(exchange.response_body, Mapping):
                self._record(recording, view, exchange.response_body, exchange)
            return
        if exchange.status != view.status:
            return
        items = resolve_pointer(exchange.response_body, view.items)
        for item in items if isinstance(items, list) else ():
            item_id = evaluate(view.id, exchange, response_body=item) if view.id else None
            recording = self.by_id.get(str(item_id)) if item_id is not None else None
            if recording is not None and isinstance(item, Mapping):
                self._record(recording, view, item, exchange)

    def _record(self, recording: Recording, view: View, body: Mapping[str, Any], exchange: Exchange) -> None:
        values = {name: resolve_pointer(body, pointer) for name, pointer in view.fields.items()}
        for name in self._timestamps:
            if name in values:
                recording.timestamp(name, values[name])
        for message in recording.observe(exchange.sent, exchange.received, values):
            LOG.warning("comeback record: %s", self.secrets.text(message))

    def stream_capture(self, exchange: Exchange) -> StreamCapture | None:
        stream = self.lifecycle.stream
        if stream is None or exchange.route.operation.operation_id != stream.operation:
            return None
        if stream.token is not None:
            token = evaluate(stream.token.parameter, exchange)
            recording = self.tokens.get(str(token)) if token is not None else None
        else:
            recording = self._addressed(exchange, stream.id)
        if recording is None:
            return None
        recording.call(exchange.received, stream.operation, exchange.status, exchange.retry_after)
        return recording.open_stream(exchange.received) if exchange.status == 200 else None

    # -- own polling ---------------------------------------------------------------------------------
    def _poll_view(self) -> View | None:
        """A view that reads one resource by an id in its path or query (e.g. a status endpoint)."""
        for view in self.lifecycle.views:
            operation = self.spec.operations[view.operation]
            by_request = view.id is not None and parse_expression(view.id).location in ("path", "query")
            if view.items is None and by_request and operation.method == "get":
                return view
        return None

    async def _poll(self, recording: Recording, view: View) -> None:
        assert self.client is not None
        assert self.options.poll is not None
        operation = self.spec.operations[view.operation]
        path: dict[str, str] = {}
        query: dict[str, str] = {}
        for expression, value in [(view.id, recording.id)] + [
            (view.scope[name], recording.scope.get(name)) for name in view.scope
        ]:
            parsed = parse_expression(str(expression))
            if value is not None:
                (path if parsed.location == "path" else query)[parsed.name] = str(value)
        url_path = operation.path
        for name, value in path.items():
            url_path = url_path.replace("{" + name + "}", quote(value, safe=""))
        route = Matched(operation, path)
        linger = self.options.linger
        while not self._closing and not recording.deleted and linger >= 0:
            await asyncio.sleep(self.options.poll)
            if recording.terminal:
                linger -= 1
            headers = self.credentials.get(id(recording), {})
            sent = self.clock()
            try:
                answer = await self.client.get(
                    self.options.target.rstrip("/") + url_path, params=query, headers=headers
                )
            except httpx.HTTPError as error:
                LOG.warning("comeback record: own poll of %s failed: %s", recording.id, error)
                continue
            exchange = Exchange(
                route,
                query,
                headers,
                None,
                answer.status_code,
                json_or_none(answer.content),
                retry_after(answer.headers),
                sent,
                self.clock(),
            )
            self.safely(self.observe, exchange)

    # -- writing -------------------------------------------------------------------------------------
    def flush(self, *, unfinished: bool = False) -> dict[str, Any]:
        """Write every finished recording not written yet (and the unfinished ones if asked). A
        resource a client cancelled or deleted is written as the session's reaction, not a timeline;
        every file is written again with what the session knows of the server (``behaviour``)."""
        rejected: list[str] = []
        matched = 0
        folder = self.options.out / self.spec.name
        slack = 2 * (self.options.poll or 0.25)
        found = behaviour(self.recordings, self.latencies, self.secrets)
        reacted = [r.id for r in self.recordings if r.actions]
        for recording in self.recordings:
            if id(recording) in self.flushed or not (recording.terminal or unfinished) or recording.actions:
                continue
            self.flushed.add(id(recording))
            composed = compose(recording, self.secrets, source=self._target_label(), answered=found.answered)
            group = next((g for g in self.groups if same_timeline(g.composed, composed, slack)), None)
            if group is not None:
                group.count += 1
                group.ids.append(recording.id)
                matched += 1
            else:
                group = Group(composed, ids=[recording.id], recorded_at=self.started.get(id(recording), ""))
                self.groups.append(group)
                taken = {g.path.stem for g in self.groups if g.path is not None}
                taken |= {p.stem for p in folder.glob("*.yaml")} if folder.is_dir() else set()
                group.path = folder / f"{scenario_name(composed, taken)}.yaml"
                LOG.info("comeback record: writing %s", group.path)
        written: list[dict[str, Any]] = []
        chosen = (  # the most walked; of those, the one that showed most steps
            max(self.groups, key=lambda g: (g.count, len(g.composed.data["steps"])))
            if self.options.default and self.groups
            else None
        )
        for group in self.groups:
            data = with_behaviour(group.composed.data, found, default=group is chosen)
            header = header_lines(
                group, data, target=self._target_label(), spec=self.options.spec_label, reacted=reacted
            )
            text = self.secrets.text(render(data, header))
            assert group.path is not None
            problems = check(text, group.path, self.lifecycle, self.spec.name)
            if problems:
                LOG.error("comeback record: not written, it would not load:\n%s", "\n".join(problems))
                rejected.append(str(group.path))
                continue
            write_text(group.path, text)
            written.append({"file": str(group.path), "resources": list(group.ids)})
        return {"written": written, "same_as_written": matched, "rejected": rejected, "reactions": reacted}

    def _target_label(self) -> str:
        return self.secrets.url(self.options.target)

    async def close(self) -> None:
        self._closing = True
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.client is not None:
            await self.client.aclose()
