"""What ``comeback serve`` loads before its first answer: what serving needs, nothing more.

How long the start takes and how much memory the idle process holds are measured in ``bench/``
(``python -m bench.run --parts start``), never timed here. These tests keep out the work that
made the start slow: modules imported for other commands or for later, and the other commands'
set-up done on every run.
"""

from __future__ import annotations

import json
import subprocess
import sys

from mockserver import streams
from mockserver.app import create_app
from mockserver.serving import warm_fake_data
from tests.conftest import REPO
from tests.mockserver.conftest import settings

# the serve command's start, up to the app uvicorn is given (serve_command.run does no other imports)
SERVE_START = """
import json, sys
from comeback.cli import _parser
arguments = _parser().parse_args(["serve", "--token", "t"])
from mockserver.app import create_app, default_settings
create_app(default_settings())
print(json.dumps(sorted(sys.modules)))
"""

# module -> why the start must not import it
LATER_OR_ELSEWHERE = {
    "openapi_spec_validator": "the OpenAPI meta-check, which the bundled specs skip (imported in lint.py)",
    "pydantic": "brought by openapi-spec-validator",
    "requests": "brought by openapi-spec-validator",
    "schemathesis": "the contract kit (comeback check)",
    "hypothesis": "the contract kit (comeback check)",
    "contracts.run": "the contract kit (comeback check)",
    "recorder": "the recording proxy (comeback record)",
    "httpx": "outgoing callbacks only (engine.py imports it where they are sent)",
    "importlib.metadata": "--version only",
    "redis": "the Redis store only (--store redis://...)",
    "faker": "fake values, made once the server listens (serving.warm_fake_data) or on first need",
}


def test_serve_imports_only_what_serving_needs() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SERVE_START], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert "mockserver.app" in loaded  # the probe did start the mock
    wrong = {
        module: why
        for module, why in LATER_OR_ELSEWHERE.items()
        if module in loaded or any(name.startswith(f"{module}.") for name in loaded)
    }
    assert wrong == {}


def test_the_warm_up_makes_every_faker_the_mock_uses() -> None:
    engine = create_app(settings()).state.engine
    assert all(renderer.fake._faker is None for renderer in engine.renderers.values())
    warm_fake_data(engine)
    assert all(renderer.fake._faker is not None for renderer in engine.renderers.values())
    assert streams.reply_faker() is streams.reply_faker()


def test_fake_data_is_the_same_whether_faker_was_warmed_or_not() -> None:
    def fake_message(warm: bool) -> object:
        engine = create_app(settings()).state.engine
        if warm:
            warm_fake_data(engine)
        renderer = engine.renderers["letta"]
        operation = renderer.spec.operations["listMessagesForRun"]
        return renderer.fake_body(operation, 200, "run-4c5c7d5a-4196-44b1-a7a9-45aebe39c6d7")

    assert fake_message(warm=True) == fake_message(warm=False)
