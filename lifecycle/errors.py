"""Exceptions of the lifecycle core.

ComebackError                 root of everything this project raises on purpose
└── SourceError               a spec or scenario file cannot be used; carries its findings
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
