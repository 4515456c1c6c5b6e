"""Where the bundled specs and scenarios live: inside the wheel, or at the top of a source checkout.

Only paths are computed here; callers read the files."""

from __future__ import annotations

from pathlib import Path

API_NAMES = ("privategpt", "chatzy", "invent", "letta")
_PACKAGE = Path(__file__).resolve().parent


def bundled_dir(kind: str) -> Path:
    """The bundled ``openapi`` (or ``scenarios``) folder: packaged copy first, then the checkout's."""
    packaged = _PACKAGE / "bundled" / kind
    return packaged if packaged.is_dir() else _PACKAGE.parent / kind


def bundled_scenarios() -> Path:
    """The bundled scenarios folder (one sub-folder per API)."""
    return bundled_dir("scenarios")


def bundled_specs() -> list[Path]:
    """The four bundled spec files, in a fixed order."""
    folder = bundled_dir("openapi")
    return [folder / f"{name}.yaml" for name in API_NAMES]
