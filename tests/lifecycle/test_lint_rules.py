"""Lint of `x-lifecycle.rules` on the bundled specs changed in one place: located, with did-you-mean."""

from __future__ import annotations

import pytest

from lifecycle.bundled import bundled_specs
from lifecycle.lint import lint_document
from lifecycle.source import load_document

SPECS = {path.stem: path for path in bundled_specs()}


def findings(api: str, old: str, new: str) -> list[str]:
    text = SPECS[api].read_text(encoding="utf-8")
    assert old in text
    document = load_document(text.replace(old, new, 1), f"openapi/{api}.yaml")
    return [
        str(f).split(": ", 1)[1]
        for f in lint_document(document, validate_openapi=False, check_examples=False)
    ]


@pytest.mark.parametrize(
    ("api", "old", "new", "expected"),
    [
        (
            "chatzy",
            "unless_stream_ends_with: ['__ERROR__:']",
            "unless_stream_ends_with: ['__EROR__:']",
            "/x-lifecycle/rules/2/unless_stream_ends_with/0: not a terminal or error signal of the stream; "
            "found '__EROR__:'; expected one of ",
        ),
        (
            "letta",
            "      view: retrieveRun\n",
            "      view: listRuns\n",
            "/x-lifecycle/rules/4/view: not a view that reads one resource by id; found 'listRuns'; "
            "expected one of 'retrieveRun'",
        ),
        (
            "letta",
            "kind: view-agrees-with-stream\n      view: retrieveRun\n",
            "kind: stream-token\n",
            "/x-lifecycle/rules/4/kind: the stream takes no token; expected x-lifecycle.stream.token",
        ),
        (
            "invent",
            "      items: ''\n      same_id: /id\n",
            "      items: ''\n      same_id: /ids\n",
            "/x-lifecycle/rules/0/same_id: no such field in the list items of 'listChatMessages'; "
            "found '/ids'",
        ),
        (
            "letta",
            "parts: [/prompt_tokens, /completion_tokens]",
            "parts: [/prompt_tokens, /completion_token]",
            "/x-lifecycle/rules/2/parts/1: no such field in the 200 answer of 'retrieveUsageForRun'; "
            "found '/completion_token'",
        ),
    ],
    ids=["unknown-signal", "list-view", "no-token", "item-field", "sum-part"],
)
def test_a_rule_that_names_what_the_spec_lacks_is_a_located_finding(
    api: str, old: str, new: str, expected: str
) -> None:
    found = findings(api, old, new)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found
