"""The core's public surface is small and deliberate; changing it should be a conscious act."""

from __future__ import annotations

import lifecycle


def test_exported_members() -> None:
    assert sorted(lifecycle.__all__) == [
        "ApiSpec",
        "ComebackError",
        "Finding",
        "Lifecycle",
        "SourceError",
        "State",
        "load_spec",
    ]
    for name in lifecycle.__all__:
        assert getattr(lifecycle, name).__module__.startswith("lifecycle.")
