"""Real servers on 127.0.0.1 for tests that need a socket (the mock's own helper)."""

from __future__ import annotations

from mockserver.servers import free_port, serve_in_thread

serve = serve_in_thread

__all__ = ["free_port", "serve"]
