"""Each uvicorn worker (``--workers N``) sets the collector up for serving as the single process
does: start-up frozen out of its walks, full collections rarer (they walk every open stream)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from lifecycle.bundled import bundled_specs
from mockserver.app import app_from_environment
from mockserver.serving import GC_THRESHOLDS
from mockserver.settings import ENVIRONMENT_KEY, Settings, settings_to_json


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_a_worker_freezes_what_start_up_built_and_collects_fully_more_rarely(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    specs = tuple(path for path in bundled_specs() if path.stem == "privategpt")
    monkeypatch.setenv(ENVIRONMENT_KEY, settings_to_json(Settings(spec_paths=specs)))
    assert gc.get_freeze_count() == 0
    app_from_environment()
    assert gc.get_freeze_count() > 10_000  # the specs, scenarios and fake-data pools
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[2] > 10  # Python's default: a full collection every 10 of the middle one
