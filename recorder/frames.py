"""Server-Sent Events read as they pass through, and what each frame means for a recording.

``FrameReader`` splits a byte stream into frames however the chunks fall; ``classify`` says whether
a frame carries reply text, a terminal or error signal of the API's stream, a control word
(Chatzy's ``call_again``), a keep-alive, or something that does not parse (a malformed frame).

The text-carrying shapes are the ones the bundled APIs use: an Anthropic-style ``delta.text``
(PrivateGPT), a ``content`` string (Chatzy chunks, Letta ``assistant_message``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from lifecycle.model import Stream

Kind = Literal["text", "signal", "control", "keepalive", "malformed", "other"]
CONTROL_WORDS = frozenset({"call_again"})


@dataclass(frozen=True, slots=True)
class Frame:
    """One SSE frame: its ``event:`` name (if any) and its ``data:`` lines joined by newlines."""

    event: str | None
    data: str


@dataclass(frozen=True, slots=True)
class Meaning:
    kind: Kind
    value: str = ""


class FrameReader:
    """Incremental SSE parser: ``feed`` bytes, get the frames completed so far."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pending = b""

    def feed(self, chunk: bytes) -> list[Frame]:
        data = self._pending + chunk
        try:
            text = data.decode("utf-8")
            self._pending = b""
        except UnicodeDecodeError as error:  # a multi-byte character split across chunks
            text = data[: error.start].decode("utf-8")
            self._pending = data[error.start :]
        self._buffer += text.replace("\r\n", "\n").replace("\r", "\n")
        frames = []
        while "\n\n" in self._buffer:
            block, self._buffer = self._buffer.split("\n\n", 1)
            frame = _parse(block)
            if frame is not None:
                frames.append(frame)
        return frames


def _parse(block: str) -> Frame | None:
    event: str | None = None
    data: list[str] = []
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if event is None and not data:
        return None
    return Frame(event, "\n".join(data))


def classify(frame: Frame, stream: Stream) -> Meaning:
    """What ``frame`` means for the API whose stream is ``stream``."""
    signals = (*stream.terminal_signals, *stream.error_signals)
    word = frame.data.strip()
    if stream.framing == "event-and-data" and frame.event in signals:
        return Meaning("signal", frame.event)
    if stream.keepalive is not None and stream.keepalive in (frame.event, word):
        return Meaning("keepalive")
    try:
        payload: Any = json.loads(frame.data)
    except ValueError:
        if _is_signal(word, signals):
            return Meaning("signal", word)
        if word in CONTROL_WORDS:
            return Meaning("control", word)
        return Meaning("malformed", frame.data)
    if not isinstance(payload, dict):
        return (
            Meaning("signal", payload)
            if isinstance(payload, str) and _is_signal(payload, signals)
            else Meaning("other")
        )
    if stream.keepalive is not None and stream.keepalive in (
        payload.get("type"),
        payload.get("message_type"),
    ):
        return Meaning("keepalive")
    delta = payload.get("delta")
    if isinstance(delta, dict) and isinstance(delta.get("text"), str):
        return Meaning("text", delta["text"])
    kind = payload.get("message_type")
    if isinstance(payload.get("content"), str) and kind in (None, "assistant_message"):
        return Meaning("text", payload["content"])
    return Meaning("other")


def _is_signal(word: str, signals: tuple[str, ...]) -> bool:
    return word in signals or any(s.endswith(":") and word.startswith(s) for s in signals)
