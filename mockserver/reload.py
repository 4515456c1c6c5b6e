"""Hot reload: changed scenario files (and specs) are re-checked and swapped in while the mock runs.

``watching(engine)`` runs one ``watchfiles`` watcher (the Rust notify library uvicorn's --reload
also uses: inotify/FSEvents, no polling loop) over the scenario folders and spec files for as long
as the app lives. On a change, every API is rebuilt from its files: an unchanged file is reused, a
changed one is checked again, a broken one keeps its last good version and its findings are logged.
The scenario book (``Engine.book``) swaps the new ``Api`` in with one dict assignment on the event
loop, so a request sees either the old or the new scenarios, never a mix; resources already
created keep walking the scenario they started with (their timeline holds it).

A changed spec is re-checked too: when it is broken, or its scenarios do not fit it, or a resource
in flight is in a state it no longer has, the findings are logged and the previous spec stays;
otherwise the API's routes, validation, vendor and rendering are rebuilt from it (``serve_spec``,
given by the app) and swapped in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

from watchfiles import awatch

from lifecycle import ApiSpec, SourceError
from lifecycle.findings import Finding
from lifecycle.scenario import scenario_from_data
from mockserver.catalog import Api, StatelessApi, build_api, load_any_spec
from mockserver.engine import Engine
from mockserver.scenario_files import ScenarioFiles, display

log = logging.getLogger("comeback.reload")  # `comeback serve` shows it on stderr (see show_reloads)


PUT_SOURCE = "PUT /__mock/scenarios"


class Reloader:
    """Rebuilds the engine's APIs from their files; keeps the last good version of each file."""

    def __init__(
        self,
        engine: Engine,
        serve_spec: Callable[[Api], None] | None = None,
        files: ScenarioFiles | None = None,
    ) -> None:
        """``files``: the scenario files the engine's APIs were built from, when the caller kept them."""
        self.engine = engine
        self.serve_spec = serve_spec
        self.folders = list(engine.settings.scenario_folders())
        self.specs = {path.stem: path for path in engine.settings.spec_paths if path.stem in engine.book}
        self._spec_texts = {name: _text(path) for name, path in self.specs.items()}
        self._checked_specs: dict[str, tuple[str | None, ApiSpec | StatelessApi | SourceError]] = {}
        if files is not None:  # they already remember the versions the server started with
            self.files = files
            return
        # a catalog loaded elsewhere (a test's): read the files once to remember those versions
        self.files = ScenarioFiles()
        findings: list[Finding] = []
        for _, api in engine.book.file_apis():
            build_api(api.spec, self.folders, self.files, findings)

    def paths(self) -> list[Path]:
        """What to watch: the scenario folders that exist and the spec files."""
        return [folder for folder in self.folders if folder.is_dir()] + list(self.specs.values())

    def check_files(self) -> None:
        """Parse and check every changed spec and scenario file ahead of ``reload`` (thread-safe: it
        changes nothing the engine serves), so the reload on the event loop finds them checked."""
        for name, path in list(self.specs.items()):
            text = _text(path)
            if text != self._spec_texts.get(name):
                outcome: ApiSpec | StatelessApi | SourceError
                try:
                    outcome = load_any_spec(path, name=name)
                except SourceError as error:
                    outcome = error
                self._checked_specs[name] = (text, outcome)
        for _, api in self.engine.book.file_apis():
            for folder in self.folders:
                for path in sorted((folder / api.spec.name).glob("*.yaml")) if folder.is_dir() else ():
                    self.files.check(path, api.spec)

    async def reload(self, changed: Iterable[str] = ()) -> list[Finding]:
        """Re-check every API's files and swap in what changed; returns (and logs) the findings."""
        findings: list[Finding] = []
        book = self.engine.book
        for name, api in book.file_apis():
            spec = await self._spec(name, api.spec, findings)
            rebuilt = build_api(spec, self.folders, self.files, findings)
            if rebuilt is None:
                log.warning("%s: scenarios not reloaded; the previous ones stay in use", name)
                continue
            old = book.file_api(name)
            if rebuilt.scenarios != old.scenarios or rebuilt.default != old.default:
                if not book.replace_files(name, rebuilt, findings):
                    log.warning("%s: scenarios not reloaded; the previous ones stay in use", name)
                    continue
                log.info("%s: scenarios reloaded: %s", name, _difference(old, rebuilt))
        if findings:
            log.warning(
                "%d problem(s); the previous version of each broken file stays in use:", len(findings)
            )
        elif getattr(self, "_broken", False):  # the last reload kept broken files out: say it is over
            log.info("the problems are fixed: every file is in use as written")
        self._broken = bool(findings)
        for finding in findings:
            log.warning("  %s", finding)
        if changed:
            log.debug("changed files: %s", ", ".join(sorted(changed)))
        return findings

    async def _spec(self, name: str, current: ApiSpec, findings: list[Finding]) -> ApiSpec:
        """The served spec; a changed spec file is re-checked and its problems reported."""
        path = self.specs.get(name)
        if path is None:
            return current
        text = _text(path)
        if text == self._spec_texts.get(name):
            return current
        try:
            checked = self._checked_specs.pop(name, None)
            loaded = (
                checked[1] if checked is not None and checked[0] == text else load_any_spec(path, name=name)
            )
            if isinstance(loaded, SourceError):
                raise loaded
        except SourceError as error:
            self._spec_texts[name] = text  # reported once, not again on every other change
            findings.extend(error.findings)
            log.warning("%s: the changed spec has problems; the previous one stays in use", display(path))
            return current
        if not isinstance(loaded, ApiSpec) or self.serve_spec is None:
            self._spec_texts[name] = text
            log.warning("%s changed; restart the mock to serve it", display(path))
            return current
        swapped = await self._swap_spec(name, loaded, findings)  # refused: tried again on the next change
        if swapped is not None:
            self._spec_texts[name] = text
        return swapped or current

    async def _swap_spec(self, name: str, spec: ApiSpec, findings: list[Finding]) -> ApiSpec | None:
        """Serve the changed, valid ``spec``; None (and findings) when it cannot take over now."""
        before = len(findings)
        api = build_api(spec, self.folders, self.files, findings)
        in_flight = await self.engine.state.resources(None, name)
        stranded = sorted({r.timeline.state for r in in_flight} - set(spec.lifecycle.states))
        if stranded:
            findings.append(
                Finding(
                    spec.document.name,
                    None,
                    "/x-lifecycle/states",
                    "resources in flight are in states the changed spec removes; "
                    "reset or wait, then save again",
                    found=", ".join(stranded),
                )
            )
        for scenario in self.engine.book.uploaded(name).values():  # PUT ones must fit it too
            try:
                scenario_from_data(
                    dict(scenario.data), scenario.source, spec.lifecycle, name=scenario.name, api=name
                )
            except SourceError as error:
                findings.extend(error.findings)
        if api is None or len(findings) > before:
            log.warning("%s: the changed spec is not served; the previous one stays in use", name)
            return None
        if not self.engine.book.replace_files(name, api, findings):
            return None
        assert self.serve_spec is not None
        self.serve_spec(self.engine.book[name])
        log.info("%s: the changed spec is served (%d operations)", name, len(spec.operations))
        return spec


