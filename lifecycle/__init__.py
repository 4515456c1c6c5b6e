"""The pure lifecycle core: specs with their ``x-lifecycle`` block, findings, and the lifecycle model.

No network, no clock, no web framework: callers read files and pass their text in.

    >>> spec = load_spec(text, "openapi/letta.yaml")
    >>> spec.lifecycle.terminal_states
    frozenset({'completed', 'failed', 'cancelled'})
"""

from lifecycle.errors import ComebackError, SourceError
from lifecycle.findings import Finding
from lifecycle.model import Lifecycle, State
from lifecycle.spec import ApiSpec, load_spec

__all__ = ["ApiSpec", "ComebackError", "Finding", "Lifecycle", "SourceError", "State", "load_spec"]
