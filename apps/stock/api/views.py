"""Stock API: receipts without a purchase order, levels, movements, adjustments and cycle counts."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.scoping import user_can_see_location, user_location_ids
from apps.approvals import selectors as approval_selectors
from apps.catalog.selectors import location_get_by_code, products_by_sku
from apps.core.api.pagination import StandardPagination
from apps.core.api.schema import error_responses
from apps.core.errors import PermissionDenied
from apps.stock import selectors, services
from apps.stock.models import (
    AdjustmentReason,
    AdjustmentStatus,
    MovementKind,
    StockLevel,
    StockMovement,
    TransferStatus,
)


class ReceiptLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)


class ReceiptInput(serializers.Serializer):
    location = serializers.CharField(max_length=32)
    reference = serializers.CharField(max_length=120, allow_blank=True, required=False, default="")
    lines = ReceiptLineInput(many=True, allow_empty=False, max_length=1000)  # type: ignore[call-arg]  # ListSerializer takes max_length; the stubs lag

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
    in_transit = serializers.IntegerField(
        source="in_transit_qty", help_text="Dispatched to this location, not received"
    )

    class Meta:
        model = StockLevel
        fields = ["sku", "location", "on_hand", "reserved", "available", "in_transit", "updated_at"]


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


# --- inventory control: adjustments and cycle counts ---------------------------------------------
class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: never a bool, a string or a float."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def _location_for(code: str):
    location = location_get_by_code(code)
    if location is None or not location.active:
        raise serializers.ValidationError(f"Unknown location {code!r}")
    return location


def _products_for(lines: list[dict]) -> dict:
    skus = [line["sku"] for line in lines]
    duplicates = sorted({sku for sku in skus if skus.count(sku) > 1})
    if duplicates:
        raise serializers.ValidationError(f"Each sku may appear once: {', '.join(duplicates)}")
    products = products_by_sku(skus)
    unknown = sorted({sku for sku in skus if sku not in products})
    if unknown:
        raise serializers.ValidationError(f"Unknown sku: {', '.join(unknown)}")
    return products


class StockAdjustmentLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity_delta = StrictIntegerField(
        min_value=-1_000_000, max_value=1_000_000, help_text="Signed change of on hand; not zero"
    )

    def validate_quantity_delta(self, value):
        if value == 0:
            raise serializers.ValidationError("A delta of zero changes nothing.")
        return value


class StockAdjustmentInput(serializers.Serializer):
    location = serializers.CharField(max_length=32)
    reason = serializers.ChoiceField(choices=AdjustmentReason.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lines = StockAdjustmentLineInput(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]  # ListSerializer takes max_length; the stubs lag

    def validate_location(self, code):
        return _location_for(code)

    def validate_lines(self, lines):
        products = _products_for(lines)
        return [
            services.AdjustmentLineInput(product=products[ln["sku"]], quantity_delta=ln["quantity_delta"])
            for ln in lines
        ]


class StockAdjustmentApprovalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    level = serializers.IntegerField(help_text="The level open now (the last one once decided)")
    levels = serializers.IntegerField()
    outcome = serializers.CharField(help_text="pending, approved or rejected")
    task_id = serializers.IntegerField(allow_null=True, help_text="The open task, while pending")


class StockAdjustmentLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity_delta = serializers.IntegerField()
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    value = serializers.DecimalField(max_digits=14, decimal_places=2)


class StockAdjustmentOutput(serializers.Serializer):
    """Built by `adjustment_representation`; this class documents the shape."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    location = serializers.CharField()
    reason = serializers.ChoiceField(choices=AdjustmentReason.choices)
    note = serializers.CharField()
    status = serializers.CharField(help_text="One of: " + ", ".join(AdjustmentStatus.values))
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    requested_by = serializers.CharField()
    count_id = serializers.IntegerField(allow_null=True)
    approval = StockAdjustmentApprovalOutput(allow_null=True)
    lines = StockAdjustmentLineOutput(many=True)
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    posted_at = serializers.DateTimeField(allow_null=True)


