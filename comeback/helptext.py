"""Help text from a subcommand module's docstring, as plain text.

The docstrings are reStructuredText (``code`` in double backticks, for the API docs); ``--help``
shows them without that markup.

    >>> plain("Run ``comeback init SPEC`` first.")
    'Run comeback init SPEC first.'
"""

from __future__ import annotations

import re

_LITERAL = re.compile(r"``([^`]+)``")


def plain(text: str) -> str:
    """``text`` with reStructuredText literals (double backticks) written as plain text."""
    return _LITERAL.sub(r"\1", text)


def description(doc: str | None) -> str | None:
    """A module docstring's body (after its first paragraph), as plain text, for ``--help``."""
    if not doc or "\n\n" not in doc:
        return None
    return plain(doc.split("\n\n", 1)[1])
