"""OpenAPI helpers: the shared error body and the standard error responses of write endpoints."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": serializers.CharField(help_text="Machine-readable code"),
        "detail": serializers.CharField(help_text="What went wrong, for people"),
        "fields": serializers.DictField(required=False, help_text="Per-field messages (400 only)"),
    },
)


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    text = {
        400: "Invalid input: malformed JSON or field errors (see `fields`)",
        401: "No or invalid credentials",
        403: "Not allowed for this user",
        404: "Not found",
        409: "Business rule conflict (e.g. transition not allowed from the current status)",
        413: "Request body too large",
    }
    return {c: OpenApiResponse(ErrorSerializer, description=text[c]) for c in codes}
