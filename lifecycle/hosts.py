"""Which ``Host`` header values a local server answers: the rule the mock and the recording proxy
share against DNS rebinding (a page whose own domain resolves to 127.0.0.1 sends that domain).

A loopback address, ``localhost`` (or a ``*.localhost`` name), the bound host, or a name allowed
with ``--allow-host`` (``.example.com``: the domain and every name under it; ``*``: anything).

    >>> HostRule(["127.0.0.1"]).allows(b"evil.example:8000")
    False
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

LOOPBACK_ORIGIN_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

_WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})


class HostRule:
    """Which ``Host`` header values are allowed. Decisions are cached per value (bounded)."""

    def __init__(self, allowed: Iterable[str]) -> None:
        names = {name.strip().lower().rstrip(".") for name in allowed if name.strip()}
        self.any_host = "*" in names
        self.any_ip = bool(names & _WILDCARD_BINDS)  # bound to every interface: its addresses are ours
        self.suffixes = tuple(
            "." + name.lstrip("*").lstrip(".") for name in names if name.startswith(("*.", "."))
        )
        # ".example.com" allows the domain and every name under it, as Django's ALLOWED_HOSTS does
        self.names = {name.strip("[]") for name in names if not name.startswith(("*", "."))}
        self.names.update(suffix[1:] for suffix in self.suffixes)
        self._seen: dict[bytes, bool] = {}

    def allows(self, header: bytes | None) -> bool:
        """Whether a request with this ``Host`` header (None: none sent) may be served."""
        if header is None or self.any_host:
            return True  # no Host at all is HTTP/1.0 from a tool, never a browser
        known = self._seen.get(header)
        if known is None:
            known = self._decide(header)
            if len(self._seen) < 1024:  # a flood of random Host values must not grow memory
                self._seen[header] = known
        return known

    def refusal(self, headers: Iterable[tuple[bytes, bytes]], program: str) -> str | None:
        """Why a request with these (ASGI) headers may not be served, naming ``program`` for the
        ``--allow-host`` hint; None when it may."""
        host = None
        for name, value in headers:
            if name == b"host":
                host = value
                break
        if self.allows(host):
            return None
        shown = (host or b"").decode("latin-1")[:200]
        return (
            f"the Host header {shown!r} names neither this machine nor the bound host; "
            f"start {program} with --allow-host NAME to serve it under that name"
        )

    def _decide(self, header: bytes) -> bool:
        host = host_name(header.decode("latin-1"))
        if host == "localhost" or host.endswith(".localhost") or host in self.names:
            return True
        if self.suffixes and host.endswith(self.suffixes):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return address.is_loopback or self.any_ip


def host_name(value: str) -> str:
    """The host part of a ``Host`` header or netloc, lower case, without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def is_loopback_origin(origin: str) -> bool:
    """Whether an ``Origin`` header is exactly a loopback origin (``http://localhost:8000``), not one
    that only starts like one (``http://localhost.evil.example``)."""
    match = _ORIGIN.match(origin.strip().lower())
    if match is None:
        return False
    host = match.group(1).strip("[]")
    if host in LOOPBACK_ORIGIN_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_ORIGIN = re.compile(r"^https?://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::[0-9]{1,5})?$")
