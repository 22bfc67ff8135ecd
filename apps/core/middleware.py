"""Request guards: input the database cannot store is the client's error (400), shown as such."""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme

from apps.core.errors import OUT_OF_RANGE_MESSAGE, is_out_of_range

logger = logging.getLogger(__name__)


class OutOfRangeMiddleware:
    """A portal form whose numbers overflow a column (PostgreSQL rolled the statement back) gets a
    400 page saying so instead of a server error. The API answers these itself (apps.core.api.errors)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_out_of_range(exception):
            return None
        logger.warning("value out of range on %s", request.path, exc_info=exception)
        referer = request.META.get("HTTP_REFERER", "")
        safe = url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure())
        page = render_to_string(
            "core/out_of_range.html",
            {"message": OUT_OF_RANGE_MESSAGE, "back": referer if safe else request.path},
            request=request,
        )
        return HttpResponseBadRequest(page)


class NulInQueryMiddleware:
    """A query string with a NUL character is refused with a 400 before any view runs: PostgreSQL
    cannot hold NUL in text, so a filter carrying one would otherwise end in a server error. JSON
    under /api/, like every API error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            detail = "Query parameters may not contain NUL characters."
            if request.path.startswith("/api/"):
                return JsonResponse({"error": "invalid", "detail": detail}, status=400)
            return HttpResponseBadRequest(detail)
        return self.get_response(request)
