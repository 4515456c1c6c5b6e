"""One conversation per resource, as every face of it shows it.

A resource's conversation is the user's input (from its create body) and one reply: the scenario's
``stream.text``, else seeded generated text (``streams.reply_tokens``). The stream sends the reply
token by token on the timeline's schedule; polled faces (Letta's run messages, steps and usage,
Invent's message parts and usage, Chatzy's message list) show ``streams.reply_delivered``, the same
part of it at the same moment. The helpers here are what those faces share: token counts derived
from the text, stable ids, the user's text out of a vendor's content shapes.

    >>> count_tokens("Hello, world!")
    4
"""

from __future__ import annotations

import re
import uuid
from typing import Any

_TOKEN = re.compile(r"\w+|[^\w\s]")
SYSTEM_PROMPT_TOKENS = 2048  # what an agent's system prompt and memory add to every prompt (Letta)


def count_tokens(text: str) -> int:
    """Tokens of ``text`` as the mock counts them: words and punctuation marks (a fair LLM estimate)."""
    return len(_TOKEN.findall(text))


def stable_uuid(*parts: str) -> str:
    """A uuid4-shaped id that is the same for the same parts (so a message keeps its id on every read)."""
    raw = bytearray(uuid.uuid5(uuid.NAMESPACE_URL, ":".join(parts)).bytes)
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4 bits, so strict uuid4 patterns accept it
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def text_of(content: Any) -> str:
    """The text in a message content: a string, or the ``text`` of its parts joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(text_of(part) for part in content if text_of(part))
    if isinstance(content, dict):
        text = content.get("text")
        if isinstance(text, str):
            return text
        return text_of(content.get("content"))
    return ""
