"""One exception handler for the API: every error is JSON, business rules are 409, never a 500 for input."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django_fsm import TransitionNotAllowed
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from apps.core.errors import OUT_OF_RANGE_MESSAGE, DomainError, is_out_of_range

logger = logging.getLogger(__name__)


def _body(code: str, detail, **extra) -> dict:
    body = {"error": code, "detail": detail}
    body.update(extra)
    return body


def exception_handler(exc, context):
    if is_out_of_range(exc):
        logger.warning("value out of range on %s", context["request"].path, exc_info=exc)
        set_rollback()
        return Response(_body("out_of_range", OUT_OF_RANGE_MESSAGE), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):
        return Response(_body(exc.code, exc.detail, **exc.extra), status=exc.status_code)
    if isinstance(exc, TransitionNotAllowed):
        return Response(_body("invalid_transition", str(exc)), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            _body("payload_too_large", "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(_body("bad_request", "The request could not be read."), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _body("invalid", "The request has invalid fields.", fields=response.data)
    elif isinstance(exc, exceptions.ParseError):
        response.data = _body("malformed", str(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        detail = response.data.get("detail", str(exc.detail)) if isinstance(response.data, dict) else exc.detail
        response.data = _body(exc.get_codes() if isinstance(exc.get_codes(), str) else "error", detail)
    return response
