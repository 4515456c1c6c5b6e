"""The ``comeback`` command: one entry point, one subcommand per task.

comeback serve                        the mock: every bundled spec and scenario on 127.0.0.1:8000
comeback lint openapi/*.yaml          exit 0 clean, 1 findings, 2 usage error (specs and scenarios)
comeback scenarios list|show          the scenarios serve would use (bundled, layered, derived)
comeback init SPEC                    draft an x-lifecycle block for a spec that has none
comeback check SPEC --base-url URL    exit 0 clean, 1 violations, 2 usage error or unreachable, 3 kit error
comeback record SPEC --target URL     a recording proxy: live traffic -> scenario files
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from comeback import (
    check_command,
    init_command,
    lint_command,
    record_command,
    scenarios_command,
    serve_command,
)


class _Version(argparse._VersionAction):
    """``--version``: the installed version, looked up only when asked (importlib.metadata costs
    ~0.05 s, which every command would pay at start)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        from importlib.metadata import version  # noqa: PLC0415

        self.version = f"%(prog)s {version('comeback')}"
        super().__call__(parser, namespace, values, option_string)


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
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    lint_command.add_parser(commands)

    serve_command.add_parser(commands)

    check_command.add_parser(commands)
    scenarios_command.add_parser(commands)
    init_command.add_parser(commands)
    record_command.add_parser(commands)
    return parser


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
