"""Procurement API: suppliers and their catalogue and scorecard, purchase orders with one endpoint
per action and receipts, supplier invoices (the match result is in the response), reorder rules."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.scoping import user_location_ids
from apps.core.api.pagination import StandardPagination
from apps.core.api.schema import error_responses
from apps.core.errors import NotFound
from apps.suppliers import selectors, services
from apps.suppliers.api import serializers as s

VIEW_PO = "suppliers.view_purchaseorder"
VIEW_SUPPLIER = "suppliers.view_supplier"
VIEW_INVOICE = "suppliers.view_supplierinvoice"
PAGE_PARAMS = [OpenApiParameter("page", int), OpenApiParameter("page_size", int)]


def _paginate(request, view, qs, serializer):
    paginator = StandardPagination()
    page = paginator.paginate_queryset(qs, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def _supplier_id(code: str | None) -> int | None:
    if not code:
        return None
    supplier = selectors.supplier_list().filter(code=code).first()
    return supplier.pk if supplier else -1  # an unknown supplier lists nothing


# --- suppliers -----------------------------------------------------------------------------------
class SupplierListCreateApi(APIView):
    required_perms = {"GET": [VIEW_SUPPLIER], "POST": ["suppliers.add_supplier"]}

    @extend_schema(
        operation_id="suppliers_list",
        parameters=[OpenApiParameter("search", str), *PAGE_PARAMS],
        responses={200: s.SupplierOutput(many=True), **error_responses(401, 403)},
    )
    def get(self, request):
        qs = selectors.supplier_list(search=request.query_params.get("search", "")[:100])
        return _paginate(request, self, qs, s.SupplierOutput)

    @extend_schema(
        operation_id="suppliers_create",
        request=s.SupplierCreateInput,
        responses={201: s.SupplierOutput, **error_responses(400, 401, 403, 409)},
        description="409 `duplicate_supplier` when the code exists.",
    )
    def post(self, request):
        data = s.SupplierCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        supplier = services.supplier_create(**data.validated_data)
        return Response(s.SupplierOutput(supplier).data, status=status.HTTP_201_CREATED)


class SupplierDetailApi(APIView):
    required_perms = {"GET": [VIEW_SUPPLIER]}

    @extend_schema(responses={200: s.SupplierOutput, **error_responses(401, 403, 404)})
    def get(self, request, supplier_id: int):
        return Response(s.SupplierOutput(selectors.supplier_get(supplier_id=supplier_id)).data)


class SupplierProductsApi(APIView):
    required_perms = {"GET": [VIEW_SUPPLIER], "POST": ["suppliers.change_supplier"]}

    @extend_schema(
        operation_id="supplier_products_list",
        responses={200: s.SupplierProductOutput(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request, supplier_id: int):
        supplier = selectors.supplier_get(supplier_id=supplier_id)
        items = supplier.products.select_related("product").order_by("product__sku")
        return Response(s.SupplierProductOutput(items, many=True).data)

    @extend_schema(
        operation_id="supplier_products_set",
        request=s.SupplierProductInput,
        responses={200: s.SupplierProductOutput, **error_responses(400, 401, 403, 404, 409)},
        description="Create or update what the supplier sells (cost in the supplier's currency, MOQ, pack size).",
    )
    def post(self, request, supplier_id: int):
        supplier = selectors.supplier_get(supplier_id=supplier_id)
        data = s.SupplierProductInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        item = services.supplier_product_set(
            supplier=supplier,
            product=d["sku"],
            supplier_sku=d["supplier_sku"],
            cost=d["cost"],
            min_order_qty=d["min_order_qty"],
            pack_size=d["pack_size"],
            preferred=d["preferred"],
        )
        return Response(s.SupplierProductOutput(item).data)


class SupplierScorecardApi(APIView):
    required_perms = {"GET": [VIEW_SUPPLIER]}

    @extend_schema(
        operation_id="suppliers_scorecard",
        parameters=[s.ScorecardQuery],
        responses={200: s.ScorecardOutput, **error_responses(400, 401, 403, 404)},
        description="On-time delivery, fill rate and average lead time of orders expected in the range; invoice "
        "match rate of invoices dated in it. Rates are fractions (0.9500), null when there is nothing to rate.",
    )
    def get(self, request, supplier_id: int):
        supplier = selectors.supplier_get(supplier_id=supplier_id)
        query = s.ScorecardQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        end = query.validated_data.get("end") or timezone.localdate()
        start = query.validated_data.get("start") or end - timedelta(days=90)
        card = selectors.supplier_scorecard(supplier=supplier, start=start, end=end)
        return Response(s.ScorecardOutput(card).data)


# --- purchase orders -----------------------------------------------------------------------------
def _po_detail(po_id: int) -> dict:
    return s.PurchaseOrderDetailOutput(selectors.purchase_order_get(po_id=po_id)).data


def _po_in_scope(request, po_id: int) -> None:
    """Store staff see and receive only orders for their own locations (404 otherwise)."""
    scope = user_location_ids(request.user)
    if scope is not None and not selectors.purchase_order_list().filter(pk=po_id, location_id__in=scope).exists():
        raise NotFound(f"Purchase order {po_id} does not exist")


class PurchaseOrderListCreateApi(APIView):
    required_perms = {"GET": [VIEW_PO], "POST": ["suppliers.add_purchaseorder"]}

    @extend_schema(
        operation_id="purchase_orders_list",
        parameters=[s.PurchaseOrderListFilter, *PAGE_PARAMS],
        responses={200: s.PurchaseOrderOutput(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request):
        filters = s.PurchaseOrderListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        qs = selectors.purchase_order_list(
            status=f.get("status", ""), supplier_id=_supplier_id(f.get("supplier")), proposed=f.get("proposed")
        )
        scope = user_location_ids(request.user)
        if scope is not None:
            qs = qs.filter(location_id__in=scope)
        return _paginate(request, self, qs, s.PurchaseOrderOutput)

    @extend_schema(
        operation_id="purchase_orders_create",
        request=s.PurchaseOrderCreateInput,
        responses={201: s.PurchaseOrderDetailOutput, **error_responses(400, 401, 403, 409)},
        description="Draft a purchase order in the supplier's currency. 409 `no_exchange_rate` when the company has "
        "no rate for that currency on the order date; 409 `no_supplier_cost` for a line without a cost the "
        "supplier does not list.",
    )
    def post(self, request):
        data = s.PurchaseOrderCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        po = services.purchase_order_create(
            supplier=d["supplier"], location=d["location"], lines=d["lines"], note=d["note"], actor=request.user
        )
        return Response(_po_detail(po.pk), status=status.HTTP_201_CREATED)


class PurchaseOrderDetailApi(APIView):
    required_perms = {"GET": [VIEW_PO]}

    @extend_schema(responses={200: s.PurchaseOrderDetailOutput, **error_responses(401, 403, 404)})
    def get(self, request, po_id: int):
        _po_in_scope(request, po_id)
        return Response(_po_detail(po_id))


class _POActionApi(APIView):
    input_class: type[serializers.Serializer] = s.ReasonInput

    def post(self, request, po_id: int):
        _po_in_scope(request, po_id)
        data = self.input_class(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        self.act(request, po_id, data.validated_data.get("reason", ""))
        return Response(_po_detail(po_id))

    def act(self, request, po_id: int, reason: str) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def _po_doc(operation: str, description: str):
    return extend_schema(
        operation_id=f"purchase_orders_{operation}",
        request=s.ReasonInput,
        responses={200: s.PurchaseOrderDetailOutput, **error_responses(400, 401, 403, 404, 409)},
        description=description,
    )


class PurchaseOrderSubmitApi(_POActionApi):
    required_perms = {"POST": [VIEW_PO, "suppliers.transition_purchaseorder"]}

    @_po_doc(
        "submit",
        "Submit a draft: up to the first spend band it is approved at once, otherwise it waits for the approval "
        "levels its company-currency total needs (approvals inbox).",
    )
    def post(self, request, po_id: int):
        return super().post(request, po_id)

    def act(self, request, po_id, reason):
        services.purchase_order_submit(po_id=po_id, actor=request.user)


class PurchaseOrderWithdrawApi(_POActionApi):
    required_perms = {"POST": [VIEW_PO, "suppliers.transition_purchaseorder"]}

    @_po_doc(
        "withdraw",
        "Take an order pending approval back to draft (the requester or a manager of approvals); its approval "
        "request ends withdrawn and the order can be changed and submitted again.",
    )
    def post(self, request, po_id: int):
        return super().post(request, po_id)

    def act(self, request, po_id, reason):
        services.purchase_order_withdraw(po_id=po_id, actor=request.user, reason=reason)


class PurchaseOrderSendApi(_POActionApi):
    required_perms = {"POST": [VIEW_PO, "suppliers.transition_purchaseorder"]}

    @_po_doc("send", "Send an approved order to the supplier; sets the expected date from the lead time.")
    def post(self, request, po_id: int):
        return super().post(request, po_id)

    def act(self, request, po_id, reason):
        services.purchase_order_send(po_id=po_id, actor=request.user)


class PurchaseOrderCancelApi(_POActionApi):
    required_perms = {"POST": [VIEW_PO, "suppliers.transition_purchaseorder"]}

    @_po_doc("cancel", "Cancel a draft, approved or sent order nothing was received against.")
    def post(self, request, po_id: int):
        return super().post(request, po_id)

    def act(self, request, po_id, reason):
        services.purchase_order_cancel(po_id=po_id, actor=request.user, reason=reason)


class PurchaseOrderCloseApi(_POActionApi):
    required_perms = {"POST": [VIEW_PO, "suppliers.transition_purchaseorder"]}

    @_po_doc("close", "Close a (partially) received order; open quantities are no longer expected.")
    def post(self, request, po_id: int):
        return super().post(request, po_id)

    def act(self, request, po_id, reason):
        services.purchase_order_close(po_id=po_id, actor=request.user, reason=reason)


class PurchaseOrderReceiptApi(APIView):
    required_perms = {"POST": [VIEW_PO, "suppliers.receive_purchaseorder"]}

    @extend_schema(
        operation_id="purchase_orders_receive",
        request=s.GoodsReceiptInput,
        responses={
            201: OpenApiResponse(s.GoodsReceiptOutput, description="Goods received; stock posted"),
            **error_responses(400, 401, 403, 404, 409),
        },
        description="Receive goods against a sent order, partially or completely, by PO line number. 409 "
        "`over_receipt` beyond the tolerance (nothing is written).",
    )
    def post(self, request, po_id: int):
        _po_in_scope(request, po_id)
        po = selectors.purchase_order_get(po_id=po_id)
        data = s.GoodsReceiptInput(data=request.data)
        data.is_valid(raise_exception=True)
        receipt = services.purchase_order_receive(
            po_id=po_id, lines=data.to_lines(po), actor=request.user, reference=data.validated_data["reference"]
        )
        receipt.purchase_order = selectors.purchase_order_get(po_id=po_id)
        return Response(s.GoodsReceiptOutput(receipt).data, status=status.HTTP_201_CREATED)


# --- supplier invoices ---------------------------------------------------------------------------
def _invoice_detail(invoice_id: int) -> dict:
    return s.SupplierInvoiceDetailOutput(selectors.supplier_invoice_get(invoice_id=invoice_id)).data


class SupplierInvoiceListCreateApi(APIView):
    required_perms = {"GET": [VIEW_INVOICE], "POST": ["suppliers.add_supplierinvoice"]}

    @extend_schema(
        operation_id="supplier_invoices_list",
        parameters=[s.SupplierInvoiceListFilter, *PAGE_PARAMS],
        responses={200: s.SupplierInvoiceOutput(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request):
        filters = s.SupplierInvoiceListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        qs = selectors.supplier_invoice_list(status=f.get("status", ""), supplier_id=_supplier_id(f.get("supplier")))
        return _paginate(request, self, qs, s.SupplierInvoiceOutput)

    @extend_schema(
        operation_id="supplier_invoices_create",
        request=s.SupplierInvoiceCreateInput,
        responses={201: s.SupplierInvoiceDetailOutput, **error_responses(400, 401, 403, 409)},
        description="Record a supplier invoice; the response carries the three-way match result per line "
        "(`matched`, or `exception` with `price_variance`, `billed_more_than_received`, `no_receipt`, "
        "`unknown_po_line`). 409 `duplicate_invoice` when the supplier used the number before.",
    )
    def post(self, request):
        data = s.SupplierInvoiceCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        invoice = services.supplier_invoice_create(
            supplier=d["supplier"],
            number=d["number"],
            invoice_date=d["invoice_date"],
            currency=d.get("currency", ""),
            lines=d["lines"],
            actor=request.user,
        )
        return Response(_invoice_detail(invoice.pk), status=status.HTTP_201_CREATED)


class SupplierInvoiceDetailApi(APIView):
    required_perms = {"GET": [VIEW_INVOICE]}

    @extend_schema(responses={200: s.SupplierInvoiceDetailOutput, **error_responses(401, 403, 404)})
    def get(self, request, invoice_id: int):
        return Response(_invoice_detail(invoice_id))


class SupplierInvoiceAcceptVarianceApi(APIView):
    required_perms = {"POST": [VIEW_INVOICE, "suppliers.accept_invoice_variance"]}

    @extend_schema(
        operation_id="supplier_invoices_accept_variance",
        request=s.InvoiceDecisionInput,
        responses={200: s.SupplierInvoiceDetailOutput, **error_responses(400, 401, 403, 404, 409)},
        description="Ask finance to accept the variances of an exception as billed (approval engine; someone other "
        "than the requester decides).",
    )
    def post(self, request, invoice_id: int):
        data = s.InvoiceDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.supplier_invoice_request_acceptance(
            invoice_id=invoice_id, actor=request.user, comment=data.validated_data["comment"]
        )
        return Response(_invoice_detail(invoice_id))


class SupplierInvoiceDisputeApi(APIView):
    required_perms = {"POST": [VIEW_INVOICE, "suppliers.accept_invoice_variance"]}

    @extend_schema(
        operation_id="supplier_invoices_dispute",
        request=s.InvoiceDecisionInput,
        responses={200: s.SupplierInvoiceDetailOutput, **error_responses(400, 401, 403, 404, 409)},
        description="Send an exception back to the supplier.",
    )
    def post(self, request, invoice_id: int):
        data = s.InvoiceDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.supplier_invoice_dispute(
            invoice_id=invoice_id, actor=request.user, reason=data.validated_data["comment"]
        )
        return Response(_invoice_detail(invoice_id))
