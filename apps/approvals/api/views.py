"""Approval API: the caller's tasks, claim / approve / reject one or many, delegations.

Who may act on a task depends on the task (its level's permission, delegations, separation of
duties), so the task endpoints only require a login and leave the decision to the services: a
refusal is a JSON error with its reason (403 separation_of_duties / not_eligible, 409
not_claimable / already_decided, 400 comment_required). Tasks a user may not see are 404.
"""

from dataclasses import replace

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.approvals import selectors, services
from apps.approvals.api.serializers import (
    ApprovalBulkInput,
    ApprovalBulkOutput,
    ApprovalDecisionInput,
    ApprovalRejectInput,
    ApprovalTaskDetailOutput,
    ApprovalTaskListFilter,
    ApprovalTaskOutput,
    DelegationInput,
    DelegationOutput,
    event_representation,
    task_representation,
)
from apps.core.api.pagination import StandardPagination
from apps.core.api.schema import error_responses
from apps.core.errors import NotFound

# Every logged-in user: what they may do is decided per task by apps.approvals.authority.
ANY_USER: list[str] = []


def task_detail_representation(task, user) -> dict:
    request = selectors.request_of(task)
    description = selectors.subject_description(request)
    possible = selectors.approval_task_possible(task=task, user=user)
    return {
        **task_representation(task),
        "subject": {
            "title": description.title if description else f"{request.subject_type} {request.subject_id}",
            "url": description.url if description else "",
            "facts": [list(f) for f in description.facts] if description else [],
            "columns": description.columns if description else [],
            "rows": description.rows if description else [],
        },
        "policy": {
            "id": request.policy_id,
            "name": request.policy.name,
            "metric": request.metric,
            "value": f"{request.value:.2f}",
            "levels": request.level_rules,
        },
        "may": {
            "claim": possible.claim,
            "decide": possible.decide,
            "reason": possible.reason,
            "on_behalf_of": possible.on_behalf_of.get_username() if possible.on_behalf_of else None,
            "release": possible.release,
        },
        "trail": [event_representation(e) for e in selectors.approval_request_trail(request_id=request.pk)],
    }


class ApprovalTaskListApi(APIView):
    required_perms = {"GET": ANY_USER}

    @extend_schema(
        parameters=[ApprovalTaskListFilter, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: ApprovalTaskOutput(many=True), **error_responses(400, 401)},
        description="What you may claim or hold (or one scope of it), most urgent first; archive newest first.",
    )
    def get(self, request):
        filters = ApprovalTaskListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.approval_task_list(user=request.user, scope=filters.validated_data.get("scope"))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([task_representation(t) for t in page])


class ApprovalTaskDetailApi(APIView):
    required_perms = {"GET": ANY_USER}

    @extend_schema(responses={200: ApprovalTaskDetailOutput, **error_responses(401, 404)})
    def get(self, request, task_id: int):
        task = selectors.approval_task_get(task_id=task_id, user=request.user)
        return Response(task_detail_representation(task, request.user))


class _TaskActionApi(APIView):
    required_perms = {"POST": ANY_USER}

    def _act(self, request, task_id: int, action) -> Response:
        selectors.approval_task_get(task_id=task_id, user=request.user)  # 404 for tasks the caller may not see
        action()
        task = selectors.approval_task_get(task_id=task_id, user=request.user)
        return Response(task_representation(task))


class ApprovalTaskClaimApi(_TaskActionApi):
    @extend_schema(
        request=None,
        responses={200: ApprovalTaskOutput, **error_responses(401, 403, 404, 409)},
        description="Take an open task into your inbox (with your own authority or a delegator's).",
    )
    def post(self, request, task_id: int):
        return self._act(request, task_id, lambda: services.approval_task_claim(task_id=task_id, user=request.user))


