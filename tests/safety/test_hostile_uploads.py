"""Round 2 of the bounded hostile test: hostile uploads (YAML bombs, non-finite numbers, deep JSON)
through every admin and scenario route, a watched folder and ``comeback lint``. It shows: no 5xx,
no client waiting more than 1 s behind a hostile upload (measured: a second client polls the mock
all along and its slowest answer is in the failure message), nothing stored on a refusal, no
secret in clear anywhere it could be read back, and memory bounded.

Bounded: about 300 requests and two processes, a few seconds."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from mockserver.servers import serve_in_thread
from tests.mockserver import clients
from tests.mockserver.conftest import AGENT, AUTH
from tests.safety.conftest import app, in_thread, serve
from tests.safety.test_hostile_inputs import BODIES

LATENCY_BOUND = 1.0  # seconds a concurrent client may wait behind a hostile upload (generous)
MEMORY_BOUND = 300 * 1024 * 1024  # bytes the process may grow by over every hostile upload here


def bomb(levels: int) -> str:
    """A scenario whose ``set`` holds a "billion laughs": 9^levels strings from ~60 bytes a level."""
    lines = ["api: letta", "description: bomb", "steps:", "  - state: created", "    set:"]
    lines.append('      a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    for level in range(1, levels + 1):
        lines.append(f"      a{level}: &a{level} [{','.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


NON_FINITE = {
    "nan": "api: letta\ndescription: x\nsteps:\n  - state: created\n  - state: running\n    after: .nan\n",
    "inf": "api: letta\ndescription: x\nsteps:\n  - state: created\n  - state: running\n    after: .inf\n",
    "190 years": (
        "api: letta\ndescription: x\nsteps:\n  - state: created\n  - state: running\n    after: 99999999m\n"
    ),
    "hour-long fault": (
        "api: letta\ndescription: x\nsteps:\n  - state: created\n    fault: {latency: 61m}\n"
        "  - state: running\n    after: 1s\n"
    ),
    "huge integer": "api: letta\ndescription: x\nsteps:\n  - state: created\n    set: {x: 1"
    + "0" * 5000
    + "}\n",
    "alias cycle": "api: letta\ndescription: &d [*d]\nsteps:\n  - state: created\n",
}
YAML_ATTACKS = {"7-level aliases": bomb(7), "9-level aliases": bomb(9), **NON_FINITE}
READ_BACK = [
    ("GET", "/__mock/scenarios"),
    ("GET", "/__mock/ui/scenarios"),
    ("GET", "/__mock/resources"),
    ("POST", "/__mock/clock/next-change"),
    ("GET", "/__mock/journal"),
    ("GET", "/__mock/clock"),
]


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def concurrent_client(base: str) -> Iterator[list[float]]:
    """Another client reading the mock every 20 ms while the block runs; yields its latencies."""
    latencies: list[float] = []
    done = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while not done.is_set():
                began = time.monotonic()
                with contextlib.suppress(httpx.HTTPError):  # no answer in 30 s: the longest wait there is
                    client.get("/__mock/clock")
                latencies.append(time.monotonic() - began)
                time.sleep(0.02)

    with in_thread(poll, done.set):
        yield latencies


def _admin_requests(run: str) -> Iterator[tuple[str, str, str, bytes, str]]:
    """(label, method, path, body, content type) for every admin route and every hostile body."""
    for route in app().routes:
        path = getattr(route, "path", "")
        if not isinstance(route, Route) or not path.startswith("/__mock") or path.endswith("/events"):
            continue  # event feeds never end; they take no body
        filled = path.replace("{api}", "letta").replace("{resource_id}", run).replace("{name}", "hostile")
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if method == "GET":
                yield f"GET {path}", method, filled, b"", "application/json"
                continue
            for kind, body in BODIES.items():
                yield f"{method} {path} body {kind}", method, filled, body, "application/json"
            for kind, text in YAML_ATTACKS.items():
                if "/ui/scenarios/" in path:  # the dashboard sends the text inside JSON
                    yield (
                        f"{method} {path} {kind}",
                        method,
                        filled,
                        json.dumps({"text": text}).encode(),
                        ("application/json"),
                    )
                else:
                    yield f"{method} {path} {kind}", method, filled, text.encode(), "application/yaml"


def test_hostile_uploads_get_4xx_without_holding_up_other_clients_or_storing_anything() -> None:
    mock_app = app()
    failures: list[str] = []
    slow: list[str] = []
    rss_before = _rss()
    with serve_in_thread(mock_app) as base, httpx.Client(base_url=base, timeout=30) as client:
        run = clients.create(client, "letta", "slow")  # type: ignore[arg-type]
        sent = 0
        with concurrent_client(base) as latencies:
            for label, method, path, body, media in _admin_requests(run):
                before = len(latencies)
                began = time.monotonic()
                answer = client.request(method, path, content=body, headers={"Content-Type": media})
                took = time.monotonic() - began
                sent += 1
                if answer.status_code >= 500:
                    failures.append(f"{label}: {answer.status_code} {answer.text[:200]}")
                if any(latency > LATENCY_BOUND for latency in latencies[before:]):
                    waited = max(latencies[before:])
                    slow.append(f"{label}: answered in {took:.2f} s; the other client waited {waited:.2f} s")
        for method, path in READ_BACK:
            answer = client.request(method, path, headers={"Content-Type": "application/json"})
            if answer.status_code >= 500:
                failures.append(
                    f"after the uploads, {method} {path}: {answer.status_code} {answer.text[:200]}"
                )
            assert "Infinity" not in answer.text, (path, answer.text[:300])
            assert "NaN" not in answer.text, (path, answer.text[:300])
        stored = client.get("/__mock/scenarios/letta/hostile")
        queued = client.get("/__mock/ui/scenarios").json()["letta"]["queued"]
    grown = _rss() - rss_before
    assert sent > 200
    assert not failures, "\n".join(failures)
    assert latencies, "the concurrent client measured nothing"
    assert not slow, f"slowest concurrent answer {max(latencies):.2f} s:\n" + "\n".join(slow)
    assert stored.status_code == 404, stored.text[:300]  # nothing hostile was stored
    assert not queued, queued
    assert grown < MEMORY_BOUND, f"the process grew by {grown / 1e6:.0f} MB"


@pytest.mark.parametrize("attack", ["7-level aliases", "nan", "alias cycle"])
def test_a_hostile_upload_is_refused_quickly_with_a_located_message(attack: str) -> None:
    with serve_in_thread(app()) as base:
        began = time.monotonic()
        answer = httpx.put(
            f"{base}/__mock/scenarios/letta/hostile",
            content=YAML_ATTACKS[attack].encode(),
            headers={"Content-Type": "application/yaml"},
            timeout=30,
        )
        took = time.monotonic() - began
        listing = httpx.get(f"{base}/__mock/scenarios")
    assert answer.status_code == 422, answer.text[:300]
    (first, *_) = answer.json()["findings"]
    assert re.match(r"^__put__/letta/hostile:\d+: |^[^:]+:\d+: ", first), first
    assert took < 5, f"refused after {took:.1f} s"
    assert listing.status_code == 200
    assert "hostile" not in listing.text


def test_a_hostile_file_in_a_watched_folder_is_refused_off_the_event_loop(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    (folder / "letta").mkdir(parents=True)
    spec = tmp_path / "specs" / "letta.yaml"
    spec.parent.mkdir()
    spec.write_text((Path(__file__).parents[2] / "openapi" / "letta.yaml").read_text(encoding="utf-8"))
    arguments = ("--specs", str(spec), "--scenarios", str(folder), "--log-level", "info")
    with serve(tmp_path, *arguments) as mock:
        with concurrent_client(mock.url) as latencies:
            spec.write_text(spec_bomb(9), encoding="utf-8")
            for name, text in {
                "bomb": bomb(9),
                **{k.replace(" ", "-"): v for k, v in NON_FINITE.items()},
            }.items():
                (folder / "letta" / f"{name}.yaml").write_text(text, encoding="utf-8")
            deadline = time.monotonic() + 20
            while mock.output().count("too many alias expansions") < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # the reload that read the files has finished; the other client kept asking
        output = mock.output()
        answers = {path: httpx.request(method, mock.url + path) for method, path in READ_BACK}
    assert re.search(r"bomb\.yaml:\d+: .*too many alias expansions", output), output[-2000:]
    assert re.search(r"letta\.yaml:\d+: .*too many alias expansions", output), output[-2000:]
    assert "not a finite number" in output, output[-2000:]
    assert latencies
    assert max(latencies) <= LATENCY_BOUND, f"a client waited {max(latencies):.2f} s behind the reload"
    for path, answer in answers.items():
        assert answer.status_code < 500, (path, answer.text[:300])
    assert "bomb" not in answers["/__mock/scenarios"].text


def spec_bomb(levels: int) -> str:
    """A spec whose extension key holds a "billion laughs"."""
    return "openapi: 3.1.0\nx-bomb:\n" + bomb(levels).split("    set:\n", 1)[1]


def test_comeback_lint_refuses_a_bomb_quickly(tmp_path: Path) -> None:
    scenario = tmp_path / "bomb.yaml"
    scenario.write_text(bomb(9), encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_bomb(9), encoding="utf-8")
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "comeback.cli", "lint", str(scenario), str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    took = time.monotonic() - began
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"bomb\.yaml:\d+: .*too many alias expansions \(\d+ > 100000\)", done.stdout), (
        done.stdout
    )
    assert took < 30, f"lint took {took:.1f} s"


def test_no_secret_comes_back_in_clear_from_any_read_back_route() -> None:
    secrets = {"password": "pw-in-body-1", "openai_api_key": "sk-in-body-2", "api-key": 987654321}
    with serve_in_thread(app()) as base, httpx.Client(base_url=base, timeout=10) as client:
        headers = {**AUTH["letta"], "Content-Type": "application/json", "X-Api-Key": "hdr-secret-3"}
        client.post(
            f"/v1/agents/{AGENT}/messages/async",
            content=json.dumps({"messages": 7, **secrets}),
            headers=headers,
        )
        created = client.post(
            f"/v1/agents/{AGENT}/messages/async",
            content=json.dumps({"messages": [{"role": "user", "content": "hi"}], **secrets}),
            headers=headers,
        )
        assert created.status_code == 200, created.text
        client.post(
            f"/v1/agents/{AGENT}/messages/async?token=q-secret-4",
            content=b"password=form-secret-5",
            headers={**AUTH["letta"], "Content-Type": "application/x-www-form-urlencoded"},
        )
        run = created.json()["id"]
        shown = "".join(
            client.get(path).text
            for path in (
                "/__mock/journal",
                "/__mock/resources",
                f"/__mock/resources/letta/{run}",
                "/__mock/ui/scenarios",
            )
        )
    clear = [
        s
        for s in ("pw-in-body-1", "sk-in-body-2", "987654321", "hdr-secret-3", "q-secret-4", "form-secret-5")
        if s in shown
    ]
    assert not clear, f"in clear: {clear}"
