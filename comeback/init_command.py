"""``comeback init SPEC``: draft an ``x-lifecycle`` block for a spec that has none.

The draft is appended to the spec (or written with the spec to ``--output``), with a comment above
each part saying what was guessed and from what, so the file keeps its own comments and layout.
Then ``comeback lint SPEC`` checks it, and ``comeback serve --specs SPEC`` serves it with
scenarios derived from the drafted lifecycle.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from comeback.helptext import description
from lifecycle.draft import Draft, DraftError, draft_lifecycle
from lifecycle.errors import SourceError
from lifecycle.lint import lint_document
from lifecycle.source import load_document

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init",
        help="draft an x-lifecycle block for a spec that has none",
        description=description(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", type=Path, help="the spec file (OpenAPI 3.1 YAML)")
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write the spec with the draft here instead of appending to SPEC (default: append to SPEC)",
    )
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    path: Path = arguments.spec
    try:
        text = path.read_text(encoding="utf-8")
        document = load_document(text, str(path))
    except OSError as error:
        print(f"comeback init: {path}: cannot read: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except SourceError as error:
        print(f"comeback init: {path} is not usable:\n{error}", file=sys.stderr)
        return EXIT_USAGE
    if not isinstance(document.data, dict) or "x-lifecycle" in document.data:
        print(f"comeback init: {path} already has an x-lifecycle block; nothing drafted", file=sys.stderr)
        return EXIT_USAGE
    try:
        draft = draft_lifecycle(document.data)
    except DraftError as error:
        print(f"comeback init: {path}: {error}", file=sys.stderr)
        return EXIT_FINDINGS
    output: Path = arguments.output or path
    result = text.rstrip("\n") + "\n" + render(draft)
    findings = lint_document(load_document(result, str(output)), validate_openapi=False)
    output.write_text(result, encoding="utf-8")
    block = draft.block
    print(f"drafted x-lifecycle for {block['resource']!r} in {output}: create {block['create']['operation']}")
    print(
        f"  states: {', '.join(block['states'])} (initial {block['initial']}; terminal "
        f"{', '.join(n for n, s in block['states'].items() if s.get('terminal'))})"
    )
    for key in ("views", "cancel", "delete"):
        if key in block:
            ops = [view["operation"] for view in block[key]] if key == "views" else [block[key]["operation"]]
            print(f"  {key}: {', '.join(ops)}")
    print(f"every guess has a '# guess:' comment; check them, then: comeback lint {output}")
    for finding in findings:
        print(finding, file=sys.stderr)
    return EXIT_FINDINGS if findings else EXIT_OK


class _NoAliases(yaml.SafeDumper):
    """Writes a repeated value out again instead of as a YAML alias (clearer to edit by hand)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(draft: Draft) -> str:
    """The block as YAML, with each part's guesses as comments above it."""
    lines = [
        "# x-lifecycle drafted by `comeback init`: how a created resource walks its states.",
        "# Lines marked 'guess' were inferred from names and shapes in this spec; check each one.",
        "x-lifecycle:",
    ]
    for key, value in draft.block.items():
        for note in draft.notes.get(key, ()):
            lines.append(f"  # guess: {note}")
        dumped = yaml.dump({key: value}, Dumper=_NoAliases, sort_keys=False, width=100, allow_unicode=True)
        lines.extend("  " + line for line in dumped.rstrip("\n").splitlines())
    return "\n".join(lines) + "\n"
