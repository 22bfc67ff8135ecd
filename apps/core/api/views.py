"""Incident API: the exception queue (list, aging, detail) and one endpoint per action, plus bulk.

Store managers see and act on the incidents of their own locations only: any other is a 404.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.scoping import user_location_ids
from apps.core import selectors, services
from apps.core.api.pagination import StandardPagination
from apps.core.api.schema import error_responses
from apps.core.api.serializers import (
    IncidentAgingOutput,
    IncidentAssignInput,
    IncidentBulkInput,
    IncidentBulkOutput,
    IncidentDetailOutput,
    IncidentDismissInput,
    IncidentListFilter,
    IncidentNoteInput,
    IncidentOutput,
    IncidentResolveInput,
    IncidentRetryOutput,
)

VIEW = "core.view_incident"
ACT = "core.act_on_incident"


def _detail(request, incident_id: int) -> dict:
    incident = selectors.incident_get(incident_id=incident_id, location_ids=user_location_ids(request.user))
    history = selectors.incident_events(incident_id=incident.pk)
    return IncidentDetailOutput(incident, context={"history": history}).data


def _filters(request) -> dict:
    filters = IncidentListFilter(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return {**filters.validated_data, "location_ids": user_location_ids(request.user)}


class IncidentListApi(APIView):
    required_perms = {"GET": [VIEW]}

    @extend_schema(
        operation_id="incidents_list",
        parameters=[IncidentListFilter, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: IncidentOutput(many=True), **error_responses(400, 401, 403)},
        description="The exception queue, newest first, filtered; scoped to the user's locations.",
    )
    def get(self, request):
        qs = selectors.incident_list(**_filters(request))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(IncidentOutput(page, many=True).data)


class IncidentAgingApi(APIView):
    required_perms = {"GET": [VIEW]}

    @extend_schema(
        operation_id="incidents_aging",
        parameters=[IncidentListFilter],
        responses={200: IncidentAgingOutput, **error_responses(400, 401, 403)},
        description="Open and acknowledged incidents counted by age (since created) under the list's filters; "
        "`age` is ignored here. Buckets: < 4h, 4–24h, 1–3d, 3–7d, > 7d.",
    )
    def get(self, request):
        buckets = selectors.incident_aging(**_filters(request))
        return Response({"buckets": buckets, "total": sum(b["count"] for b in buckets)})


class IncidentDetailApi(APIView):
    required_perms = {"GET": [VIEW]}

    @extend_schema(
        operation_id="incidents_retrieve",
        responses={200: IncidentDetailOutput, **error_responses(401, 403, 404)},
        description="One incident with its details and full history, oldest first.",
    )
    def get(self, request, incident_id: int):
        return Response(_detail(request, incident_id))


_ACTION_ERRORS = error_responses(400, 401, 403, 404, 409)


class IncidentAssignApi(APIView):
    required_perms = {"POST": [VIEW, ACT]}

    @extend_schema(
        operation_id="incidents_assign",
        request=IncidentAssignInput,
        responses={200: IncidentDetailOutput, **_ACTION_ERRORS},
        description="Assign an open or acknowledged incident (assignee null: unassign). The assignee must be "
        "allowed to act on it (409 otherwise).",
    )
    def post(self, request, incident_id: int):
        data = IncidentAssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.incident_assign(incident_id=incident_id, actor=request.user, **data.validated_data)
        return Response(_detail(request, incident_id))


class IncidentAcknowledgeApi(APIView):
    required_perms = {"POST": [VIEW, ACT]}

    @extend_schema(
        operation_id="incidents_acknowledge",
        request=IncidentNoteInput,
        responses={200: IncidentDetailOutput, **_ACTION_ERRORS},
        description="open → acknowledged; an unassigned incident is assigned to the caller.",
    )
    def post(self, request, incident_id: int):
        data = IncidentNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.incident_acknowledge(incident_id=incident_id, actor=request.user, **data.validated_data)
        return Response(_detail(request, incident_id))


class IncidentResolveApi(APIView):
    required_perms = {"POST": [VIEW, ACT]}

    @extend_schema(
        operation_id="incidents_resolve",
        request=IncidentResolveInput,
        responses={200: IncidentDetailOutput, **_ACTION_ERRORS},
        description="open/acknowledged → resolved, with a required note.",
    )
    def post(self, request, incident_id: int):
        data = IncidentResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.incident_resolve(incident_id=incident_id, actor=request.user, **data.validated_data)
        return Response(_detail(request, incident_id))


class IncidentDismissApi(APIView):
    required_perms = {"POST": [VIEW, ACT]}

    @extend_schema(
        operation_id="incidents_dismiss",
        request=IncidentDismissInput,
        responses={200: IncidentDetailOutput, **_ACTION_ERRORS},
        description="open/acknowledged → dismissed, with a required reason.",
    )
    def post(self, request, incident_id: int):
        data = IncidentDismissInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.incident_dismiss(incident_id=incident_id, actor=request.user, **data.validated_data)
        return Response(_detail(request, incident_id))


class IncidentReopenApi(APIView):
    required_perms = {"POST": [VIEW, ACT]}

    @extend_schema(
        operation_id="incidents_reopen",
        request=IncidentNoteInput,
        responses={200: IncidentDetailOutput, **_ACTION_ERRORS},
        description="resolved/dismissed → open, due again from now. 409 while the same problem is open under "
        "another incident.",
    )
    def post(self, request, incident_id: int):
        data = IncidentNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.incident_reopen(incident_id=incident_id, actor=request.user, **data.validated_data)
        return Response(_detail(request, incident_id))


class IncidentRetryApi(APIView):
    required_perms = {"POST": [VIEW, ACT]}

    @extend_schema(
        operation_id="incidents_retry",
        request=None,
        responses={200: IncidentRetryOutput, **error_responses(401, 403, 404, 409)},
        description="Re-run the failed job behind the incident (kinds with a registered retry only, else 409). "
        "Resolved if it now succeeds; otherwise it stays open with the attempt counted and recorded.",
    )
    def post(self, request, incident_id: int):
        result = services.incident_retry(incident_id=incident_id, actor=request.user)
        return Response(
            {"succeeded": result.succeeded, "detail": result.detail, "incident": _detail(request, incident_id)}
        )


class IncidentBulkApi(APIView):
    required_perms = {"POST": [VIEW, ACT]}

    @extend_schema(
        operation_id="incidents_bulk",
        request=IncidentBulkInput,
        responses={200: IncidentBulkOutput, **error_responses(400, 401, 403)},
        description="One action on up to 200 incidents, each on its own: a result per id, in the order given "
        "(duplicates once). An item is refused as not_found, invalid_transition, …",
    )
    def post(self, request):
        data = IncidentBulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        results = services.incident_bulk(actor=request.user, **data.validated_data)
        succeeded = sum(1 for r in results if r.ok)
        return Response(
            {
                "results": [
                    {"id": r.id, "ok": r.ok, "status": r.status, "error": r.error, "detail": r.detail} for r in results
                ],
                "succeeded": succeeded,
                "failed": len(results) - succeeded,
            }
        )
