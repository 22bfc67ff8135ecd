"""Order API: intake, list, detail, history and one endpoint per transition."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.scoping import user_location_ids
from apps.catalog.models import Channel
from apps.core.api.schema import error_responses
from apps.orders import selectors, services
from apps.orders.api.intake import order_input_from
from apps.orders.api.serializers import (
    OrderCreateInput,
    OrderHistoryOutput,
    OrderOutput,
    TransitionInput,
    order_representation,
)
from apps.orders.states import OrderStatus


class OrderListFilter(serializers.Serializer):
    status = serializers.CharField(required=False, help_text="One status or a comma-separated list")
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    location = serializers.CharField(required=False, max_length=32)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    number = serializers.CharField(required=False, max_length=30)
    search = serializers.CharField(required=False, max_length=254)

    def validate_status(self, value):
        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = sorted(set(statuses) - set(OrderStatus.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown status: {', '.join(unknown)}")
        return statuses


class OrderListCreateApi(APIView):
    required_perms = {"GET": ["orders.view_order"], "POST": ["orders.add_order"]}

    @extend_schema(
        operation_id="orders_list",
        parameters=[OrderListFilter, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: OrderOutput(many=True), **error_responses(400, 401)},
    )
    def get(self, request):
        filters = OrderListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.order_list(**filters.validated_data, location_ids=user_location_ids(request.user))
        paginator = self.paginator
        page = paginator.paginate_queryset(qs, request, view=self)
        selectors.orders_with_lines(page)
        return paginator.get_paginated_response([order_representation(o) for o in page])

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            from apps.core.api.pagination import StandardPagination

            self._paginator = StandardPagination()
        return self._paginator

    @extend_schema(
        operation_id="orders_create",
        request=OrderCreateInput,
        responses={
            201: OpenApiResponse(OrderOutput, description="Order taken in"),
            200: OpenApiResponse(OrderOutput, description="Replay of an order already taken in: the same order"),
            **error_responses(400, 401, 403, 409, 413),
        },
    )
    def post(self, request):
        order, created = services.order_create(data=order_input_from(request.data), actor=request.user)
        if not created:
            selectors.orders_with_lines([order])
        return Response(order_representation(order), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderDetailApi(APIView):
    required_perms = {"GET": ["orders.view_order"]}

    @extend_schema(responses={200: OrderOutput, **error_responses(401, 403, 404)})
    def get(self, request, order_id: int):
        order = selectors.order_get(order_id=order_id, location_ids=user_location_ids(request.user))
        selectors.orders_with_lines([order])
        return Response(order_representation(order))


class OrderHistoryApi(APIView):
    required_perms = {"GET": ["orders.view_order"]}

    @extend_schema(responses={200: OrderHistoryOutput(many=True), **error_responses(401, 403, 404)})
    def get(self, request, order_id: int):
        entries = selectors.order_history(order_id=order_id, location_ids=user_location_ids(request.user))
        return Response(OrderHistoryOutput(entries, many=True).data)


class _OrderTransitionApi(APIView):
    action_name = ""
    required_perms = {"POST": ["orders.transition_order"]}

    def post(self, request, order_id: int):
        scope = user_location_ids(request.user)
        if scope is not None:
            selectors.order_get(order_id=order_id, location_ids=scope)  # 404 outside the user's stores
        data = TransitionInput(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        kwargs = {"order_id": order_id, "actor": request.user, "reason": data.validated_data["reason"]}
        if self.action_name == "ship":
            kwargs.update(carrier=data.validated_data["carrier"], tracking_number=data.validated_data["tracking"])
        services.TRANSITIONS[self.action_name](**kwargs)
        order = selectors.order_get(order_id=order_id)
        selectors.orders_with_lines([order])
        return Response(order_representation(order))


def _transition_api(action: str, doc: str) -> type[_OrderTransitionApi]:
    cls_name = "Order" + "".join(part.title() for part in action.split("-")) + "Api"

    def post(self, request, order_id: int):
        return _OrderTransitionApi.post(self, request, order_id)

    post = extend_schema(
        operation_id=f"orders_{action.replace('-', '_')}",
        request=TransitionInput,
        responses={200: OrderOutput, **error_responses(400, 401, 403, 404, 409)},
        description=doc,
    )(post)
    return type(cls_name, (_OrderTransitionApi,), {"action_name": action, "__doc__": doc, "post": post})


OrderPickApi = _transition_api("pick", "Start picking an allocated order.")
OrderShipApi = _transition_api("ship", "Ship: consumes the reservations and takes the stock off hand.")
OrderMarkReadyApi = _transition_api("mark-ready", "A pickup order is ready at the store.")
OrderCollectApi = _transition_api("collect", "The customer collected a pickup order: stock leaves.")
OrderDeliverApi = _transition_api("deliver", "The carrier delivered a shipped order.")
OrderReleaseApi = _transition_api("release", "Release an order from fraud review into allocation.")
OrderCancelApi = _transition_api("cancel", "Cancel the order and release its reservations.")
OrderCloseApi = _transition_api("close", "Close a delivered or collected order.")

TRANSITION_VIEWS = {
    "pick": OrderPickApi,
    "ship": OrderShipApi,
    "mark-ready": OrderMarkReadyApi,
    "collect": OrderCollectApi,
    "deliver": OrderDeliverApi,
    "release": OrderReleaseApi,
    "cancel": OrderCancelApi,
    "close": OrderCloseApi,
}