class ApprovalTaskReleaseApi(_TaskActionApi):
    @extend_schema(
        request=ApprovalDecisionInput,
        responses={200: ApprovalTaskOutput, **error_responses(400, 401, 403, 404, 409)},
        description="Put a claimed task back in the queue: its holder, the person they hold it for, or a manager.",
    )
    def post(self, request, task_id: int):
        data = ApprovalDecisionInput(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        comment = data.validated_data["comment"]
        return self._act(
            request,
            task_id,
            lambda: services.approval_task_release(task_id=task_id, user=request.user, comment=comment),
        )


class ApprovalTaskApproveApi(_TaskActionApi):
    @extend_schema(
        request=ApprovalDecisionInput,
        responses={200: ApprovalTaskOutput, **error_responses(400, 401, 403, 404, 409)},
        description="Approve the level you hold. The last level applies the outcome to the subject at once; "
        "if the subject refuses (e.g. not enough stock) nothing is written and the error is returned.",
    )
    def post(self, request, task_id: int):
        data = ApprovalDecisionInput(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        comment = data.validated_data["comment"]
        return self._act(
            request,
            task_id,
            lambda: services.approval_task_approve(task_id=task_id, user=request.user, comment=comment),
        )


class ApprovalTaskRejectApi(_TaskActionApi):
    @extend_schema(
        request=ApprovalRejectInput,
        responses={200: ApprovalTaskOutput, **error_responses(400, 401, 403, 404, 409)},
        description="Reject the level you hold, saying why: the whole request ends rejected.",
    )
    def post(self, request, task_id: int):
        data = ApprovalRejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        comment = data.validated_data["comment"]
        return self._act(
            request,
            task_id,
            lambda: services.approval_task_reject(task_id=task_id, user=request.user, comment=comment),
        )


class ApprovalTaskBulkApi(APIView):
    required_perms = {"POST": ANY_USER}

    @extend_schema(
        request=ApprovalBulkInput,
        responses={200: ApprovalBulkOutput, **error_responses(400, 401)},
        description="Claim, approve or reject many tasks; each on its own, one result per distinct id in the order "
        "given. Approving or rejecting an open task claims it first (undone if the decision is refused). "
        "Tasks you may not see are reported not_found.",
    )
    def post(self, request):
        data = ApprovalBulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        ids = list(dict.fromkeys(d["ids"]))
        visible = [task_id for task_id in ids if _visible(task_id, request.user)]
        done = services.approval_tasks_bulk(
            action=d["action"], task_ids=visible, user=request.user, comment=d["comment"]
        )
        by_id = {r.id: r for r in done}
        missing = services.BulkResult(id=0, ok=False, code="not_found", detail="")
        results = []
        for task_id in ids:
            r = by_id.get(task_id) or replace(missing, id=task_id, detail=f"Approval task {task_id} does not exist")
            results.append({"id": r.id, "ok": r.ok, "code": r.code, "detail": r.detail, "status": r.status})
        return Response({"results": results})


def _visible(task_id: int, user) -> bool:
    try:
        selectors.approval_task_get(task_id=task_id, user=user)
    except NotFound:
        return False
    return True


class DelegationListCreateApi(APIView):
    required_perms = {"GET": ["approvals.view_delegation"], "POST": ["approvals.add_delegation"]}

    @extend_schema(responses={200: DelegationOutput(many=True), **error_responses(401, 403)})
    def get(self, request):
        return Response(DelegationOutput(selectors.delegation_list(user=request.user), many=True).data)

    @extend_schema(
        request=DelegationInput,
        responses={201: DelegationOutput, **error_responses(400, 401, 403)},
        description="Let someone claim and decide your approval tasks inside a window. Separation of duties "
        "still applies to them.",
    )
    def post(self, request):
        data = DelegationInput(data=request.data)
        data.is_valid(raise_exception=True)
        delegation = services.delegation_create(delegator=request.user, actor=request.user, **data.validated_data)
        return Response(DelegationOutput(delegation).data, status=status.HTTP_201_CREATED)


class DelegationRevokeApi(APIView):
    required_perms = {"POST": ["approvals.add_delegation"]}

    @extend_schema(request=None, responses={200: DelegationOutput, **error_responses(401, 403, 404)})
    def post(self, request, delegation_id: int):
        delegation = services.delegation_revoke(delegation_id=delegation_id, actor=request.user)
        return Response(DelegationOutput(delegation).data)
