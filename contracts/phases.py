"""The phases of a contract run, in the order they run (light to import: the CLI needs only this)."""

PHASES = ("conformance", "lifecycle", "paging", "cancel", "delete", "stream", "callback")
