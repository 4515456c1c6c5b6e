"""Where the mock keeps its state: ``memory`` (this process) or ``redis://[USER:PASSWORD@]HOST:PORT/DB``.

The URL is checked when the command line is read (a located message, exit 2), and the server is
asked once before serving whether it answers and is new enough (Redis 6.2+ or Valkey: single-use
tokens take ``GETDEL``). The ``redis`` package is imported only for that check and by the Redis
store itself, so ``--store memory`` starts without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from lifecycle.errors import ComebackError

MEMORY = "memory"
DEFAULT_PORT = 6379
MINIMUM_VERSION = (6, 2)  # GETDEL
CHECK_SECONDS = 3.0  # the start-up check waits this long for an answer


class StoreUrlError(ComebackError, ValueError):
    """A ``--store`` value that is neither ``memory`` nor a usable ``redis://`` URL."""


@dataclass(frozen=True, slots=True)
class RedisLocation:
    """A Redis database: host, port, database number and optional credentials."""

    host: str
    port: int = DEFAULT_PORT
    db: int = 0
    username: str | None = None
    password: str | None = None

    @property
    def shown(self) -> str:
        """The URL without its password (for messages and logs)."""
        user = self.username or ""
        secret = ":***" if self.password else ""
        at = "@" if user or secret else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"redis://{user}{secret}{at}{host}:{self.port}/{self.db}"

    def client_options(self, seconds: float) -> dict[str, Any]:
        """Keyword arguments of a ``redis`` client (sync or asyncio) for this location, every
        connect and answer bounded by ``seconds``."""
        return {
            "host": self.host,
            "port": self.port,
            "db": self.db,
            "username": self.username,
            "password": self.password,
            "socket_timeout": seconds,
            "socket_connect_timeout": seconds,
        }


def parse_store(text: str) -> RedisLocation | None:
    """None for ``memory``; else the Redis location, or ``StoreUrlError`` saying what is wrong."""
    if text == MEMORY:
        return None
    expected = "expected 'memory' or redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise StoreUrlError(f"--store {text!r}: {error}; {expected}") from None
    if parts.scheme != "redis":
        hint = "; TLS (rediss://) is not supported" if parts.scheme == "rediss" else ""
        raise StoreUrlError(f"--store {text!r}: unknown store {parts.scheme or text!r}{hint}; {expected}")
    if not parts.hostname:
        raise StoreUrlError(f"--store {text!r}: no host; {expected}")
    if parts.query or parts.fragment:
        raise StoreUrlError(f"--store {text!r}: options after '?' or '#' are not read; {expected}")
    path = parts.path.strip("/") or "0"
    if not path.isdigit() or int(path) > 1_000_000:
        raise StoreUrlError(f"--store {text!r}: database {path!r} is not a number from 0; {expected}")
    return RedisLocation(
        parts.hostname,
        DEFAULT_PORT if port is None else port,
        int(path),
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


def unreachable(location: RedisLocation, seconds: float = CHECK_SECONDS) -> str | None:
    """Why the mock cannot use the store at ``location`` now (None: it answers and is new enough)."""
    import redis  # noqa: PLC0415  (only a Redis store needs the client)

    client = redis.Redis(**location.client_options(seconds))
    try:
        info = client.info("server")
    except redis.RedisError as error:
        return f"the store {location.shown} is unreachable: {error}"
    finally:
        client.close()
    version = str(info.get("valkey_version") or info.get("redis_version", "0"))
    numbers = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
    if numbers < MINIMUM_VERSION:
        needed = "Redis 6.2 or later (or Valkey)"
        return f"the store {location.shown} runs Redis {version}; the mock needs {needed}"
    return None
