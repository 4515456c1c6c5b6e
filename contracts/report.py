"""What a contract run found: violations and warnings by check, with how to reproduce each."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from xml.etree import ElementTree

from contracts.target import Exchange

EXIT_CLEAN, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken promise: which check, what happened, the calls that show it, the observed states."""

    check: str
    message: str
    resource: str | None = None
    exchanges: tuple[Exchange, ...] = ()
    timeline: tuple[str, ...] = ()
    tolerated_by: str | None = None  # a known real-server deviation that excuses it: reported as a warning

    def render(self) -> str:
        lines = [f"  {self.message}"]
        if self.tolerated_by:
            lines.append(
                f"    tolerated: known deviation {self.tolerated_by!r} "
                f"(--no-tolerate {self.tolerated_by} to fail on it)"
            )
        if self.timeline:
            lines.append("    observed: " + " -> ".join(self.timeline))
        if self.exchanges:
            lines.append("    reproduce:")
            lines.extend(
                f"      {exchange.curl()}   # answered {exchange.status}" for exchange in self.exchanges[-6:]
            )
        return "\n".join(lines)


@dataclass
class Report:
    """Every check the run made, and what failed."""

    api: str
    checks: Counter[str] = field(default_factory=Counter)
    found: list[Violation] = field(default_factory=list)

    def ran(self, check: str) -> None:
        self.checks[check] += 0

    def add(self, violation: Violation) -> None:
        self.checks[violation.check] += 1
        self.found.append(violation)

    @property
    def violations(self) -> list[Violation]:
        return [v for v in self.found if v.tolerated_by is None]

    @property
    def warnings(self) -> list[Violation]:
        return [v for v in self.found if v.tolerated_by is not None]

    @property
    def exit_code(self) -> int:
        return EXIT_VIOLATIONS if self.violations else EXIT_CLEAN

    def summary(self) -> str:
        lines = [f"comeback check: {self.api}"]
        for check in sorted(self.checks):
            failures = [v for v in self.violations if v.check == check]
            warnings = [v for v in self.warnings if v.check == check]
            verdict = "FAIL" if failures else ("warn" if warnings else "ok")
            lines.append(f"{verdict:>4}  {check}" + (f" ({len(failures)} violation(s))" if failures else ""))
            lines.extend(v.render() for v in failures + warnings)
        lines.append(
            f"{len(self.violations)} violation(s), {len(self.warnings)} warning(s) "
            f"in {len(self.checks)} check(s)"
        )
        return "\n".join(lines)

    def junit(self) -> str:
        """JUnit XML: one test case per check, a failure element per violation."""
        suite = ElementTree.Element(
            "testsuite",
            name=f"comeback.{self.api}",
            tests=str(len(self.checks)),
            failures=str(len({v.check for v in self.violations})),
        )
        for check in sorted(self.checks):
            case = ElementTree.SubElement(suite, "testcase", classname=f"comeback.{self.api}", name=check)
            for violation in self.violations:
                if violation.check == check:
                    failure = ElementTree.SubElement(case, "failure", message=violation.message)
                    failure.text = violation.render()
            warnings = [v.render() for v in self.warnings if v.check == check]
            if warnings:
                ElementTree.SubElement(case, "system-out").text = "\n".join(warnings)
        text: str = ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)
        return text
