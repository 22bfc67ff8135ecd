"""Stock API: receipts without a purchase order, levels, movements."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.scoping import user_can_see_location, user_location_ids
from apps.catalog.selectors import location_get_by_code, products_by_sku
from apps.core.api.schema import error_responses
from apps.core.errors import PermissionDenied
from apps.stock import selectors, services
from apps.stock.models import MovementKind, StockLevel, StockMovement


class ReceiptLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)


class ReceiptInput(serializers.Serializer):
    location = serializers.CharField(max_length=32)
    reference = serializers.CharField(max_length=120, allow_blank=True, required=False, default="")
    lines = ReceiptLineInput(many=True, allow_empty=False, max_length=1000)

    def validate_location(self, code):
        location = location_get_by_code(code)
        if location is None or not location.active:
            raise serializers.ValidationError(f"Unknown location {code!r}")
        return location

    def validate_lines(self, lines):
        products = products_by_sku(line["sku"] for line in lines)
        unknown = sorted({line["sku"] for line in lines} - set(products))
        if unknown:
            raise serializers.ValidationError(f"Unknown sku: {', '.join(unknown)}")
        return [
            services.ReceiptLine(product=products[line["sku"]], quantity=line["quantity"], unit_cost=line["unit_cost"])
            for line in lines
        ]


class ReceiptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    location = serializers.CharField(source="location.code")
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    lines = serializers.SerializerMethodField()

    def get_lines(self, receipt) -> list[dict]:
        return [
            {"sku": ln.product.sku, "quantity": ln.quantity, "unit_cost": str(ln.unit_cost)}
            for ln in receipt.lines.select_related("product")
        ]


class StockReceiptCreateApi(APIView):
    required_perms = {"POST": ["stock.add_stockreceipt"]}

    @extend_schema(request=ReceiptInput, responses={201: ReceiptOutput, **error_responses(400, 401, 403, 409, 413)})
    def post(self, request):
        data = ReceiptInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not user_can_see_location(request.user, data.validated_data["location"].pk):
            raise PermissionDenied("You may only receive stock at your own locations.")
        receipt = services.stock_receive(actor=request.user, **data.validated_data)
        return Response(ReceiptOutput(receipt).data, status=status.HTTP_201_CREATED)


class StockLevelOutput(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    location = serializers.CharField(source="location.code")
    available = serializers.IntegerField(source="available_qty")

    class Meta:
        model = StockLevel
        fields = ["sku", "location", "on_hand", "reserved", "available", "updated_at"]


class StockLevelListApi(generics.ListAPIView):
    serializer_class = StockLevelOutput
    required_perms = {"GET": ["stock.view_stocklevel"]}

    @extend_schema(parameters=[OpenApiParameter("sku", str), OpenApiParameter("location", str)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.stock_level_list(
            sku=params.get("sku") or None,
            location=params.get("location") or None,
            location_ids=user_location_ids(self.request.user),
        )


class StockMovementOutput(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    location = serializers.CharField(source="location.code")
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = StockMovement
        fields = ["id", "sku", "location", "kind", "quantity", "balance_after", "reference", "actor", "created_at"]


class StockMovementListApi(generics.ListAPIView):
    serializer_class = StockMovementOutput
    required_perms = {"GET": ["stock.view_stockmovement"]}

    @extend_schema(
        parameters=[
            OpenApiParameter("sku", str),
            OpenApiParameter("location", str),
            OpenApiParameter("kind", str, enum=MovementKind.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.stock_movement_list(
            sku=params.get("sku") or None,
            location=params.get("location") or None,
            kind=params.get("kind") or None,
            location_ids=user_location_ids(self.request.user),
        )
