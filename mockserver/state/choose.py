"""Which ``StateStore`` a ``--store`` value names: ``memory`` (the default) or a network store URL."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from lifecycle.errors import ComebackError

if TYPE_CHECKING:
    from mockserver.masking import Masker
    from mockserver.settings import Settings
    from mockserver.state.base import StateStore

MEMORY = "memory"
NETWORK_SCHEMES = ("redis://", "rediss://", "valkey://", "unix://")


class StoreChoiceError(ComebackError):
    """A ``--store`` value that names no store this mock has."""


def make_store(url: str, settings: Settings, masker: Masker) -> StateStore:
    """The store ``url`` names (not yet opened); ``masker`` masks the journal's credentials."""
    if url == MEMORY:
        from mockserver.state.memory import MemoryStore  # noqa: PLC0415

        return MemoryStore(settings, masker)
    if url.startswith(NETWORK_SCHEMES):
        # by name: the redis package is imported only when a network store is asked for
        module = importlib.import_module("mockserver.state.redis")
        store: StateStore = module.RedisStore(url, settings, masker)
        return store
    raise StoreChoiceError(f"--store {url!r}: expected 'memory' or a URL such as redis://127.0.0.1:6379/0")