class StockAdjustmentDetailOutput(StockAdjustmentOutput):
    history = serializers.ListField(child=serializers.DictField())
    approval_trail = serializers.ListField(child=serializers.DictField())


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def adjustment_representations(adjustments) -> list[dict]:
    """Lines and approval state for a page of adjustments in a fixed number of queries."""
    adjustments = list(adjustments)
    selectors.stock_adjustments_with_lines(adjustments)
    approvals = approval_selectors.approval_requests_for_subjects(
        subject_type=services.SUBJECT_ADJUSTMENT, subject_ids=[a.pk for a in adjustments]
    )
    open_tasks = approval_selectors.approval_open_tasks(request_ids=[r.pk for r in approvals.values()])
    body = []
    for a in adjustments:
        request = approvals.get(str(a.pk))
        body.append(
            {
                "id": a.pk,
                "number": a.number,
                "location": a.location.code,
                "reason": a.reason,
                "note": a.note,
                "status": a.status,
                "value": f"{a.value:.2f}",
                "currency": a.currency,
                "requested_by": a.requested_by.get_username(),
                "count_id": a.count_id,
                "approval": None
                if request is None
                else {
                    "id": request.pk,
                    "level": request.current_level,
                    "levels": request.levels,
                    "outcome": request.outcome,
                    "task_id": open_tasks.get(request.pk),
                },
                "lines": [
                    {
                        "sku": ln.product.sku,
                        "quantity_delta": ln.quantity_delta,
                        "unit_cost": f"{ln.unit_cost:.2f}",
                        "value": f"{ln.value:.2f}",
                    }
                    for ln in a._prefetched_lines
                ],
                "created_at": _iso(a.created_at),
                "submitted_at": _iso(a.submitted_at),
                "decided_at": _iso(a.decided_at),
                "posted_at": _iso(a.posted_at),
            }
        )
    return body


class StockAdjustmentListFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=AdjustmentStatus.choices, required=False)
    reason = serializers.ChoiceField(choices=AdjustmentReason.choices, required=False)
    location = serializers.CharField(max_length=32, required=False)


