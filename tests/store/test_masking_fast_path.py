"""The Redis store cleans every journal entry as it is recorded (the memory store only when one is
read), so masking is on its request path: JSON without a secret-looking key is not walked key by
key, and the fast path masks exactly what the walk masks."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver import masking
from mockserver.masking import PLAIN_KEYS, Masker

STATUS = '{"message_id":"m-1","status":"completed","usage":{"input_tokens":1,"output_tokens":9}}'


def test_json_without_a_secret_key_is_not_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[str] = []
    walk = masking._mask_json

    def counting(text: str, secret: Any) -> str:
        walked.append(text)
        return walk(text, secret)

    monkeypatch.setattr(masking, "_mask_json", counting)
    masker = Masker()
    assert masker.text(STATUS) == STATUS
    assert masker.text(STATUS) == STATUS
    assert walked == []
    assert masker.text('{"max_tokens": 5, "api_key": "sk-1"}') == '{"max_tokens": 5, "api_key": "***"}'
    assert len(walked) == 1


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ('{"model": "m", "accessToken": "abc"}', '{"model": "m", "accessToken": "***"}'),
        ('{"model": "m", "api\\u005fkey": 7}', '{"model": "m", "api\\u005fkey": "***"}'),  # escaped key
        ('{"note": "say \\"x\\"", "password": "p"}', '{"note": "say \\"x\\"", "password": "***"}'),
        ('{"model": "m", "secret": "ab', '{"model": "m", "secret": "***'),  # cut in the secret
        ('{"model": "m", "max_tokens": 5}', '{"model": "m", "max_tokens": 5}'),
    ],
)
def test_the_fast_path_masks_what_the_walk_masks(text: str, masked: str) -> None:
    masker = Masker()
    masker.text('{"model": "x", "max_tokens": 1, "note": "n"}')  # these keys are now known plain
    assert masker.text(text) == masked == masking._mask_json(text, masker._secret_parameter)


def test_the_plain_keys_remembered_are_bounded() -> None:
    masker = Masker()
    for number in range(3):
        masker.text("{" + ",".join(f'"k{number}-{n}": 1' for n in range(PLAIN_KEYS)) + "}")
    assert len(masker._plain_keys) == PLAIN_KEYS
