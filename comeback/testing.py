"""Scripting the mock from Python: a running mock, scenarios written inline, the clock, the journal.

Used by the pytest plugin (``comeback_mock`` fixture) and usable on its own:

    >>> with MockServer.start(apis=["letta"]) as mock:
    ...     mock.next_scenario("letta", "failed")
    ...     run = mock.client.post(f"/v1/agents/{agent}/messages/async", json={"input": "hi"}).json()
    ...     mock.advance(5)
    ...     mock.journal.assert_calls(["POST createAgentMessageAsync"])

With ``store="redis://HOST:PORT/DB"`` the mock keeps its state in that shared store, so mocks started
by several tests, processes or ``comeback serve`` instances on it act as one mock in each namespace;
the controls then run on the mock's own event loop (a round trip each) instead of at once.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import httpx

from lifecycle import SourceError
from lifecycle.bundled import bundled_scenarios, bundled_specs
from lifecycle.scenario import Scenario, load_scenario, scenario_from_data
from lifecycle.source import load_document
from mockserver.app import create_app
from mockserver.catalog import Api, load_catalog
from mockserver.engine import Engine
from mockserver.journal import JournalEntry
from mockserver.servers import serve_in_thread
from mockserver.settings import ClockMode, Settings
from mockserver.state.base import StoreUnavailableError
from mockserver.state.namespaces import (
    CURRENT_NAMESPACE,
    DEFAULT_NAMESPACE,
    NAMESPACE_HEADER,
    namespace_problem,
)
from mockserver.state.store_url import StoreUrlError, parse_store, unreachable
from mockserver.store import Resource

__all__ = ["START", "Journal", "MockServer", "ScenarioPath", "at_once", "bundled_catalog"]

ScenarioPath = str | os.PathLike[str]
T = TypeVar("T")

START = 1_750_000_000.0  # where a manual clock starts: 2025-06-15T15:06:40Z, the same in every run


@cache
def bundled_catalog() -> Mapping[str, Api]:
    """The bundled specs and scenarios, loaded once per process."""
    return load_catalog(bundled_specs(), bundled_scenarios())


class Journal(Sequence[JournalEntry]):
    """The requests the mock received, in order, with assertions that explain themselves."""

    def __init__(
        self,
        engine: Engine,
        api: str | None = None,
        operation: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        run: Callable[[Callable[[], Awaitable[list[JournalEntry]]]], list[JournalEntry]] | None = None,
    ) -> None:
        self._engine = engine
        self._api = api
        self._operation = operation
        self._namespace = namespace
        self._run = run or (lambda call: at_once(call, namespace))

    def _entries(self) -> list[JournalEntry]:
        return [
            entry
            for entry in self._run(self._engine.journal)
            if (self._api is None or entry.api == self._api)
            and (self._operation is None or entry.operation == self._operation)
        ]

    def __getitem__(self, index: Any) -> Any:
        return self._entries()[index]

    def __len__(self) -> int:
        return len(self._entries())

    def of(self, operation: str) -> Journal:
        """Only the calls of one operation (by operationId)."""
        return Journal(self._engine, self._api, operation, self._namespace, self._run)

    def calls(self) -> list[str]:
        """Each call as ``METHOD operationId`` (or ``METHOD path`` when no operation matched)."""
        return [f"{entry.method} {entry.operation or entry.path}" for entry in self._entries()]

    def assert_calls(self, expected: Sequence[str]) -> None:
        """Fail, with a readable difference, unless the calls were exactly ``expected`` in order."""
        actual = self.calls()
        if actual != list(expected):
            diff = "\n".join(difflib.ndiff(list(expected), actual))
            raise AssertionError(
                f"the client's calls differ from the expected ones (- expected, + actual):\n{diff}"
            )

    def assert_count(self, operation: str, expected: int) -> None:
        """Fail, listing the calls made, unless ``operation`` was called exactly ``expected`` times."""
        count = len(self.of(operation))
        if count != expected:
            listing = "\n".join(f"  {call}" for call in self.calls()) or "  (none)"
            raise AssertionError(
                f"{operation} was called {count} times, expected {expected}; the calls were:\n{listing}"
            )

    def headers(self, operation: str) -> list[dict[str, str]]:
        """The request headers of each call of ``operation``, in order (names in lower case)."""
        return [entry.headers for entry in self.of(operation)._entries()]


class MockServer:
    """A running mock: a client for it, its URL, and the controls tests use."""

    def __init__(
        self,
        engine: Engine,
        client: httpx.Client,
        url: str,
        namespace: str = DEFAULT_NAMESPACE,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.engine = engine
        self.client = client  # already pointed at the mock; in-process unless started with a port
        self.url = url
        self.namespace = namespace  # the client sends it as X-Mock-Namespace; the controls act in it
        self.loop = loop  # the mock's event loop: a shared store's calls run there

    @classmethod
    @contextmanager
    def start(
        cls,
        *,
        apis: Sequence[str] | None = None,
        seed: int = 0,
        clock: ClockMode = "manual",
        port: bool = False,
        strict: bool = True,
        scenarios: Sequence[ScenarioPath] = (),
        namespace: str = DEFAULT_NAMESPACE,
        store: str = "memory",
        **settings: Any,
    ) -> Iterator[MockServer]:
        """A fresh mock for one test: in-process by default, on a real 127.0.0.1 port with ``port=True``.

        ``scenarios``: scenario files, added to their API, and folders (``DIR/<api>/NAME.yaml``),
        laid over the bundled scenarios in order, as ``comeback serve --scenarios DIR`` does.
        ``namespace``: the client and the controls use that namespace (other clients of a mock on a
        port see nothing of it unless they send ``X-Mock-Namespace`` with the same name).
        ``store``: ``"memory"`` (this mock's own state), or ``"redis://HOST:PORT/DB"``, a shared store:
        every mock and ``comeback serve`` on it sees the same resources, clock, queue and journal in a
        namespace (what earlier runs left in it too: ``reset()`` forgets it). ``StoreUrlError`` for a
        malformed URL, ``StoreUnavailableError`` naming it when it does not answer.
        """
        refused = namespace_problem(namespace)
        if refused is not None:
            raise ValueError(refused.replace("X-Mock-Namespace", "namespace"))
        try:
            location = parse_store(store)
        except StoreUrlError as error:  # the same message, naming this option
            raise StoreUrlError(str(error).replace("--store ", "store=", 1)) from None
        problem = None if location is None else unreachable(location)
        if problem is not None:
            raise StoreUnavailableError(f"store={store!r}: {problem}")
        headers = {} if namespace == DEFAULT_NAMESPACE else {NAMESPACE_HEADER: namespace}
        paths = [Path(path) for path in scenarios]
        folders = tuple(path for path in paths if path.is_dir())
        chosen = Settings(
            spec_paths=tuple(bundled_specs()),
            scenario_dir=bundled_scenarios(),
            apis=frozenset(apis) if apis else None,
            seed=seed,
            clock=clock,
            start_time=START if clock == "manual" else None,
            strict=strict,
            callback_hosts=frozenset({"127.0.0.1", "localhost"}),  # a test never calls out
            store=store,
        )
        chosen = replace(chosen, scenario_layers=folders, **settings)
        # the bundled catalog is loaded once per process; folders of a test's own are read each time
        app = create_app(chosen, catalog=None if folders else bundled_catalog())
        mock_files = [path for path in paths if not path.is_dir()]
        with ExitStack() as stack:
            if port:
                url = stack.enter_context(serve_in_thread(app))
                client: httpx.Client = stack.enter_context(
                    httpx.Client(base_url=url, timeout=30, headers=headers)
                )
            else:
                url = "http://testserver"
                client = stack.enter_context(_in_process(app))
                client.headers.update(headers)
            mock = cls(app.state.engine, client, url, namespace, getattr(app.state, "loop", None))
            for path in mock_files:
                mock.add_scenario(path)
            yield mock

    # -- scenarios ------------------------------------------------------------------------------
    def scenario(
        self,
        api: str,
        steps: Sequence[Mapping[str, Any]],
        *,
        name: str = "inline",
        description: str = "written in a test",
        **extra: Any,
    ) -> Scenario:
        """A scenario written in Python, checked exactly like a file (same messages on mistakes)."""
        data = {"api": api, "description": description, "steps": [dict(step) for step in steps], **extra}
        return scenario_from_data(
            data, f"<inline scenario {name!r}>", self.engine.lifecycle(api), name=name, api=api
        )

    def load_scenario(self, path: ScenarioPath) -> Scenario:
        """A scenario file (YAML), checked against its API's lifecycle exactly as the mock's own files
        are; raises ``SourceError`` with the same located messages. The file's ``api`` names the API."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise FileNotFoundError(f"scenario file {path}: {error.strerror}") from None
        data = load_document(text, path.as_posix()).data
        api = data.get("api") if isinstance(data, dict) else None
        if not isinstance(api, str) or api not in self.engine.catalog:
            known = ", ".join(sorted(self.engine.catalog))
            raise KeyError(f"{path}: 'api' must name a served API ({known}); found {api!r}")
        return load_scenario(text, path.as_posix(), self.engine.lifecycle(api))

    def add_scenario(self, scenario: ScenarioPath | Scenario) -> Scenario:
        """Add a scenario (a file, or one from ``.scenario``) to its API: from now on it can be chosen
        by name (``X-Mock-Scenario``), by its trigger, and with ``default: true`` it is the default."""
        if not isinstance(scenario, Scenario):
            scenario = self.load_scenario(scenario)
        findings = self.run(lambda: self.engine.book.upload(scenario))
        if findings:
            raise SourceError(findings)
        return scenario

    def next_scenario(self, api: str, scenario: str | Scenario | os.PathLike[str]) -> Scenario:
        """The scenario the next resource created on ``api`` walks: a name the API knows, an inline
        scenario, or a scenario file (a ``Path``)."""
        if isinstance(scenario, os.PathLike):
            scenario = self.load_scenario(scenario)
        if isinstance(scenario, str):
            known = self.engine.catalog[api].scenarios
            if scenario not in known:
                raise KeyError(f"unknown scenario {scenario!r} for {api}; known: {', '.join(sorted(known))}")
            scenario = known[scenario]
        self.run(lambda: self.engine.queue_scenario(api, scenario))
        return scenario

    # -- time and resources ---------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the manual clock; resources due to change do so, streams and callbacks wake up."""
        self.run(lambda: self.engine.advance_clock(seconds))

    def step(self, api: str, resource_id: str) -> str:
        """Force a resource's next scenario step now; returns its new state."""
        resource = self._resource(api, resource_id)
        self.run(lambda: self.engine.force_next(resource))
        return resource.timeline.state

    def state(self, api: str, resource_id: str) -> str:
        """A resource's current state in the lifecycle's words (does not count as a read)."""
        return self.engine.observe(self._resource(api, resource_id)).state

    def _resource(self, api: str, resource_id: str) -> Resource:
        resource = self.run(lambda: self.engine.find(api, resource_id))
        if resource is None:
            raise KeyError(f"no {api} resource {resource_id!r}")
        return resource

    def reset(self) -> None:
        """Forget the namespace's resources, journal, queue and defaults (and its clock, unless it
        is the default namespace): on a shared store, what earlier runs left in it."""
        self.run(self.engine.reset)

    @property
    def journal(self) -> Journal:
        return Journal(self.engine, namespace=self.namespace, run=self.run)

    def journal_of(self, api: str) -> Journal:
        return Journal(self.engine, api, namespace=self.namespace, run=self.run)

    def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run one of the engine's coroutine methods in the mock's namespace: at once on the memory
        store; on a shared store, on the mock's event loop (where its connections live), waiting
        for the answer."""
        if self.loop is None or not self.engine.state.shared:
            return at_once(call, self.namespace)
        engine, namespace = self.engine, self.namespace

        async def inside() -> T:
            await engine.enter(namespace)  # a namespace new to the mock: its clock's offset first
            return await call()

        return asyncio.run_coroutine_threadsafe(inside(), self.loop).result(timeout=30)


def _in_process(app: Any) -> AbstractContextManager[httpx.Client]:
    """Starlette's test client: the app runs in this process, its lifespan included.

    Imported here, not at the top: without the ``[test]`` extra (no httpx2) Starlette warns on import
    that its client falls back to httpx, which it still supports; that warning would otherwise reach
    every pytest run of a project that merely has this package installed (and fail ``-W error``)."""
    from starlette.exceptions import StarletteDeprecationWarning  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from starlette.testclient import TestClient  # noqa: PLC0415

    client: AbstractContextManager[httpx.Client] = TestClient(app, base_url="http://testserver")  # type: ignore[assignment]
    return client


def at_once(call: Callable[[], Awaitable[T]], namespace: str) -> T:
    """Call one of the engine's coroutine methods from the test's thread, in ``namespace``, and run
    it. On the memory store they never wait, so they finish in one step, as the synchronous calls
    they were; one that waits needs the server's loop (``MockServer.run``), and is refused."""
    token = CURRENT_NAMESPACE.set(namespace)  # before the call: a method may read it right away
    try:
        steps = call().__await__()
        steps.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        CURRENT_NAMESPACE.reset(token)
    close = getattr(steps, "close", None)
    if close is not None:
        close()
    raise RuntimeError("comeback.testing drives the mock's state directly: it needs --store memory")
