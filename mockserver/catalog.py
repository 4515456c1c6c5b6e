"""The catalog: specs and scenarios read from disk, checked together, ready to serve.

Every problem in every file is collected before anything starts, so a bad scenario folder gives
one list of located messages instead of a half-working server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lifecycle import ApiSpec, SourceError, load_spec
from lifecycle.bundled import bundled_specs
from lifecycle.findings import Finding
from lifecycle.scenario import Scenario, load_scenario


@dataclass(frozen=True, slots=True)
class Api:
    """One API ready to serve: its spec, its scenarios by name, and the default scenario's name."""

    spec: ApiSpec
    scenarios: Mapping[str, Scenario]
    default: str

    @property
    def name(self) -> str:
        return self.spec.name


def load_catalog(
    spec_paths: Iterable[Path], scenario_dir: Path | None, *, apis: Iterable[str] | None = None
) -> dict[str, Api]:
    """Load specs (and each one's ``scenario_dir/<api>/*.yaml``); raise SourceError with every finding."""
    wanted = set(apis) if apis is not None else None
    findings: list[Finding] = []
    specs: list[ApiSpec] = []
    checked = {path.resolve() for path in bundled_specs()}
    for path in spec_paths:
        name = path.stem
        if wanted is not None and name not in wanted:
            continue
        try:
            # the OpenAPI meta-check triples start-up time: the bundled specs pass it in the test
            # suite, so only the user's own specs pay for it (an invalid document must not be served)
            full = path.resolve() not in checked
            specs.append(load_spec(read_source(path), _display(path), name=name, validate_openapi=full))
        except SourceError as error:
            findings.extend(error.findings)
    if wanted is not None:
        for missing in sorted(wanted - {spec.name for spec in specs} - {Path(f.file).stem for f in findings}):
            findings.append(
                Finding(
                    missing,
                    None,
                    "",
                    "unknown API",
                    expected="one of " + ", ".join(sorted(p.stem for p in spec_paths)),
                )
            )
    catalog: dict[str, Api] = {}
    for spec in specs:
        folder = scenario_dir / spec.name if scenario_dir is not None else None
        scenarios = _load_scenarios(spec, folder, findings)
        defaults = [s.name for s in scenarios.values() if s.default]
        where = _display(folder) if folder is not None else spec.name
        if len(defaults) != 1:
            findings.append(
                Finding(
                    where,
                    None,
                    "",
                    "an API needs exactly one default scenario",
                    found=", ".join(defaults) or "none",
                    expected="one file with 'default: true'",
                )
            )
            continue
        catalog[spec.name] = Api(spec, scenarios, defaults[0])
    if findings:
        raise SourceError(findings)
    return catalog


def _load_scenarios(spec: ApiSpec, folder: Path | None, findings: list[Finding]) -> dict[str, Scenario]:
    scenarios: dict[str, Scenario] = {}
    for path in sorted(folder.glob("*.yaml")) if folder is not None and folder.is_dir() else ():
        try:
            scenario = load_scenario(read_source(path), _display(path), spec.lifecycle, api=spec.name)
        except SourceError as error:
            findings.extend(error.findings)
            continue
        scenarios[scenario.name] = scenario
    triggers = sorted((s.match_text.lower(), s) for s in scenarios.values() if s.match_text)
    for text, scenario in triggers:
        for other_text, other in triggers:
            if other is not scenario and text in other_text:
                findings.append(
                    Finding(
                        other.source,
                        None,
                        "/match/text_contains",
                        "trigger contains another scenario's trigger, so both would match",
                        found=repr(other_text),
                        expected=f"a text that does not contain {text!r} (scenario {scenario.name!r})",
                    )
                )
    return scenarios


def read_source(path: Path) -> str:
    """A spec or scenario file's text; ``SourceError`` (file, line of the first bad byte) if it
    cannot be read or is not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SourceError([Finding(_display(path), None, "", f"cannot read: {error.strerror}")]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        finding = Finding(
            _display(path),
            line,
            "",
            "not UTF-8 text",
            found=f"byte 0x{raw[error.start]:02x} at offset {error.start}",
            expected="a UTF-8 encoded YAML or JSON file",
        )
        raise SourceError([finding]) from None


def _display(path: Path) -> str:
    """A path as users typed it or relative to the working directory, for messages."""
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()
