"""The catalog: specs and layered scenario folders read from disk, checked together, ready to serve.

Scenario folders are layers, each with one sub-folder per API (``DIR/<api>/<name>.yaml``). The
first is the base (normally the bundled scenarios); each later folder lies over the ones before it:
a file with the same name replaces the scenario, a new name adds one, and the top-most folder that
declares ``default: true`` for an API names its default. An API that has no scenario file in any
folder gets scenarios derived from its lifecycle (``lifecycle.derived``). A spec without an
``x-lifecycle`` block is served statelessly (``StatelessApi``).

Every problem in every file is collected before anything starts, so a bad scenario folder gives
one list of located messages instead of a half-working server. ``ScenarioFiles`` remembers the last
good version of each file, so a reload can keep it when the file on disk turns out broken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecycle import ApiSpec, SourceError
from lifecycle.bundled import API_NAMES, bundled_specs
from lifecycle.derived import derived_scenarios
from lifecycle.findings import Finding, closest, one_of
from lifecycle.lint import lint_document
from lifecycle.model import build_lifecycle
from lifecycle.openapi import Operation, operations
from lifecycle.scenario import Scenario, body_texts, join_texts
from lifecycle.source import Document, load_document
from mockserver.scenario_files import ScenarioFiles, display, read_source

DERIVED = "derived from the lifecycle"
FOLDER_LAYOUT = "a folder with one sub-folder per API, e.g. DIR/letta/NAME.yaml"


@dataclass(frozen=True, slots=True)
class Api:
    """One API ready to serve: its spec, its scenarios by name, and the default scenario's name.

    ``sources`` says where each scenario came from (a file, or ``derived``); ``triggers`` are the
    scenarios with a trigger text, longest first, so ``#slow20`` wins over ``#slow`` in one message.
    """

    spec: ApiSpec
    scenarios: Mapping[str, Scenario]
    default: str
    sources: Mapping[str, str] = field(default_factory=dict)
    triggers: tuple[Scenario, ...] = field(init=False)

    def __post_init__(self) -> None:
        with_text = [s for s in self.scenarios.values() if s.match_text]
        ordered = sorted(with_text, key=lambda s: -len(s.match_text or ""))
        object.__setattr__(self, "triggers", tuple(ordered))

    @property
    def name(self) -> str:
        return self.spec.name

    def choose_by_trigger(self, body: Any) -> Scenario | None:
        """The scenario with the longest trigger text found in the create request ``body``."""
        texts = join_texts(body_texts(body))  # the body's strings, found once for every trigger
        return next((s for s in self.triggers if s.matches_joined(texts)), None)


@dataclass(frozen=True, slots=True)
class StatelessApi:
    """A spec without ``x-lifecycle``: every operation answers schema-valid fake data, nothing is kept."""

    name: str
    document: Document
    operations: Mapping[str, Operation]

    @property
    def data(self) -> Mapping[str, Any]:
        return self.document.data  # type: ignore[no-any-return]

    @property
    def notice(self) -> str:
        """The one line that says what this API lacks and how to get it."""
        return (
            f"comeback mock: {self.name} ({self.document.name}) has no x-lifecycle block, so it is served "
            "statelessly (validated requests, schema-valid fake responses); created resources that walk "
            "a status, scenarios, streams, callbacks, cancel and delete need the block "
            f"(draft one with: comeback init {self.document.name})"
        )


def load_catalog(
    spec_paths: Iterable[Path],
    scenario_dirs: Path | Sequence[Path] | None,
    *,
    apis: Iterable[str] | None = None,
) -> dict[str, Api]:
    """Load specs and their scenarios; raise SourceError with every finding (a spec without
    ``x-lifecycle`` is one of them here: ``load_apis`` is the loader that serves those too)."""
    catalog, stateless = load_apis(spec_paths, scenario_dirs, apis=apis)
    if stateless:
        raise SourceError(
            [
                Finding(api.document.name, 1, "", "missing required key", expected="'x-lifecycle'")
                for api in stateless.values()
            ]
        )
    return catalog


def load_apis(
    spec_paths: Iterable[Path],
    scenario_dirs: Path | Sequence[Path] | None,
    *,
    apis: Iterable[str] | None = None,
    files: ScenarioFiles | None = None,
) -> tuple[dict[str, Api], dict[str, StatelessApi]]:
    """Specs with a lifecycle (and their layered scenarios) and specs without one, by API name.

    ``scenario_dirs`` is the base folder followed by the layers over it (one Path: just a base).
    Raises SourceError with every finding of every file.
    """
    spec_paths = list(spec_paths)
    folders = _folders(scenario_dirs)
    wanted = set(apis) if apis is not None else None
    findings: list[Finding] = []
    specs: list[ApiSpec] = []
    stateless: dict[str, StatelessApi] = {}
    for path in spec_paths:
        name = path.stem
        if wanted is not None and name not in wanted:
            continue
        try:
            loaded = load_any_spec(path, name=name)
        except SourceError as error:
            findings.extend(error.findings)
            continue
        if isinstance(loaded, StatelessApi):
            stateless[name] = loaded
        else:
            specs.append(loaded)
    if wanted is not None:
        known = {spec.name for spec in specs} | set(stateless) | {Path(f.file).stem for f in findings}
        for missing in sorted(wanted - known):
            findings.append(
                Finding(
                    missing,
                    None,
                    "",
                    "unknown API",
                    expected=one_of(p.stem for p in spec_paths),
                    suggestion=closest(missing, [p.stem for p in spec_paths]),
                )
            )
    # a sub-folder for a bundled API is fine when that API is not served (e.g. --specs jobs.yaml)
    findings.extend(folder_findings(folders, sorted({p.stem for p in spec_paths} | set(API_NAMES))))
    files = files or ScenarioFiles()
    catalog: dict[str, Api] = {}
    for spec in specs:
        api = build_api(spec, folders, files, findings)
        if api is not None:
            catalog[spec.name] = api
    if findings:
        raise SourceError(findings)
    return catalog, stateless


def load_any_spec(path: Path, *, name: str | None = None) -> ApiSpec | StatelessApi:
    """A spec with a lifecycle, or a stateless one when it has no ``x-lifecycle`` block."""
    document = load_document(read_source(path), display(path))
    # the OpenAPI meta-check triples start-up time and the example check adds a tenth: the bundled
    # specs pass both in the test suite, so only the user's own specs pay for them (an invalid
    # document must not be served)
    full = path.resolve() not in {bundled.resolve() for bundled in bundled_specs()}
    has_lifecycle = isinstance(document.data, Mapping) and "x-lifecycle" in document.data
    findings = lint_document(
        document, validate_openapi=full, require_lifecycle=has_lifecycle, check_examples=full
    )
    if findings:
        raise SourceError(findings)
    api = name or path.stem
    if not has_lifecycle:
        return StatelessApi(api, document, operations(document.data))
    return ApiSpec(api, document, operations(document.data), build_lifecycle(document.data["x-lifecycle"]))


def folder_findings(folders: Sequence[Path], api_names: Sequence[str]) -> list[Finding]:
    """A missing folder, a scenario file outside an API sub-folder, a sub-folder no spec names."""
    findings: list[Finding] = []
    for folder in folders:
        if not folder.is_dir():
            findings.append(
                Finding(display(folder), None, "", "scenario folder does not exist", expected=FOLDER_LAYOUT)
            )
            continue
        for stray in sorted(folder.glob("*.yaml")):
            findings.append(
                Finding(
                    display(stray),
                    None,
                    "",
                    "scenario file outside an API sub-folder",
                    expected=f"{display(folder)}/<api>/{stray.name} (<api>: {', '.join(api_names)})",
                )
            )
        for misnamed in sorted(folder.glob("*/*.yml")):  # read only as .yaml: say so, not skip silently
            findings.append(
                Finding(
                    display(misnamed),
                    None,
                    "",
                    "scenario files end in .yaml",
                    found=repr(misnamed.name),
                    expected=repr(misnamed.with_suffix(".yaml").name),
                )
            )
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and any(p.glob("*.yaml"))):
            if sub.name not in api_names:
                findings.append(
                    Finding(
                        display(sub),
                        None,
                        "",
                        "scenario sub-folder names no served API",
                        found=repr(sub.name),
                        expected=one_of(api_names),
                        suggestion=closest(sub.name, api_names),
                    )
                )
    return findings


def build_api(
    spec: ApiSpec, folders: Sequence[Path], files: ScenarioFiles, findings: list[Finding]
) -> Api | None:
    """The API with its scenarios layered from ``folders`` (over derived ones when the base folder
    has none for it).

    A broken file adds findings and keeps its last good version; None when the layers do not
    compose (e.g. two defaults in one folder), with the findings saying why.
    """
    layers: list[list[tuple[Scenario, str]]] = []
    for folder in folders:
        layer = []
        for path in sorted((folder / spec.name).glob("*.yaml")) if folder.is_dir() else ():
            scenario = files.load(path, spec, findings)
            if scenario is not None:
                layer.append((scenario, display(path)))
        layers.append(layer)
    where = [display(folder / spec.name) for folder in folders]
    if not layers or not layers[0]:
        # the base folder has nothing for this API (a user's own spec): derived scenarios are its base
        try:
            derived = derived_scenarios(spec.lifecycle, spec.name)
        except SourceError as error:
            findings.extend(error.findings)
            return None
        layers = [[(scenario, DERIVED) for scenario in derived], *layers]
        where = [f"{spec.document.name} (derived)", *where]
    return compose(spec, layers, where, findings)


def compose(
    spec: ApiSpec,
    layers: Sequence[Sequence[tuple[Scenario, str]]],
    where: Sequence[str],
    findings: list[Finding],
) -> Api | None:
    """Lay ``layers`` (scenario, source) over each other, bottom first; None with findings if they clash."""
    before = len(findings)
    scenarios: dict[str, Scenario] = {}
    sources: dict[str, str] = {}
    default: str | None = None
    for layer, place in zip(layers, where, strict=True):
        for scenario, source in layer:
            scenarios[scenario.name] = scenario
            sources[scenario.name] = source
        defaults = sorted(scenario.name for scenario, _ in layer if scenario.default)
        if len(defaults) > 1:
            findings.append(
                Finding(
                    place,
                    None,
                    "",
                    "an API needs exactly one default scenario",
                    found=", ".join(defaults),
                    expected="one file with 'default: true' in this folder",
                )
            )
        elif defaults:
            default = defaults[0]
    if default is None and len(findings) == before:
        findings.append(
            Finding(
                " + ".join(where),
                None,
                "",
                "an API needs exactly one default scenario",
                found="none",
                expected="one file with 'default: true'",
            )
        )
    findings.extend(trigger_findings(scenarios.values()))
    if len(findings) > before or default is None:
        return None
    return Api(spec, scenarios, default, sources)


def trigger_findings(scenarios: Iterable[Scenario]) -> list[Finding]:
    """Two scenarios with the same trigger text (in any case) could never be told apart."""
    findings: list[Finding] = []
    seen: dict[str, Scenario] = {}
    for scenario in scenarios:  # in layer order: the later scenario is the one to change
        if not scenario.match_text:
            continue
        text = scenario.match_text.lower()
        if text in seen:
            findings.append(
                Finding(
                    scenario.source,
                    None,
                    "/match/text_contains",
                    "another scenario has the same trigger, so this one could never be chosen by it",
                    found=repr(scenario.match_text),
                    expected=f"a trigger no other scenario has (scenario {seen[text].name!r} has it)",
                )
            )
        else:
            seen[text] = scenario
    return findings


def _folders(scenario_dirs: Path | Sequence[Path] | None) -> list[Path]:
    if scenario_dirs is None:
        return []
    if isinstance(scenario_dirs, Path):
        return [scenario_dirs]
    return list(scenario_dirs)
