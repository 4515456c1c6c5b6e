"""Which names look like they hold a credential: shared by the mock's journal masking and the
recording proxy, so a field the one masks the other never writes in clear.

A name is secret-looking when one of its words (``snake_case``, ``kebab-case`` and ``camelCase``
split alike) is a credential word (``password``, ``secret``, ``credential``...), two neighbouring
words make one (``api key``, ``private key``, ``access key``), or its last word is ``token``,
``authorization`` or ``cookie``.

    >>> is_secret_name("openai_api_key"), is_secret_name("max_tokens")
    (True, False)
"""

from __future__ import annotations

import functools
import itertools
import re

SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "secret",
        "apikey",
        "privatekey",
        "accesskey",
        "credential",
        "credentials",
    }
)
# secret only as a name's last word: ``access_token`` is one, ``return_token_ids`` is not
LAST_WORDS = frozenset({"token", "authorization", "cookie"})
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a field, header or parameter called ``name`` looks like it holds a credential."""
    words = _WORD.findall(_CAMEL.sub(r"\1 \2", name).lower())
    if words and words[-1] in LAST_WORDS:
        return True
    pairs = (first + second for first, second in itertools.pairwise(words))
    return any(word in SECRET_WORDS for word in (*words, *pairs))
