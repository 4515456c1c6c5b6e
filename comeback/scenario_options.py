"""The scenario-folder options shared by ``serve``, ``scenarios`` and ``lint``."""

from __future__ import annotations

import argparse
from pathlib import Path

from lifecycle.bundled import bundled_scenarios


def add_scenario_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenarios",
        type=Path,
        action="append",
        metavar="DIR",
        help="a scenario folder (DIR/<api>/NAME.yaml) laid over the bundled scenarios: the same name "
        "replaces one, a new name adds one, 'default: true' takes the default; repeatable, later "
        "folders win (default: none)",
    )
    parser.add_argument(
        "--only-scenarios",
        action="store_true",
        help="use only the --scenarios folders, not the bundled scenarios under them (default: off)",
    )


def scenario_folders(arguments: argparse.Namespace) -> tuple[Path, ...]:
    """The base folder (bundled, unless --only-scenarios) followed by the --scenarios layers."""
    base = () if arguments.only_scenarios else (bundled_scenarios(),)
    return (*base, *(arguments.scenarios or ()))
