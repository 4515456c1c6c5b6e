"""What a contract run found: every check on every unit, with one of three outcomes.

A *case* is one check on one unit: an operation (``POST /v1/runs/{id}/stream``) for conformance, a
numbered resource (``resource 1``) for the lifecycle probes, or nothing for a check made once.
Every case the run means to make is declared first (``expect``), so the same spec gives the same
set of cases on every run; then each is ``passed``, failed (a ``Violation`` was added) or
``not_observed`` with the reason. A case nothing was recorded for is not observed ("not reached"):
a check is never shown as ok for something it did not see.

    >>> report.expect("delete.then_read")
    >>> report.not_observed("delete.then_read", reason="resource could not be deleted: 500")
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.etree import ElementTree

from contracts.script import script
from contracts.target import Exchange

EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

Outcome = Literal["passed", "failed", "not observed"]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken promise: which check on which unit, what was expected and seen, the calls that
    led to it (the whole sequence, oldest first) and the observed states."""

    check: str
    message: str
    resource: str | None = None
    exchanges: tuple[Exchange, ...] = ()
    timeline: tuple[str, ...] = ()
    tolerated_by: str | None = None  # a known real-server deviation that excuses it: reported as a warning
    unit: str = ""
    reproduce: tuple[str, ...] = ()  # ready-made commands (Schemathesis' reproduction steps)

    def render(self, references: Mapping[str, str] | None = None) -> str:
        lines = [f"  {self.message}"]
        if self.unit:
            lines[0] = f"  [{self.unit}] {self.message}"
        if self.tolerated_by:
            lines.append(
                f"    tolerated: known deviation {self.tolerated_by!r} "
                f"(--no-tolerate {self.tolerated_by} to fail on it)"
            )
        if self.timeline:
            lines.append("    observed: " + " -> ".join(self.timeline))
        commands = list(self.reproduce) or script(self.exchanges, references)
        if commands:
            lines.append("    reproduce:")
            lines.extend("      " + command.replace("\n", "\n      ") for command in commands)
        return "\n".join(lines)

    def as_dict(self, references: Mapping[str, str] | None = None) -> dict[str, Any]:
        return {
            "check": self.check,
            "unit": self.unit,
            "message": self.message,
            "resource": self.resource,
            "tolerated_by": self.tolerated_by,
            "observed": list(self.timeline),
            "reproduce": list(self.reproduce) or script(self.exchanges, references),
        }


