"""The contract kit: checks any live server against a spec and its lifecycle.

Phases: conformance (Schemathesis), lifecycle probes (what Schemathesis cannot check: transitions,
terminal states, timestamps, cancel, delete, streams, callbacks), and a report. Never imports the
mock: it must be able to check any server, and the mock is proven by being checked.
"""
