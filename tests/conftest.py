"""Shared paths for the tests, and how many xdist workers ``-n auto`` starts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "openapi"
TEST_SPECS = Path(__file__).resolve().parent / "specs"

pytest_plugins = ["pytester"]  # the plugin's own tests run small test files through pytest


# Most of the suite's time is spent waiting, not computing: the kit polls servers that walk their
# scenarios in real time, streams wait for their next token, subprocesses start. So ``-n auto``
# starts two workers per usable core (PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set).
WORKERS_PER_CORE = 2


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    return WORKERS_PER_CORE * len(os.sched_getaffinity(0))


# The modules whose tests take tens of seconds each (kit runs against real-time servers, recorded
# sessions, the bench, Schemathesis): collected first, so xdist hands them out at the start and
# the many short tests fill the workers' gaps at the end, instead of one long test finishing alone
SLOW_FIRST = (
    "contracts/test_kit_vs_mock.py",
    "recorder/test_closed_loop.py",
    "test_bench.py",
    "test_own_specs.py",
    "mockserver/test_schemathesis.py",
    "contracts/test_independent.py",
    "contracts/test_checks_fire.py",
    "contracts/test_round2.py",
    "contracts/test_rules.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent

    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(here).as_posix() if item.path.is_relative_to(here) else ""
        return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: each module keeps its own order
