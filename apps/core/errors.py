"""The one domain error type: a business rule said no. The API maps it to 409 (or its own status)."""

from typing import Any


class DomainError(Exception):
    """A business rule violation; `code` is machine-readable, `detail` is for people."""

    status_code = 409
    code = "conflict"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class InvalidTransition(DomainError):
    """A state change that the subject's current status does not allow."""

    code = "invalid_transition"


class InsufficientStock(DomainError):
    code = "insufficient_stock"


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"
