"""``comeback scenarios``: the scenarios ``serve`` would use, so nobody has to find them on disk.

    comeback scenarios list [API]              name, trigger, description and source of each
    comeback scenarios show API NAME           one scenario in full, as its file says it

Both take the same ``--specs``, ``--scenarios DIR`` and ``--only-scenarios`` as ``serve``, so they
show the effective set: bundled files, the folders laid over them, and scenarios derived from a
lifecycle. ``show`` prints YAML that can be saved as ``DIR/<api>/<name>.yaml`` and edited.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from comeback.helptext import description
from comeback.scenario_options import add_scenario_options, scenario_folders
from lifecycle.bundled import bundled_specs
from lifecycle.errors import SourceError
from lifecycle.findings import closest
from lifecycle.scenario import scenario_to_data
from mockserver.catalog import DERIVED, Api, load_apis

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scenarios",
        help="list the scenarios serve would use, or show one in full",
        description=description(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(title="actions", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every scenario of every API (or of one)")
    listing.add_argument("api", nargs="?", help="only this API (default: all)")
    show = actions.add_parser("show", help="one scenario in full, as YAML")
    show.add_argument("api", help="the API, e.g. letta")
    show.add_argument("name", help="the scenario, e.g. failed")
    for sub in (listing, show):
        sub.add_argument(
            "--specs", type=Path, nargs="+", metavar="FILE", help="spec files (default: the bundled specs)"
        )
        add_scenario_options(sub)
    listing.set_defaults(run=run_list)
    show.set_defaults(run=run_show)


def _load(arguments: argparse.Namespace) -> dict[str, Api] | None:
    try:
        catalog, _ = load_apis(arguments.specs or bundled_specs(), scenario_folders(arguments))
    except SourceError as error:
        for finding in error.findings:
            print(finding, file=sys.stderr)
        print(
            f"comeback scenarios: {len(error.findings)} problem(s) in the specs or scenarios", file=sys.stderr
        )
        return None
    return catalog


def _api(catalog: dict[str, Api], name: str) -> Api | None:
    if name in catalog:
        return catalog[name]
    hint = closest(name, catalog)
    suggestion = f"; did you mean {hint!r}?" if hint else ""
    print(
        f"comeback scenarios: no API {name!r}; known: {', '.join(sorted(catalog))}{suggestion}",
        file=sys.stderr,
    )
    return None


def run_list(arguments: argparse.Namespace) -> int:
    catalog = _load(arguments)
    if catalog is None:
        return EXIT_USAGE
    names = sorted(catalog)
    if arguments.api is not None:
        if _api(catalog, arguments.api) is None:
            return EXIT_USAGE
        names = [arguments.api]
    for name in names:
        api = catalog[name]
        print(f"{name} (default: {api.default})")
        width = max(len(s) for s in api.scenarios)
        for scenario in sorted(api.scenarios.values(), key=lambda s: s.name):
            trigger = f" [{scenario.match_text}]" if scenario.match_text else ""
            print(
                f"  {scenario.name:<{width}}  {scenario.description}{trigger}  ({api.sources[scenario.name]})"
            )
    return EXIT_OK


def run_show(arguments: argparse.Namespace) -> int:
    catalog = _load(arguments)
    if catalog is None:
        return EXIT_USAGE
    api = _api(catalog, arguments.api)
    if api is None:
        return EXIT_USAGE
    scenario = api.scenarios.get(arguments.name)
    if scenario is None:
        hint = closest(arguments.name, api.scenarios)
        suggestion = f"; did you mean {hint!r}?" if hint else ""
        print(
            f"comeback scenarios: {api.name} has no scenario {arguments.name!r}; "
            f"known: {', '.join(sorted(api.scenarios))}{suggestion}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    source = api.sources[scenario.name]
    save_as = f"DIR/{api.name}/{scenario.name}.yaml"
    print(f"# {api.name}/{scenario.name} from {source}; save as {save_as} to change it")
    if source != DERIVED and Path(source).is_file():
        print(Path(source).read_text(encoding="utf-8").rstrip("\n"))
    else:
        print(
            yaml.safe_dump(scenario_to_data(scenario), sort_keys=False, allow_unicode=True, width=100).rstrip(
                "\n"
            )
        )
    return EXIT_OK
