"""The probes' base (create, observe, watch, record) and the lifecycle and paging probes.

lifecycle  create a few, poll them all with backoff until terminal (or the deadline) and on to the
           end of the window the siblings set (the last one's terminal read plus a margin, at least
           ``Options.window``): every change allowed, terminal sticky, fields and timestamps as the
           state says, deviations that show live (a state the server never writes) checked live
paging     walk every paged list (``contracts.paging``) over the lifecycle phase's resources

Cancel and delete are in ``contracts.ending``, callbacks in ``contracts.callbacks``, streams in
``contracts.live_probes``.

Each check records one of three outcomes per unit (see ``contracts.report``). ``current`` names the
check in progress, so a transport failure is charged to it (``contracts.run``).
"""

from __future__ import annotations

import itertools
import re
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
    settle: float = 2.0  # margin after the last sibling has finished (cancel and lifecycle phases)
    window: float = 5.0  # seconds after creation every lifecycle resource is watched at least
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
        return self.watch_all([made], started, window=False)[0]

    def watch_all(
        self, made: list[Created], started: float, *, window: bool = True
    ) -> list[list[Observation]]:
        """Poll every resource in turn with backoff until each is terminal (plus a few reads) or the
        deadline: each one is watched for the whole window, not what the ones before it left. With
        ``window``, reading goes on to the end of the observation window the siblings set: the last
        one's first terminal read plus ``settle``, and at least ``Options.window`` after creation,
        so a terminal state that changes late is seen."""
        seen: list[list[Observation]] = [[] for _ in made]
        interval = self.options.first_poll
        while time.monotonic() - started < self.options.deadline:
            for resource, observations in zip(made, seen, strict=True):
                if window or sum(map(self.is_terminal, observations)) <= self.options.terminal_reads:
                    observations.append(self.observe(resource, started))
            if all(sum(map(self.is_terminal, o)) > self.options.terminal_reads for o in seen) and (
                not window or time.monotonic() - started >= self._window_end(seen)
            ):
                break
            time.sleep(interval)
            interval = min(interval * 1.5, self.options.max_poll)
        return seen

    def _window_end(self, seen: list[list[Observation]]) -> float:
        """Seconds after creation at which the siblings' observation window ends."""
        ends = [next((o.at for o in observations if self.is_terminal(o)), 0.0) for observations in seen]
        return max(max(ends, default=0.0) + self.options.settle, self.options.window)

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
        shown: set[tuple[str, str]] = set()
        for check, message, deviation in problems(self.lifecycle, seen):
            # the same problem on every read is one observation: the first read's message stands
            key = (check, _AT.sub("", message))
            if key not in shown:
                shown.add(key)
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


_AT = re.compile(r" \(at [0-9.]+s\)")  # when a read showed it: not part of what it shows


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 160 else text[:157] + "..."
