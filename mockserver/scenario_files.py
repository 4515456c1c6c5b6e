"""Scenario files as read: each file's text, checked against its spec, and the last good version of
each (``ScenarioFiles``), so a reload can keep it when the file on disk turns out broken; how files
are read (``read_source``: UTF-8 or a located finding) and named in messages (``display``)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from lifecycle import ApiSpec, SourceError
from lifecycle.findings import Finding
from lifecycle.scenario import Scenario, load_scenario


class ScenarioFiles:
    """The last good version of every scenario file read, by path (checked against which spec)."""

    def __init__(self) -> None:
        self._good: dict[Path, tuple[str, ApiSpec, Scenario]] = {}
        self._checked: dict[Path, tuple[str, ApiSpec, Scenario | SourceError]] = {}

    def check(self, path: Path, spec: ApiSpec) -> None:
        """Check ``path`` ahead of ``load``, which then parses nothing: the watcher does this in a
        worker thread, so a hostile file's parse never holds up the event loop."""
        with contextlib.suppress(SourceError):  # unreadable: ``load`` reports it
            text = read_source(path)
            kept = self._good.get(path.resolve())
            if kept is not None and kept[0] == text and kept[1] is spec:
                return  # unchanged since it last loaded
            outcome: Scenario | SourceError
            try:
                outcome = load_scenario(text, display(path), spec.lifecycle, api=spec.name)
            except SourceError as error:
                outcome = error
            self._checked[path.resolve()] = (text, spec, outcome)

    def load(self, path: Path, spec: ApiSpec, findings: list[Finding]) -> Scenario | None:
        """The file's scenario; when it is broken, its findings and the last good version (if any)."""
        kept = self._good.get(path.resolve())
        checked = self._checked.pop(path.resolve(), None)
        try:
            text = read_source(path)
            if kept is not None and kept[0] == text and kept[1] is spec:
                return kept[2]
            outcome = (
                checked[2]
                if checked is not None and checked[0] == text and checked[1] is spec
                else load_scenario(text, display(path), spec.lifecycle, api=spec.name)
            )
            if isinstance(outcome, SourceError):
                raise outcome
        except SourceError as error:
            findings.extend(error.findings)
            return kept[2] if kept is not None and kept[1] is spec else None
        self._good[path.resolve()] = (text, spec, outcome)
        return outcome


def read_source(path: Path) -> str:
    """A spec or scenario file's text; ``SourceError`` (file, line of the first bad byte) if it
    cannot be read or is not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SourceError([Finding(display(path), None, "", f"cannot read: {error.strerror}")]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        finding = Finding(
            display(path),
            line,
            "",
            "not UTF-8 text",
            found=f"byte 0x{raw[error.start]:02x} at offset {error.start}",
            expected="a UTF-8 encoded YAML or JSON file",
        )
        raise SourceError([finding]) from None


def display(path: Path) -> str:
    """A path as users typed it or relative to the working directory, for messages."""
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()