def show_reloads() -> None:
    """Print what reloads do (reloaded, kept, findings) on stderr: the command line calls this, since
    a user who edits a scenario file wants to see that it took."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("comeback mock: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


@contextlib.asynccontextmanager
async def watching(
    engine: Engine,
    *,
    enabled: bool,
    serve_spec: Callable[[Api], None] | None = None,
    files: ScenarioFiles | None = None,
) -> AsyncIterator[Reloader | None]:
    """Watch and reload while the block runs (nothing at all when not ``enabled``); ``serve_spec``
    rebuilds an API's routes for a changed spec; ``files`` are the scenario files the catalog was
    loaded from (without them, every file is read and checked again at start)."""
    if not enabled:
        yield None
        return
    reloader = Reloader(engine, serve_spec, files)
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(_watch(reloader, stop))
    try:
        yield reloader
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _watch(reloader: Reloader, stop: asyncio.Event) -> None:
    paths = reloader.paths()
    if not paths:
        return
    # step/debounce: group an editor's write-rename-chmod burst into one reload, yet react in ~0.1 s
    async for changes in awatch(*paths, stop_event=stop, debounce=400, step=50):
        try:
            await asyncio.to_thread(reloader.check_files)  # a hostile file is parsed off the event loop
            await reloader.reload(path for _, path in changes)
        except Exception:  # a reload must never take the server down
            log.exception("reload failed; the previous scenarios stay in use")


def _difference(old: Api, new: Api) -> str:
    """What a reload changed, e.g. ``mine (changed), extra (added), default: mine``."""
    names = sorted(set(old.scenarios) | set(new.scenarios))
    parts = []
    for name in names:
        if name not in old.scenarios:
            parts.append(f"{name} (added)")
        elif name not in new.scenarios:
            parts.append(f"{name} (removed)")
        elif old.scenarios[name] != new.scenarios[name]:
            parts.append(f"{name} (changed)")
    if old.default != new.default:
        parts.append(f"default: {new.default}")
    return ", ".join(parts)


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None
