"""The scenario book: which scenarios each API has, and which one a new resource walks.

One owner for what used to be five dicts on the engine: the APIs as their files make them (hot
reload replaces them), the scenarios uploaded while running (``PUT /__mock/scenarios`` or a test's
``add_scenario``), laid over the files, the API each request sees (files + uploads, swapped in one
assignment so a request sees the old or the new one, never a mix), and, through the state store,
each namespace's queue and chosen default. Nothing else writes any of these.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from lifecycle import SourceError
from lifecycle.errors import ComebackError
from lifecycle.findings import Finding, closest
from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario, scenario_from_data
from mockserver.catalog import Api, trigger_findings
from mockserver.state.base import StateStore


class UnknownScenarioError(ComebackError, LookupError):
    """The create call named a scenario this API does not have."""

    def __init__(self, api: str, name: str, known: list[str]) -> None:
        self.known = known
        hint = f"; did you mean {close!r}?" if (close := closest(name, known)) else ""
        super().__init__(f"unknown scenario {name!r} for {api}; known scenarios: {', '.join(known)}{hint}")


class ScenarioBook:
    """The scenarios of every served API, per namespace where they differ (queue, default)."""

    def __init__(self, catalog: Mapping[str, Api], state: StateStore) -> None:
        self._served = dict(catalog)  # a copy: a catalog may be shared by several mocks
        self._files = dict(catalog)  # each API as its files make it
        self._uploaded: dict[str, dict[str, Scenario]] = {}  # over the files, in upload order
        self.served: Mapping[str, Api] = MappingProxyType(self._served)  # what requests see
        self.state = state

    def __getitem__(self, api: str) -> Api:
        return self._served[api]

    def __contains__(self, api: object) -> bool:
        return api in self._served

    def __iter__(self) -> Iterator[str]:
        return iter(self._served)

    def lifecycle(self, api: str) -> Lifecycle:
        return self._served[api].spec.lifecycle

    def file_apis(self) -> list[tuple[str, Api]]:
        return list(self._files.items())

    def file_api(self, api: str) -> Api:
        return self._files[api]

    def uploaded(self, api: str) -> Mapping[str, Scenario]:
        return MappingProxyType(self._uploaded.get(api, {}))

    # -- choosing -------------------------------------------------------------------------------
    async def choose(self, namespace: str, api: str, requested: str | None, body: Any) -> Scenario:
        """The header's scenario, else a queued one, else the first whose trigger text is in the body,
        else the default."""
        served = self._served[api]
        if requested:
            if requested not in served.scenarios:
                raise UnknownScenarioError(api, requested, sorted(served.scenarios))
            return served.scenarios[requested]
        while (queued := await self.state.next_queued(namespace, api)) is not None:
            found = self._queued_scenario(api, queued)
            if found is not None:
                return found
        return served.choose_by_trigger(body) or served.scenarios[await self.default(namespace, api)]

    def _queued_scenario(self, api: str, entry: Mapping[str, Any]) -> Scenario | None:
        data = entry.get("data")
        if data is None:  # one of the API's scenarios (gone since, if a reload removed it: skipped)
            return self._served[api].scenarios.get(entry["name"])
        return scenario_from_data(
            dict(data), entry["source"], self.lifecycle(api), name=entry["name"], api=api
        )

    async def queue(self, namespace: str, api: str, scenario: Scenario) -> None:
        """Walk ``scenario`` with the next resource created on ``api`` (queued ones go in order); one
        the API does not serve (a test's inline scenario) is queued with its data."""
        served = self._served[api].scenarios.get(scenario.name) is scenario
        data = None if served else dict(scenario.data)
        await self.state.queue(
            namespace, api, {"name": scenario.name, "data": data, "source": scenario.source}
        )

    async def queued(self, namespace: str, api: str) -> list[str]:
        return [entry["name"] for entry in await self.state.queued(namespace, api)]

    async def default(self, namespace: str, api: str) -> str:
        """The admin API's choice while it still exists, else the files' and uploads' default."""
        chosen = await self.state.default(namespace, api)
        served = self._served[api]
        return chosen if chosen is not None and chosen in served.scenarios else served.default

    async def set_default(self, namespace: str, api: str, name: str) -> None:
        # the served default itself is no choice: the default then follows the files and uploads
        await self.state.set_default(namespace, api, None if name == self._served[api].default else name)

    # -- changing -------------------------------------------------------------------------------
    def refresh(self, api: str, findings: list[Finding]) -> bool:
        """Serve ``api`` as its files make it with the uploads laid over them. False (nothing
        changed; ``findings`` say why) when the two do not compose."""
        added = [(scenario, scenario.source) for scenario in self._uploaded.get(api, {}).values()]
        composed = overlay(self._files[api], added, findings)
        if composed is None:
            return False
        self._served[api] = composed  # one assignment: a request sees the old API or the new one
        return True

    def replace_files(self, api: str, rebuilt: Api, findings: list[Finding]) -> bool:
        """Serve ``rebuilt`` (an API as its changed files make it) under the uploads; False, with
        the previous files kept, when they do not compose."""
        old = self._files[api]
        self._files[api] = rebuilt
        if not self.refresh(api, findings):
            self._files[api] = old
            return False
        return True

    async def upload(self, scenario: Scenario) -> list[Finding]:
        """Lay ``scenario`` over its API (the latest one with ``default: true`` takes the default);
        the findings, with nothing changed, when it clashes with another scenario's trigger."""
        findings = self._lay(scenario)
        if not findings:
            await self.state.upload(scenario.api, scenario.name, dict(scenario.data), scenario.source)
        return findings

    def _lay(self, scenario: Scenario) -> list[Finding]:
        added = self._uploaded.setdefault(scenario.api, {})
        replaced = added.pop(scenario.name, None)
        added[scenario.name] = scenario  # at the end, so it is laid over the ones added before
        findings: list[Finding] = []
        if not self.refresh(scenario.api, findings):
            added.pop(scenario.name)
            if replaced is not None:
                added[scenario.name] = replaced
        return findings

    async def discard(self, api: str, name: str) -> list[Finding]:
        """Remove an uploaded scenario (the file version below it, if any, is served again); the
        findings, with nothing changed, when that file version clashes with another upload."""
        added = self._uploaded.get(api, {})
        removed = added.pop(name)
        findings: list[Finding] = []
        if not self.refresh(api, findings):
            added[name] = removed
            return findings
        await self.state.discard_upload(api, name)
        return []

    async def sync_uploads(self) -> list[Finding]:
        """Take the uploads another process made (a shared store said they changed)."""
        findings: list[Finding] = []
        stored = await self.state.uploads()
        for api in set(self._uploaded) | set(stored):
            if api not in self._served:
                continue
            mine: dict[str, Scenario] = {}
            for name, (data, source) in stored.get(api, {}).items():
                try:
                    mine[name] = scenario_from_data(
                        dict(data), source, self.lifecycle(api), name=name, api=api
                    )
                except SourceError as error:
                    findings.extend(error.findings)
            self._uploaded[api] = mine
            self.refresh(api, findings)
        return findings


def overlay(api: Api, added: Iterable[tuple[Scenario, str]], findings: list[Finding]) -> Api | None:
    """``api`` with ``added`` (scenario, source) laid over it: same name replaces, ``default: true``
    takes the default. None, with findings, when two scenarios would then share a trigger."""
    scenarios, sources, default = dict(api.scenarios), dict(api.sources), api.default
    for scenario, source in added:
        scenarios[scenario.name] = scenario
        sources[scenario.name] = source
        if scenario.default:
            default = scenario.name
    clashes = trigger_findings(scenarios.values())
    if clashes:
        findings.extend(clashes)
        return None
    return Api(api.spec, scenarios, default, sources)
