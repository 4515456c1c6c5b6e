"""The ``comeback`` command: one entry point, one subcommand per task.

comeback lint openapi/*.yaml     exit 0 when clean, 1 on findings, 2 on usage errors
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lifecycle.bundled import bundled_specs
from lifecycle.errors import SourceError
from lifecycle.lint import lint_document
from lifecycle.source import load_document

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used by the console script)."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    code: int = arguments.run(arguments)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comeback",
        description="Mock server and contract-test kit for asynchronous chat and message APIs.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    lint = commands.add_parser(
        "lint", help="check specs: OpenAPI 3.1, the x-lifecycle block, and their consistency"
    )
    lint.add_argument("files", nargs="*", type=Path, help="spec files (default: the bundled specs)")
    lint.set_defaults(run=_lint)
    return parser


def _lint(arguments: argparse.Namespace) -> int:
    files: list[Path] = arguments.files or bundled_specs()
    total = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            print(f"{path}: cannot read: {error.strerror}", file=sys.stderr)
            return EXIT_USAGE
        try:
            findings = lint_document(load_document(text, str(path)))
        except SourceError as error:
            findings = list(error.findings)
        for finding in findings:
            print(finding)
        total += len(findings)
    print(f"{len(files)} file(s) checked, {total} finding(s)", file=sys.stderr)
    return EXIT_FINDINGS if total else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
