"""Shared paths for the tests."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "openapi"
TEST_SPECS = Path(__file__).resolve().parent / "specs"

pytest_plugins = ["pytester"]  # the plugin's own tests run small test files through pytest
