"""Seeded draws: the ids and tokens the mock mints, per namespace.

Ids and tokens come from the seed, so a replayed session (a test, a Hypothesis example) meets the
same ids and therefore the same fake data; each namespace draws from its own generator. A shared
store gives each process a salt (``StateStore.salt``), so two processes never mint the same id.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable

from mockserver.state.namespaces import DEFAULT_NAMESPACE

# RFC 4122 variant bits (10) and version 4, set as uuid.UUID(..., version=4) sets them
_UUID_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_V4 = (0x8000 << 48) | (4 << 76)


class Draws:
    """One seeded generator per namespace; ``salt()`` is the store's (read when a namespace first draws)."""

    def __init__(self, seed: int, salt: Callable[[], int]) -> None:
        self.seed = seed
        self.salt = salt
        self._generators: dict[str, random.Random] = {}

    def generator(self, namespace: str) -> random.Random:
        found = self._generators.get(namespace)
        if found is None:  # the default namespace in memory: the seed alone, so ids are as they were
            salt, seed = self.salt(), self.seed
            plain = namespace == DEFAULT_NAMESPACE and not salt
            found = random.Random(seed if plain else f"{seed}:{namespace}:{salt}")
            self._generators[namespace] = found
        return found

    def uuid(self, namespace: str) -> str:
        """A version-4 UUID: ``str(uuid.UUID(int=bits, version=4))``, written out directly (the
        ``UUID`` object costs more than the rest of minting an id)."""
        bits = self.generator(namespace).getrandbits(128) & _UUID_KEEP | _UUID_V4
        text = f"{bits:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def token(self, namespace: str, size: int = 32) -> str:
        """URL-safe random text."""
        return base64.urlsafe_b64encode(self.generator(namespace).randbytes(size)).rstrip(b"=").decode()

    def forget(self, namespace: str) -> None:
        """The namespace starts over (a reset): its next draw is its first again."""
        self._generators.pop(namespace, None)
