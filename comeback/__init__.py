"""comeback: a mock server and contract-test kit for asynchronous chat and message APIs."""

__version__ = "0.1.0"
