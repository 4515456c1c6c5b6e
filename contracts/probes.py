"""The lifecycle probes: create real resources on the target and watch what they do over time.

lifecycle  create a few, poll them all with backoff until terminal (or the deadline), then a few
           more reads: every change allowed, terminal sticky, fields and timestamps as the state
           says, deviations that show live (a state the server never writes) checked live
cancel     create two at once, cancel one: it reaches the cancel state and stays there at least
           until its sibling has finished (plus a margin), or until the deadline; cancel again: the
           documented answer, nothing changes
delete     delete one: later reads answer the documented status, a second delete too

Each check records one of three outcomes per unit (see ``contracts.report``). ``current`` names the
check in progress, so a transport failure is charged to it (``contracts.run``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from contracts.lifecycle_checks import CHECKS, problems, unused_states
from contracts.observe import Observation, observe
from contracts.paging import WALKED, Pager
from contracts.report import Report, Violation
from contracts.requests import Created, Requests
from contracts.target import Exchange, Target
from lifecycle.model import Deviation


@dataclass(frozen=True, slots=True)
class Options:
    """How hard and how long to probe, and which known deviations to excuse."""

    resources: int = 3
    deadline: float = 30.0  # seconds for a resource to reach a terminal state
    first_poll: float = 0.1
    max_poll: float = 2.0
    terminal_reads: int = 2  # reads after the first terminal state, to see that it sticks
    settle: float = 2.0  # margin after a cancelled resource's sibling has finished
    tolerate: frozenset[str] = field(default_factory=frozenset)


class Probes:
    def __init__(self, requests: Requests, target: Target, report: Report, options: Options) -> None:
        self.requests = requests
        self.lifecycle = requests.lifecycle
        self.target = target
        self.report = report
        self.options = options
        self.current: tuple[str, str] = ("", "")  # the check in progress and its unit
        self.created = 0
        self.finished: list[Created] = []  # the lifecycle phase's resources, once watched

    # -- helpers ------------------------------------------------------------------------------
    @contextmanager
    def checking(self, check: str, unit: str = "") -> Iterator[None]:
        """Charge what happens inside (time, a transport failure) to ``check`` on ``unit``."""
        before, self.current = self.current, (check, unit)
        began = time.monotonic()
        try:
            yield
        finally:
            self.report.add_time(check, unit, time.monotonic() - began)
        # restored only on success: after an exception, ``current`` names the check it broke
        self.current = before

    def create(self, **kwargs: str) -> Created:
        made = self.requests.create(self.target, **kwargs)
        self.created += 1
        return made

    def violation(
        self,
        check: str,
        message: str,
        made: Created | None,
        seen: list[Observation] | None = None,
        deviation: Deviation | None = None,
        *,
        unit: str = "",
        exchanges: tuple[Exchange, ...] | None = None,
    ) -> None:
        tolerated = (
            deviation.name if deviation is not None and deviation.name in self.options.tolerate else None
        )
        if deviation is not None and tolerated is None:
            message += f" (the known deviation {deviation.name!r} is not tolerated)"
        self.report.add(
            Violation(
                check,
                message,
                made.id if made else None,
                self.exchanges(made) if exchanges is None else exchanges,
                tuple(o.label() for o in seen or ()),
                tolerated,
                unit,
            )
        )

    def exchanges(self, made: Created | None) -> tuple[Exchange, ...]:
        """The whole sequence about ``made``: its create, then every call that names it (at most 12:
        the first 4 and the last 8)."""
        if made is None:
            return tuple(self.target.log[-3:])
        about = [
            e
            for e in self.target.log
            if made.id in e.url or made.id in str(e.body) or made.id in str(e.response)
        ]
        return tuple(about if len(about) <= 12 else [*about[:4], *about[-8:]])

    def is_terminal(self, observation: Observation) -> bool:
        return observation.state is not None and self.lifecycle.states[observation.state].terminal

    def observe(self, made: Created, started: float) -> Observation:
        return observe(self.requests, self.target, made, started, time.monotonic())

    def watch(self, made: Created, started: float) -> list[Observation]:
        """Poll one resource with backoff until terminal (plus a few reads) or the deadline."""
        return self.watch_all([made], started)[0]

    def watch_all(self, made: list[Created], started: float) -> list[list[Observation]]:
        """Poll every resource in turn with backoff until each is terminal (plus a few reads) or the
        deadline: each one is watched for the whole window, not what the ones before it left."""
        seen: list[list[Observation]] = [[] for _ in made]
        interval = self.options.first_poll
        while time.monotonic() - started < self.options.deadline:
            for resource, observations in zip(made, seen, strict=True):
                if sum(map(self.is_terminal, observations)) <= self.options.terminal_reads:
                    observations.append(self.observe(resource, started))
            if all(sum(map(self.is_terminal, o)) > self.options.terminal_reads for o in seen):
                break
            time.sleep(interval)
            interval = min(interval * 1.5, self.options.max_poll)
        return seen

    # -- probes ---------------------------------------------------------------------------------
    def lifecycle_probe(self) -> None:
        units = [f"resource {n + 1}" for n in range(self.options.resources)]
        for unit in units:
            for check in self._lifecycle_checks():
                self.report.expect(check, unit)
        started = time.monotonic()
        made: list[Created] = []
        for unit in units:
            with self.checking("lifecycle.reaches_terminal", unit):
                made.append(self.create())
        with self.checking("lifecycle.reaches_terminal", units[0] if units else ""):
            watched = self.watch_all(made, started)
        for unit, resource, seen in zip(units, made, watched, strict=True):
            self._judge_lifecycle(unit, resource, seen)
        self.finished = made

    def paging_probe(self) -> None:
        """Walk every paged list (``contracts.paging``): the lifecycle phase's resources when it
        ran, else a few new ones (the first watched until terminal, so its own lists are filled)."""
        pager = Pager(self)
        if not pager.paged:
            return
        made = list(self.finished)
        first = pager.paged[0]
        if len(made) < WALKED:
            with self.checking("paging.after", first.label(first.orders[0])):
                made += [self.create() for _ in range(WALKED - len(made))]
                self.watch(made[0], time.monotonic())
        pager.run(made)

    def _lifecycle_checks(self) -> list[str]:
        """The lifecycle checks that apply to this spec (a check with nothing to judge is left out)."""
        applies = {
            "lifecycle.allowed_values": any(s.allowed for s in self.lifecycle.states.values()),
            "lifecycle.timestamps": bool(self.lifecycle.timestamps),
            "lifecycle.unused_states": any(d.kind == "unused-states" for d in self.lifecycle.deviations),
        }
        return [c for c in (*CHECKS, "lifecycle.unused_states") if applies.get(c, True)]

    def _judge_lifecycle(self, unit: str, resource: Created, seen: list[Observation]) -> None:
        failed: set[str] = set()
        for check, message, deviation in problems(self.lifecycle, seen):
            self.violation(check, message, resource, seen, deviation, unit=unit)
            failed.add(check)
        states = [o for o in seen if o.state is not None]
        terminal = next((o for o in seen if self.is_terminal(o)), None)
        if terminal is None:
            last = seen[-1].label() if seen else "no read answered"
            self.violation(
                "lifecycle.reaches_terminal",
                f"expected a terminal state within --deadline {self.options.deadline:g}s; "
                f"the last read showed {last}",
                resource,
                seen,
                unit=unit,
            )
        for check, reason in self._unobserved(seen, states, terminal).items():
            if check not in failed and (check, unit) in self.report.cases:
                if reason:
                    self.report.not_observed(check, unit, reason=reason)
                else:
                    self.report.passed(check, unit)
        for message, deviation in unused_states(self.lifecycle, seen):
            self.violation("lifecycle.unused_states", message, resource, seen, deviation, unit=unit)
            failed.add("lifecycle.unused_states")
        if "lifecycle.unused_states" not in failed and ("lifecycle.unused_states", unit) in self.report.cases:
            if terminal is None:
                self.report.not_observed("lifecycle.unused_states", unit, reason="no terminal state seen")
            else:
                self.report.passed("lifecycle.unused_states", unit)

    def _unobserved(
        self, seen: list[Observation], states: list[Observation], terminal: Observation | None
    ) -> dict[str, str]:
        """Per lifecycle check: '' when it saw what it judges, else why it could not."""
        if not states:
            answered = sorted({o.status for o in seen})
            reason = f"no read showed a state (answered {answered})" if seen else "no read answered"
            return {check: reason for check in CHECKS if check != "lifecycle.reaches_terminal"}
        moves = sum(1 for a, b in itertools.pairwise(states) if a.state != b.state)
        after_terminal = len(states) - states.index(terminal) - 1 if terminal in states else 0
        stamped = any(o.values.get(f) is not None for o in states for f in self.lifecycle.timestamps.values())
        allowed_fields = any(self.lifecycle.states[o.state or ""].allowed for o in states)
        return {
            "lifecycle.state_known": "",
            "lifecycle.fields": "",
            "lifecycle.reaches_terminal": "" if terminal is not None else "no terminal state",
            "lifecycle.transitions": "" if moves else f"the state never changed ({states[0].state!r})",
            "lifecycle.terminal_sticky": "" if after_terminal else "no read after the first terminal state",
            "lifecycle.timestamps": "" if stamped else "no timestamp in any read",
            "lifecycle.allowed_values": ""
            if allowed_fields
            else "no observed state restricts a field's values",
        }

    def cancel_probe(self) -> None:
        cancel = self.lifecycle.cancel
        if cancel is None:
            return
        for check in ("cancel.in_progress", "cancel.sticky", "cancel.when_terminal"):
            self.report.expect(check)
        with self.checking("cancel.in_progress"):
            for attempt in range(2):
                started = time.monotonic()
                made = self.create()
                before = self.observe(made, started)
                status, answer = self.requests.call(
                    self.target, cancel.operation, made, id_expression=cancel.id
                )
                after = self.observe(made, started)
                sibling = self.create()  # not cancelled: shows how long the work would have taken
                raced = after.state != cancel.to and self.is_terminal(after)
                if not raced or attempt:
                    break  # a fast server may finish between the read and the cancel: once more
        seen = [before, after]
        unreached = "the cancel itself did not work"
        if status not in cancel.response.status:
            self.violation(
                "cancel.in_progress",
                f"cancel: expected {sorted(cancel.response.status)}, got {status}: {_short(answer)}",
                made,
                seen,
            )
            self.report.not_observed("cancel.sticky", reason=unreached)
            self.report.not_observed("cancel.when_terminal", reason=unreached)
            return
        if before.state not in cancel.from_states:
            self.report.not_observed(
                "cancel.in_progress",
                reason=f"the resource was {before.state!r} before the cancel, not one of "
                f"{sorted(cancel.from_states)}",
            )
        elif after.state != cancel.to:
            self.violation(
                "cancel.in_progress",
                f"after a cancel in state {before.state!r}: expected {cancel.to!r}, got {after.state!r}",
                made,
                seen,
            )
            self.report.not_observed("cancel.sticky", reason=unreached)
            self.report.not_observed("cancel.when_terminal", reason=unreached)
            return
        else:
            self.report.passed("cancel.in_progress")
        with self.checking("cancel.sticky"):
            sibling_seen = self._watch_cancelled(made, sibling, started, seen)
        sticky = [p for p in problems(self.lifecycle, seen) if p[0] == "lifecycle.terminal_sticky"]
        for _, message, deviation in sticky:
            self.violation("cancel.sticky", message, made, seen, deviation)
        sibling_end = next((o for o in sibling_seen if self.is_terminal(o)), None)
        if not sticky:
            if sibling_end is None:
                self.report.passed("cancel.sticky")
                self.report.notes.append(
                    f"cancel.sticky: the uncancelled sibling never finished within --deadline "
                    f"{self.options.deadline:g}s; the cancelled resource was watched until then"
                )
            else:
                self.report.passed("cancel.sticky")
        final = seen[-1]
        with self.checking("cancel.when_terminal"):
            again, answer = self.requests.call(self.target, cancel.operation, made, id_expression=cancel.id)
            later = self.observe(made, started)
        seen.append(later)
        if again not in cancel.when_terminal.status:
            self.violation(
                "cancel.when_terminal",
                f"cancel of a finished resource: expected {sorted(cancel.when_terminal.status)}, "
                f"got {again}: {_short(answer)}",
                made,
                seen,
            )
        elif cancel.when_terminal_effect == "none" and later.state != final.state:
            self.violation(
                "cancel.when_terminal",
                f"cancel of a finished resource: expected it to stay {final.state!r}, got {later.state!r}",
                made,
                seen,
            )
        else:
            self.report.passed("cancel.when_terminal")

    def _watch_cancelled(
        self, made: Created, sibling: Created, started: float, seen: list[Observation]
    ) -> list[Observation]:
        """Watch the cancelled resource until its uncancelled sibling has finished plus a margin
        (the moment its own work would have ended), or the deadline."""
        sibling_seen: list[Observation] = []
        until = started + self.options.deadline
        interval = self.options.first_poll
        while time.monotonic() < until:
            seen.append(self.observe(made, started))
            if not any(self.is_terminal(o) for o in sibling_seen):
                sibling_seen.append(self.observe(sibling, started))
                if self.is_terminal(sibling_seen[-1]):
                    until = min(until, time.monotonic() + self.options.settle)
            time.sleep(interval)
            interval = min(interval * 1.5, self.options.max_poll / 2)
        return sibling_seen

    def delete_probe(self) -> None:
        delete = self.lifecycle.delete
        if delete is None:
            return
        for check in ("delete.answer", "delete.then_read", "delete.again"):
            self.report.expect(check)
        with self.checking("delete.answer"):
            made = self.create()
            status, answer = self.requests.call(self.target, delete.operation, made, id_expression=delete.id)
        if status not in delete.response.status:
            excuse = next(
                (
                    d
                    for d in self.lifecycle.deviations
                    if d.kind == "extra-statuses"
                    and d.effect["operation"] == delete.operation
                    and status in d.effect["statuses"]
                ),
                None,
            )
            self.violation(
                "delete.answer",
                f"delete: expected {sorted(delete.response.status)}, got {status}: {_short(answer)}",
                made,
                deviation=excuse,
            )
            reason = f"the resource could not be deleted: {status}"
            self.report.not_observed("delete.then_read", reason=reason)
            self.report.not_observed("delete.again", reason=reason)
            return
        self.report.passed("delete.answer")
        with self.checking("delete.then_read"):
            read = self.observe(made, time.monotonic())
        if read.status not in delete.then_read.status:
            self.violation(
                "delete.then_read",
                f"a read after delete: expected {sorted(delete.then_read.status)}, got {read.status}",
                made,
            )
        else:
            self.report.passed("delete.then_read")
        with self.checking("delete.again"):
            again, answer = self.requests.call(self.target, delete.operation, made, id_expression=delete.id)
        if again not in delete.again.status:
            self.violation(
                "delete.again",
                f"a second delete: expected {sorted(delete.again.status)}, got {again}: {_short(answer)}",
                made,
            )
        else:
            self.report.passed("delete.again")


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 160 else text[:157] + "..."
