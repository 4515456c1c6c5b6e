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
