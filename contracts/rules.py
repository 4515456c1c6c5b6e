"""Live checks of the rules a spec states (``x-lifecycle.rules``), one check per rule kind.

Each rule kind is judged in the phase where it can be observed, on a resource of its own:

lifecycle  after the lifecycle probe: one resource watched until terminal, then
           ``rules.list_contains_reply`` (the list holds the reply), ``rules.sum`` (a total equals
           its parts) and ``rules.same_in_views`` (ids and timestamps agree across views)
stream     after the stream probe: one resource whose stream is read while its status is polled,
           then ``rules.view_agrees_with_stream`` (no terminal status while the reply still
           streams), ``rules.stream_token`` (a used token refused; an expired one, when its lifetime
           fits the deadline) and list rules that depend on how the stream ended

A case is one check on one rule (the unit is the rule id), with the report's three outcomes; a
finding carries the exchanges that reproduce it. ``CHECKS`` maps every rule kind to its check, so
``comeback lint --coverage`` can say which check judges each declared rule.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.live_probes import LiveProbes
from contracts.observe import Observation
from contracts.report import Violation
from contracts.requests import Created
from contracts.rule_judges import all_same, is_content, list_problem, put, short, sum_problem
from contracts.target import Exchange
from lifecycle.expressions import parse_expression, resolve_pointer
from lifecycle.model import Stream
from lifecycle.rules import Rule, RuleKind


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """The check that judges one rule kind, and the phase it runs after."""

    name: str
    phase: str
    judges: str


CHECKS: Mapping[RuleKind, RuleCheck] = {
    "stream-token": RuleCheck(
        "rules.stream_token", "stream", "a used token answers reused_status; an expired one expired_status"
    ),
    "view-agrees-with-stream": RuleCheck(
        "rules.view_agrees_with_stream", "stream", "no content arrives after the view first shows terminal"
    ),
    "list-contains-reply": RuleCheck(
        "rules.list_contains_reply", "lifecycle", "once terminal, the list holds the reply item"
    ),
    "sum": RuleCheck("rules.sum", "lifecycle", "once terminal, the total equals the sum of its parts"),
    "same-in-views": RuleCheck(
        "rules.same_in_views", "lifecycle", "the fields show the same value in every named view"
    ),
}


def check_for(rule: Rule) -> RuleCheck | None:
    """The check that judges ``rule`` (None for an unchecked rule); list rules that depend on how
    the stream ended are judged after the stream phase."""
    found = CHECKS.get(rule.kind)
    if found is not None and rule.kind == "list-contains-reply" and rule.unless_signals:
        return RuleCheck(found.name, "stream", found.judges + ", unless the stream ended with a named signal")
    return found


class RuleChecks:
    """The live rule checks of one run, sharing the kit's probes (target, report, options)."""

    def __init__(self, probes: LiveProbes) -> None:
        self.probes = probes
        self.lifecycle = probes.lifecycle
        self.report = probes.report
        self.started = time.monotonic()  # when the resource of the stream rules was created

    def after(self, phase: str) -> None:
        """Judge every rule whose check runs after ``phase``."""
        rules = [r for r in self.lifecycle.rules if (c := check_for(r)) is not None and c.phase == phase]
        if not rules:
            return
        for rule in rules:
            for unit in _units(rule):
                self.report.expect(_name(rule), unit)
        if phase == "stream":
            self._after_stream(rules)
        else:
            self._after_lifecycle(rules)

    # -- lifecycle --------------------------------------------------------------------------------
    def _after_lifecycle(self, rules: list[Rule]) -> None:
        probes = self.probes
        started = time.monotonic()
        with probes.checking(_name(rules[0]), _units(rules[0])[0]):
            made = probes.create()
            seen = probes.watch(made, started)
        terminal = next((o for o in seen if probes.is_terminal(o)), None)
        for rule in rules:
            if terminal is None:
                self._unseen(rule, seen)
                continue
            with probes.checking(_name(rule), rule.id):
                self._judge(rule, made, terminal, seen)

    def _unseen(self, rule: Rule, seen: list[Observation]) -> None:
        last = seen[-1].label() if seen else "no read answered"
        reason = (
            f"the resource did not reach a terminal state within --deadline "
            f"{self.probes.options.deadline:g}s (last: {last})"
        )
        for unit in _units(rule):
            self.report.not_observed(_name(rule), unit, reason=reason)

    def _judge(self, rule: Rule, made: Created, terminal: Observation, seen: list[Observation]) -> None:
        if rule.when and terminal.state not in rule.when:
            self.report.not_observed(
                _name(rule),
                rule.id,
                reason=f"the resource ended {terminal.state!r}; the rule holds in {sorted(rule.when)}",
            )
            return
        if rule.kind == "same-in-views":
            problem = self._same_in_views(rule, made)
        else:
            status, body = self.probes.requests.call(
                self.probes.target, rule.operation or "", made, id_expression=rule.with_id
            )
            if status != 200:
                problem = (
                    f"{rule.operation}: expected 200 once {terminal.state!r}, got {status}: {short(body)}"
                )
            elif rule.kind == "sum":
                problem = sum_problem(rule, body)
            else:
                problem = list_problem(rule, body, made.id, terminal.state)
        if problem is None:
            self.report.passed(_name(rule), rule.id)
        elif problem.startswith("not observed: "):
            self.report.not_observed(_name(rule), rule.id, reason=problem.removeprefix("not observed: "))
        else:
            self.probes.violation(_name(rule), f"{rule.id}: {problem}", made, seen, unit=rule.id)

    def _same_in_views(self, rule: Rule, made: Created) -> str | None:
        shown: dict[str, dict[str, Any]] = {}
        for name in rule.views:
            view = self.lifecycle.view_for(name)
            assert view is not None  # lint: every named view is a view of the lifecycle
            if name == self.lifecycle.create.operation:
                body: Any = made.response
            else:
                status, body = self.probes.requests.call(
                    self.probes.target,
                    name,
                    made,
                    id_expression=view.id if view.items is None else None,
                )
                if status != 200:
                    return f"{name}: expected 200, got {status}: {short(body)}"
            if view.items is not None:
                items = resolve_pointer(body, view.items)
                pointer = parse_expression(view.id or "").pointer
                body = (
                    next((i for i in items or () if str(resolve_pointer(i, pointer)) == made.id), None)
                    if isinstance(items, list)
                    else None
                )
                if body is None:
                    return f"the list view {name} does not show the resource {made.id}"
            shown[name] = {field: resolve_pointer(body, view.fields[field]) for field in rule.fields}
        for field in rule.fields:
            values = {name: values[field] for name, values in shown.items()}
            if not all_same(list(values.values())):
                listed = ", ".join(f"{name} {value!r}" for name, value in values.items())
                return f"{field} differs between views: {listed}"
        return None

    # -- stream -----------------------------------------------------------------------------------
    def _after_stream(self, rules: list[Rule]) -> None:
        probes, stream = self.probes, self.lifecycle.stream
        assert stream is not None  # lint: stream rules need a stream
        started = self.started = time.monotonic()
        with probes.checking(_name(rules[0]), _units(rules[0])[0]):
            made = probes.create()
            reading = probes._open(stream, made, started)
            seen = probes._poll_while(reading, made, started)
        thread, result = reading
        unavailable = probes._unavailable(stream, result)
        for rule in rules:
            with probes.checking(_name(rule), _units(rule)[0]):
                if unavailable is not None:
                    for unit in _units(rule):
                        self.report.not_observed(
                            _name(rule), unit, reason=f"the stream did not open ({unavailable})"
                        )
                elif rule.kind == "view-agrees-with-stream":
                    self._view_agrees(rule, stream, made, result.frames, seen)
                elif rule.kind == "stream-token":
                    self._token(rule, stream, made, started)
                elif thread.is_alive():
                    self.report.not_observed(_name(rule), rule.id, reason="the stream did not end")
                else:
                    self._list_after_stream(rule, stream, made, result.frames, seen)

    def _view_agrees(
        self, rule: Rule, stream: Stream, made: Created, frames: list[Any], seen: list[Observation]
    ) -> None:
        terminal = next((o for o in seen if self.probes.is_terminal(o)), None)
        content = [f for f in frames if is_content(stream, f)]
        if terminal is None:
            self.report.not_observed(
                _name(rule),
                rule.id,
                reason="the status view showed no terminal state while the stream was read",
            )
            return
        if not content:
            self.report.not_observed(_name(rule), rule.id, reason="the stream sent no content frame")
            return
        late = [f for f in content if f.at > terminal.at + rule.margin_seconds]
        if late:
            self._stream_violation(
                rule,
                rule.id,
                made,
                f"the status view showed {terminal.state!r} at {terminal.at:.2f}s while the "
                f"stream still sent {len(late)} content frame(s) until {late[-1].at:.2f}s "
                f"(margin {rule.margin_seconds:g}s); first late frame {late[0].data[:80]!r}",
                seen,
            )
        else:
            self.report.passed(_name(rule), rule.id)

    def _token(self, rule: Rule, stream: Stream, made: Created, started: float) -> None:
        token = stream.token
        assert token is not None  # lint: a stream-token rule needs stream.token
        reuse, expiry = _units(rule)
        status = self._open_status(stream, made, started)
        what = "the token that opened the stream opened it again (single use)"
        self._expect(rule, reuse, made, status=status, expected=token.reused_status, what=what)
        wait = token.ttl_seconds + 0.5
        if time.monotonic() - started + wait > self.probes.options.deadline:
            self.report.not_observed(
                _name(rule),
                expiry,
                reason=f"the token lives {token.ttl_seconds:g}s; waiting for it to expire does not fit "
                f"--deadline {self.probes.options.deadline:g}s",
            )
            return
        fresh = self._fresh_token(made)
        if fresh is None:
            self.report.not_observed(_name(rule), expiry, reason="no issuer gave a fresh token")
            return
        time.sleep(wait)
        status = self._open_status(stream, fresh, started)
        old = f"a token {wait:g}s old (lifetime {token.ttl_seconds:g}s) opened the stream"
        self._expect(rule, expiry, made, status=status, expected=token.expired_status, what=old)

    def _expect(
        self, rule: Rule, unit: str, made: Created, *, status: int | None, expected: int, what: str
    ) -> None:
        if status == expected:
            self.report.passed(_name(rule), unit)
        else:
            self._stream_violation(rule, unit, made, f"{what}: expected {expected}, got {status}")

    def _open_status(self, stream: Stream, made: Created, started: float) -> int | None:
        """Open the stream with the token ``made`` carries; the status it answered (the read is
        left to end on its own)."""
        thread, result = self.probes._open(stream, made, started)
        deadline = time.monotonic() + 5.0
        while result.status is None and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        return result.status

    def _fresh_token(self, made: Created) -> Created | None:
        """``made`` with the response of another token issuer (a token nobody used yet)."""
        token = self.lifecycle.stream.token if self.lifecycle.stream else None
        if token is None:
            return None
        create_issuer = next(
            (i for i in token.issued_by if i.operation == self.lifecycle.create.operation), None
        )
        for issuer in token.issued_by:
            if issuer.operation == self.lifecycle.create.operation:
                continue
            operation = self.probes.requests.spec.operations[issuer.operation]
            where = next(
                (p.get("in") for p in operation.parameters if p.get("name") == self.lifecycle.id_name), None
            )
            expression = f"$request.{where}.{self.lifecycle.id_name}" if where in ("path", "query") else None
            status, body = self.probes.requests.call(
                self.probes.target, issuer.operation, made, id_expression=expression
            )
            if status == 200 and create_issuer is not None:
                # the stream probe reads the token where the create's issuer put it
                create_issuer = next(
                    i for i in token.issued_by if i.operation == self.lifecycle.create.operation
                )
                fresh = parse_expression(issuer.token).evaluate(response_body=body)
                response = put(made.response, parse_expression(create_issuer.token).pointer, fresh)
                return Created(made.id, made.scope, made.path, made.query, made.body, response)
        return None

    def _stream_violation(
        self, rule: Rule, unit: str, made: Created, message: str, seen: list[Observation] | None = None
    ) -> None:
        """A finding whose reproduction is every call from the create on (stream opens carry a
        token, not the resource id)."""
        log = self.probes.target.log
        timeline = tuple(o.label() for o in seen or ())
        self.report.add(
            Violation(_name(rule), f"{rule.id}: {message}", made.id, _about(log, made), timeline, unit=unit)
        )

    def _list_after_stream(
        self, rule: Rule, stream: Stream, made: Created, frames: list[Any], seen: list[Observation]
    ) -> None:
        last = frames[-1].data if frames else ""
        ended = next(
            (s for s in rule.unless_signals if last == s or (s.endswith(":") and last.startswith(s))), None
        )
        if ended is not None:
            self.report.not_observed(
                _name(rule),
                rule.id,
                reason=f"the stream ended with {last[:60]!r}, after which no reply is stored",
            )
            return
        terminal = self.probes.observe(made, self.started)
        seen.append(terminal)
        if not self.probes.is_terminal(terminal):
            self.report.not_observed(
                _name(rule), rule.id, reason=f"the stream ended but the status shows {terminal.label()}"
            )
            return
        self._judge(rule, made, terminal, seen)


def _name(rule: Rule) -> str:
    found = CHECKS[rule.kind]
    return found.name


def _units(rule: Rule) -> tuple[str, ...]:
    return (f"{rule.id} (reuse)", f"{rule.id} (expiry)") if rule.kind == "stream-token" else (rule.id,)


def _about(log: list[Exchange], made: Created) -> tuple[Exchange, ...]:
    """The create of ``made`` and every later call (the stream opens carry a token, not the id)."""
    first = next((i for i, e in enumerate(log) if made.id in e.url or made.id in str(e.response)), 0)
    about = log[first:]
    return tuple(about if len(about) <= 12 else [*about[:4], *about[-8:]])
