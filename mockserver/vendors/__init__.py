"""One ``Vendor`` per API: the behaviour its spec cannot express."""

from __future__ import annotations

from mockserver.catalog import Api
from mockserver.engine import Engine
from mockserver.vendors.base import Vendor
from mockserver.vendors.chatzy import Chatzy
from mockserver.vendors.invent import Invent
from mockserver.vendors.letta import Letta
from mockserver.vendors.privategpt import PrivateGpt

_VENDORS: dict[str, type[Vendor]] = {
    "privategpt": PrivateGpt,
    "chatzy": Chatzy,
    "invent": Invent,
    "letta": Letta,
}


def vendor_for(engine: Engine, api: Api) -> Vendor:
    """The vendor behaviour for ``api``; an unknown API gets the generic, spec-driven one."""
    return _VENDORS.get(api.name, Vendor)(engine, api)


__all__ = ["Vendor", "vendor_for"]
