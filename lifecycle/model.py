"""The lifecycle model: frozen values built from a spec's ``x-lifecycle`` block.

A ``Lifecycle`` says which states a created resource walks through, which moves are allowed, how
each state shows in responses, and which operations read, cancel, delete, stream and call back.
The mock, the scenario checker and the contract kit all read this one model.

    >>> lifecycle.allows("pending", "processing")
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lifecycle.rules import Rule, build_rule

Scalar = str | bool | int | None

IdFormat = Literal["uuid4", "prefixed-uuid4", "opaque"]
Framing = Literal["event-and-data", "data-only"]
Replay = Literal["from-start", "cursor", "live"]
OnCancel = Literal["close", "terminal-signal", "not-applicable"]
StateKind = Literal["success", "failure", "cancel"]  # how a terminal state ended (lifecycle.kinds)
EffectKind = Literal["extra-transitions", "extra-values", "extra-statuses", "naive-datetime", "unused-states"]


@dataclass(frozen=True, slots=True)
class State:
    """One state: the field values that identify it and the fields it requires or forbids."""

    name: str
    show: Mapping[str, Scalar]
    terminal: bool = False
    present: frozenset[str] = frozenset()
    absent: frozenset[str] = frozenset()
    allowed: Mapping[str, frozenset[Scalar]] = field(default_factory=dict)
    observed: bool = True
    description: str = ""
    kind: StateKind | None = None  # declared; else lifecycle.kinds derives it
    sets: Mapping[str, Scalar | float] = field(default_factory=dict)  # values the mock writes in this state


@dataclass(frozen=True, slots=True)
class View:
    """A response that shows the resource: where each logical field sits in its body."""

    operation: str
    fields: Mapping[str, str]
    status: int = 200
    id: str | None = None
    scope: Mapping[str, str] = field(default_factory=dict)
    items: str | None = None


@dataclass(frozen=True, slots=True)
class Create:
    operation: str
    id: str
    caller_id: str | None = None
    duplicate_status: int | None = None
    scope: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Documented answer of an operation: the status codes a conforming server may send."""

    status: frozenset[int]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Cancel:
    operation: str
    id: str
    to: str
    from_states: frozenset[str]
    response: Outcome
    when_terminal: Outcome
    when_terminal_effect: Literal["none", "error"]
    scope: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delete:
    operation: str
    id: str
    response: Outcome
    then_read: Outcome
    again: Outcome
    cancels_first: bool = False
    scope: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    operation: str
    token: str


@dataclass(frozen=True, slots=True)
class Token:
    """A short-lived token that opens the stream instead of the resource id."""

    parameter: str
    issued_by: tuple[TokenIssuer, ...]
    ttl_seconds: float
    single_use: bool
    expired_status: int
    reused_status: int


@dataclass(frozen=True, slots=True)
class Stream:
    operation: str
    framing: Framing
    replay: Replay
    terminal_signals: tuple[str, ...]
    on_cancel: OnCancel
    id: str | None = None
    token: Token | None = None
    cursor: str | None = None
    error_signals: tuple[str, ...] = ()
    keepalive: str | None = None
    unavailable_status: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Callback:
    name: str
    url: str
    timeout_seconds: float
    retries: int
    records: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Deviation:
    """A known real-server behaviour that differs from the documents; ``effect`` is its raw block."""

    name: str
    ambiguity: str
    note: str
    tolerated: bool
    kind: EffectKind
    effect: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Decision:
    ambiguity: str
    decision: str


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The whole lifecycle of one API's created resource."""

    resource: str
    id_name: str
    id_format: IdFormat
    id_prefix: str
    create: Create
    fields: Mapping[str, str]
    initial: str
    states: Mapping[str, State]
    transitions: Mapping[str, frozenset[str]]
    views: tuple[View, ...]
    timestamps: Mapping[str, str] = field(default_factory=dict)
    cancel: Cancel | None = None
    delete: Delete | None = None
    stream: Stream | None = None
    callback: Callback | None = None
    deviations: tuple[Deviation, ...] = ()
    decisions: tuple[Decision, ...] = ()
    rules: tuple[Rule, ...] = ()  # stated rules checked live (lifecycle.rules)
    # the first view of each operation (view_for runs on every request)
    _view_of: Mapping[str, View] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        view_of: dict[str, View] = {}
        for view in self.views:
            view_of.setdefault(view.operation, view)
        object.__setattr__(self, "_view_of", view_of)

    @property
    def terminal_states(self) -> frozenset[str]:
        return frozenset(name for name, state in self.states.items() if state.terminal)

    def allows(self, source: str, target: str, tolerate: frozenset[str] = frozenset()) -> bool:
        """Whether ``source -> target`` is an allowed move (staying put always is).

        ``tolerate`` names deviations whose extra transitions count as allowed.
        """
        if source == target or target in self.transitions.get(source, frozenset()):
            return True
        return any(
            target in deviation.effect["transitions"].get(source, ())
            for deviation in self.deviations
            if deviation.kind == "extra-transitions" and deviation.name in tolerate
        )

    def state_showing(self, values: Mapping[str, Scalar]) -> State | None:
        """The state whose ``show`` values all equal ``values``, or None if no state matches."""
        for state in self.states.values():
            if all(field in values and values[field] == value for field, value in state.show.items()):
                return state
        return None

    def view_for(self, operation: str) -> View | None:
        """The (first) view ``operation`` shows, or None."""
        return self._view_of.get(operation)


