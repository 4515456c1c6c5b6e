"""How the dashboard holds up with many live resources: ``python -m bench.dashboard [--resources N]``.

Starts ``comeback serve`` (real clock) in its own process on a free 127.0.0.1 port, creates N
PrivateGPT messages that change state over the following seconds (scenario ``slow``: processing
after 5 s, completed 20 s later) while a background client polls them at ``--reads-per-second``
(every read is a change the page is told about), and
opens ``/__mock/ui`` in headless Chromium (Debian's, through Playwright). It prints:

- first paint, and the moment all N rows are on the page (from navigation start);
- update latency: a resource is created (or forced to its next step) over HTTP; how long until the
  page shows it, measured by a MutationObserver in the page against the same wall clock;
- how long the page takes to apply a filter over the N rows, and the longest main-thread task seen.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from bench.procs import server
from tools.browser import CHROMIUM, CHROMIUM_ARGS

AUTH = {"Authorization": "secret"}
BODY = {"model": "default", "max_tokens": 256, "messages": [{"role": "user", "content": "Hello"}]}
WATCH = """
window.__seen = {};
new MutationObserver(() => {
  for (const [key, wanted] of Object.entries(window.__wanted || {})) {
    if (window.__seen[key]) continue;
    const row = document.querySelector(`#resources tr[data-key="${key}"]`);
    if (row && (!wanted || row.dataset.state === wanted))
      window.__seen[key] = performance.timeOrigin + performance.now();
  }
}).observe(document.querySelector('#resources tbody'),
           {childList: true, subtree: true, characterData: true, attributes: true});
window.__long = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__long = Math.max(window.__long, e.duration);
}).observe({type: 'longtask', buffered: true});
"""


def create(client: httpx.Client, message_id: str, scenario: str = "slow") -> None:
    headers = {**AUTH, "X-Mock-Scenario": scenario}
    client.post("/v1/messages/async", params={"message_id": message_id}, json=BODY, headers=headers)


def poll(url: str, count: int, rate: float, stop: threading.Event) -> None:
    """Read the resources in turn, ``rate`` reads per second, until ``stop``."""
    reads = 0
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.wait(1 / rate):
            client.get(f"/v1/messages/async/m-{reads % count}/status", headers=AUTH)
            reads += 1


def seen_after(page: Any, key: str, wanted: str | None, started: float, timeout: float = 10.0) -> float:
    """Milliseconds from ``started`` (wall clock, seconds) until the page showed ``key`` [in ``wanted``]."""
    page.wait_for_function("k => Boolean(window.__seen[k])", arg=key, timeout=timeout * 1000)
    seen: float = page.evaluate("k => window.__seen[k]", key)
    return seen - started * 1000


def state_of(client: httpx.Client, message_id: str) -> str:
    state: str = client.get(f"/__mock/resources/privategpt/{message_id}").json()["state"]
    return state


def measure(count: int, samples: int, rate: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "comeback.cli", "serve", "--port", "{port}", "--log-level", "warning"]
    command += ["--max-resources", str(count * 2)]
    with server(command, "/__mock/clock") as running, httpx.Client(base_url=running.url) as client:
        for index in range(count):
            create(client, f"m-{index}")
        stop = threading.Event()
        poller = threading.Thread(target=poll, args=(running.url, count, rate, stop), daemon=True)
        poller.start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
            page.goto(f"{running.url}/__mock/ui")
            page.wait_for_function(f"document.querySelectorAll('#resources tbody tr').length >= {count}")
            rows_ready = page.evaluate("performance.now()")
            paint = page.evaluate(
                "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"
            )
            page.evaluate(WATCH)
            created, forced = [], []
            for sample in range(samples):
                key = f"new-{sample}"
                page.evaluate(
                    "k => { window.__wanted = {...(window.__wanted || {}), [k]: null}; }", f"privategpt/{key}"
                )
                started = time.time()
                create(client, key)
                created.append(seen_after(page, f"privategpt/{key}", None, started))
                target = f"m-{sample * 7 % count}"
                before = state_of(client, target)
                wanted = {"pending": "processing", "processing": "completed"}.get(before)
                page.evaluate(
                    "([k, s]) => { window.__wanted[k] = s; delete window.__seen[k]; }",
                    [f"privategpt/{target}", wanted],
                )
                started = time.time()
                client.post(f"/__mock/resources/privategpt/{target}/next", json={})
                if wanted is not None and state_of(client, target) == wanted:  # not changed by time
                    forced.append(seen_after(page, f"privategpt/{target}", wanted, started))
                time.sleep(0.1)
            filter_ms = page.evaluate(
                """() => { const t = performance.now(); const s = document.querySelector('#filter-state');
                s.value = 'pending'; s.dispatchEvent(new Event('change')); return performance.now() - t; }"""
            )
            longest = page.evaluate("window.__long")
            browser.close()
        stop.set()
        poller.join()
    return {
        "resources": count,
        "first_paint_ms": paint,
        "rows_ready_ms": rows_ready,
        "created_ms": created,
        "forced_ms": forced,
        "filter_ms": filter_ms,
        "longest_task_ms": longest,
    }


def describe(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    median = statistics.median(ordered)
    return f"p50 {median:.0f} ms, p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000, help="live resources (default: 1000)")
    parser.add_argument("--samples", type=int, default=20, help="update samples (default: 20)")
    parser.add_argument(
        "--reads-per-second", type=float, default=100, help="background polling (default: 100)"
    )
    args = parser.parse_args()
    result = measure(args.resources, args.samples, args.reads_per_second)
    print(f"| measure ({result['resources']} live resources, {args.reads_per_second:g} reads/s) | result |")
    print("|---|---|")
    print(f"| first paint | {result['first_paint_ms']:.0f} ms |")
    print(f"| all rows on the page | {result['rows_ready_ms']:.0f} ms |")
    print(f"| created resource shown | {describe(result['created_ms'])} |")
    print(f"| forced step shown | {describe(result['forced_ms'])} |")
    print(f"| filter applied over all rows | {result['filter_ms']:.0f} ms |")
    print(f"| longest main-thread task | {result['longest_task_ms']:.0f} ms |")


if __name__ == "__main__":
    main()
