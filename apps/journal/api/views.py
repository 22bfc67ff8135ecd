"""Journal API: accounts, entries (list, detail, manual create, reverse), trial balance, period close."""

from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.pagination import StandardPagination
from apps.core.api.schema import error_responses
from apps.journal import selectors, services
from apps.journal.api.serializers import (
    AccountOutput,
    EntryListFilter,
    JournalEntryOutput,
    ManualEntryInput,
    PeriodCloseInput,
    PeriodKeyField,
    PeriodOutput,
    ReverseInput,
    TrialBalanceOutput,
    TrialBalanceQuery,
    entry_representation,
    period_representation,
)

ZERO = Decimal("0.00")
VIEW = ["journal.view_journalentry"]


def _entry(entry_id: int) -> dict:
    return JournalEntryOutput(entry_representation(selectors.entry_get(entry_id=entry_id))).data


class AccountListApi(APIView):
    required_perms = {"GET": ["journal.view_account"]}

    @extend_schema(operation_id="accounts_list", responses={200: AccountOutput(many=True), **error_responses(401, 403)})
    def get(self, request):
        return Response(AccountOutput(selectors.account_list(), many=True).data)


class JournalEntryListCreateApi(APIView):
    required_perms = {"GET": VIEW, "POST": [*VIEW, "journal.add_journalentry"]}

    @extend_schema(
        operation_id="journal_entries_list",
        parameters=[EntryListFilter, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: JournalEntryOutput(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request):
        filters = EntryListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        d = dict(filters.validated_data)
        period = selectors.period_get(key=d.pop("period")) if "period" in d else None
        qs = selectors.entry_list(period=period, **d)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(
            JournalEntryOutput([entry_representation(e) for e in page], many=True).data
        )

    @extend_schema(
        operation_id="journal_entries_create",
        request=ManualEntryInput,
        responses={
            201: OpenApiResponse(JournalEntryOutput, description="Saved as a draft; it posts when finance approves it"),
            **error_responses(400, 401, 403, 409),
        },
        description="A manual entry. It enters the approval engine (policy `journal.manual_entry`: finance, never "
        "the author) and posts on approval. 409 `unbalanced_entry`, `unknown_account`, `period_closed` (hard "
        "closed, or soft closed and the author is not finance).",
    )
    def post(self, request):
        data = ManualEntryInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        entry = services.manual_entry_create(
            day=d["date"], description=d["description"], currency=d["currency"], lines=d["lines"], author=request.user
        )
        return Response(_entry(entry.pk), status=status.HTTP_201_CREATED)


class JournalEntryDetailApi(APIView):
    required_perms = {"GET": VIEW}

    @extend_schema(
        operation_id="journal_entries_retrieve", responses={200: JournalEntryOutput, **error_responses(401, 403, 404)}
    )
    def get(self, request, entry_id: int):
        return Response(_entry(entry_id))


class JournalEntryReverseApi(APIView):
    required_perms = {"POST": [*VIEW, "journal.reverse_journalentry"]}

    @extend_schema(
        operation_id="journal_entries_reverse",
        request=ReverseInput,
        responses={
            201: OpenApiResponse(JournalEntryOutput, description="The reversing entry"),
            **error_responses(400, 401, 403, 404, 409),
        },
        description="Reverse a posted entry: a mirror entry dated today; the original becomes `reversed`. 409 when "
        "the entry is not posted (a draft, or already reversed).",
    )
    def post(self, request, entry_id: int):
        data = ReverseInput(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        reversal = services.entry_reverse(entry_id=entry_id, actor=request.user, reason=data.validated_data["reason"])
        return Response(_entry(reversal.pk), status=status.HTTP_201_CREATED)


class TrialBalanceApi(APIView):
    required_perms = {"GET": ["journal.view_financial_reports"]}

    @extend_schema(
        operation_id="reports_trial_balance",
        parameters=[TrialBalanceQuery],
        responses={200: TrialBalanceOutput, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request):
        query = TrialBalanceQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = selectors.period_get(key=query.validated_data["period"])
        scope = query.validated_data["scope"]
        rows = selectors.trial_balance(period=period, cumulative=scope == "cumulative")
        debit = sum((r.debit for r in rows), ZERO)
        credit = sum((r.credit for r in rows), ZERO)
        return Response(
            TrialBalanceOutput(
                {
                    "period": period.key,
                    "period_status": period.status,
                    "currency": settings.COMPANY_CURRENCY,
                    "scope": scope,
                    "rows": [
                        {
                            "account": r.code,
                            "name": r.name,
                            "type": r.type,
                            "debit": r.debit,
                            "credit": r.credit,
                            "balance": r.balance,
                        }
                        for r in rows
                    ],  # fmt: skip
                    "total_debit": debit,
                    "total_credit": credit,
                    "balanced": debit == credit,
                }
            ).data
        )


class PeriodListApi(APIView):
    required_perms = {"GET": ["journal.view_period"]}

    @extend_schema(operation_id="periods_list", responses={200: PeriodOutput(many=True), **error_responses(401, 403)})
    def get(self, request):
        periods = selectors.period_list().select_related("changed_by")
        return Response(PeriodOutput([period_representation(p) for p in periods], many=True).data)


class PeriodCloseApi(APIView):
    required_perms = {"POST": ["journal.view_period", "journal.close_period"]}

    @extend_schema(
        operation_id="periods_close",
        request=PeriodCloseInput,
        responses={200: PeriodOutput, **error_responses(400, 401, 403, 409)},
        description="Soft close (only finance posts, manual entries) or hard close (nothing posts; late events go "
        "to the first open period). 409 when the transition is not allowed or an earlier month is not hard closed.",
    )
    def post(self, request, period: str):
        key = PeriodKeyField().run_validation(period)
        data = PeriodCloseInput(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        row = services.period_close(period=key, hard=data.validated_data["hard"], actor=request.user)
        return Response(PeriodOutput(period_representation(row)).data)
