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


# PostgreSQL's numeric_value_out_of_range: a number too large for its column (a quantity or amount a
# user sent, or a total or balance it would make). The statement failed and its transaction rolled
# back, so nothing was written: the user's error (400), not the server's.
_OUT_OF_RANGE = "22003"
OUT_OF_RANGE_MESSAGE = "A number in the request, or a total it makes, is too large to be stored. Nothing was saved."


def is_out_of_range(exc: BaseException) -> bool:
    from django.db import DataError

    return isinstance(exc, DataError) and getattr(exc.__cause__, "sqlstate", None) == _OUT_OF_RANGE
