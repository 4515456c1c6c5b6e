"""Where the mock keeps its state: the ``StateStore`` seam (``base``) and its implementations
(``memory``: one process, the default; a network store lets several processes serve one mock)."""