class StockAdjustmentListCreateApi(APIView):
    required_perms = {"GET": ["stock.view_stockadjustment"], "POST": ["stock.add_stockadjustment"]}

    @extend_schema(
        operation_id="stock_adjustments_list",
        parameters=[StockAdjustmentListFilter, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: StockAdjustmentOutput(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request):
        filters = StockAdjustmentListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.stock_adjustment_list(**filters.validated_data, location_ids=user_location_ids(request.user))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(adjustment_representations(page))

    @extend_schema(
        operation_id="stock_adjustments_create",
        request=StockAdjustmentInput,
        responses={
            201: OpenApiResponse(
                StockAdjustmentOutput,
                description="Recorded and submitted: `posted` within the approval policy, else `pending_approval` "
                "with the approval process in `approval`",
            ),
            **error_responses(400, 401, 403, 409, 413),
        },
    )
    def post(self, request):
        data = StockAdjustmentInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        if not user_can_see_location(request.user, data.validated_data["location"].pk):
            raise PermissionDenied("You may only adjust stock at your own locations.")
        adjustment = services.stock_adjustment_create(requested_by=request.user, **data.validated_data)
        return Response(adjustment_representations([adjustment])[0], status=status.HTTP_201_CREATED)


def _adjustment_detail(adjustment) -> dict:
    body = adjustment_representations([adjustment])[0]
    body["history"] = [
        {
            "from_status": h.from_status,
            "to_status": h.to_status,
            "actor": h.actor.get_username() if h.actor is not None else "system",
            "reason": h.reason,
            "at": _iso(h.at),
        }
        for h in selectors.stock_adjustment_history(adjustment_id=adjustment.pk)
    ]
    trail = approval_selectors.approval_request_trail(request_id=body["approval"]["id"]) if body["approval"] else []
    body["approval_trail"] = [
        {
            "at": _iso(e.at),
            "action": e.action,
            "level": e.level,
            "actor": e.actor.get_username() if e.actor is not None else None,
            "on_behalf_of": e.on_behalf_of.get_username() if e.on_behalf_of is not None else None,
            "comment": e.comment,
        }
        for e in trail
    ]
    return body


class StockAdjustmentDetailApi(APIView):
    required_perms = {"GET": ["stock.view_stockadjustment"]}

    @extend_schema(responses={200: StockAdjustmentDetailOutput, **error_responses(401, 403, 404)})
    def get(self, request, adjustment_id: int):
        adjustment = selectors.stock_adjustment_get(
            adjustment_id=adjustment_id, location_ids=user_location_ids(request.user)
        )
        return Response(_adjustment_detail(adjustment))


class WithdrawInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class StockAdjustmentWithdrawApi(APIView):
    required_perms = {"POST": ["stock.view_stockadjustment", "stock.add_stockadjustment"]}

    @extend_schema(
        operation_id="stock_adjustments_withdraw",
        request=WithdrawInput,
        responses={200: StockAdjustmentDetailOutput, **error_responses(400, 401, 403, 404, 409)},
        description="The requester (or a manager of approvals) takes back an adjustment waiting for approval: it "
        "ends `withdrawn`, stock untouched.",
    )
    def post(self, request, adjustment_id: int):
        data = WithdrawInput(data=request.data)
        data.is_valid(raise_exception=True)
        selectors.stock_adjustment_get(adjustment_id=adjustment_id, location_ids=user_location_ids(request.user))
        services.stock_adjustment_withdraw(
            adjustment_id=adjustment_id, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(_adjustment_detail(selectors.stock_adjustment_get(adjustment_id=adjustment_id)))


class StockCountLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    counted = StrictIntegerField(min_value=0, max_value=10_000_000)


class StockCountInput(serializers.Serializer):
    location = serializers.CharField(max_length=32)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lines = StockCountLineInput(many=True, allow_empty=False, max_length=1000)  # type: ignore[call-arg]  # ListSerializer takes max_length; the stubs lag

    def validate_location(self, code):
        return _location_for(code)

    def validate_lines(self, lines):
        products = _products_for(lines)
        return [services.CountLineInput(product=products[ln["sku"]], counted=ln["counted"]) for ln in lines]


class StockCountLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    counted = serializers.IntegerField()
    expected = serializers.IntegerField(help_text="on hand when the count was submitted")
    variance = serializers.IntegerField(help_text="counted − expected")


class StockCountOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    location = serializers.CharField()
    counted_by = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    lines = StockCountLineOutput(many=True)
    adjustment = StockAdjustmentOutput(allow_null=True, help_text="The count_variance adjustment, if anything differed")


def count_representation(count) -> dict:
    adjustment = getattr(count, "adjustment", None)
    return {
        "id": count.pk,
        "number": count.number,
        "location": count.location.code,
        "counted_by": count.counted_by.get_username(),
        "note": count.note,
        "created_at": _iso(count.created_at),
        "lines": [
            {"sku": ln.product.sku, "counted": ln.counted, "expected": ln.expected, "variance": ln.variance}
            for ln in selectors.stock_count_lines(count_id=count.pk)
        ],
        "adjustment": adjustment_representations([adjustment])[0] if adjustment is not None else None,
    }


class StockCountListCreateApi(APIView):
    required_perms = {"GET": ["stock.view_cyclecount"], "POST": ["stock.add_cyclecount"]}

    @extend_schema(
        operation_id="stock_counts_list",
        parameters=[OpenApiParameter("location", str), OpenApiParameter("page", int)],
        responses={200: StockCountOutput(many=True), **error_responses(401, 403)},
    )
    def get(self, request):
        qs = selectors.stock_count_list(
            location=request.query_params.get("location") or None, location_ids=user_location_ids(request.user)
        )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([count_representation(c) for c in page])

    @extend_schema(
        operation_id="stock_counts_create",
        request=StockCountInput,
        responses={201: StockCountOutput, **error_responses(400, 401, 403, 409, 413)},
        description="Record a cycle count: variances against on hand now become one count_variance adjustment "
        "under the approval policy.",
    )
    def post(self, request):
        data = StockCountInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        if not user_can_see_location(request.user, data.validated_data["location"].pk):
            raise PermissionDenied("You may only count stock at your own locations.")
        count = services.stock_count_submit(counted_by=request.user, **data.validated_data)
        count = selectors.stock_count_get(count_id=count.pk)
        return Response(count_representation(count), status=status.HTTP_201_CREATED)


class StockCountDetailApi(APIView):
    required_perms = {"GET": ["stock.view_cyclecount"]}

    @extend_schema(responses={200: StockCountOutput, **error_responses(401, 403, 404)})
    def get(self, request, count_id: int):
        count = selectors.stock_count_get(count_id=count_id, location_ids=user_location_ids(request.user))
        return Response(count_representation(count))


# --- transfers between locations and store replenishment -----------------------------------------
class TransferLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)


class TransferInput(serializers.Serializer):
    source = serializers.CharField(max_length=32)  # type: ignore[assignment]  # a declared field, not Field.source
    destination = serializers.CharField(max_length=32)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    lines = TransferLineInput(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]  # ListSerializer takes max_length; the stubs lag

    def validate_source(self, code):
        return _location_for(code)

    def validate_destination(self, code):
        return _location_for(code)

    def validate_lines(self, lines):
        products = _products_for(lines)
        return [services.TransferLineInput(product=products[ln["sku"]], quantity=ln["quantity"]) for ln in lines]

    def validate(self, attrs):
        if attrs["source"].pk == attrs["destination"].pk:
            raise serializers.ValidationError({"destination": "Source and destination must differ."})
        return attrs


class TransferReceiveLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = StrictIntegerField(min_value=0, max_value=1_000_000)


class TransferReceiveInput(serializers.Serializer):
    lines = TransferReceiveLineInput(  # type: ignore[call-arg]  # ListSerializer takes max_length; the stubs lag
        many=True, required=False, max_length=500, help_text="Received quantities; omitted lines arrive as dispatched"
    )

    def validate_lines(self, lines):
        products = _products_for(lines)
        return {products[ln["sku"]].pk: ln["quantity"] for ln in lines}


class TransferCancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TransferLineOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    dispatched = serializers.IntegerField()
    received = serializers.IntegerField()
    in_transit = serializers.IntegerField()


class TransferOutput(serializers.Serializer):
    """Built by `transfer_representations`; this class documents the shape."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.source
    destination = serializers.CharField()
    status = serializers.CharField(help_text="One of: " + ", ".join(TransferStatus.values))
    proposed = serializers.BooleanField()
    note = serializers.CharField()
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    approval_levels = serializers.IntegerField()
    requested_by = serializers.CharField(allow_null=True)
    lines = TransferLineOutput(many=True)
    created_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    dispatched_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)


class TransferHistoryOutput(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = serializers.CharField()
    reason = serializers.CharField()
    at = serializers.DateTimeField()


class TransferDetailOutput(TransferOutput):
    history = TransferHistoryOutput(many=True)


def transfer_representations(transfers) -> list[dict]:
    """Lines for a page of transfers in one query."""
    transfers = list(transfers)
    selectors.stock_transfers_with_lines(transfers)
    return [
        {
            "id": t.pk,
            "number": t.number,
            "source": t.source.code,
            "destination": t.destination.code,
            "status": t.status,
            "proposed": t.proposed,
            "note": t.note,
            "value": f"{t.value:.2f}",
            "currency": t.currency,
            "approval_levels": t.approval_levels,
            "requested_by": t.requested_by.get_username() if t.requested_by_id else None,
            "lines": [
                {
                    "sku": ln.product.sku,
                    "quantity": ln.quantity,
                    "unit_cost": f"{ln.unit_cost:.2f}",
                    "dispatched": ln.dispatched,
                    "received": ln.received,
                    "in_transit": ln.dispatched - ln.received if t.status == TransferStatus.IN_TRANSIT else 0,
                }
                for ln in t._prefetched_lines
            ],
            "created_at": _iso(t.created_at),
            "approved_at": _iso(t.approved_at),
            "dispatched_at": _iso(t.dispatched_at),
            "received_at": _iso(t.received_at),
        }
        for t in transfers
    ]


def transfer_detail(transfer) -> dict:
    body = transfer_representations([transfer])[0]
    body["history"] = [
        {
            "from_status": h.from_status,
            "to_status": h.to_status,
            "actor": h.actor.get_username() if h.actor is not None else "system",
            "reason": h.reason,
            "at": _iso(h.at),
        }
        for h in selectors.stock_transfer_history(transfer_id=transfer.pk)
    ]
    return body


class TransferListFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=TransferStatus.choices, required=False)
    location = serializers.CharField(max_length=32, required=False, help_text="Source or destination code")
    proposed = serializers.BooleanField(required=False, allow_null=True, default=None)


class StockTransferListCreateApi(APIView):
    required_perms = {"GET": ["stock.view_stocktransfer"], "POST": ["stock.add_stocktransfer"]}

    @extend_schema(
        operation_id="stock_transfers_list",
        parameters=[TransferListFilter, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: TransferOutput(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request):
        filters = TransferListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.stock_transfer_list(**filters.validated_data, location_ids=user_location_ids(request.user))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(transfer_representations(page))

    @extend_schema(
        operation_id="stock_transfers_create",
        request=TransferInput,
        responses={
            201: OpenApiResponse(TransferDetailOutput, description="Recorded in `requested`; approve to submit it"),
            **error_responses(400, 401, 403, 409, 413),
        },
    )
    def post(self, request):
        data = TransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if not (
            user_can_see_location(request.user, v["source"].pk)
            or user_can_see_location(request.user, v["destination"].pk)
        ):
            raise PermissionDenied("You may only request transfers from or to your own locations.")
        transfer = services.stock_transfer_create(requested_by=request.user, **v)
        transfer = selectors.stock_transfer_get(transfer_id=transfer.pk)
        return Response(transfer_detail(transfer), status=status.HTTP_201_CREATED)


class StockTransferDetailApi(APIView):
    required_perms = {"GET": ["stock.view_stocktransfer"]}

    @extend_schema(responses={200: TransferDetailOutput, **error_responses(401, 403, 404)})
    def get(self, request, transfer_id: int):
        transfer = selectors.stock_transfer_get(transfer_id=transfer_id, location_ids=user_location_ids(request.user))
        return Response(transfer_detail(transfer))


class _TransferActionApi(APIView):
    """POST /transfers/{id}/<action>/: find the transfer in the user's scope, check the side, run the service."""

    required_perms = {"POST": ["stock.transition_transfer"]}
    side = "either"  # whose locations may act: "source", "destination" or "either"
    input_serializer: type[serializers.Serializer] | None = None

    def run(self, request, transfer, data):  # pragma: no cover - overridden
        raise NotImplementedError

    def post(self, request, transfer_id: int):
        data = {}
        if self.input_serializer is not None:
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        transfer = selectors.stock_transfer_get(transfer_id=transfer_id, location_ids=user_location_ids(request.user))
        allowed = {
            "source": [transfer.source_id],
            "destination": [transfer.destination_id],
            "either": [transfer.source_id, transfer.destination_id],
        }[self.side]
        if not any(user_can_see_location(request.user, pk) for pk in allowed):
            raise PermissionDenied(f"Only the {self.side} of {transfer.number} may do this.")
        self.run(request, transfer, data)
        return Response(transfer_detail(selectors.stock_transfer_get(transfer_id=transfer.pk)))


def _action_schema(description: str, request=None):
    return extend_schema(
        request=request,
        responses={200: TransferDetailOutput, **error_responses(400, 401, 403, 404, 409)},
        description=description,
    )


class StockTransferApproveApi(_TransferActionApi):
    @_action_schema(
        "Submit a requested transfer: within the approval policy it is approved and reserved at the source at "
        "once (all or nothing: 409 `insufficient_stock`); above it, it waits in `pending_approval`."
    )
    def post(self, request, transfer_id: int):
        return super().post(request, transfer_id)

    def run(self, request, transfer, data):
        services.stock_transfer_submit(transfer_id=transfer.pk, actor=request.user)


class StockTransferPickApi(_TransferActionApi):
    side = "source"

    @_action_schema("The source starts picking an approved transfer.")
    def post(self, request, transfer_id: int):
        return super().post(request, transfer_id)

    def run(self, request, transfer, data):
        services.stock_transfer_pick(transfer_id=transfer.pk, actor=request.user)


class StockTransferDispatchApi(_TransferActionApi):
    side = "source"

    @_action_schema("Stock leaves the source (TRANSFER_OUT, consuming the reservation) and is in transit.")
    def post(self, request, transfer_id: int):
        return super().post(request, transfer_id)

    def run(self, request, transfer, data):
        services.stock_transfer_dispatch(transfer_id=transfer.pk, actor=request.user)


class StockTransferReceiveApi(_TransferActionApi):
    side = "destination"
    input_serializer = TransferReceiveInput

    @_action_schema(
        "The destination receives (TRANSFER_IN). Quantities default to those dispatched; a difference becomes "
        "a `stock.transfer_discrepancy` incident.",
        request=TransferReceiveInput,
    )
    def post(self, request, transfer_id: int):
        return super().post(request, transfer_id)

    def run(self, request, transfer, data):
        services.stock_transfer_receive(transfer_id=transfer.pk, actor=request.user, received=data.get("lines"))


class StockTransferWithdrawApi(_TransferActionApi):
    input_serializer = TransferCancelInput

    @_action_schema(
        "The requester (or a manager of approvals) takes a transfer waiting for approval back to `requested`; "
        "its approval request ends withdrawn.",
        request=TransferCancelInput,
    )
    def post(self, request, transfer_id: int):
        return super().post(request, transfer_id)

    def run(self, request, transfer, data):
        services.stock_transfer_withdraw(transfer_id=transfer.pk, actor=request.user, reason=data.get("reason", ""))


class StockTransferCancelApi(_TransferActionApi):
    input_serializer = TransferCancelInput

    @_action_schema("Cancel before dispatch; reservations at the source are released.", request=TransferCancelInput)
    def post(self, request, transfer_id: int):
        return super().post(request, transfer_id)

    def run(self, request, transfer, data):
        services.stock_transfer_cancel(transfer_id=transfer.pk, actor=request.user, reason=data.get("reason", ""))


class TransferProposalsAcceptInput(serializers.Serializer):
    ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=2**63 - 1), allow_empty=False, max_length=500
    )


class TransferProposalResultOutput(serializers.Serializer):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    status = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)


class StockTransferProposalsAcceptApi(APIView):
    required_perms = {"POST": ["stock.transition_transfer"]}

    @extend_schema(
        request=TransferProposalsAcceptInput,
        responses={200: TransferProposalResultOutput(many=True), **error_responses(400, 401, 403)},
        description="Submit several replenishment proposals; each succeeds or fails on its own.",
    )
    def post(self, request):
        data = TransferProposalsAcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids = list(dict.fromkeys(data.validated_data["ids"]))
        visible = set(
            selectors.stock_transfer_list(location_ids=user_location_ids(request.user), proposed=True)
            .filter(pk__in=ids)
            .values_list("pk", flat=True)
        )
        results = {
            r["id"]: r
            for r in services.stock_transfer_proposals_accept(
                transfer_ids=[i for i in ids if i in visible], actor=request.user
            )
        }
        body = [
            results.get(i)
            or {"id": i, "ok": False, "code": "not_found", "detail": f"Proposed transfer {i} does not exist"}
            for i in ids
        ]
        return Response(body)
