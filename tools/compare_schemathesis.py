"""Plain ``schemathesis run --checks all`` against ``comeback check`` on the independent PrivateGPT
server (tests/servers/privategpt.py) with injected defects, on the same time budget.

    .venv/bin/python -m tools.compare_schemathesis [SECONDS]

Prints a table: every distinct failure (operation, failure title) plain Schemathesis reports, and
whether the kit reports it too (and what the kit adds). Not run by the test suite (it takes twice
the budget); its output is quoted in the issue-10 note.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from contracts.run import check
from lifecycle.bundled import bundled_specs
from tests.servers.base import Defects, Handler, serve
from tests.servers.letta import Letta
from tests.servers.privategpt import PrivateGpt

SPECS = {path.stem: path for path in bundled_specs()}
SERVERS: dict[str, tuple[type[Handler], Defects]] = {
    "privategpt": (PrivateGpt, Defects(accept_invalid=True, delete_500=True)),
    "letta": (Letta, Defects(limit_500=True, delete_500=True, reset_after_500=True)),
}
_SECTION = re.compile(r"^_+ (\S+ \S+|Stateful) (?:tests )?_+$")
_FAILURE = re.compile(r"^- (ST\d+) (.+)$")
# what the kit leaves out of conformance by design, and why (shown in the table)
BY_DESIGN = {
    "SSE event violates schema": "by design: the spec describes the stream body as one string of "
    "frames; the stream probe judges the frames",
    "Schema-valid request rejected": "by design: a duplicate caller-chosen message_id gets the documented "
    "400 (x-lifecycle duplicate_status); the kit gives each generated create a fresh id",
}


def plain(spec: Path, url: str, seconds: int) -> set[tuple[str, str]]:
    executable = Path(sys.executable).with_name("schemathesis")
    command = [str(executable), "run", str(spec), "--url", url, "--checks", "all", "--max-time", str(seconds)]
    with tempfile.TemporaryDirectory() as folder:  # no crash cache from an earlier run to replay
        output = subprocess.run(command, capture_output=True, text=True, check=False, cwd=folder).stdout
    found: set[tuple[str, str]] = set()
    operation = None
    for line in output.splitlines():
        section = _SECTION.match(line.strip())
        if section:
            operation = section.group(1)
            continue
        failure = _FAILURE.match(line.strip())
        if operation and failure:
            found.add((operation, f"{failure.group(1)} {failure.group(2).strip()}"))
    return found


def kit(spec: Path, url: str, seconds: int) -> set[tuple[str, str]]:
    # the server has no auth, but the spec says it is required: check it as the spec says, as plain
    # Schemathesis does (with --auth none both are silent about auth, as they should be)
    report = check(spec, url, phases=("conformance",), auth="required", max_time=seconds, examples=100)
    return {(v.unit, v.message.split(" (got")[0].split(":")[0]) for v in report.found}


def same(kit_title: str, title: str) -> bool:
    """The same distinct failure: Schemathesis' identity is the failure code on an operation."""
    return kit_title.split(maxsplit=1)[0] == title.split(maxsplit=1)[0]


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    for api, (handler, defects) in SERVERS.items():
        with serve(handler, defects) as url:
            schemathesis_found = plain(SPECS[api], url, seconds)
        with serve(handler, defects) as url:
            kit_found = kit(SPECS[api], url, seconds)
        table(api, defects, seconds, schemathesis_found, kit_found)


def table(
    api: str,
    defects: Defects,
    seconds: int,
    schemathesis_found: set[tuple[str, str]],
    kit_found: set[tuple[str, str]],
) -> None:
    print(f"\n### {api}: budget {seconds}s each; defects: {defects}\n")
    print("| operation | failure (plain Schemathesis) | kit |")
    print("|---|---|---|")
    for operation, title in sorted(schemathesis_found):
        design = next((why for text, why in BY_DESIGN.items() if text in title), "NO")
        if operation.startswith("Stateful"):  # Schemathesis groups these under "Stateful tests"
            where = sorted(op for op, t in kit_found if same(t, title))
            verdict = f"yes ({', '.join(where)})" if where else design
        else:
            # an undeclared method (QUERY /v1/runs/{id}) is reported by the kit on the path's operations
            path = operation.split(" ", 1)[1]
            found = [t for op, t in kit_found if op.split(" ", 1)[-1] == path and same(t, title)]
            verdict = f"yes ({found[0]})" if found else design
        print(f"| {operation} | {title} | {verdict} |")
    for operation, title in sorted(kit_found):
        path = operation.split(" ", 1)[
            -1
        ]  # a finding of the whole run (a dropped connection) has no operation
        if not any(
            (op == "Stateful tests" or op.split(" ", 1)[-1] == path) and same(title, t)
            for op, t in schemathesis_found
        ):
            print(f"| {operation} | (kit only) | {title} |")


if __name__ == "__main__":
    main()
