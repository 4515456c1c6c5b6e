"""The state seam: everything a mock remembers, behind one async interface, keyed by namespace.

The engine holds one ``StateStore``. The memory store (``state.memory``) keeps today's structures
in the process; a network store (Redis/Valkey) lets several processes serve one mock. What is state:

- resources: per (namespace, api, id) a record made once at create time (api, id, namespace, scope,
  scenario, created_at, request body; ``Resource`` carries it) plus a small mutable part: the
  commands applied to it with their clock times (``Command``: read, cancel, force, delete), vendor
  extras (edits, fault counts, metadata) and the callback's claim and outcome;
- the clock: one manual offset per namespace (the real and scaled clocks need no state);
- scenario choice: a queue and a chosen default per (namespace, api);
- scenarios uploaded with ``PUT /__mock/scenarios`` (global: every namespace sees them);
- the request journal per namespace;
- vendor data per (namespace, api): Chatzy's conversations and single-use tokens.

A timeline is a pure function of (scenario, created_at, commands, now): ``replay`` computes it, so
a network store ships records and commands, never timelines, and each instance computes the
timeline itself (and may cache the record until told it changed). Changes made by *another*
process reach this one through ``on_change`` listeners (``Change``), which the engine turns into
the same local wake-ups a local command causes (``Resource.notify`` and the dashboard's
``EventHub``). The memory store never calls them: every change is local.

Reading the clock and computing a timeline stay synchronous (they use what this process already
holds); whatever may need a round trip to a shared store is a coroutine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from lifecycle.errors import ComebackError
from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario
from lifecycle.timeline import Timeline, advance, cancel, count_read, force_next, react_to, start

if TYPE_CHECKING:
    from mockserver.journal import JournalEntry
    from mockserver.store import Resource

CommandKind = Literal["read", "cancel", "force", "delete", "react-cancel", "react-delete"]


@dataclass(frozen=True, slots=True)
class Command:
    """One client or admin command applied to a resource at ``at`` (the namespace's clock)."""

    kind: CommandKind
    at: float


ChangeKind = Literal["resource", "deleted", "clock", "reset", "defaults", "uploads", "callback"]


@dataclass(frozen=True, slots=True)
class Change:
    """What another process changed: a resource (``resource``/``deleted``, with api and id), the
    namespace's manual clock, a reset of the namespace, its queue or defaults, the uploaded
    scenarios (``namespace`` None: global), or a callback this process now sends (``callback``: its
    sender stopped; ``state.redis_callbacks``). ``resource`` is this process's copy of a changed
    resource, already brought up to date by the store (None: it holds none): the engine wakes the
    streams sleeping on that object."""

    kind: ChangeKind
    namespace: str | None
    api: str | None = None
    resource_id: str | None = None
    resource: Resource | None = None


ChangeListener = Callable[[Change], None]


class StoreUnavailableError(ComebackError):
    """The shared store cannot be reached (API calls answer 503 in the vendor's shape)."""


def replay(
    scenario: Scenario,
    created_at: float,
    commands: Sequence[Command],
    lifecycle: Lifecycle,
    now: float | None = None,
) -> Timeline:
    """The timeline of a resource from its record and commands (at ``now``, else as of its last
    command): the value the process that applied the commands holds, as commands are applied in
    order, each at its time."""
    timeline = start(scenario, created_at)
    for command in commands:
        if command.kind == "read":
            timeline = count_read(timeline, command.at)
        elif command.kind == "cancel":
            timeline = cancel(timeline, command.at, lifecycle)
        elif command.kind == "force":
            timeline = force_next(timeline, command.at)
        elif command.kind in ("react-cancel", "react-delete"):  # a recorded reaction (mockserver.replay)
            timeline = react_to(timeline, command.kind.removeprefix("react-"), command.at)
        # "delete" ends the record; a cancel before it (cancels_first) is its own command
    return timeline if now is None else advance(timeline, now)


class StateStore(Protocol):
    """Everything a mock remembers. ``namespace`` isolates clients that share one mock; uploaded
    scenarios are global. Methods may raise ``StoreUnavailableError``."""

    name: str  # what to call it in messages ("memory", "redis://127.0.0.1:6379/0")
    # other processes see the same state (so `--workers N` behaves as one mock); False: the objects
    # this process holds are the whole state, so ``held`` answers for every resource and a read
    # the engine applies to a resource needs no ``command`` to be kept
    shared: bool
    salt: int  # mixed into the seeded ids after ``open`` (0 in memory: ids as ever; a shared store
    # gives each process its own, so two processes never mint the same id)

    async def open(self, lifecycle_of: Callable[[str], Lifecycle]) -> None:
        """Connect (a network store; ``StoreUnavailableError`` naming the URL when it cannot).
        ``lifecycle_of(api)`` is the served lifecycle, to rebuild a record's scenario and replay."""

    async def close(self) -> None: ...

    def on_change(self, listener: ChangeListener) -> None:
        """Call ``listener`` (on the event loop) for every change another process makes."""

    # -- resources ---------------------------------------------------------------------------------
    async def add(self, resource: Resource) -> None:
        """Keep a new resource (its record; evicting idle ones beyond the store's bounds)."""

    async def get(self, namespace: str, api: str, resource_id: str) -> Resource | None:
        """The resource with its commands applied, or None (unknown, deleted or evicted)."""

    def held(self, namespace: str, api: str, resource_id: str) -> Resource | None:
        """The resource when this process holds it up to date, without a round trip (the hot
        path's lookup: no coroutine); None when it does not, then ``get`` asks the store (a store
        that is not ``shared`` holds everything: its None means there is no such resource)."""

    async def resources(self, namespace: str | None, api: str | None = None) -> list[Resource]:
        """Every resource of the namespace (None: of every namespace; a hot reload of a spec
        checks them all), of ``api`` (None: of every API), oldest first."""

    async def command(self, resource: Resource, command: Command) -> None:
        """Record a command the engine has just applied to ``resource.timeline``."""

    async def remove(self, resource: Resource) -> None:
        """Forget a deleted resource (its ``delete`` command was recorded before)."""

    async def put_extra(self, resource: Resource, key: str, value: Any) -> None:
        """Keep ``resource.extra[key] = value`` (vendor data: edits, metadata, fault counts)."""

    async def claim_callback(self, resource: Resource) -> bool:
        """True once per resource across every process: that caller sends its callback."""

    async def callback_outcome(self, resource: Resource, outcome: Mapping[str, Any]) -> None:
        """Keep what became of the callback (``sent_at``, ``status_code``, ``error``)."""

    async def callback_done(self, resource: Resource) -> None:
        """Take the callback off the shared schedule (sent, refused, sent by another, or gone)."""

    # -- clock -------------------------------------------------------------------------------------
    async def clock_start(self, proposed: float) -> float:
        """The clock's reading at offset 0, shared by every process: the first ``proposed`` wins
        (so scaled and manual clocks read the same in every process)."""

    async def clock_offset(self, namespace: str) -> float:
        """Seconds the namespace's manual clock has been advanced since the mock started."""

    async def advance_clock(self, namespace: str, seconds: float) -> float:
        """Add ``seconds`` to the namespace's offset; the new offset."""

    # -- scenario choice ---------------------------------------------------------------------------
    async def queue(self, namespace: str, api: str, entry: Mapping[str, Any]) -> None:
        """Queue a scenario for the next create: ``{"name", "source", "data"}``, JSON values
        (``data`` None: the API's scenario of that name; else a test's own scenario, as written)."""

    async def next_queued(self, namespace: str, api: str) -> Mapping[str, Any] | None:
        """Take the oldest queued entry (None: the queue is empty)."""

    async def queued(self, namespace: str, api: str) -> list[Mapping[str, Any]]: ...

    async def default(self, namespace: str, api: str) -> str | None:
        """The default chosen with the admin API (None: the catalog's)."""

    async def set_default(self, namespace: str, api: str, scenario: str | None) -> None: ...

    # -- uploaded scenarios (global) ---------------------------------------------------------------
    async def upload(self, api: str, name: str, data: Mapping[str, Any], source: str) -> None: ...

    async def discard_upload(self, api: str, name: str) -> None: ...

    async def uploads(self) -> dict[str, dict[str, tuple[Mapping[str, Any], str]]]:
        """Uploaded scenarios: api -> name -> (the scenario's data, its source), in upload order."""

    # -- journal -----------------------------------------------------------------------------------
    async def append_journal(self, namespace: str, entry: JournalEntry) -> None: ...

    async def journal(self, namespace: str) -> list[JournalEntry]:
        """The namespace's entries, oldest first, credentials masked."""

    async def clear_journal(self, namespace: str) -> None: ...

    async def journal_length(self, namespace: str) -> int:
        """How many entries the namespace's journal holds (a seeded fault's draw depends on it)."""

    async def journal_after(self, namespace: str, seen: int | None) -> tuple[int, list[JournalEntry]]:
        """For a live feed on a shared store: how many entries the namespace's journal has had, and
        those recorded by any process since ``seen`` (that number, returned before; None: none),
        oldest first, bounded. The memory store reports entries as they are recorded instead."""

    # -- vendor data -------------------------------------------------------------------------------
    async def vendor_get(self, namespace: str, api: str, key: str) -> Any:
        """A vendor's JSON value under ``key`` (``KIND:ID``, e.g. ``conversation:ID``); None when
        absent. A store may return its own object: callers put it back after changing it."""

    async def vendor_put(
        self, namespace: str, api: str, key: str, value: Any, *, now: float, ttl: float
    ) -> None:
        """Keep a vendor value for ``ttl`` seconds from ``now`` (the namespace's clock) at most; the
        store may forget the oldest of a kind sooner, to stay bounded."""

    async def take_token(self, namespace: str, api: str, key: str) -> dict[str, Any] | None:
        """A single-use token's grant (put with ``vendor_put``), marked used by this call: the
        value returned says ``"used": True`` when it already was. None when unknown. Atomic
        across processes (two concurrent takes: one sees it unused)."""

    # -- reset -------------------------------------------------------------------------------------
    async def reset(self, namespace: str) -> None:
        """Forget the namespace's resources, journal, queue, defaults and vendor data; another
        namespace than the default one forgets its clock offset too (it starts over as if never
        used, so namespaces a CI run used up can be freed); the default one's clock keeps its time."""
