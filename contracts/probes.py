"""The lifecycle probes: create real resources on the target and watch what they do over time.

lifecycle  create a few, poll each with backoff until terminal (or the deadline), then a few more
           reads: every change allowed, terminal sticky, fields and timestamps as the state says
cancel     cancel one in progress: it reaches the cancel state and stays; cancel again: the
           documented answer, nothing changes
delete     delete one: later reads answer the documented status, a second delete too
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from contracts.lifecycle_checks import CHECKS, problems
from contracts.observe import Observation, observe
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
    settle: float = 2.0  # seconds to keep watching a cancelled resource
    tolerate: frozenset[str] = field(default_factory=frozenset)


class Probes:
    def __init__(self, requests: Requests, target: Target, report: Report, options: Options) -> None:
        self.requests = requests
        self.lifecycle = requests.lifecycle
        self.target = target
        self.report = report
        self.options = options

    # -- helpers ------------------------------------------------------------------------------
    def violation(
        self,
        check: str,
        message: str,
        made: Created | None,
        seen: list[Observation] | None = None,
        deviation: Deviation | None = None,
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
                self._exchanges(made),
                tuple(o.label() for o in seen or ()),
                tolerated,
            )
        )

    def _exchanges(self, made: Created | None) -> tuple[Exchange, ...]:
        if made is None:
            return tuple(self.target.log[-3:])
        return tuple(
            e
            for e in self.target.log
            if made.id in e.url or made.id in str(e.body) or made.id in str(e.response)
        )

    def is_terminal(self, observation: Observation) -> bool:
        return observation.state is not None and self.lifecycle.states[observation.state].terminal

    def watch(self, made: Created, started: float) -> list[Observation]:
        """Poll one resource with backoff until terminal (plus a few reads) or the deadline."""
        seen: list[Observation] = []
        interval, extra = self.options.first_poll, 0
        while time.monotonic() - started < self.options.deadline:
            observation = observe(self.requests, self.target, made, started, time.monotonic())
            seen.append(observation)
            if self.is_terminal(observation):
                extra += 1
                if extra > self.options.terminal_reads:
                    break
            time.sleep(interval)
            interval = min(interval * 1.5, self.options.max_poll)
        return seen

    # -- probes ---------------------------------------------------------------------------------
    def lifecycle_probe(self) -> None:
        for check in CHECKS:
            self.report.ran(check)
        started = time.monotonic()
        made = [self.requests.create(self.target) for _ in range(self.options.resources)]
        for resource in made:
            seen = self.watch(resource, started)
            for check, message, deviation in problems(self.lifecycle, seen):
                self.violation(check, message, resource, seen, deviation)
            if not any(self.is_terminal(o) for o in seen):
                last = seen[-1].label() if seen else "nothing"
                self.violation(
                    "lifecycle.reaches_terminal",
                    f"no terminal state within {self.options.deadline:g}s (last: {last})",
                    resource,
                    seen,
                )

    def cancel_probe(self) -> None:
        cancel = self.lifecycle.cancel
        if cancel is None:
            return
        for check in ("cancel.in_progress", "cancel.sticky", "cancel.when_terminal"):
            self.report.ran(check)
        started = time.monotonic()
        made = self.requests.create(self.target)
        before = observe(self.requests, self.target, made, started, time.monotonic())
        status, _ = self.requests.call(self.target, cancel.operation, made, id_expression=cancel.id)
        after = observe(self.requests, self.target, made, started, time.monotonic())
        seen = [before, after]
        if status not in cancel.response.status:
            self.violation(
                "cancel.in_progress",
                f"cancel answered {status}, expected {sorted(cancel.response.status)}",
                made,
                seen,
            )
            return
        if before.state in cancel.from_states and after.state != cancel.to:
            self.violation(
                "cancel.in_progress",
                f"after cancel in state {before.state!r} the resource is {after.state!r}, "
                f"expected {cancel.to!r}",
                made,
                seen,
            )
            return
        deadline = time.monotonic() + self.options.settle
        while time.monotonic() < deadline:
            time.sleep(0.2)
            seen.append(observe(self.requests, self.target, made, started, time.monotonic()))
        for check, message, deviation in problems(self.lifecycle, seen):
            if check == "lifecycle.terminal_sticky":
                self.violation("cancel.sticky", message, made, seen, deviation)
        final = seen[-1]
        again, _ = self.requests.call(self.target, cancel.operation, made, id_expression=cancel.id)
        later = observe(self.requests, self.target, made, started, time.monotonic())
        seen.append(later)
        if again not in cancel.when_terminal.status:
            self.violation(
                "cancel.when_terminal",
                f"cancel of a finished resource answered {again}, "
                f"expected {sorted(cancel.when_terminal.status)}",
                made,
                seen,
            )
        elif cancel.when_terminal_effect == "none" and later.state != final.state:
            self.violation(
                "cancel.when_terminal",
                f"cancel of a finished resource changed it from {final.state!r} to {later.state!r}",
                made,
                seen,
            )

    def delete_probe(self) -> None:
        delete = self.lifecycle.delete
        if delete is None:
            return
        for check in ("delete.answer", "delete.then_read", "delete.again"):
            self.report.ran(check)
        made = self.requests.create(self.target)
        status, _ = self.requests.call(self.target, delete.operation, made, id_expression=delete.id)
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
                f"delete answered {status}, expected {sorted(delete.response.status)}",
                made,
                deviation=excuse,
            )
            return
        read = observe(self.requests, self.target, made, time.monotonic(), time.monotonic())
        if read.status not in delete.then_read.status:
            self.violation(
                "delete.then_read",
                f"a read after delete answered {read.status}, expected {sorted(delete.then_read.status)}",
                made,
            )
        again, _ = self.requests.call(self.target, delete.operation, made, id_expression=delete.id)
        if again not in delete.again.status:
            self.violation(
                "delete.again",
                f"a second delete answered {again}, expected {sorted(delete.again.status)}",
                made,
            )