def build_lifecycle(block: Mapping[str, Any]) -> Lifecycle:
    """Build the model from an ``x-lifecycle`` block already valid against its JSON Schema."""
    states = {
        name: State(
            name=name,
            show=dict(raw["show"]),
            terminal=raw.get("terminal", False),
            present=frozenset(raw.get("present", ())),
            absent=frozenset(raw.get("absent", ())),
            allowed={key: frozenset(values) for key, values in raw.get("allowed", {}).items()},
            observed=raw.get("observed", True),
            description=raw.get("description", ""),
            kind=raw.get("kind"),
            sets=dict(raw.get("sets", {})),
        )
        for name, raw in block["states"].items()
    }
    create = block["create"]
    return Lifecycle(
        resource=block["resource"],
        id_name=block["id"]["name"],
        id_format=block["id"]["format"],
        id_prefix=block["id"].get("prefix", ""),
        create=Create(
            operation=create["operation"],
            id=create["id"],
            caller_id=create.get("caller_id"),
            duplicate_status=create.get("duplicate_status"),
            scope=dict(create.get("scope", {})),
        ),
        fields=dict(block["fields"]),
        initial=block["initial"],
        states=states,
        transitions={name: frozenset(targets) for name, targets in block["transitions"].items()},
        views=tuple(_view(raw) for raw in block["views"]),
        timestamps=dict(block.get("timestamps", {})),
        cancel=_cancel(block["cancel"]) if "cancel" in block else None,
        delete=_delete(block["delete"]) if "delete" in block else None,
        stream=_stream(block["stream"]) if "stream" in block else None,
        callback=_callback(block["callback"]) if "callback" in block else None,
        deviations=tuple(
            Deviation(
                raw["name"],
                raw["ambiguity"],
                raw["note"],
                raw["tolerated"],
                raw["effect"]["kind"],
                raw["effect"],
            )
            for raw in block.get("deviations", ())
        ),
        decisions=tuple(Decision(raw["ambiguity"], raw["decision"]) for raw in block["decisions"]),
        rules=tuple(build_rule(raw) for raw in block.get("rules", ())),
    )


def _outcome(raw: Mapping[str, Any]) -> Outcome:
    return Outcome(frozenset(raw["status"]), raw.get("note", ""))


def _view(raw: Mapping[str, Any]) -> View:
    return View(
        operation=raw["operation"],
        fields=dict(raw["fields"]),
        status=raw.get("status", 200),
        id=raw.get("id"),
        scope=dict(raw.get("scope", {})),
        items=raw.get("items"),
    )


def _cancel(raw: Mapping[str, Any]) -> Cancel:
    when_terminal = raw["when_terminal"]
    return Cancel(
        operation=raw["operation"],
        id=raw["id"],
        to=raw["to"],
        from_states=frozenset(raw["from"]),
        response=_outcome(raw["response"]),
        when_terminal=_outcome(when_terminal),
        when_terminal_effect=when_terminal["effect"],
        scope=dict(raw.get("scope", {})),
    )


def _delete(raw: Mapping[str, Any]) -> Delete:
    return Delete(
        operation=raw["operation"],
        id=raw["id"],
        response=_outcome(raw["response"]),
        then_read=_outcome(raw["then_read"]),
        again=_outcome(raw["again"]),
        cancels_first=raw.get("cancels_first", False),
        scope=dict(raw.get("scope", {})),
    )


def _stream(raw: Mapping[str, Any]) -> Stream:
    token = raw.get("token")
    return Stream(
        operation=raw["operation"],
        framing=raw["framing"],
        replay=raw["replay"],
        terminal_signals=tuple(raw["terminal"]["signals"]),
        error_signals=tuple(raw["terminal"].get("error_signals", ())),
        on_cancel=raw["on_cancel"],
        id=raw.get("id"),
        cursor=raw.get("cursor"),
        keepalive=raw.get("keepalive"),
        unavailable_status=frozenset(raw.get("unavailable_status", ())),
        token=None
        if token is None
        else Token(
            parameter=token["parameter"],
            issued_by=tuple(TokenIssuer(item["operation"], item["token"]) for item in token["issued_by"]),
            ttl_seconds=token["ttl_seconds"],
            single_use=token["single_use"],
            expired_status=token["expired_status"],
            reused_status=token["reused_status"],
        ),
    )


def _callback(raw: Mapping[str, Any]) -> Callback:
    return Callback(
        name=raw["name"],
        url=raw["url"],
        timeout_seconds=raw["timeout_seconds"],
        retries=raw["retries"],
        records=dict(raw.get("records", {})),
    )
