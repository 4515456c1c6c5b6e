"""The root of the project's exceptions, and the core's own.

ComebackError                   root of everything this project raises on purpose
├── SourceError                 a spec or scenario file cannot be used; carries its findings
├── lifecycle.faults.FaultError         a malformed fault (also a ValueError)
├── lifecycle.draft.DraftError          no lifecycle can be drafted from a spec (also a ValueError)
├── mockserver.safejson.BadJson         client JSON the mock refuses (also a ValueError)
├── mockserver.journal.PatternError     a malformed journal filter or pattern (also a ValueError)
├── mockserver.engine.ClockError        a refused clock advance (also a ValueError)
├── mockserver.engine.UnknownScenarioError  a scenario name no API has (also a LookupError)
├── mockserver.fake.keywords.Conflict   two schemas no value satisfies together (caught inside fake/)
├── contracts.requests.UsageError       the kit cannot build a request without the user's help
├── contracts.requests.ServerFailure    the server under test answered a request the kit needs with a 5xx
└── contracts.target.CheckError         the kit cannot talk to the server
    ├── Unreachable
    └── TransportFailure

Every other package raises these or subclasses of them (``tests/test_architecture.py`` checks).
"""

from __future__ import annotations

from collections.abc import Sequence

from lifecycle.findings import Finding


class ComebackError(Exception):
    """Root of the exceptions this project raises on purpose."""


class SourceError(ComebackError):
    """A source file (spec or scenario) has problems; every one of them is in ``findings``."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        super().__init__("\n".join(str(finding) for finding in self.findings))
