"""Reconciliation API: upload a settlement file or a bank statement (→ 202 and a run id), follow the run."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.pagination import StandardPagination
from apps.core.api.schema import error_responses
from apps.reconciliation import selectors, services
from apps.reconciliation.api.serializers import (
    ItemFilter,
    ItemOutput,
    RunAcceptedOutput,
    RunDetailOutput,
    RunListFilter,
    RunOutput,
    UploadInput,
    run_representation,
)
from apps.reconciliation.states import EXCEPTIONS, RunKind

VIEW = "reconciliation.view_reconciliationrun"
IMPORT = "reconciliation.import_reconciliationrun"
# Multipart framing around the file: a request this much over the file limit is refused unread.
_MULTIPART_OVERHEAD = 64 * 1024


class _UploadApi(APIView):
    parser_classes = [MultiPartParser]
    required_perms = {"POST": [VIEW, IMPORT]}
    kind = RunKind.SETTLEMENT

    def post(self, request):
        length = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.RECONCILIATION_MAX_UPLOAD_BYTES
        if length.isdigit() and int(length) > limit + _MULTIPART_OVERHEAD:
            raise services.FileTooLarge(f"The request is {length} bytes; the file limit is {limit} bytes")
        data = UploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > limit:
            raise services.FileTooLarge(f"The file is {upload.size} bytes; the limit is {limit} bytes")
        run = services.reconciliation_run_create(
            kind=self.kind, file_name=upload.name, content=upload.read(), actor=request.user
        )
        url = reverse("reconciliation-run-detail", args=[run.pk])
        return Response({"run_id": run.pk, "status": run.status, "url": url}, status=status.HTTP_202_ACCEPTED)


def _upload_doc(operation: str, what: str):
    return extend_schema(
        operation_id=f"reconciliation_{operation}",
        request={"multipart/form-data": UploadInput},
        responses={
            202: OpenApiResponse(RunAcceptedOutput, description="Stored and queued: follow the run at `url`"),
            **error_responses(400, 401, 403, 409, 413),
        },
        description=f"Upload {what}. 400 `invalid_file` when it is not that format (nothing is stored), 409 "
        "`duplicate_file` with the earlier `run_id` when the same file was already imported, 413 over the size limit.",
    )


class ReconciliationSettlementImportApi(_UploadApi):
    kind = RunKind.SETTLEMENT

    @_upload_doc("settlements_import", "a Stripe itemized payout reconciliation CSV")
    def post(self, request):
        return super().post(request)


class ReconciliationBankStatementImportApi(_UploadApi):
    kind = RunKind.BANK_STATEMENT

    @_upload_doc("bank_statements_import", "an ISO 20022 camt.053 bank statement (XML, .001.02 to .001.08)")
    def post(self, request):
        return super().post(request)


class ReconciliationRunListApi(APIView):
    required_perms = {"GET": [VIEW]}

    @extend_schema(
        operation_id="reconciliation_runs_list",
        parameters=[RunListFilter, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: RunOutput(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request):
        filters = RunListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.run_list(**filters.validated_data)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([run_representation(r) for r in page or []])


class ReconciliationRunDetailApi(APIView):
    required_perms = {"GET": [VIEW]}

    @extend_schema(
        operation_id="reconciliation_runs_retrieve",
        responses={200: RunDetailOutput, **error_responses(401, 403, 404)},
        description="Status, progress while it runs, counts, rejected rows and the link to the exceptions.",
    )
    def get(self, request, run_id: int):
        return Response(run_representation(selectors.run_get(run_id=run_id), detail=True))


class ReconciliationRunLinesApi(APIView):
    required_perms = {"GET": [VIEW]}

    @extend_schema(
        operation_id="reconciliation_runs_lines",
        parameters=[ItemFilter, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: ItemOutput(many=True), **error_responses(400, 401, 403, 404)},
        description="The run's settlement lines or bank entries; by default only the unmatched and mismatched.",
    )
    def get(self, request, run_id: int):
        run = selectors.run_get(run_id=run_id)
        filters = ItemFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data: dict = dict(filters.validated_data)
        wanted = data.get("status", list(EXCEPTIONS))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.run_items(run=run, status=wanted), request, view=self)
        rows = [selectors.run_item_row(item) for item in page or []]
        return paginator.get_paginated_response(ItemOutput(rows, many=True).data)
