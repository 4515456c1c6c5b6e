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
from pathlib import Path

from contracts.run import check
from lifecycle.bundled import bundled_specs
from tests.servers.base import Defects, serve
from tests.servers.privategpt import PrivateGpt

SPEC = next(path for path in bundled_specs() if path.stem == "privategpt")
DEFECTS = Defects(accept_invalid=True, delete_500=True)
_SECTION = re.compile(r"^_+ (\S+ \S+|Stateful) (?:tests )?_+$")
_FAILURE = re.compile(r"^- (?:ST\d+ )?(.+)$")
# what the kit leaves out of conformance by design, and why (shown in the table)
BY_DESIGN = {
    "SSE event violates schema": "by design: the spec describes the stream body as one string of "
    "frames; the stream probe judges the frames",
    "Schema-valid request rejected": "by design: a duplicate caller-chosen message_id gets the documented "
    "400 (x-lifecycle duplicate_status); the kit gives each generated create a fresh id",
}


def plain(url: str, seconds: int) -> set[tuple[str, str]]:
    executable = Path(sys.executable).with_name("schemathesis")
    command = [str(executable), "run", str(SPEC), "--url", url, "--checks", "all", "--max-time", str(seconds)]
    output = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    found: set[tuple[str, str]] = set()
    operation = None
    for line in output.splitlines():
        section = _SECTION.match(line.strip())
        if section:
            operation = section.group(1)
            continue
        failure = _FAILURE.match(line.strip())
        if operation and failure and not failure.group(1).startswith(("http", "curl")):
            title = failure.group(1).strip()
            if re.match(r"^(body|query|path|headers|cookies): ", title):
                continue  # a detail line of the failure above, not a failure of its own
            found.add((operation, title))
    return found


def kit(url: str, seconds: int) -> set[tuple[str, str]]:
    # the server has no auth, but the spec says it is required: check it as the spec says, as plain
    # Schemathesis does (with --auth none both are silent about auth, as they should be)
    report = check(SPEC, url, phases=("conformance",), auth="required", max_time=seconds, examples=100)
    return {(v.unit, v.message.split(" (got")[0].split(":")[0]) for v in report.found}


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    with serve(PrivateGpt, DEFECTS) as url:
        schemathesis_found = plain(url, seconds)
    with serve(PrivateGpt, DEFECTS) as url:
        kit_found = kit(url, seconds)
    print(f"budget {seconds}s each; defects: {DEFECTS}")
    print("| operation | failure (plain Schemathesis) | kit |")
    print("|---|---|---|")
    for operation, title in sorted(schemathesis_found):
        if operation == "Stateful":  # Schemathesis groups these under "Stateful tests"
            where = sorted(op for op, t in kit_found if t == title)
            verdict = f"yes ({', '.join(where)})" if where else BY_DESIGN.get(title, "NO")
        else:
            verdict = "yes" if (operation, title) in kit_found else BY_DESIGN.get(title, "NO")
        print(f"| {operation} | {title} | {verdict} |")
    for operation, title in sorted(kit_found - schemathesis_found):
        if ("Stateful", title) not in schemathesis_found:
            print(f"| {operation} | (kit only) {title} | yes |")


if __name__ == "__main__":
    main()
