"""Callbacks: when a resource whose lifecycle declares one first reaches a terminal state, the mock
POSTs its outcome once (no retry) to the URL the create request named, and records what happened.

The process that created the resource sends it; on a shared store, when that process stops before
the callback is sent, another takes it over (``state.redis_callbacks``; the store reports it as a
``Change("callback")``) and sends it here, when due, as its creator would have.

Nothing a client sends can make a callback task fail: a refused URL, a refused connection or a bug
all become the resource's ``callback_error``. URLs go to loopback hosts only, unless
``--callback-host`` widened that. httpx is imported when the first callback is checked or sent (it
costs ~0.2 s at start).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from lifecycle.expressions import parse_expression
from lifecycle.model import Lifecycle
from mockserver.render import Renderer, iso
from mockserver.settings import Settings
from mockserver.state.base import Change, StateStore, StoreUnavailableError
from mockserver.store import Resource

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("comeback.mock")
CALLBACK_ANSWER_BYTES = 64 * 1024  # of a callback's answer read (and dropped); the rest is not read


class Host(Protocol):
    """What callbacks need of the engine (which imports this module, so it is named structurally)."""

    settings: Settings
    state: StateStore
    renderers: dict[str, Renderer]

    @property
    def closing(self) -> bool: ...

    def lifecycle(self, api: str) -> Lifecycle: ...

    def is_done(self, resource: Resource) -> bool: ...

    def now_of(self, resource: Resource) -> float: ...

    async def sleep_until(
        self, resource: Resource, moment: float | None, idle: float | None = None
    ) -> str: ...

    def changed(self, resource: Resource) -> None: ...

    async def enter(self, namespace: str) -> str | None: ...


class Callbacks:
    """The callback tasks of one engine and their HTTP client."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self._tasks: set[asyncio.Task[None]] = set()
        self._sending: dict[asyncio.Task[None], Resource] = {}  # the tasks that send a callback
        self._client: httpx.AsyncClient | None = None
        host.state.on_change(self._taken_over)

    def start(self, resource: Resource) -> bool:
        """Send ``resource``'s callback once it finishes, when its lifecycle and request name one
        (False: they name none)."""
        callback = self.host.lifecycle(resource.api).callback
        if callback is None:
            return False
        url = parse_expression(callback.url).evaluate(request_body=resource.request)
        if not isinstance(url, str) or not url:
            return False
        resource.watchers += 1
        task = asyncio.get_running_loop().create_task(self._deliver(resource, url), name=resource.namespace)
        self.keep(task)
        self._sending[task] = resource
        task.add_done_callback(self._sending.pop)
        return True

    def _taken_over(self, change: Change) -> None:
        """The shared store made this process the sender of a stopped process's callback."""
        if change.kind == "callback" and change.resource is not None:
            task = asyncio.get_running_loop().create_task(self._adopt(change.resource))
            self.keep(task)

    async def _adopt(self, resource: Resource) -> None:
        try:
            await self.host.enter(resource.namespace)  # a namespace new here: its clock's offset first
            if not self.start(resource):
                await self.host.state.callback_done(resource)
        except StoreUnavailableError:
            log.warning("callback for %s %s not taken over: the store is away", resource.api, resource.id)

    def keep(self, task: asyncio.Task[None]) -> None:
        """Hold a reference to ``task`` until it ends (the loop keeps only weak ones)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self, namespace: str | None = None) -> None:
        """Stop waiting to send callbacks (of one namespace's resources, which was reset: off the
        shared schedule too; None: all, the process is closing: left there for another to take)."""
        for task in list(self._tasks):
            if namespace is None or task.get_name() == namespace:
                task.cancel()
        gone = [resource for task, resource in self._sending.items() if task.get_name() == namespace]
        if gone:
            self.keep(asyncio.get_running_loop().create_task(self._forget(gone)))

    async def _forget(self, resources: list[Resource]) -> None:
        for resource in resources:
            await self._done(resource)

    async def close(self) -> None:
        self.cancel()
        if self._client is not None:
            await self._client.aclose()

    def refusal(self, url: str) -> str | None:
        """Why a callback to ``url`` may not be sent (None: it may). Loopback hosts only, unless
        ``--callback-host`` allowed more ("*": any)."""
        import httpx  # noqa: PLC0415

        try:
            parsed = httpx.URL(url)
            host = parsed.host
        except (httpx.InvalidURL, ValueError, TypeError) as error:
            return f"not a usable URL: {error}"
        if parsed.scheme not in ("http", "https"):
            return f"scheme {parsed.scheme!r} is not http or https"
        if not host:
            return "the URL names no host"
        if parsed.port is not None and not 0 < parsed.port < 65536:
            return f"port {parsed.port} is out of range"
        allowed = self.host.settings.callback_hosts
        if "*" not in allowed and host.lower() not in allowed:
            shown = ", ".join(sorted(allowed)) or "none"
            return f"host {host!r} is not allowed (allowed: {shown}; widen with --callback-host)"
        return None

    async def _deliver(self, resource: Resource, url: str) -> None:
        """Wait for the first terminal state, then POST once (no retry), and record the outcome.
        Nothing a client sends can make this task fail: every error becomes ``callback_error``."""
        host = self.host
        try:
            while not host.is_done(resource):
                if host.closing:
                    return  # still on the shared schedule: another process takes it over
                if resource.extra.get("deleted"):
                    await self._done(resource)
                    return
                await host.sleep_until(resource, resource.timeline.next_change_at())
            if await host.state.claim_callback(resource):  # else another process sends it
                await self._post(resource, url)
                host.changed(resource)  # the callback's outcome is part of the resource
        except Exception as error:  # a bug or a hostile URL must not leave callback_* unexplained
            await self._outcome(resource, url, None, f"callback failed: {type(error).__name__}: {error}")
        else:
            await self._done(resource)
        finally:
            resource.watchers -= 1

    async def _done(self, resource: Resource) -> None:
        try:
            await self.host.state.callback_done(resource)
        except StoreUnavailableError:  # left on the schedule: a process taking it over finds it claimed
            log.warning("callback for %s %s: the store is away", resource.api, resource.id)

    async def _post(self, resource: Resource, url: str) -> None:
        refusal = self.refusal(url)
        if refusal is not None:
            await self._outcome(resource, url, None, f"callback not sent: {refusal}")
            return
        lifecycle = self.host.lifecycle(resource.api)
        assert lifecycle.callback is not None
        renderer = self.host.renderers[resource.api]
        timeline = resource.timeline
        values = renderer.field_values(resource, timeline)
        completed = lifecycle.timestamps.get("completed")
        payload = {
            "run_id": resource.id,
            "status": values.get("status"),
            "completed_at": values.get(completed) if completed else iso(timeline.current.at),
            "metadata": resource.extra.get("metadata", {}),
        }
        import httpx  # noqa: PLC0415

        if self._client is None:  # no environment proxies: a loopback callback must stay on loopback
            self._client = httpx.AsyncClient(trust_env=False)
        sent_at = self.host.now_of(resource)
        timeout = lifecycle.callback.timeout_seconds
        try:  # the answer is read as a stream, at most CALLBACK_ANSWER_BYTES of it, then dropped
            async with self._client.stream("POST", url, json=payload, timeout=timeout) as response:
                async with asyncio.timeout(timeout):  # a dripping answer cannot hold the task either
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= CALLBACK_ANSWER_BYTES:
                            break
        except TimeoutError:
            pass  # the status came in time; the rest of the answer is not waited for
        except httpx.HTTPError as error:
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            await self._outcome(resource, url, None, f"callback failed: {reason}")
            return
        await self._outcome(resource, url, response.status_code, None, sent_at)

    async def _outcome(
        self,
        resource: Resource,
        url: str,
        status: int | None,
        error: str | None,
        sent_at: float | None = None,
    ) -> None:
        """Record what became of a callback (``callback_*`` fields) and log it, URL without query."""
        outcome = {"sent_at": sent_at, "status_code": status, "error": error}
        resource.extra["callback"] = outcome
        shown = _url_for_log(url)
        if error is None:
            log.info("callback for %s %s to %s: sent, answered %s", resource.api, resource.id, shown, status)
        else:
            log.warning("callback for %s %s to %s: %s", resource.api, resource.id, shown, error)
        await self.host.state.callback_outcome(resource, outcome)


def _url_for_log(url: str) -> str:
    """The URL without user info, query or fragment (they may carry credentials)."""
    import httpx  # noqa: PLC0415

    try:
        parsed = httpx.URL(url)
        port = f":{parsed.port}" if parsed.port is not None else ""
        return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"[:200]
    except (httpx.InvalidURL, ValueError, TypeError):
        return repr(url[:100])
