"""Servers for the recorder tests: the mock (as a stand-in live server) and the recording proxy."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from lifecycle.bundled import bundled_scenarios
from lifecycle.spec import ApiSpec, load_spec
from mockserver.app import create_app as mock_app
from mockserver.servers import free_port, serve_in_thread
from recorder.proxy import Options, Recorder, create_app
from tests.conftest import SPECS
from tests.mockserver.conftest import settings
from tests.recorder.walks import Walk, walk_on_manual_clock

# fault sleeps (stall, drip, latency) are real seconds divided by this; the manual clock ignores it
FAULT_SPEED = 50.0
SPEED = 2.0  # the recorded mock runs twice as fast; recorded times are real seconds


def spec_of(api: str) -> ApiSpec:
    path = SPECS / f"{api}.yaml"
    return load_spec(path.read_text(encoding="utf-8"), str(path), name=api, validate_openapi=False)


@contextmanager
def recording_proxy(spec: ApiSpec, target: str, out: Path, poll: float | None = None) -> Iterator[str]:
    with serve_in_thread(
        create_app(Options(spec, target, out, spec_label=f"openapi/{spec.name}.yaml", poll=poll))
    ) as url:
        yield url


def scenarios_with(recorded: Path, folder: Path) -> Path:
    """The bundled scenarios plus the recorded ones, so a mock serves both (whether ``--scenarios``
    replaces the bundled set or layers over it)."""
    shutil.copytree(bundled_scenarios(), folder)
    for path in recorded.glob("*/*.yaml"):
        shutil.copy(path, folder / path.parent.name / path.name)
    return folder


@contextmanager
def mock_process(speed: float = SPEED) -> Iterator[str]:
    """``comeback serve`` in its own process: the recorded 'live server' does not share this
    process's interpreter lock with the proxy and the client, so its timing is its own."""
    command = [sys.executable, "-m", "comeback.cli", "serve", "--port", "{port}", "--speed", str(speed)]
    with process([*command, "--log-level", "warning"], "/__mock/clock") as url:
        yield url


@contextmanager
def record_process(spec_path: Path, target: str, out: Path, *options: str) -> Iterator[str]:
    """``comeback record`` in its own process (stopped with SIGTERM, which writes what is left)."""
    command = [sys.executable, "-m", "comeback.cli", "record", str(spec_path), "--target", target]
    with process([*command, "--port", "{port}", "--out", str(out), *options], "/__record/recordings") as url:
        yield url


@contextmanager
def process(command: list[str], probe: str, *, stop: int = 15) -> Iterator[str]:
    """Run ``command`` (``{port}`` filled in) until the block ends, once ``probe`` answers 200;
    then stop it with signal ``stop`` (SIGTERM) and wait for it to exit."""
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in command]
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    try:
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"{' '.join(argv)} exited with {child.returncode}: {child.stderr.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(url + probe, timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - began > 90:  # a shared CI machine can be very slow to start Python
                raise RuntimeError(f"{' '.join(argv)} did not answer within 90 s")
            time.sleep(0.02)
        yield url
    finally:
        child.send_signal(stop)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        child.stderr.close()  # type: ignore[union-attr]


def record_on_manual_clock(api: str, names: list[str], out: Path) -> tuple[list[Walk], dict[str, Any]]:
    """Walk one resource per scenario through a recording proxy in front of a mock on a manual
    clock, which is also the recorder's clock; returns the walks and the flush answer."""
    spec = spec_of(api)
    target_app = mock_app(settings(strict=False, speed=FAULT_SPEED))
    with serve_in_thread(target_app) as target:
        options = Options(spec, target, out, spec_label=f"openapi/{api}.yaml")
        recorder = Recorder(options, clock=target_app.state.engine.clock.now)
        with serve_in_thread(create_app(options, recorder)) as proxy:

            async def run() -> tuple[list[Walk], dict[str, Any]]:
                async with (
                    httpx.AsyncClient(base_url=proxy, timeout=30) as through,
                    httpx.AsyncClient(base_url=target, timeout=30) as admin,
                ):
                    walks = await walk_on_manual_clock(through, admin, spec.lifecycle, api, names)
                    flushed = (await through.post("/__record/flush", json={})).json()
                return walks, flushed

            return asyncio.run(run())
