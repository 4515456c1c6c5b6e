"""``comeback lint``: specs and scenarios, files and folders, told apart by what they contain.

    comeback lint openapi/*.yaml                 specs: OpenAPI 3.1, x-lifecycle, their consistency
    comeback lint my-scenarios/                  every scenario file, checked against its API's lifecycle,
                                                 and the folder laid over the bundled set as serve would
    comeback lint jobs.yaml my-scenarios/        a spec and the scenarios for it together
    comeback lint --coverage openapi/letta.yaml  every rule the spec states and the check that judges it

A file with an ``openapi`` key is a spec; one with ``steps`` is a scenario, checked against the
lifecycle of the spec its ``api`` names (specs given in the same run or with ``--specs`` first,
then the bundled ones). Every finding has the same shape; exit 0 clean, 1 findings, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from comeback.helptext import description
from lifecycle.bundled import bundled_scenarios, bundled_specs
from lifecycle.errors import SourceError
from lifecycle.findings import Finding, closest, one_of
from lifecycle.lint import lint_document
from lifecycle.scenario import scenario_from_document
from lifecycle.source import Document, load_document
from lifecycle.spec import ApiSpec
from mockserver.catalog import build_api, load_any_spec
from mockserver.scenario_files import ScenarioFiles, display, read_source

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
STATELESS_NOTE = (
    "{path}: note: no x-lifecycle block, so `comeback serve` mocks it statelessly (validated requests, "
    "schema-valid fake responses); resources that walk a status, scenarios, streams, cancel and delete "
    "need the block: draft one with: comeback init {path}"
)


def add_parser(subparsers: Any) -> None:
    lint = subparsers.add_parser(
        "lint",
        help="check specs and scenario files or folders (told apart by content)",
        description=description(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lint.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="spec or scenario files, or folders of them (default: the bundled specs)",
    )
    lint.add_argument(
        "--specs",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="specs whose lifecycles the scenarios are checked against (default: those given as PATHs, "
        "then the bundled specs)",
    )
    lint.add_argument(
        "--coverage",
        action="store_true",
        help="instead of linting, list every rule each spec declares (x-lifecycle.rules), where it is "
        "stated and the live check of `comeback check` that judges it; exit 1 if a rule has neither a "
        "check nor a decision saying why (default: off)",
    )
    lint.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    paths: list[Path] = arguments.paths or bundled_specs()
    if arguments.coverage:
        return coverage(paths)
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json")))
        elif path.is_file():
            files.append(path)
        else:
            print(Finding(str(path), None, "", "cannot read: no such file or folder"), file=sys.stderr)
            return EXIT_USAGE
    documents: list[Document] = []
    findings: list[Finding] = []
    for path in files:
        try:
            text = read_source(path)
        except SourceError as error:  # unreadable or not UTF-8: a usage error, as for serve
            for finding in error.findings:
                print(finding, file=sys.stderr)
            return EXIT_USAGE
        try:
            documents.append(load_document(text, display(path)))
        except SourceError as error:
            findings.extend(error.findings)
    spec_documents = [d for d in documents if _kind(d) == "spec"]
    for document in spec_documents:
        # a spec without x-lifecycle is not wrong: serve mocks it statelessly; say what init adds
        findings.extend(lint_document(document, require_lifecycle=False))
        if isinstance(document.data, dict) and "x-lifecycle" not in document.data:
            print(STATELESS_NOTE.format(path=document.name), file=sys.stderr)
    specs = _specs(arguments.specs or [], spec_documents, findings)
    for document in documents:
        kind = _kind(document)
        if kind == "scenario":
            findings.extend(_scenario_findings(document, specs))
        elif kind is None:
            findings.append(
                document.finding(
                    "",
                    "neither a spec nor a scenario",
                    expected="an OpenAPI document ('openapi: 3.1.0') or a scenario ('api', 'description', "
                    "'steps')",
                )
            )
    for folder in (p for p in paths if p.is_dir()):
        findings.extend(_layer_findings(folder, specs, findings))
    for finding in findings:
        print(finding)
    print(f"{len(files)} file(s) checked, {len(findings)} finding(s)", file=sys.stderr)
    return EXIT_FINDINGS if findings else EXIT_OK


def coverage(paths: Sequence[Path]) -> int:
    """Print, per spec, each declared rule: its kind, the check that judges it (and after which
    phase) or the decision that says why none can, and where it is stated."""
    from contracts.rules import check_for  # noqa: PLC0415 (the kit only when asked for)

    uncovered = 0
    for path in paths:
        try:
            loaded = load_any_spec(path)
        except SourceError as error:
            for finding in error.findings:
                print(finding, file=sys.stderr)
            return EXIT_FINDINGS
        if not isinstance(loaded, ApiSpec):
            print(f"{display(path)}: no x-lifecycle, so no rules", file=sys.stderr)
            return EXIT_FINDINGS
        rules = loaded.lifecycle.rules
        decided = {d.ambiguity for d in loaded.lifecycle.decisions}
        judged = [r for r in rules if check_for(r) is not None]
        print(
            f"{display(path)}: {len(rules)} rule(s), {len(judged)} checked live, "
            f"{len(rules) - len(judged)} unchecked"
        )
        for rule in rules:
            found = check_for(rule)
            if found is not None:
                verdict = f"{found.name} after the {found.phase} phase ({found.judges})"
            elif rule.decision in decided:
                verdict = f"no live check: decision {rule.decision} says why"
            else:
                verdict = "NO CHECK and no decision"
                uncovered += 1
            print(f"  {rule.id} ({rule.kind}): {verdict}")
            print(f"      stated: {' '.join(rule.stated.split())}")
    return EXIT_FINDINGS if uncovered else EXIT_OK


def _kind(document: Document) -> str | None:
    data = document.data
    if not isinstance(data, Mapping):
        return None
    if "openapi" in data or "paths" in data:
        return "spec"
    if "steps" in data or ("api" in data and "description" in data):
        return "scenario"
    return None


def _specs(extra: Sequence[Path], linted: Sequence[Document], findings: list[Finding]) -> dict[str, ApiSpec]:
    """Specs by API name: the bundled ones, overridden by specs linted here, then by --specs."""
    specs: dict[str, ApiSpec] = {}
    for path in [*bundled_specs(), *(Path(d.name) for d in linted), *extra]:
        try:
            loaded = load_any_spec(path)
        except SourceError as error:
            if path in extra:
                findings.extend(error.findings)
            continue
        if isinstance(loaded, ApiSpec):
            specs[loaded.name] = loaded
    return specs


def _scenario_findings(document: Document, specs: Mapping[str, ApiSpec]) -> list[Finding]:
    data = document.data
    api = data.get("api")
    if not isinstance(api, str) or api not in specs:
        return [
            document.finding(
                "/api",
                "no spec with a lifecycle for this API",
                found=repr(api),
                expected=one_of(specs) + " (or give its spec with --specs FILE)",
                suggestion=closest(api, specs) if isinstance(api, str) else None,
            )
        ]
    folder = Path(document.name).parent.name
    try:
        scenario_from_document(document, specs[api].lifecycle, api=folder if folder in specs else None)
    except SourceError as error:
        return list(error.findings)
    return []


def _layer_findings(folder: Path, specs: Mapping[str, ApiSpec], reported: list[Finding]) -> list[Finding]:
    """What serve would say of ``folder`` laid over the bundled scenarios (two defaults, equal
    triggers), beyond the findings of the files themselves."""
    already = {str(finding) for finding in reported}
    findings: list[Finding] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and p.name in specs):
        found: list[Finding] = []
        build_api(specs[sub.name], [bundled_scenarios(), folder], ScenarioFiles(), found)
        findings.extend(f for f in found if str(f) not in already)
    return findings