@dataclass
class _Case:
    passes: int = 0
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Report:
    """Every case the run made, what failed, and what could not be observed (and why)."""

    api: str
    found: list[Violation] = field(default_factory=list)
    cases: dict[tuple[str, str], _Case] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)  # header name -> environment variable
    error: str | None = None  # a usage error or an internal error of the kit
    error_code: int | None = None
    started: float = field(default_factory=time.monotonic)

    # -- recording ------------------------------------------------------------------------------
    def expect(self, check: str, unit: str = "") -> None:
        """Declare a case the run means to make (not observed until something is recorded)."""
        self.cases.setdefault((check, unit), _Case())

    def ran(self, check: str) -> None:
        self.expect(check)

    def passed(self, check: str, unit: str = "") -> None:
        self.cases.setdefault((check, unit), _Case()).passes += 1

    def not_observed(self, check: str, unit: str = "", *, reason: str) -> None:
        reasons = self.cases.setdefault((check, unit), _Case()).reasons
        if reason not in reasons:
            reasons.append(reason)

    def add_time(self, check: str, unit: str, seconds: float) -> None:
        self.cases.setdefault((check, unit), _Case()).seconds += seconds

    def add(self, violation: Violation) -> None:
        """Record a finding; the same message on the same check and unit is one finding (a
        resource read five times with the same naive timestamp shows it once)."""
        self.cases.setdefault((violation.check, violation.unit), _Case())
        key = (violation.check, violation.unit, violation.message, violation.tolerated_by)
        if any((v.check, v.unit, v.message, v.tolerated_by) == key for v in self.found):
            return
        self.found.append(violation)

    def fail(self, message: str, code: int) -> None:
        """The run could not go on (usage error, internal error): kept in every output."""
        self.error, self.error_code = message, code

    # -- reading --------------------------------------------------------------------------------
    @property
    def violations(self) -> list[Violation]:
        return [v for v in self.found if v.tolerated_by is None]

    @property
    def warnings(self) -> list[Violation]:
        return [v for v in self.found if v.tolerated_by is not None]

    def outcome(self, check: str, unit: str = "") -> tuple[Outcome, str]:
        """(outcome, reason) of one case."""
        if any(v.check == check and v.unit == unit for v in self.violations):
            return "failed", ""
        case = self.cases.get((check, unit), _Case())
        tolerated = any(v.check == check and v.unit == unit for v in self.warnings)
        if case.passes or tolerated:
            return "passed", ""
        return "not observed", "; ".join(case.reasons) or "not reached"

    def check_outcome(self, check: str) -> Outcome:
        outcomes = {self.outcome(c, u)[0] for c, u in self.cases if c == check}
        for outcome in ("failed", "passed"):
            if outcome in outcomes:
                return outcome
        return "not observed"

    def counts(self) -> dict[Outcome, int]:
        counted: dict[Outcome, int] = {"passed": 0, "failed": 0, "not observed": 0}
        for check, unit in self.cases:
            counted[self.outcome(check, unit)[0]] += 1
        return counted

    @property
    def exit_code(self) -> int:
        if self.error_code is not None:
            return self.error_code
        return EXIT_VIOLATIONS if self.violations else EXIT_CLEAN

    def checks(self) -> list[str]:
        return sorted({check for check, _ in self.cases})

    # -- outputs --------------------------------------------------------------------------------
    def summary(self) -> str:
        """The human report; its last line counts violations, warnings and the three outcomes."""
        lines = [f"comeback check: {self.api}", *(f"note: {note}" for note in self.notes)]
        for check in self.checks():
            units = sorted(unit for c, unit in self.cases if c == check)
            outcomes = [self.outcome(check, unit) for unit in units]
            tally = {kind: sum(1 for o, _ in outcomes if o == kind) for kind in ("failed", "passed")}
            unobserved = [(u, r) for u, (o, r) in zip(units, outcomes, strict=True) if o == "not observed"]
            verdict = {"failed": "FAIL", "passed": "ok", "not observed": "n/o"}[self.check_outcome(check)]
            if any(v.check == check for v in self.warnings) and verdict == "ok":
                verdict = "warn"
            parts = [f"{count} {kind}" for kind, count in tally.items() if count]
            if unobserved:
                parts.append(f"{len(unobserved)} not observed")
            lines.append(f"{verdict:>4}  {check} ({', '.join(parts)})")
            lines.extend(v.render(self.references) for v in self.found if v.check == check)
            for reason in sorted({reason for _, reason in unobserved}):
                where = sorted(unit for unit, r in unobserved if r == reason and unit)
                shown = f" [{', '.join(where[:4])}{', ...' if len(where) > 4 else ''}]" if where else ""
                lines.append(f"        not observed{shown}: {reason}")
        if self.references:
            legend = ", ".join(f"${v} = your {name} header" for name, v in sorted(self.references.items()))
            lines.append(f"credentials in the reproductions: {legend}")
        if self.error:
            lines.append(f"comeback check: {self.error}")
        counted = self.counts()
        lines.append(
            f"{len(self.violations)} violation(s), {len(self.warnings)} warning(s) in {len(self.checks())} "
            f"check(s): {counted['passed']} passed, {counted['failed']} failed, "
            f"{counted['not observed']} not observed"
        )
        return "\n".join(lines)

    def junit(self) -> str:
        """JUnit XML: one test case per check and unit (the same set on every run of a spec), one
        failure element per failing case (counts add up), not observed as skipped, time on each."""
        suite = ElementTree.Element("testsuite", name=f"comeback.{self.api}")
        failures = skipped = 0
        total = 0.0
        cases = sorted(self.cases)
        if self.error:
            cases.append(("comeback.run", ""))
        for check, unit in cases:
            name = f"{check} [{unit}]" if unit else check
            seconds = self.cases[(check, unit)].seconds if (check, unit) in self.cases else 0.0
            total += seconds
            case = ElementTree.SubElement(
                suite, "testcase", classname=f"comeback.{self.api}", name=name, time=f"{seconds:.3f}"
            )
            if (check, unit) not in self.cases:
                failures += 1
                failure = ElementTree.SubElement(case, "failure", message=self.error or "")
                failure.text = self.error
                continue
            outcome, reason = self.outcome(check, unit)
            mine = [v for v in self.found if v.check == check and v.unit == unit]
            if outcome == "failed":
                failures += 1
                failing = [v for v in mine if v.tolerated_by is None]
                message = failing[0].message if len(failing) == 1 else f"{len(failing)} violations"
                failure = ElementTree.SubElement(case, "failure", message=message)
                failure.text = "\n".join(v.render(self.references) for v in failing)
            elif outcome == "not observed":
                skipped += 1
                ElementTree.SubElement(case, "skipped", message=f"not observed: {reason}")
            warnings = [v.render(self.references) for v in mine if v.tolerated_by is not None]
            if warnings:
                ElementTree.SubElement(case, "system-out").text = "\n".join(warnings)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
        suite.set("time", f"{max(total, time.monotonic() - self.started):.3f}")
        text: str = ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)
        return text

    def as_json(self) -> str:
        """The same content as the summary, for machines."""
        counted = self.counts()
        document = {
            "api": self.api,
            "exit_code": self.exit_code,
            "error": self.error,
            "notes": self.notes,
            "credentials": {f"${v}": name for name, v in self.references.items()},
            "counts": {
                "violations": len(self.violations),
                "warnings": len(self.warnings),
                **{kind.replace(" ", "_"): n for kind, n in counted.items()},
            },
            "cases": [
                {
                    "check": check,
                    "unit": unit,
                    "outcome": self.outcome(check, unit)[0],
                    "reason": self.outcome(check, unit)[1] or None,
                    "seconds": round(self.cases[(check, unit)].seconds, 3),
                }
                for check, unit in sorted(self.cases)
            ],
            "findings": [v.as_dict(self.references) for v in self.found],
        }
        return json.dumps(document, indent=2)
