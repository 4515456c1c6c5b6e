"""oneOf/anyOf generation: branch order and choice, merged branches, const/enum tags that tell branches
apart, OpenAPI discriminators, and the check that a value matches the chosen oneOf branch only."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator

from mockserver.fake.keywords import PENDING, SCALARS, UNSAT, json_type
from mockserver.fake.run import DEPTH_LIMIT, Run
from mockserver.fake.schemas import Schemas


class Unions(Schemas):
    """Generation of union nodes (oneOf, anyOf, deferred allOf groups); the rest is left to `_gen`."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        """Prepare the union caches for `document` (keyed like the caches of `Schemas`)."""
        super().__init__(document)
        self._branches: dict[tuple[int, str], tuple[Any, list[int], list[int], list[int]]] = {}
        self._effective: dict[tuple[int, str, int], tuple[Any, Mapping[str, Any]]] = {}
        self._unions: dict[int, tuple[Any, Draft202012Validator]] = {}
        self._disjoints: dict[tuple[int, str], tuple[Any, bool]] = {}
        self._listed: dict[int, tuple[Any, list[Any] | None]] = {}

    def _gen(self, schema: Any, run: Run, depth: int, name: str | None) -> Any:
        """A value of `schema`; implemented by `FakeData`, which a chosen branch recurses into."""
        raise NotImplementedError

    def _gen_union(self, node: Mapping[str, Any], run: Run, depth: int, name: str | None) -> Any:
        kind = "oneOf" if "oneOf" in node else "anyOf" if "anyOf" in node else PENDING
        if kind == PENDING:  # only deferred groups left: fold the first one in and go on
            return self._gen(self._fold_pending(node), run, depth, name)
        branches = node[kind]
        preferred, fallback, shallow = self._branch_order(node, kind)
        if depth >= DEPTH_LIMIT and shallow:
            preferred = shallow  # past the depth limit, end recursion through scalar or null branches
        start = run.rng.randrange(len(preferred)) if preferred else 0
        order = [*preferred[start:], *preferred[:start], *(i for i in fallback if i not in preferred)]
        # A branch merged with its siblings is valid by construction, which is all anyOf asks; a oneOf
        # needs a check unless its branches are told apart by a const tag (e.g. `type: text`).
        if (kind == "anyOf" and "discriminator" not in node) or self._disjoint(node, kind):
            for index in order:
                effective = self._branch(node, kind, index)
                if not effective.get(UNSAT):
                    return self._gen(effective, run, depth, name)
            return None
        validator = self._union_validator(kind, branches)
        value: Any = None
        for index in order:
            effective = self._branch(node, kind, index)
            if effective.get(UNSAT):
                continue
            listed = self._listed_values(effective, validator)
            if listed is not None:  # an enum branch: pick among its values that match this branch only
                if listed:
                    return copy.deepcopy(run.rng.choice(listed))
                continue
            sparse = run.sparse
            try:
                for attempt in range(3):
                    # Overlapping branches: a value with fewer optional keys may match only this one.
                    run.sparse = max(sparse, attempt)
                    value = self._discriminate(node, branches[index], self._gen(effective, run, depth, name))
                    if validator.is_valid(value):
                        return value
            finally:
                run.sparse = sparse
        return value

    def _disjoint(self, node: Mapping[str, Any], kind: str) -> bool:
        """Whether one required property has pairwise disjoint const/enum values across the branches,
        so that a value built from one branch cannot match another and needs no oneOf check."""
        key = (id(node), kind)
        hit = self._disjoints.get(key)
        if hit is None:
            tags = [self._tags(self._branch(node, kind, i), 0) for i in range(len(node[kind]))]
            found = False
            if all(tag is not None for tag in tags) and self._discriminator_agrees(node, kind, tags):
                known = [tag for tag in tags if tag is not None]
                for prop in set.intersection(*(set(tag) for tag in known)):
                    if len(set().union(*(tag[prop] for tag in known))) == sum(
                        len(tag[prop]) for tag in known
                    ):
                        found = True
                        break
            hit = (node, found)
            self._disjoints[key] = hit
        return hit[1]

    @staticmethod
    def _discriminator_agrees(node: Mapping[str, Any], kind: str, tags: Sequence[Any]) -> bool:
        """Whether _discriminate leaves values alone: every mapped branch's tag already is its key."""
        discriminator = node.get("discriminator")
        if not isinstance(discriminator, Mapping):
            return True
        prop = discriminator.get("propertyName")
        by_ref = {target: name for name, target in discriminator.get("mapping", {}).items()}
        for branch, tag in zip(node[kind], tags, strict=True):
            name = by_ref.get(branch.get("$ref")) if isinstance(branch, Mapping) else None
            if name is not None and (tag is None or tag.get(prop) != {_canonical(name)}):
                return False
        return True

    def _tags(self, node: Mapping[str, Any], level: int) -> dict[str, set[tuple[str, str]]] | None:
        """Required properties of `node` whose allowed values are all known (const/enum), with the values."""
        if level > 4 or node.get(UNSAT):
            return None
        for kind in ("oneOf", "anyOf"):
            if kind in node:
                subs = [self._tags(self._branch(node, kind, i), level + 1) for i in range(len(node[kind]))]
                if any(sub is None for sub in subs) or not subs:
                    return None
                common = set.intersection(*(set(sub) for sub in subs if sub is not None))
                return {p: set().union(*(sub[p] for sub in subs if sub is not None)) for p in common}
        props = node.get("properties", {})
        tags: dict[str, set[tuple[str, str]]] = {}
        for prop in node.get("required", ()):
            if prop in props:
                sub = self._norm(props[prop])
                values = [sub["const"]] if "const" in sub else sub.get("enum")
                if values is not None:
                    tags[prop] = {_canonical(value) for value in values}
        return tags

    def _listed_values(self, node: Mapping[str, Any], validator: Draft202012Validator) -> list[Any] | None:
        """For a plain enum/const node, its values valid against `validator` (cached); else None."""
        hit = self._listed.get(id(node))
        if hit is None:
            plain = ("enum" in node or "const" in node) and self._check_schema(node) is None
            plain = plain and not ({"oneOf", "anyOf", PENDING} & node.keys())
            values = ([node["const"]] if "const" in node else self._enum_choices(node)) if plain else None
            hit = (node, None if values is None else [v for v in values if validator.is_valid(v)])
            self._listed[id(node)] = hit
        return hit[1]

    def _union_validator(self, kind: str, branches: Sequence[Any]) -> Draft202012Validator:
        """A validator for the bare group (siblings are satisfied by construction), one per branch list."""
        hit = self._unions.get(id(branches))
        if hit is None:
            hit = (branches, self._validator({kind: branches}))
            self._unions[id(branches)] = hit
        return hit[1]

    def _discriminate(self, node: Mapping[str, Any], branch: Any, value: Any) -> Any:
        """Set an OpenAPI `discriminator` property to the mapping key naming the chosen branch."""
        discriminator = node.get("discriminator")
        if not isinstance(discriminator, Mapping) or not isinstance(value, dict):
            return value
        ref = branch.get("$ref") if isinstance(branch, Mapping) else None
        for key, target in discriminator.get("mapping", {}).items():
            if target == ref and discriminator.get("propertyName") in value:
                value[discriminator["propertyName"]] = key
        return value

    def _branch_order(self, node: Mapping[str, Any], kind: str) -> tuple[list[int], list[int], list[int]]:
        """Branch indices: non-null ones, all ones, and scalar-or-null ones (to end recursion)."""
        key = (id(node), kind)
        hit = self._branches.get(key)
        if hit is None:
            non_null: list[int] = []
            shallow: list[int] = []
            for index, branch in enumerate(node[kind]):
                sub = self._norm(branch)
                types = self._type_set(sub)
                if not self._is_null_only(sub, types):
                    non_null.append(index)
                if set(types) <= SCALARS and "anyOf" not in sub and "oneOf" not in sub:
                    shallow.append(index)
            everything = list(range(len(node[kind])))
            hit = (node, non_null or everything, everything, shallow)
            self._branches[key] = hit
        return hit[1], hit[2], hit[3]

    @staticmethod
    def _is_null_only(node: Mapping[str, Any], types: tuple[str, ...]) -> bool:
        if "const" in node:
            return node["const"] is None
        if "enum" in node:
            return all(item is None for item in node["enum"])
        return types == ("null",)

    def _branch(self, node: Mapping[str, Any], kind: str, index: int) -> Mapping[str, Any]:
        """`node` with its `kind` group replaced by branch `index` (siblings and branch merged; cached)."""
        key = (id(node), kind, index)
        hit = self._effective.get(key)
        if hit is None:
            rest = {k: v for k, v in node.items() if k not in (kind, "discriminator")}
            merged = self._merge(rest, self._norm(node[kind][index]))
            hit = (node, self._fold_all_pending(merged))
            self._effective[key] = hit
        return hit[1]

    def _fold_pending(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        key = (id(node), PENDING, 0)
        hit = self._effective.get(key)
        if hit is None:
            hit = (node, self._fold_all_pending(node))
            self._effective[key] = hit
        return hit[1]

    def _fold_all_pending(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """Merge deferred anyOf/oneOf groups into `node` while it has no group of that kind itself."""
        pending = list(node.get(PENDING, ()))
        if not pending:
            return node
        out = {k: v for k, v in node.items() if k != PENDING}
        left = []
        for group in pending:
            if any(kind in out for kind in group):
                left.append(group)
            else:
                out.update(group)
        if left:
            out[PENDING] = left
        return out


def _canonical(value: Any) -> tuple[str, str]:
    """A hashable key under which JSON-equal values coincide (1 == 1.0, but true != 1)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json_type(value), json.dumps(value, sort_keys=True)
