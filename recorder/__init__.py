"""Record a live server into scenarios: a proxy that follows created resources through the lifecycle.

Imports only ``lifecycle`` (never ``mockserver`` or ``contracts``): it records any server.

    >>> app = create_app(Options(spec, "http://127.0.0.1:8283", Path("recorded")))
"""

from recorder.proxy import Options, Recorder, create_app

__all__ = ["Options", "Recorder", "create_app"]
