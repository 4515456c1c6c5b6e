"""``comeback serve --store``: memory, or a Redis that several mock processes share.

The URL is checked as the command line is read (argparse's exit 2 with the reason), and the server
is asked once before anything is served (``check``); an unreachable store is exit 2 naming it.
"""

from __future__ import annotations

import argparse

from mockserver.state.store_url import MEMORY, StoreUrlError, parse_store, unreachable


def store_value(text: str) -> str:
    """argparse type of ``--store``: the text itself, once it parses."""
    try:
        parse_store(text)
    except StoreUrlError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=MEMORY,
        type=store_value,
        metavar="URL",
        help="where resources, clock, scenario queue, journal and tokens live: 'memory' (this process) "
        "or redis://HOST:PORT/DB (Redis 6.2+ or Valkey), shared by every --workers process and every "
        "instance started with the same URL, which then act as one mock (default: %(default)s)",
    )


def check(store: str) -> str | None:
    """Why serving cannot start on ``store`` (None: memory, or a Redis that answers)."""
    location = parse_store(store)
    return None if location is None else unreachable(location)


def describe(store: str) -> str:
    """``store`` as messages show it: a Redis URL without its password."""
    location = parse_store(store)
    return MEMORY if location is None else location.shown
