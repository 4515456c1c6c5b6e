"""Schema normalisation: `$ref`s resolved and allOf parts merged into one node, and the cached,
seed-independent facts about a node (its types, enum choices, what to validate after generation)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from jsonschema import Draft202012Validator, FormatChecker

from mockserver.fake.keywords import ALL_TYPES, CHECK, PENDING, UNSAT, Conflict, json_type, merge_keyword

_ANY: Final[Mapping[str, Any]] = {}
_NEVER: Final[Mapping[str, Any]] = {UNSAT: True}
_ANNOTATIONS: Final = frozenset(
    {"description", "title", "examples", "example", "default", "deprecated", "readOnly", "writeOnly",
     "$comment", "discriminator", "externalDocs", "xml", "contentEncoding", "contentMediaType", "$id",
     "$schema", "$anchor", "$defs", "definitions"}
)  # fmt: skip
_MERGED_AS_OBJECT: Final = frozenset({"properties", "patternProperties", "additionalProperties", "required"})
_CHECKED_KEYS: Final = ("not", "if", "then", "else", "dependentSchemas", "unevaluatedProperties")
_OBJECT_KEYS: Final = frozenset(
    {"properties", "required", "additionalProperties", "patternProperties", "minProperties",
     "maxProperties", "propertyNames", "dependentRequired", "dependentSchemas", "unevaluatedProperties"}
)  # fmt: skip
_ARRAY_KEYS: Final = frozenset({"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"})
_STRING_KEYS: Final = frozenset({"minLength", "maxLength", "pattern", "format"})
_NUMBER_KEYS: Final = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})


class Schemas:
    """The normalised schemas of one OpenAPI 3.1 document, and validators that resolve against it."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        """Normalise the schemas of `document`, the whole OpenAPI dict its local `$ref`s resolve against."""
        self._document = document
        self._formats = FormatChecker()
        # Validators see the schema wrapped in a copy of the document's top level, so that the local
        # `#/components/...` references inside it resolve exactly as they do in the document.
        keywords = set(Draft202012Validator.VALIDATORS) | {"$id", "$schema", "$anchor", "$dynamicAnchor"}
        self._root = {key: value for key, value in document.items() if key not in keywords}
        # Caches keyed by id(); each entry also holds the keyed object, so an id is never reused by another.
        self._refs: dict[str, Any] = {}
        self._norms: dict[int, tuple[Any, Mapping[str, Any]]] = {}
        self._busy: set[int] = set()
        self._types: dict[int, tuple[Any, tuple[str, ...]]] = {}
        self._enums: dict[int, tuple[Any, list[Any]]] = {}
        self._checks: dict[int, tuple[Any, Mapping[str, Any] | None]] = {}
        self._validators: dict[int, tuple[Any, Draft202012Validator]] = {}

    # ----------------------------------------------------------------------- normalising: $ref and allOf away

    def _resolve(self, ref: str) -> Any:
        target = self._refs.get(ref)
        if target is None:
            if not ref.startswith("#"):
                raise ValueError(f"only local $refs are supported, got {ref!r}")
            target = self._document
            for raw in ref[1:].split("/")[1:]:
                part = raw.replace("~1", "/").replace("~0", "~")
                target = target[int(part)] if isinstance(target, list) else target[part]
            self._refs[ref] = target
        return target

    def _norm(self, schema: Any) -> Mapping[str, Any]:
        """`schema` with its top-level `$ref` and `allOf` merged in (cached; nested schemas stay lazy)."""
        hit = self._norms.get(id(schema))
        if hit is not None:
            return hit[1]
        if schema is True:
            result: Mapping[str, Any] = _ANY
        elif not isinstance(schema, Mapping):
            result = _NEVER
        elif "$ref" not in schema and "allOf" not in schema:
            result = schema
        elif id(schema) in self._busy:
            return _ANY  # a schema that is its own allOf/$ref: nothing more to learn from it
        else:
            self._busy.add(id(schema))
            try:
                result = self._flatten(schema)
            finally:
                self._busy.discard(id(schema))
        self._norms[id(schema)] = (schema, result)
        return result

    def _flatten(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        parts: list[Mapping[str, Any]] = []
        if "$ref" in schema:
            parts.append(self._norm(self._resolve(schema["$ref"])))
        parts.extend(self._norm(sub) for sub in schema.get("allOf", ()))
        rest = {key: value for key, value in schema.items() if key not in ("$ref", "allOf")}
        if any(key not in _ANNOTATIONS for key in rest):
            parts.append(rest)
        elif not parts:
            return rest
        result = parts[0]
        for part in parts[1:]:
            result = self._merge(result, part)
        return result

    def _merge(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> Mapping[str, Any]:
        """The conjunction of two normalised schemas; what cannot be merged is kept for checking."""
        if a.get(UNSAT) or b.get(UNSAT):
            return _NEVER
        out = dict(a)
        checks: list[Any] = list(a.get(CHECK, ()))
        pending: list[Any] = list(a.get(PENDING, ()))
        if _OBJECT_KEYS & a.keys() and _OBJECT_KEYS & b.keys() and not self._merge_objects(a, b, out):
            return _NEVER
        for key, theirs in b.items():
            if key in (CHECK, PENDING):
                (checks if key == CHECK else pending).extend(theirs)
            elif key not in out:
                out[key] = theirs
            elif not (
                out[key] is theirs or key in _ANNOTATIONS or key in _MERGED_AS_OBJECT or out[key] == theirs
            ):
                try:
                    how, merged = merge_keyword(key, out[key], theirs)
                except Conflict:
                    return _NEVER
                if how == "set":
                    out[key] = merged
                else:
                    (pending if how == "pending" else checks).append(merged)
        if checks:
            out[CHECK] = checks
        if pending:
            out[PENDING] = pending
        return out

    def _merge_objects(self, a: Mapping[str, Any], b: Mapping[str, Any], out: dict[str, Any]) -> bool:
        """Merge the object keywords of a and b into out; False when a required key is forbidden."""
        props: dict[str, Any] = {}
        dropped: set[str] = set()
        for mine, other in ((a, b), (b, a)):
            own = mine.get("properties", {})
            extra = other.get("additionalProperties", True)
            for key, sub in own.items():
                if key in props:
                    continue
                if key in other.get("properties", {}):
                    props[key] = {"allOf": [sub, other["properties"][key]]}
                elif any(re.search(p, key) for p in other.get("patternProperties", {})):
                    props[key] = {"allOf": [sub, *self._matching(other, key)]}
                elif extra is False:
                    dropped.add(key)  # the other side closes the object: this key may never appear
                elif isinstance(extra, Mapping):
                    props[key] = {"allOf": [sub, extra]}
                else:
                    props[key] = sub
        required = list(dict.fromkeys([*a.get("required", ()), *b.get("required", ())]))
        if dropped & set(required):
            return False
        if props:
            out["properties"] = props
        if required:
            out["required"] = required
        patterns = {**a.get("patternProperties", {})}
        for key, sub in b.get("patternProperties", {}).items():
            patterns[key] = {"allOf": [patterns[key], sub]} if key in patterns else sub
        if patterns:
            out["patternProperties"] = patterns
        extras = [s for s in (a.get("additionalProperties"), b.get("additionalProperties")) if s is not None]
        if False in extras:
            out["additionalProperties"] = False
        elif len(extras) == 2 and all(isinstance(s, Mapping) for s in extras):
            out["additionalProperties"] = {"allOf": extras}
        elif extras:
            out["additionalProperties"] = next((s for s in extras if isinstance(s, Mapping)), True)
        return True

    @staticmethod
    def _matching(node: Mapping[str, Any], key: str) -> list[Any]:
        return [sub for pattern, sub in node.get("patternProperties", {}).items() if re.search(pattern, key)]

    # ------------------------------------------------------------------------------------- facts about a node

    def _check_schema(self, node: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """What of `node` generation does not guarantee by construction, to validate afterwards."""
        hit = self._checks.get(id(node))
        if hit is not None:
            return hit[1]
        parts = list(node.get(CHECK, ()))
        local = {key: node[key] for key in _CHECKED_KEYS if key in node}
        if local:
            parts.append(local)
        check = {"allOf": parts} if parts else None
        self._checks[id(node)] = (node, check)
        return check

    def _validator(self, schema: Any) -> Draft202012Validator:
        hit = self._validators.get(id(schema))
        if hit is None:
            wrapped = {**self._root, "allOf": [schema]}
            hit = (schema, Draft202012Validator(wrapped, format_checker=self._formats))
            self._validators[id(schema)] = hit
        return hit[1]

    def _type_set(self, node: Mapping[str, Any]) -> tuple[str, ...]:
        """The types a value of `node` may have, declared or inferred from the keywords present."""
        hit = self._types.get(id(node))
        if hit is not None:
            return hit[1]
        declared = node.get("type")
        if isinstance(declared, str):
            types: tuple[str, ...] = (declared,)
        elif isinstance(declared, list):
            types = tuple(declared)
        elif "const" in node or "enum" in node:
            values = [node["const"]] if "const" in node else node["enum"]
            types = tuple(dict.fromkeys(json_type(item) for item in values))
        elif _OBJECT_KEYS & node.keys():
            types = ("object",)
        elif _ARRAY_KEYS & node.keys():
            types = ("array",)
        elif _STRING_KEYS & node.keys():
            types = ("string",)
        elif _NUMBER_KEYS & node.keys():
            types = ("number",)
        else:
            types = ("string",)  # an unconstrained schema: a word is the most useful "anything"
        self._types[id(node)] = (node, types)
        return types

    def _enum_choices(self, node: Mapping[str, Any]) -> list[Any]:
        hit = self._enums.get(id(node))
        if hit is None:
            declared = node.get("type")
            allowed = {declared} if isinstance(declared, str) else set(declared or ALL_TYPES)
            if "number" in allowed:
                allowed.add("integer")
            typed = [item for item in node["enum"] if json_type(item) in allowed] or list(node["enum"])
            hit = (node, [item for item in typed if item is not None] or typed)
            self._enums[id(node)] = hit
        return hit[1]
