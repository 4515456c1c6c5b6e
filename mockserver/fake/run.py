"""The state of one `FakeData.value()` call, and the depth and retry limits that generation obeys."""

from __future__ import annotations

import random
from typing import Final

DEPTH_LIMIT: Final = 6  # from here on: required properties only, minimal arrays (stops recursive schemas)
SHALLOW: Final = 3  # above this depth every optional property is present; between, each one by coin flip
HARD_DEPTH: Final = 40  # a schema that *requires* infinite nesting gets cut here rather than overflow
ATTEMPTS: Final = 12  # retries for values checked after generation (`not`, oneOf, conflicting allOf parts)


class Run:
    """State of one `value()` call: its RNG and whether the shared Faker has been seeded for it yet."""

    __slots__ = ("faker_ready", "rng", "seed", "sparse")

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.faker_ready = False
        # Raised while retrying a oneOf branch: 1 makes optional properties coin flips, 2 drops them.
        self.sparse = 0
