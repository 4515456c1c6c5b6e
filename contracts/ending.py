"""The probes that end a resource: cancel and delete.

cancel     create two at once, cancel one: it reaches the cancel state and stays there at least
           until its sibling has finished (plus a margin), or until the deadline; cancel again: the
           documented answer, nothing changes
delete     delete one: later reads answer the documented status, a second delete too
"""

from __future__ import annotations

import time

from contracts.lifecycle_checks import problems
from contracts.observe import Observation
from contracts.probes import Probes, _short
from contracts.requests import Created


class EndingProbes(Probes):
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
        if status not in cancel.response.status:
            message = f"cancel: expected {sorted(cancel.response.status)}, got {status}: {_short(answer)}"
            self._cancel_failed(message, made, seen)
            return
        if before.state not in cancel.from_states:
            self.report.not_observed(
                "cancel.in_progress",
                reason=f"the resource was {before.state!r} before the cancel, not one of "
                f"{sorted(cancel.from_states)}",
            )
        elif after.state != cancel.to:
            message = f"after a cancel in state {before.state!r}: expected {cancel.to!r}, got {after.state!r}"
            self._cancel_failed(message, made, seen)
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

    def _cancel_failed(self, message: str, made: Created, seen: list[Observation]) -> None:
        """The cancel did not work: a finding, and nothing the later cancel checks could see."""
        self.violation("cancel.in_progress", message, made, seen)
        for check in ("cancel.sticky", "cancel.when_terminal"):
            self.report.not_observed(check, reason="the cancel itself did not work")

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
