"""Deterministic, schema-driven fake values for the mock's response bodies.

`FakeData` reads the JSON Schemas (OpenAPI 3.1, i.e. JSON Schema 2020-12) of one document and builds values
that validate against them. The same (schema, seed) always yields the same value, in any process: the RNG
is seeded from SHA-256 of the seed, and every cache holds only seed-independent facts about the schemas.

Modules, bottom up: `run` (per-call state, depth limits), `keywords` (allOf keyword merging, bounds),
`schemas` (`$ref`/allOf normalisation), `unions` (oneOf/anyOf), `patterns` (regex walker), `formats`
(format generators, name hints) and `generator` (`FakeData`: objects, arrays, numbers, strings).
"""

from mockserver.fake.generator import FakeData

__all__ = ["FakeData"]
