"""``comeback check``: the contract kit against a live server.

Exit codes: 0 clean, 1 violations, 2 usage error or unreachable target, 3 internal error of the
kit. The summary (stdout), ``--junit`` and ``--report-json`` are written on every exit, with what
was gathered; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from contracts.phases import PHASES
from lifecycle.bundled import API_NAMES, bundled_specs

AUTH_MODES = ("required", "any-credential", "none")  # contracts.conformance.AUTH_MODES, kept light


def _deviation_names() -> str:
    """The known deviations of the bundled specs, for --help (read without loading the kit)."""
    import yaml  # noqa: PLC0415

    names: list[str] = []
    for path in bundled_specs():
        try:
            block = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("x-lifecycle") or {}
        except (OSError, yaml.YAMLError):
            continue
        found = [str(d.get("name")) for d in block.get("deviations") or [] if isinstance(d, dict)]
        if found:
            names.append(f"  {path.stem}: {', '.join(found)}")
    return "\n".join(names)


DEVIATIONS_HEADING = "known deviations (for --tolerate / --no-tolerate):\n"


class _CheckHelp(argparse.RawDescriptionHelpFormatter):
    """Writes the known deviations under ``check --help`` only when that help is shown: reading
    the bundled specs for them took ~0.5 s that every command (``serve`` too) paid at start, since
    the CLI builds every subcommand's parser."""

    def add_text(self, text: str | None) -> None:
        if text == DEVIATIONS_HEADING:
            text += _deviation_names()
        super().add_text(text)


def add_parser(commands: Any) -> None:
    """Register ``check`` on the CLI's subparsers."""
    check = commands.add_parser(
        "check",
        help="check a live server against a spec and its lifecycle",
        description="Check a live server against a spec and its lifecycle. Exit 0 clean, 1 violations, "
        "2 usage error or unreachable, 3 internal error of the kit; the reports are written on every exit.",
        epilog=DEVIATIONS_HEADING,
        formatter_class=_CheckHelp,  # one API per line, names unbroken
    )
    check.add_argument(
        "spec",
        type=Path,
        help="the spec file (e.g. openapi/letta.yaml), or a bundled API by name (e.g. letta)",
    )
    check.add_argument(
        "--base-url", required=True, help="where the server under test listens, e.g. http://127.0.0.1:8000"
    )
    check.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="sent with every request, generated ones too (repeatable; default: none)",
    )
    check.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the value of every parameter of this name, generated requests too (repeatable; default: none)",
    )
    check.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default=None,
        help="how the deployment checks credentials: required (a valid one; missing or invalid ones "
        "refused), any-credential (one must be present, any value), none (no auth). Default: required "
        "when a credential header is given, else none",
    )
    check.add_argument(
        "--phase", action="append", choices=PHASES, help="run only these phases (repeatable; default: all)"
    )
    check.add_argument(
        "--resources", type=int, default=3, help="resources to create in the lifecycle phase (default: 3)"
    )
    check.add_argument(
        "--deadline",
        type=float,
        default=25.0,
        help="seconds for a resource to reach a terminal state (default: 25)",
    )
    check.add_argument(
        "--tolerate",
        action="append",
        default=[],
        metavar="DEVIATION",
        help="excuse a known deviation: a warning instead of a violation (repeatable; default: as the "
        "spec says; names below)",
    )
    check.add_argument(
        "--no-tolerate",
        action="append",
        default=[],
        metavar="DEVIATION",
        help="fail on a known deviation, also where it is seen live (repeatable; default: none)",
    )
    check.add_argument(
        "--examples",
        type=int,
        default=25,
        help="Schemathesis examples per operation and phase (default: 25)",
    )
    check.add_argument(
        "--operation",
        action="append",
        default=[],
        metavar="OPERATION_ID",
        help="conformance on these operations only (repeatable; default: all)",
    )
    check.add_argument("--seed", type=int, default=0, help="seed of the generated data (default: 0)")
    check.add_argument(
        "--max-time",
        type=float,
        default=25.0,  # contracts.conformance.MAX_TIME, kept light
        help="seconds for the conformance phase; the other phases take seconds each (default: 25)",
    )
    check.add_argument(
        "--junit", type=Path, metavar="FILE", help="also write a JUnit XML report (default: no)"
    )
    check.add_argument(
        "--report-json", type=Path, metavar="FILE", help="also write the report as JSON (default: no)"
    )
    check.add_argument("--quiet", action="store_true", help="no progress on stderr (default: progress)")
    check.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Run the kit; print the summary; write the files; return the exit code."""
    # imported here: the kit brings Schemathesis and Hypothesis, which `serve` should not pay for
    from contracts.report import EXIT_USAGE, Report  # noqa: PLC0415
    from contracts.run import check  # noqa: PLC0415
    from lifecycle.errors import SourceError  # noqa: PLC0415

    def progress(text: str) -> None:
        if not arguments.quiet:
            print(text, file=sys.stderr, flush=True)

    arguments.spec = spec_path(arguments.spec)
    try:
        headers = dict(_pair(text, ":") for text in arguments.header)
        params = dict(_pair(text, "=") for text in arguments.param)
        from contracts.probes import Options  # noqa: PLC0415

        report = check(
            arguments.spec,
            arguments.base_url,
            headers=headers,
            params=params,
            phases=arguments.phase or PHASES,
            options=Options(resources=arguments.resources, deadline=arguments.deadline),
            tolerate=arguments.tolerate,
            no_tolerate=arguments.no_tolerate,
            examples=arguments.examples,
            seed=arguments.seed,
            max_time=arguments.max_time,
            auth=arguments.auth,
            operations=arguments.operation,
            progress=progress,
        )
    except (ValueError, OSError) as error:
        report = Report(arguments.spec.stem)
        report.fail(str(error), EXIT_USAGE)
    except SourceError as error:
        report = Report(arguments.spec.stem)
        report.fail(f"the spec is not usable:\n{error}", EXIT_USAGE)
    summary = report.summary()
    if report.error:  # once, on stderr (the summary names it too: a CI log showed it twice)
        summary = summary.replace(f"comeback check: {report.error}\n", "")
    print(summary)
    if report.error:
        print(f"comeback check: {report.error}", file=sys.stderr)
    for path, text in ((arguments.junit, report.junit), (arguments.report_json, report.as_json)):
        if path is not None:
            path.write_text(text(), encoding="utf-8")
    return report.exit_code


def spec_path(given: Path) -> Path:
    """The spec to check: a file, or the name of a bundled API (``comeback check privategpt``)."""
    if not given.exists() and given.name == str(given) and given.name in API_NAMES:
        return next(path for path in bundled_specs() if path.stem == given.name)
    return given


def _pair(text: str, separator: str) -> tuple[str, str]:
    name, found, value = text.partition(separator)
    if not found or not name.strip():
        raise ValueError(f"{text!r} is not NAME{separator}VALUE")
    return name.strip(), value.strip()
