"""Return API: create and list, detail, and one endpoint per action."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.scoping import user_location_ids
from apps.core.api.schema import error_responses
from apps.core.errors import PermissionDenied
from apps.returns import selectors, services
from apps.returns.api.serializers import (
    CloseInput,
    ConfirmRefundInput,
    DecisionInput,
    InspectInput,
    ReceiveInput,
    ReturnCreateInput,
    ReturnDetailOutput,
    ReturnOutput,
    return_representation,
)
from apps.returns.states import ReturnStatus


class ReturnListFilter(serializers.Serializer):
    status = serializers.CharField(required=False, help_text="One status or a comma-separated list")
    order_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    search = serializers.CharField(required=False, max_length=254, help_text="RMA or order number, external id, e-mail")

    def validate_status(self, value):
        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = sorted(set(statuses) - set(ReturnStatus.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown status: {', '.join(unknown)}")
        return statuses


def _detail(return_id: int) -> dict:
    ret = selectors.return_get(return_id=return_id)
    selectors.returns_with_lines([ret])
    return return_representation(ret, history=selectors.return_history(ret=ret))


def _in_scope(request, location) -> None:
    scope = user_location_ids(request.user)
    if scope is not None and (location is None or location.pk not in scope):
        raise PermissionDenied("You may only take returns at your own locations")


class ReturnListCreateApi(APIView):
    required_perms = {"GET": ["returns.view_return"], "POST": ["returns.add_return"]}

    @extend_schema(
        operation_id="returns_list",
        parameters=[ReturnListFilter, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: ReturnOutput(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request):
        from apps.core.api.pagination import StandardPagination

        filters = ReturnListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.return_list(**filters.validated_data, location_ids=user_location_ids(request.user))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        selectors.returns_with_lines(page)
        return paginator.get_paginated_response([return_representation(r) for r in page])

    @extend_schema(
        operation_id="returns_create",
        request=ReturnCreateInput,
        responses={
            201: OpenApiResponse(ReturnDetailOutput, description="Return requested: authorized or held for review"),
            **error_responses(400, 401, 403, 404, 409),
        },
        description="Request a return of (part of) a shipped, delivered, collected or closed order. 409 `over_return` "
        "when a line asks for more than was shipped and not yet returned.",
    )
    def post(self, request):
        data = ReturnCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        location = d.get("location")
        if user_location_ids(request.user) is not None:
            _in_scope(request, location)
        ret = services.return_create(
            order_id=d["order_id"],
            channel=d["channel"],
            reason=d["reason"],
            lines=d["lines"],
            note=d["note"],
            location=location,
            actor=request.user,
        )
        return Response(_detail(ret.pk), status=status.HTTP_201_CREATED)


class ReturnDetailApi(APIView):
    required_perms = {"GET": ["returns.view_return"]}

    @extend_schema(responses={200: ReturnDetailOutput, **error_responses(401, 403, 404)})
    def get(self, request, return_id: int):
        selectors.return_get(return_id=return_id, location_ids=user_location_ids(request.user))
        return Response(_detail(return_id))


class _ReturnActionApi(APIView):
    input_class: type[serializers.Serializer] = CloseInput

    def post(self, request, return_id: int):
        scope = user_location_ids(request.user)
        if scope is not None:
            selectors.return_get(return_id=return_id, location_ids=scope)  # 404 outside the user's stores
        data = self.input_class(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        self.act(request, return_id, data.validated_data)
        return Response(_detail(return_id))

    def act(self, request, return_id: int, d: dict) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def _doc(operation: str, request, description: str):
    return extend_schema(
        operation_id=f"returns_{operation}",
        request=request,
        responses={200: ReturnDetailOutput, **error_responses(400, 401, 403, 404, 409)},
        description=description,
    )


class ReturnAuthorizeApi(_ReturnActionApi):
    required_perms = {"POST": ["returns.view_return", "returns.authorize_return"]}
    input_class = DecisionInput

    @_doc("authorize", DecisionInput, "A reviewer authorizes a return held for review (overrides the band).")
    def post(self, request, return_id: int):
        return super().post(request, return_id)

    def act(self, request, return_id, d):
        services.return_authorize(return_id=return_id, actor=request.user, comment=d["comment"])


class ReturnRejectApi(_ReturnActionApi):
    required_perms = {"POST": ["returns.view_return", "returns.authorize_return"]}
    input_class = DecisionInput

    @_doc("reject", DecisionInput, "A reviewer rejects a return held for review; its quantities are freed.")
    def post(self, request, return_id: int):
        return super().post(request, return_id)

    def act(self, request, return_id, d):
        services.return_reject(return_id=return_id, actor=request.user, comment=d["comment"])


class ReturnReceiveApi(_ReturnActionApi):
    required_perms = {"POST": ["returns.view_return", "returns.receive_return"]}
    input_class = ReceiveInput

    @_doc("receive", ReceiveInput, "The goods arrived at a store or warehouse.")
    def post(self, request, return_id: int):
        return super().post(request, return_id)

    def act(self, request, return_id, d):
        _in_scope(request, d["location"])
        services.return_receive(return_id=return_id, location=d["location"], actor=request.user)


class ReturnInspectApi(_ReturnActionApi):
    required_perms = {"POST": ["returns.view_return", "returns.receive_return"]}
    input_class = InspectInput

    @_doc(
        "inspect",
        InspectInput,
        "Disposition per line (every unit exactly once): posts the stock effect, computes the refund and starts it "
        "or its approval.",
    )
    def post(self, request, return_id: int):
        return super().post(request, return_id)

    def act(self, request, return_id, d):
        services.return_inspect(return_id=return_id, lines=d["lines"], actor=request.user)


class ReturnConfirmRefundApi(_ReturnActionApi):
    required_perms = {"POST": ["returns.view_return", "returns.confirm_refund"]}
    input_class = ConfirmRefundInput

    @_doc("confirm_refund", ConfirmRefundInput, "The refund was paid: record the payment reference.")
    def post(self, request, return_id: int):
        return super().post(request, return_id)

    def act(self, request, return_id, d):
        services.return_confirm_refund(
            return_id=return_id, payment_reference=d["payment_reference"], actor=request.user
        )


class ReturnCloseApi(_ReturnActionApi):
    required_perms = {"POST": ["returns.view_return", "returns.confirm_refund"]}
    input_class = CloseInput

    @_doc("close", CloseInput, "Close a refunded return (or one whose refund was rejected).")
    def post(self, request, return_id: int):
        return super().post(request, return_id)

    def act(self, request, return_id, d):
        services.return_close(return_id=return_id, actor=request.user, reason=d["reason"])
