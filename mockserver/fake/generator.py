"""`FakeData`, the public generator: a normalised schema dispatched by type to the object, array, number
or string builder (unions are in `unions`), with checks for what construction does not guarantee."""

from __future__ import annotations

import copy
import hashlib
import importlib
import math
import random
import re
import string
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from mockserver.fake.formats import FORMATS, HINT_NAMES, HINT_SUFFIXES, hinted, stretch
from mockserver.fake.keywords import ALL_TYPES, CHECK, PENDING, SCALARS, UNSAT, bound, multiple
from mockserver.fake.patterns import ALNUM, REPEAT_CAP, Walk
from mockserver.fake.run import ATTEMPTS, DEPTH_LIMIT, HARD_DEPTH, SHALLOW, Run
from mockserver.fake.unions import Unions

if TYPE_CHECKING:
    from faker import Faker

_FAKER_LOCK = threading.Lock()
# `re._parser` is the stdlib regex parser (the old `sre_parse`, whose import warns since 3.11). It is
# private, so it is loaded as an untyped module; its output format has been stable for many releases.
_sre: Any = importlib.import_module("re._parser")

_STRING: Final[Mapping[str, Any]] = {"type": "string"}  # values of invented keys when any value is allowed


class FakeData(Unions):
    """Schema-valid fake values from the schemas of one OpenAPI 3.1 document, deterministic per seed."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        """Prepare a generator for `document`, the whole OpenAPI dict its local `$ref`s resolve against."""
        super().__init__(document)
        self._faker: Faker | None = None  # made on first use: see faker_for
        # A bare FormatChecker() checks "time" the draft-3 way (HH:MM:SS, no offset) while the 2020-12
        # checker wants RFC 3339 (with offset); emit whichever the checker in use accepts.
        self.time_zone = "" if self._formats.conforms("00:00:00", "time") else "Z"
        self._key_schemas: dict[tuple[int, str], tuple[Any, Any]] = {}
        self._regexes: dict[str, tuple[re.Pattern[str] | None, Any]] = {}
        self._negated: dict[int, tuple[Any, str]] = {}
        self._hints: dict[str, str | None] = {}

    def value(self, schema: Mapping[str, Any], seed: str) -> Any:
        """Return a value valid against `schema`; the same (schema, seed) gives an equal value every time."""
        digest = hashlib.sha256(seed.encode("utf-8")).digest()
        return self._gen(schema, Run(int.from_bytes(digest[:8], "big")), 0, None)

    # --------------------------------------------------------------------------------------------- generation

    def _gen(self, schema: Any, run: Run, depth: int, name: str | None) -> Any:
        node = self._norm(schema)
        if "oneOf" in node or "anyOf" in node or PENDING in node:
            return self._gen_union(node, run, depth, name)
        check = self._check_schema(node)
        if check is None:
            return self._gen_plain(node, run, depth, name)
        validator = self._validator(check)
        value = None
        for attempt in range(ATTEMPTS):
            value = self._gen_plain(node, run, depth, name, attempt)
            if validator.is_valid(value):
                break
        return value

    def _gen_plain(
        self, node: Mapping[str, Any], run: Run, depth: int, name: str | None, attempt: int = 0
    ) -> Any:
        if node.get(UNSAT) or depth > HARD_DEPTH:
            return None
        if "const" in node:
            return copy.deepcopy(node["const"])
        if "enum" in node:
            return copy.deepcopy(run.rng.choice(self._enum_choices(node)))
        types = self._type_set(node)
        if attempt >= ATTEMPTS // 3 and "type" not in node:
            # Undeclared type and the value keeps failing a check (e.g. `not: {type: string}`): any type
            # is allowed, and keywords of other types do not apply, so go through the other types.
            types = (ALL_TYPES[attempt % len(ALL_TYPES)],)
        choices = [t for t in types if t != "null"] or ["null"]
        if depth >= DEPTH_LIMIT:
            choices = [t for t in choices if t in SCALARS] or choices
        kind = choices[0] if len(choices) == 1 else run.rng.choice(choices)
        if kind == "string":
            return self._gen_string(node, run, name)
        if kind == "integer":
            return self._gen_number(node, run, name, integer=True)
        if kind == "number":
            return self._gen_number(node, run, name, integer=False)
        if kind == "boolean":
            return run.rng.random() < 0.5
        if kind == "object":
            return self._gen_object(node, run, depth, name)
        if kind == "array":
            return self._gen_array(node, run, depth, name)
        return None

    # ------------------------------------------------------------------------------------------------ objects

    def _gen_object(self, node: Mapping[str, Any], run: Run, depth: int, name: str | None) -> dict[str, Any]:
        props: Mapping[str, Any] = node.get("properties", {})
        required: Sequence[str] = node.get("required", ())
        low = node.get("minProperties", 0)
        high = node.get("maxProperties")
        deep = depth >= DEPTH_LIMIT or run.sparse > 1
        out: dict[str, Any] = {}
        optional: list[str] = []
        for key in props:
            if key in required or self._norm(self._key_schema(node, key)).get(UNSAT):
                continue  # an optional key no value can satisfy (e.g. after an allOf merge) stays out
            if not deep and ((depth < SHALLOW and not run.sparse) or run.rng.random() < 0.5):
                optional.append(key)
        if high is not None:  # required keys first, then as many optional ones as fit
            optional = optional[: max(0, high - len(required))]
        chosen = set(optional)
        for key in props:
            if key in chosen or key in required:
                out[key] = self._gen(self._key_schema(node, key), run, depth + 1, key)
        for key in required:
            if key not in out:
                out[key] = self._gen(self._key_schema(node, key), run, depth + 1, key)
        for key, needs in node.get("dependentRequired", {}).items():
            if key in out:
                for other in needs:
                    if other not in out:
                        out[other] = self._gen(self._key_schema(node, other), run, depth + 1, other)
        for key in props:  # minProperties: the declared properties come before invented keys
            if len(out) >= low:
                break
            if key not in out and not self._norm(self._key_schema(node, key)).get(UNSAT):
                out[key] = self._gen(self._key_schema(node, key), run, depth + 1, key)
        self._add_extra_keys(node, run, depth, out, low=low, high=high)
        return out

    def _add_extra_keys(
        self,
        node: Mapping[str, Any],
        run: Run,
        depth: int,
        out: dict[str, Any],
        *,
        low: int,
        high: int | None,
    ) -> None:
        """Invented keys: a small map for property-less objects, or whatever minProperties still needs."""
        extra = node.get("additionalProperties", True)
        patterns = list(node.get("patternProperties", {}))
        if extra is False and not patterns:
            return
        wanted = max(0, low - len(out))
        if "properties" not in node and depth < DEPTH_LIMIT:
            wanted = max(wanted, run.rng.randint(0, 2))
        if high is not None:
            wanted = min(wanted, high - len(out))
        names = node.get("propertyNames")
        for _ in range(wanted * 4):
            if wanted <= 0:
                break
            if patterns and (extra is False or run.rng.random() < 0.5):
                key = self._gen_string({"pattern": run.rng.choice(patterns)}, run, None)
            elif names is not None:
                key = self._gen(names, run, depth + 1, None)
            else:
                key = self.faker_for(run).word()
            if not isinstance(key, str) or key in out or key in node.get("properties", {}):
                continue
            if extra is False and not self._matching(node, key):
                continue
            out[key] = self._gen(self._key_schema(node, key), run, depth + 1, None)  # no hint: random word
            wanted -= 1

    def _key_schema(self, node: Mapping[str, Any], key: str) -> Any:
        """The schema the value of `key` must satisfy: its property, matching patternProperties, or else
        additionalProperties. Cached per distinct combination, so invented keys do not grow the cache."""
        props = node.get("properties", {})
        patterns = [p for p in node.get("patternProperties", {}) if re.search(p, key)]
        signature = key if key in props else "\0" + "\0".join(patterns)
        cache_key = (id(node), signature)
        hit = self._key_schemas.get(cache_key)
        if hit is None:
            parts = [props[key]] if key in props else []
            parts.extend(node["patternProperties"][p] for p in patterns)
            if not parts:
                extra = node.get("additionalProperties", True)
                parts = [extra if isinstance(extra, Mapping) else _STRING]
            hit = (node, parts[0] if len(parts) == 1 else {"allOf": parts})
            self._key_schemas[cache_key] = hit
        return hit[1]

    # ------------------------------------------------------------------------------------------------- arrays

    def _gen_array(self, node: Mapping[str, Any], run: Run, depth: int, name: str | None) -> list[Any]:
        items = node.get("items", True)
        prefix: Sequence[Any] = node.get("prefixItems", ())
        low = node.get("minItems", 0)
        high = node.get("maxItems")
        contains = node.get("contains")
        need = node.get("minContains", 1) if contains is not None else 0
        count = max(low, need) if depth >= DEPTH_LIMIT else max(run.rng.randint(1, 2), low, need)
        if high is not None:
            count = min(count, high)
        if items is False:
            count = min(count, len(prefix))
        item_name = name[:-1] if name and name.endswith("s") else name
        unique = bool(node.get("uniqueItems"))
        seen: list[Any] = []
        out: list[Any] = []
        for _ in range(count * 8 + 8):
            if len(out) >= count:
                break
            position = len(out)
            if position < len(prefix):
                schema = prefix[position]
            elif contains is not None and position < len(prefix) + need:
                schema = self._contains_schema(node)
            else:
                schema = items
            item = self._gen(schema, run, depth + 1, item_name)
            if unique:
                if item in seen and any(_same(item, other) for other in seen):
                    continue
                seen.append(item)
            out.append(item)
        return out

    def _contains_schema(self, node: Mapping[str, Any]) -> Any:
        """Items that must satisfy `contains` also satisfy `items` (one stable schema per array node)."""
        key = (id(node), "\0contains")
        hit = self._key_schemas.get(key)
        if hit is None:
            hit = (node, {"allOf": [node.get("items", True), node["contains"]]})
            self._key_schemas[key] = hit
        return hit[1]

    # ------------------------------------------------------------------------------------------------ numbers

    def _gen_number(self, node: Mapping[str, Any], run: Run, name: str | None, *, integer: bool) -> Any:
        low, low_open = bound(node, "minimum", "exclusiveMinimum", lower=True)
        high, high_open = bound(node, "maximum", "exclusiveMaximum", lower=False)
        step = node.get("multipleOf")
        hint = self._hint(name)
        if low is None and high is None and hint == "datetime":
            low, high = 1_704_067_200, 1_767_225_600  # epoch seconds in 2024-2025
        if low is None and high is None and hint == "http_status":
            low, high = 200, 599
        if low is None:
            low = 0 if high is None or high > 0 else high - 1000
        if high is None:
            high = low + 1000
        if integer or isinstance(step, int):
            ilow = math.floor(low) + 1 if low_open and float(low).is_integer() else math.ceil(low)
            ihigh = math.ceil(high) - 1 if high_open and float(high).is_integer() else math.floor(high)
            if step is None:
                return run.rng.randint(ilow, ihigh) if ilow <= ihigh else ilow
            return multiple(step, ilow, ihigh, run.rng, integer=True)
        if step is not None:
            return multiple(step, low, high, run.rng, integer=False, open_ends=(low_open, high_open))
        value = round(run.rng.uniform(low, high), 2)
        if (low_open and value <= low) or value < low or (high_open and value >= high) or value > high:
            value = (low + high) / 2
        return value

    # ------------------------------------------------------------------------------------------------ strings

    def _gen_string(self, node: Mapping[str, Any], run: Run, name: str | None) -> str:
        low = node.get("minLength", 0)
        high = node.get("maxLength")
        fmt = node.get("format")
        pattern = node.get("pattern")
        regex = self._regex(pattern)[0] if isinstance(pattern, str) else None
        if regex is None:
            pattern = None  # unparseable here (e.g. ECMA-only `\\p{L}`): no validator can check it either
        others = self._extra_patterns(node)

        def fits(text: str) -> bool:
            if len(text) < low or (high is not None and len(text) > high):
                return False
            if regex is not None and not regex.search(text):
                return False
            if others and not all(other.search(text) for other in others):
                return False
            return fmt is None or self._formats.conforms(text, fmt)

        # Realistic candidates first (the format's generator, else the property-name hint); only when the
        # pattern or the lengths reject them is the pattern walked or a word stretched to fit.
        maker = FORMATS.get(fmt) if isinstance(fmt, str) else None
        if maker is not None:
            for _ in range(2):
                text = maker(self, run)
                if fits(text) or fits(text := stretch(fmt, text, low, run.rng)):
                    return text
        elif (hint := self._hint(name)) is not None:
            text = hinted(self, hint, run)
            if fits(text) or (regex is None and fits(text := _fit(text, low, high, run.rng))):
                return text
        if isinstance(pattern, str):
            for attempt in range(ATTEMPTS):
                text = self._from_pattern(pattern, run, attempt, low, high)
                if fits(text):
                    return text
            return text  # the pattern walker's best effort: nothing else will match either
        return _fit(self.faker_for(run).word(), low, high, run.rng)

    def _extra_patterns(self, node: Mapping[str, Any]) -> list[re.Pattern[str]]:
        """Patterns an allOf merge could not combine with `pattern`, checked while generating the string."""
        if CHECK not in node:
            return []
        patterns = (part.get("pattern") for part in node[CHECK] if isinstance(part, Mapping))
        return [regex for p in patterns if isinstance(p, str) and (regex := self._regex(p)[0]) is not None]

    def _hint(self, name: str | None) -> str | None:
        if name is None:
            return None
        if name not in self._hints:
            lowered = name.lower()
            hint = HINT_NAMES.get(lowered)
            if lowered.endswith(("status_code", "statuscode")):
                hint = "http_status"
            if hint is None:
                hint = next((h for suffix, h in HINT_SUFFIXES if name.endswith(suffix)), None)
            self._hints[name] = hint
        return self._hints[name]

    def warm(self) -> None:
        """Make the Faker instance now rather than on the first value that needs one (from any
        thread: ``comeback serve`` does it in the background once it listens)."""
        self._made_faker()

    def _made_faker(self) -> Faker:
        # Faker is imported and built on first need, not at start: importing it scans every
        # locale's providers (~0.1 s and ~5 MB). Under a lock, so a warm-up thread and a request
        # never make two instances (a run must keep the one it seeded). Values are seeded per run,
        # so they do not depend on when the instance was made.
        with _FAKER_LOCK:
            if self._faker is None:
                from faker import Faker  # noqa: PLC0415

                self._faker = Faker("en_US")
            return self._faker

    def faker_for(self, run: Run) -> Faker:
        """The shared Faker seeded for ``run``; only for calls that need it (seeding costs microseconds)."""
        faker = self._faker or self._made_faker()
        if not run.faker_ready:
            faker.seed_instance(run.seed)
            run.faker_ready = True
        return faker

    # ----------------------------------------------------------------------------------------- regex patterns

    def _regex(self, pattern: str) -> tuple[re.Pattern[str] | None, Any]:
        hit = self._regexes.get(pattern)
        if hit is None:
            try:
                hit = (re.compile(pattern), _sre.parse(pattern))
            except re.error:
                hit = (None, None)
            self._regexes[pattern] = hit
        return hit

    def _from_pattern(self, pattern: str, run: Run, attempt: int, low: int, high: int | None) -> str:
        """A string built by walking the parsed regex; later attempts stretch or shrink the repeats."""
        regex, parsed = self._regex(pattern)
        if parsed is None or regex is None:
            return ""
        mode = "random" if attempt < 4 else "long" if attempt % 2 == 0 else "short"
        text = Walk(run.rng, mode, max(REPEAT_CAP, low), self._negated).text(parsed)
        if len(text) < low:  # an unanchored end accepts padding
            padded = text + "".join(run.rng.choice(ALNUM) for _ in range(low - len(text)))
            if regex.search(padded):
                return padded
        if high is not None and len(text) > high and regex.search(text[:high]):
            return text[:high]
        return text


def _same(a: Any, b: Any) -> bool:
    """JSON equality as uniqueItems sees it: booleans never equal numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _fit(text: str, low: int, high: int | None, rng: random.Random) -> str:
    if len(text) < low:
        text += "".join(rng.choice(string.ascii_lowercase) for _ in range(low - len(text)))
    if high is not None and len(text) > high:
        text = text[:high]
        if len(text.rstrip()) >= low:
            text = text.rstrip()
    return text
