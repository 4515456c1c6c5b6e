"""The contract as pytest tests (see ``conftest.py`` for the options)."""

from __future__ import annotations

from contracts.report import Report


def test_phase_keeps_the_contract(contract_report: Report) -> None:
    assert not contract_report.violations, "\n" + contract_report.summary()
