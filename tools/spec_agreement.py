"""How far one of our specs agrees with the vendor's published OpenAPI document.

    python -m tools.spec_agreement VENDOR_SPEC.json openapi/letta.yaml

Only the operations our spec serves count (matched by method and path). For each, it compares:

- parameters: every vendor parameter (name, location) is ours too, equally required;
- status codes: every vendor response code is documented by ours;
- request-body variants and response variants: every member of every union (``anyOf``/``oneOf``)
  in the vendor's schemas, named by its discriminator (``type``/``message_type`` const) or JSON
  type, is a member of our union at the same place, or is taken by a catch-all member of ours (an
  object whose ``type`` is an open string or an enum holding it; its insides are then not compared);
- enums: at every place both schemas have, the same enum values;
- required fields: at every object both schemas have, the same fields required.

Places are paths through the schemas (``createAgentMessageAsync:request.messages[]<message>.content``),
so naming and ``$ref``/``allOf`` layout do not matter. A difference that our spec decides on purpose
is listed with its decision: a decision in ``x-lifecycle.decisions`` names it with a backticked
pattern such as ```required:*<tool_return_message>.stdout``` (over the keys this
tool prints; ``*`` is any text). Exit code 0 whatever the figures; 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

METHODS = ("get", "put", "post", "delete", "patch")
KINDS = ("parameter", "status", "request-variant", "response-variant", "enum", "required")
_DISCRIMINATORS = ("type", "message_type")
_MAX_DEPTH = 14


@dataclass(slots=True)
class Place:
    """What the schemas say at one path: union members, enum values, properties and required ones."""

    variants: set[str] = field(default_factory=set)
    accepts: set[str] = field(default_factory=set)  # discriminator values a catch-all member takes ("*": any)
    enum: set[str] = field(default_factory=set)
    properties: set[str] = field(default_factory=set)
    required: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Figure:
    """Agreement of one kind: ``agree`` of ``total``, and the key of every difference."""

    agree: int = 0
    total: int = 0
    differences: list[str] = field(default_factory=list)

    def count(self, agrees: bool, key: str) -> None:
        self.total += 1
        if agrees:
            self.agree += 1
        else:
            self.differences.append(key)


class Schemas:
    """Walks one document's schemas into places (``$ref`` and ``allOf`` resolved, nulls dropped)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def resolve(self, node: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(node, Mapping) and "$ref" in node and seen < 50:
            target: Any = self.document
            for token in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[token.replace("~1", "/").replace("~0", "~")]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            seen += 1
        return dict(node) if isinstance(node, Mapping) else {}

    def flatten(self, node: Any) -> dict[str, Any]:
        """The node with its ``allOf`` members merged in (properties and required fields)."""
        resolved = self.resolve(node)
        if "allOf" not in resolved:
            return resolved
        node = resolved
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        properties = dict(merged.get("properties") or {})
        required = list(merged.get("required") or [])
        for member in node["allOf"]:
            flat = self.flatten(member)
            for key, value in flat.items():
                if key not in ("properties", "required"):
                    merged.setdefault(key, value)
            properties.update(flat.get("properties") or {})
            required.extend(flat.get("required") or [])
        merged["properties"], merged["required"] = properties, required
        return merged

    def members(self, node: Mapping[str, Any]) -> list[dict[str, Any]]:
        found = [self.flatten(m) for key in ("anyOf", "oneOf") for m in node.get(key) or []]
        return [m for m in found if m.get("type") != "null"]

    def label(self, member: Mapping[str, Any]) -> str:
        """A union member's name: its discriminator value, else its JSON type."""
        properties = member.get("properties") or {}
        for key in _DISCRIMINATORS:
            if key in properties:
                value = _single_value(self.resolve(properties[key]), self)
                if value is not None:
                    return value
        kind = member.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        return str(kind or ("object" if properties else "any"))

    def open_values(self, member: Mapping[str, Any]) -> set[str]:
        """Discriminator values an object takes without naming one (an enum of them, or "*" for an
        open string): a permissive catch-all such as "any other content block"."""
        properties = member.get("properties") or {}
        for key in _DISCRIMINATORS:
            if key in properties:
                prop = self.resolve(properties[key])
                if _single_value(prop, self) is not None:
                    return set()
                values = {str(v) for v in prop.get("enum") or [] if v is not None}
                return values or {"*"}
        return set()

    def places(self, node: Any, path: str) -> dict[str, Place]:
        found: dict[str, Place] = {}
        self._collect(node, path, found, 0)
        return found

    def _collect(self, node: Any, path: str, found: dict[str, Place], depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        node = self.flatten(node)
        place = found.setdefault(path, Place())
        members = self.members(node)
        for candidate in [node, *members]:
            place.accepts.update(self.open_values(candidate))
        labels = [self.label(m) for m in members]
        if len(set(labels)) > 1:
            place.variants.update(labels)
            for label, member in zip(labels, members, strict=True):
                self._collect(member, f"{path}<{label}>", found, depth + 1)
        else:
            for member in members:  # one kind of member (nullable, or constraints only): transparent
                self._collect(member, path, found, depth + 1)
        values = [v for v in node.get("enum") or [] if v is not None]
        if len(values) > 1:
            place.enum.update(str(v) for v in values)
        if "items" in node:
            self._collect(node["items"], path + "[]", found, depth + 1)
        properties = node.get("properties") or {}
        place.properties.update(properties)
        place.required.update(node.get("required") or [])
        for name, child in properties.items():
            self._collect(child, f"{path}.{name}", found, depth + 1)


def _single_value(node: Mapping[str, Any], schemas: Schemas) -> str | None:
    if "const" in node:
        return str(node["const"])
    values = [v for v in node.get("enum") or [] if v is not None]
    if len(values) == 1:
        return str(values[0])
    for member in schemas.members(node):
        value = _single_value(member, schemas)
        if value is not None:
            return value
    return None


def operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in (document.get("paths") or {}).items():
        for method in METHODS:
            if isinstance(item, Mapping) and method in item:
                yield method, path.rstrip("/") or "/", item[method]


def _body_schema(content: Mapping[str, Any] | None) -> Any:
    for media, entry in (content or {}).items():
        if "json" in media and isinstance(entry, Mapping) and "schema" in entry:
            return entry["schema"]
    return None


def _parameters(schemas: Schemas, operation: Mapping[str, Any]) -> dict[tuple[str, str], bool]:
    found = {}
    for raw in operation.get("parameters") or []:
        parameter = schemas.resolve(raw)
        found[(parameter.get("in", ""), parameter.get("name", ""))] = bool(parameter.get("required"))
    return found


def compare(vendor: Mapping[str, Any], ours: Mapping[str, Any]) -> dict[str, Figure]:
    """The agreement figures of ``ours`` with ``vendor`` over the operations ``ours`` serves."""
    figures = {kind: Figure() for kind in KINDS}
    theirs, mine = Schemas(vendor), Schemas(ours)
    vendor_ops = {(method, path): op for method, path, op in operations(vendor)}
    for method, path, operation in operations(ours):
        other = vendor_ops.get((method, path))
        if other is None:
            continue
        name = str(operation.get("operationId") or f"{method} {path}")
        ours_parameters = _parameters(mine, operation)
        for key, required in _parameters(theirs, other).items():
            agrees = ours_parameters.get(key) == required
            figures["parameter"].count(agrees, f"parameter:{name}:{key[0]}.{key[1]}")
        ours_codes = {str(code) for code in operation.get("responses") or {}}
        for code in other.get("responses") or {}:
            figures["status"].count(str(code) in ours_codes, f"status:{name}:{code}")
        pairs = [("request", (other.get("requestBody") or {}), (operation.get("requestBody") or {}))]
        for code, response in (other.get("responses") or {}).items():
            if str(code).startswith("2"):
                mine_response = (operation.get("responses") or {}).get(code) or {}
                pairs.append((f"response{code}", response, mine_response))
        for root, their_part, my_part in pairs:
            their_schema = _body_schema(theirs.resolve(their_part).get("content"))
            my_schema = _body_schema(mine.resolve(my_part).get("content"))
            if their_schema is None:
                continue
            _compare_places(
                figures,
                theirs.places(their_schema, f"{name}:{root}"),
                mine.places(my_schema, f"{name}:{root}") if my_schema is not None else {},
                "request-variant" if root == "request" else "response-variant",
            )
    return figures


def _compare_places(
    figures: dict[str, Figure], theirs: dict[str, Place], mine: dict[str, Place], variant_kind: str
) -> None:
    covered: list[str] = []  # variants ours accepts through a catch-all: nothing below them is compared
    for path, place in theirs.items():
        if any(path.startswith(prefix) for prefix in covered):
            continue
        own = mine.get(path)
        for label in sorted(place.variants):
            modelled = own is not None and label in own.variants
            caught = own is not None and not modelled and (label in own.accepts or "*" in own.accepts)
            if caught:
                covered.append(f"{path}<{label}>")
            figures[variant_kind].count(modelled or caught, f"{variant_kind}:{path}<{label}>")
        if own is None:
            continue
        if place.enum or own.enum:
            missing, extra = sorted(place.enum - own.enum), sorted(own.enum - place.enum)
            detail = "".join(
                [
                    f" missing {','.join(missing)}" if missing else "",
                    f" extra {','.join(extra)}" if extra else "",
                ]
            )
            figures["enum"].count(place.enum == own.enum, f"enum:{path}{detail}")
        for name in sorted((place.required | own.required) & (place.properties | own.properties)):
            theirs_required, ours_required = name in place.required, name in own.required
            side = "vendor requires" if theirs_required else "ours requires"
            figures["required"].count(theirs_required == ours_required, f"required:{path}.{name} ({side})")


def decided_by(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(pattern, decision id) for every backticked difference pattern in the spec's decisions."""
    found = []
    for decision in (spec.get("x-lifecycle") or {}).get("decisions") or []:
        for pattern in re.findall(r"`([^`]+)`", str(decision.get("decision", ""))):
            if pattern.split(":", 1)[0] in KINDS:
                found.append((pattern, str(decision.get("ambiguity"))))
    return found


def matches(key: str, pattern: str) -> bool:
    """Whether a difference key fits a decision's pattern: ``*`` is any text, all else is literal
    (keys are full of ``[]`` and ``<>``, which glob syntax would misread)."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), key) is not None


def report(figures: Mapping[str, Figure], decisions: list[tuple[str, str]]) -> str:
    lines = [f"{kind}: {figure.agree} of {figure.total} agree" for kind, figure in figures.items()]
    listed = []
    for figure in figures.values():
        for key in figure.differences:
            decision = next((d for pattern, d in decisions if matches(key, pattern)), "undecided")
            listed.append(f"  [{decision}] {key}")
    undecided = sum(line.startswith("  [undecided]") for line in listed)
    lines.append(f"differences: {len(listed)} ({len(listed) - undecided} decided, {undecided} undecided)")
    return "\n".join(lines + listed)


def load(path: Path) -> Mapping[str, Any]:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: not an OpenAPI document")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("vendor", type=Path, help="the vendor's published OpenAPI document (JSON or YAML)")
    parser.add_argument("ours", type=Path, help="our spec (openapi/<api>.yaml)")
    args = parser.parse_args(argv)
    try:
        vendor, ours = load(args.vendor), load(args.ours)
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"spec_agreement: {error}", file=sys.stderr)
        return 2
    print(report(compare(vendor, ours), decided_by(ours)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
