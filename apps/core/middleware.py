"""Portal middleware: numbers too large for the database are the user's error, shown as such."""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
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
