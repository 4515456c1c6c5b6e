"""``AuthRule``: the spec's security alternatives, and its memory of decisions per credential."""

from __future__ import annotations

from typing import Any

from mockserver.auth import AuthRule

DOCUMENT: dict[str, Any] = {
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
        }
    }
}
RULE: dict[str, Any] = {"security": [{"bearer": []}, {"key": []}]}


def test_decisions_follow_the_credentials_and_the_token_also_when_remembered() -> None:
    rule = AuthRule.compile(DOCUMENT, RULE)
    for _ in range(2):  # the second round answers from memory: the same answers
        assert rule.allows({"authorization": "Bearer t"}, {}, None)
        assert rule.allows({"authorization": "Bearer t"}, {}, "t")
        assert not rule.allows({"authorization": "Bearer t"}, {}, "other")
        assert not rule.allows({"authorization": "Bearer "}, {}, None)
        assert rule.allows({"x-key": "t"}, {}, "t")
        assert not rule.allows({"x-key": "u"}, {}, "t")
        assert not rule.allows({}, {}, None)


def test_memory_stays_bounded_under_random_credentials() -> None:
    rule = AuthRule.compile(DOCUMENT, RULE)
    for number in range(5_000):
        assert rule.allows({"authorization": f"Bearer {number}"}, {}, None)
    assert len(rule._decided) <= 256
