"""Exchange-rate API: finance records the rate of a currency for a date; everyone converting reads them."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.pagination import StandardPagination
from apps.core.api.schema import error_responses
from apps.core.currency import exchange_rate_set
from apps.core.models import ExchangeRate


class ExchangeRateInput(serializers.Serializer):
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", help_text="ISO 4217 code")
    rate_date = serializers.DateField()
    rate = serializers.DecimalField(max_digits=18, decimal_places=8, min_value=0, help_text="company currency per unit")


class ExchangeRateOutput(serializers.Serializer):
    currency = serializers.CharField()
    rate_date = serializers.DateField()
    rate = serializers.DecimalField(max_digits=18, decimal_places=8)


class ExchangeRateListCreateApi(APIView):
    required_perms = {"GET": ["core.view_exchangerate"], "POST": ["core.add_exchangerate"]}

    @extend_schema(
        operation_id="exchange_rates_list",
        parameters=[OpenApiParameter("currency", str), OpenApiParameter("page", int)],
        responses={200: ExchangeRateOutput(many=True), **error_responses(401, 403)},
    )
    def get(self, request):
        qs = ExchangeRate.objects.all()
        if currency := request.query_params.get("currency"):
            qs = qs.filter(currency=currency.upper())
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ExchangeRateOutput(page, many=True).data)

    @extend_schema(
        operation_id="exchange_rates_set",
        request=ExchangeRateInput,
        responses={201: ExchangeRateOutput, **error_responses(400, 401, 403, 409)},
        description="Record or correct the rate of a currency for a date (company currency per one unit).",
    )
    def post(self, request):
        data = ExchangeRateInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        rate = exchange_rate_set(currency=d["currency"], on=d["rate_date"], rate=d["rate"])
        return Response(ExchangeRateOutput(rate).data, status=201)
