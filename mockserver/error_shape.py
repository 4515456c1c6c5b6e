"""An API's error answers: the body shape and status of each refusal the mock makes in its name.

``ErrorShape`` is FastAPI's ``{"detail": "..."}``: the default of every API, and the whole of what a
spec without ``x-lifecycle`` gets. A vendor (``vendors.base.Vendor``) overrides what its API says
differently; the routing (404, 405), the endpoint (401, 422, 500) and the fault gate (injected
statuses, malformed control headers) all answer through it, so every refusal has the vendor's shape.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from mockserver.inputs import Problem
from mockserver.responses import JSONResponse

INJECTED_HEADER = "x-mock-fault-injected"
# on a 400 for a malformed mock control header (X-Mock-Fault, X-Mock-Scenario): the client's
# mistake against the mock, not the vendor's API, so strict mode lets it through
CONTROL_ERROR_HEADER = "x-mock-control-error"


class ErrorShape:
    """Errors as ``{"detail": "..."}``; subclasses override the differences."""

    def error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        """The API's error answer with ``status`` and ``message``."""
        return JSONResponse({"detail": message}, status_code=status, headers=headers)

    def validation_error(self, problems: list[Problem]) -> Response:
        """The answer to a request the spec refuses (``problems`` as ``InputRules`` found them)."""
        detail = [{"loc": list(p.loc), "msg": p.message, "type": p.kind} for p in problems]
        return JSONResponse({"detail": detail}, status_code=self.validation_status(problems))

    def validation_status(self, problems: list[Problem]) -> int:
        """413 for a body over the limit, else 422."""
        if any(p.kind == "too-large" for p in problems):
            return 413
        return 422

    def unauthorized(self) -> Response:
        """The answer to missing or wrong credentials."""
        return self.error(401, "Unauthorized")

    def control_error(self, header: str, message: str) -> Response:
        """The vendor's 400 for a malformed mock control header, marked as such."""
        response = self.bad_request(f"{header}: {message}" if header == "X-Mock-Fault" else message)
        response.headers[CONTROL_ERROR_HEADER] = header
        return response

    def bad_request(self, message: str) -> Response:
        """A 400 in the API's shape."""
        return self.error(400, message)

    def internal_error(self, message: str) -> Response:
        """The 500 for a failure of the mock itself."""
        return self.error(500, message)
