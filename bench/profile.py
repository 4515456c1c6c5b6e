"""Where a request's time goes: ``python -m bench.profile`` (py-spy comes with the test extra).

Starts ``comeback serve --api privategpt`` pinned to the server core and loads it with wrk from the
other core: first alone, for its CPU time per request, then under py-spy (time in C code, such as
the HTTP parser or the JSON encoder, counts in the Python frame that called it; time waiting for
the network is not sampled). Each sample is put in the layer of the innermost frame of its stack
that a layer's pattern matches, and each layer's share of the samples times the CPU per request
gives a per-request budget in microseconds:

    python -m bench.profile --call GET --seconds 10

``--source DIR`` profiles another checkout of the project (e.g. an older commit in a git worktree),
so a before/after pair is measured the same way on the same machine.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.contenders import comeback_serve
from bench.load import Load, run_load
from bench.procs import LOAD_CORE, cpu_seconds, pinned, server
from bench.run import CALLS, PGPT_HEADERS, completed_message

# (layer, pattern on "function (file:line)" frames): the innermost matching frame decides
LAYERS: list[tuple[str, re.Pattern[str]]] = [
    ("logging", re.compile(r"\(logging/|MaskedAccessLog")),
    ("journal", re.compile(r"mockserver/journal\.py|JournalEntry|__create_fn__")),
    ("auth", re.compile(r"mockserver/auth\.py")),
    ("validation", re.compile(r"mockserver/(inputs|safejson)\.py|jsonschema_rs|\(json/decoder|json\.loads")),
    (
        "rendering",
        re.compile(
            r"mockserver/(render|responses)\.py|starlette/responses\.py|\(json/encoder|mockserver/fake/"
        ),
    ),
    (
        "engine",
        re.compile(
            r"mockserver/(engine|store|clock|events|draws|scenario_book|agreement)\.py|mockserver/state/"
            r"|lifecycle/|mockserver/vendors/|mockserver/catalog"
        ),
    ),
    # leanpath.py: the routing before issue 20 (``--source`` may profile an older checkout)
    ("routing", re.compile(r"mockserver/(routing|leanpath)\.py|starlette/routing\.py")),
    (
        "middleware",
        re.compile(r"mockserver/(guard|cors)\.py|starlette/middleware/|starlette/applications\.py"),
    ),
    (
        "endpoint",
        re.compile(
            r"mockserver/(app|endpoint|fault_gate|call|replay)\.py|starlette/requests\.py"
            r"|starlette/datastructures\.py"
        ),
    ),
    ("HTTP parsing and writing (uvicorn, httptools)", re.compile(r"uvicorn/|httptools|h11/")),
    ("event loop and sockets", re.compile(r"uvloop|asyncio/|selectors|socket")),
]
OTHER = "other"


def layer_of(stack: list[str]) -> str:
    """The layer of one sampled stack (outermost first), decided by its innermost matching frame."""
    for frame in reversed(stack):
        for name, pattern in LAYERS:
            if pattern.search(frame):
                return name
    return OTHER


def budget(raw: str) -> tuple[dict[str, float], int]:
    """Each layer's share of the main thread's samples in py-spy's raw output (``stack count``
    lines), and how many samples there were."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        frames = stack.split(";")
        if frames[0].startswith("Thread._bootstrap"):
            continue  # a helper thread (anyio's pool, the reloader): idle while requests are served
        counts[layer_of(frames)] += int(number)
    total = sum(counts.values())
    return ({name: count / total for name, count in counts.items()} if total else {}), total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--call", choices=["GET", "POST"], default="GET", help="what to load (default: GET)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load and sampling time (default: 10)")
    parser.add_argument("--rate", type=int, default=1000, help="py-spy samples per second (default: 1000)")
    parser.add_argument(
        "--source", type=Path, help="the checkout to profile (default: this one, as installed)"
    )
    parser.add_argument("--keep", type=Path, help="also save py-spy's raw samples here (default: not kept)")
    arguments = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        parser.error("py-spy is not installed: pip install -e '.[test]'")
    call = next(c for c in CALLS if c["method"] == arguments.call)
    # the other checkout's packages first: python -m puts the working directory at the front
    source = arguments.source.resolve() if arguments.source else None
    env = {"PYTHONPATH": str(source)} if source else {}
    command = comeback_serve("--api", "privategpt")
    with (
        server(command, "/__mock/clock", env=env, cwd=source) as mock,
        tempfile.TemporaryDirectory() as work,
    ):
        completed_message(mock)

        def load(seconds: float) -> Load:
            return run_load(
                mock.url + call["path"],
                call["method"],
                PGPT_HEADERS,
                call["body"],
                seconds=seconds,
                connections=32,
            )

        load(3)  # warm up
        # first the cost per request, undisturbed; then where it goes, under py-spy (which pauses the
        # process for each sample, so its run is slower: only its shares are used)
        before = cpu_seconds(mock.pid)
        measured = load(arguments.seconds)
        used = cpu_seconds(mock.pid) - before
        output = Path(work) / "samples.txt"
        sampler = subprocess.Popen(
            pinned(
                [
                    spy,
                    *("record", "--pid", str(mock.pid), "--rate", str(arguments.rate)),
                    *("--format", "raw", "--output", str(output), "--duration", str(int(arguments.seconds))),
                ],
                LOAD_CORE,
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)  # py-spy attaches before the load starts
        load(arguments.seconds - 1)
        sampler.wait(timeout=arguments.seconds + 60)
        shares, samples = budget(output.read_text(encoding="utf-8") if output.exists() else "")
        if arguments.keep and output.exists():
            shutil.copy(output, arguments.keep)
    if not samples:
        print("py-spy recorded no samples (is ptrace allowed here?)", file=sys.stderr)
        return 1
    per_request = used / measured.requests * 1e6
    source = source or Path(__file__).resolve().parent.parent
    rate = f"{measured.requests_per_second:,.0f} req/s"
    print(f"{arguments.call} {call['path']}: {rate}, {per_request:.0f} µs CPU per request")
    print(f"source: {source} ({_commit(source)}); {samples} samples")
    print()
    print("| layer | share | µs per request |")
    print("|---|---|---|")
    for name, share in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"| {name} | {share:.0%} | {share * per_request:.1f} |")
    return 0


def _commit(source: Path) -> str:
    found = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "unknown commit"


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
