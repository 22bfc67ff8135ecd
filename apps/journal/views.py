"""Staff UI for finance: ledger browser, entry detail (source link, reversal), period close, reports
(trial balance, GL detail, P&L) with CSV and beancount downloads. Writes go through services."""

from datetime import date
from decimal import Decimal
from typing import Any

import django_filters
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView
from viewflow.utils import viewprop
from viewflow.views import ListModelView

from apps.core.errors import DomainError, NotFound
from apps.journal import exports, selectors, services
from apps.journal.models import EntryStatus, JournalEntry, Period

ZERO = Decimal("0.00")
VIEW_ENTRIES = "journal.view_journalentry"
REPORTS = "journal.view_financial_reports"

# Where an entry came from, as a portal page (URL names only: the journal imports no domain app).
SOURCE_PAGES = {
    "orders.order": "orders:order:detail",
    "returns.return": "returns:returns:detail",
    "stock.adjustment": "stock:adjustments:detail",
    "stock.transfer": "stock:transfers:detail",
    "suppliers.invoice": "suppliers:invoices:detail",
    "journal.entry": "journal:ledger:detail",
}


def source_url(entry: JournalEntry) -> str:
    name = SOURCE_PAGES.get(entry.source_type)
    if name is None or not entry.source_id.isdigit():
        return ""
    try:
        return reverse(name, args=[int(entry.source_id)])
    except NoReverseMatch:
        return ""


def _period_choices() -> list[tuple[str, str]]:
    return [(p.key, f"{p.key} ({p.get_status_display().lower()})") for p in Period.objects.order_by("-start")]


def _account_choices() -> list[tuple[str, str]]:
    return [(a.code, str(a)) for a in selectors.account_list()]


def _keep_sort(qs: QuerySet, requested: QuerySet) -> QuerySet:
    return qs.order_by(*requested.query.order_by) if requested.query.order_by else qs


class JournalEntryFilter(django_filters.FilterSet):
    period = django_filters.ChoiceFilter(choices=_period_choices)
    account = django_filters.ChoiceFilter(choices=_account_choices)
    source_type = django_filters.CharFilter(label="Source type", max_length=60)
    source_id = django_filters.CharFilter(label="Source id", max_length=64)
    status = django_filters.ChoiceFilter(choices=EntryStatus.choices)

    class Meta:
        model = JournalEntry
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[JournalEntry]) -> QuerySet[JournalEntry]:
        data = self.form.cleaned_data
        period = Period.objects.filter(start=_month(data["period"])).first() if data.get("period") else None
        qs = selectors.entry_list(
            period=period,
            account=data.get("account") or None,
            source_type=(data.get("source_type") or "").strip() or None,
            source_id=(data.get("source_id") or "").strip() or None,
            status=data.get("status") or None,
        )
        if data.get("period") and period is None:
            qs = qs.none()
        return _keep_sort(qs, queryset)


def _month(key: str) -> date | None:
    try:
        year, month = (int(p) for p in key.split("-"))
        return date(year, month, 1)
    except ValueError:
        return None


class JournalEntryListView(ListModelView):
    model = JournalEntry
    filterset_class = JournalEntryFilter
    columns = ("entry_number", "date", "description", "source", "status", "total")
    object_link_columns = ("entry_number",)
    paginate_by = 50
    template_name = "journal/journalentry_list.html"

    @viewprop
    def queryset(self) -> QuerySet[JournalEntry]:
        return selectors.entry_list()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_add"] = self.request.user.has_perm("journal.add_journalentry")
        context["add_url"] = self.viewset.reverse("add")
        return context

    def entry_number(self, entry: JournalEntry) -> str:
        return entry.number

    entry_number.short_description = "Entry"  # type: ignore[attr-defined]
    entry_number.orderby_column = "id"  # type: ignore[attr-defined]

    def source(self, entry: JournalEntry) -> str:
        return f"{entry.source_type} {entry.source_id}" if entry.source_type != services.SOURCE_MANUAL else "manual"

    source.short_description = "Source"  # type: ignore[attr-defined]

    def total(self, entry: JournalEntry) -> Decimal:
        return sum((ln.debit for ln in entry.lines.all()), ZERO)

    total.short_description = "Amount"  # type: ignore[attr-defined]
    total.column_type = "numeric"  # type: ignore[attr-defined]


class JournalEntryDetailView(TemplateView):
    template_name = "journal/entry_detail.html"
    viewset: Any = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if not self.request.user.has_perm(VIEW_ENTRIES):
            raise PermissionDenied
        try:
            entry = selectors.entry_get(entry_id=kwargs["pk"])
        except NotFound:
            raise Http404("No such entry")
        lines = list(entry.lines.all())
        reversed_by = selectors.entry_reversed_by(entry=entry)
        can_reverse = entry.status == EntryStatus.POSTED and self.request.user.has_perm("journal.reverse_journalentry")
        return {
            **super().get_context_data(**kwargs),
            "entry": entry,
            "lines": lines,
            "total_debit": sum((ln.debit for ln in lines), ZERO),
            "total_credit": sum((ln.credit for ln in lines), ZERO),
            "source_url": source_url(entry),
            "reversed_by": reversed_by,
            "reversal_of_url": self.viewset.reverse("detail", args=[entry.reversal_of_id])
            if entry.reversal_of_id
            else "",
            "reversed_by_url": self.viewset.reverse("detail", args=[reversed_by.pk]) if reversed_by else "",
            "reverse_url": self.viewset.reverse("reverse", args=[entry.pk]) if can_reverse else "",
            "list_url": self.viewset.reverse("index"),
            "currency": settings.COMPANY_CURRENCY,
        }


class JournalEntryReverseView(View):
    http_method_names = ["post"]
    viewset: Any = None

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("journal.reverse_journalentry"):
            raise PermissionDenied
        try:
            reversal = services.entry_reverse(
                entry_id=pk, actor=request.user, reason=request.POST.get("reason", "")[:200]
            )
        except NotFound:
            raise Http404("No such entry")
        except DomainError as error:
            messages.error(request, error.detail)
            return HttpResponseRedirect(self.viewset.reverse("detail", args=[pk]))
        messages.success(request, f"Reversed by {reversal.number}, dated {reversal.date.isoformat()}.")
        return HttpResponseRedirect(self.viewset.reverse("detail", args=[reversal.pk]))


# --- periods -------------------------------------------------------------------------------------
class PeriodCloseView(TemplateView):
    """Every month with its status and counts; finance soft-closes, hard-closes or reopens."""

    template_name = "journal/periods.html"
    viewset: Any = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        if not user.has_perm("journal.view_period"):
            raise PermissionDenied
        services.period_for(day=timezone.localdate())  # the current month is always listed
        can_close = user.has_perm("journal.close_period")
        rows = []
        for p in selectors.period_list().select_related("changed_by"):
            actions = []
            if can_close and p.status == "open":
                actions += ["soft-close", "hard-close"]
            elif can_close and p.status == "soft_closed":
                actions += ["hard-close", "reopen"]
            rows.append(
                {
                    "period": p,
                    "actions": [{"name": a, "url": self.viewset.reverse("action", args=[p.key, a])} for a in actions],
                    "entries_url": reverse("journal:ledger:index") + f"?period={p.key}",
                }
            )
        return {**super().get_context_data(**kwargs), "rows": rows}


class PeriodActionView(View):
    http_method_names = ["post"]
    viewset: Any = None

    def post(self, request: HttpRequest, key: str, action: str) -> HttpResponse:
        if action not in ("soft-close", "hard-close", "reopen"):
            raise Http404("Unknown action")
        if not request.user.has_perm("journal.close_period"):
            raise PermissionDenied
        try:
            if action == "reopen":
                period = services.period_reopen(period=key, actor=request.user)
            else:
                period = services.period_close(period=key, hard=action == "hard-close", actor=request.user)
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, f"Period {period.key} is now {period.get_status_display().lower()}.")
        return HttpResponseRedirect(self.viewset.reverse("index"))


# --- reports -------------------------------------------------------------------------------------
def _csv_response(text: str, filename: str, content_type: str = "text/csv") -> HttpResponse:
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ReportsView(TemplateView):
    """Trial balance, GL detail of one account and P&L by channel and location for a chosen period;
    `?download=tb|gl|pnl|beancount` returns the same figures as a file."""

    template_name = "journal/reports.html"
    viewset: Any = None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(REPORTS):
            raise PermissionDenied
        current = services.period_for(day=timezone.localdate())
        key = request.GET.get("period") or current.key
        try:
            period = selectors.period_get(key=key)
        except (DomainError, NotFound):
            messages.error(request, f"No period {key!r}; showing {current.key}.")
            period = current
        account = request.GET.get("account", "1300")
        location = request.GET.get("location", "").strip()[:20]
        channel = request.GET.get("channel", "").strip()[:20]
        gl = selectors.ledger_lines(account=account, period=period, location=location, channel=channel)
        download = request.GET.get("download")
        if download == "tb":
            return _csv_response(exports.trial_balance_csv(period=period), f"trial-balance-{period.key}.csv")
        if download == "gl":
            return _csv_response(exports.ledger_csv(lines=gl), f"ledger-{account}-{period.key}.csv")
        if download == "pnl":
            return _csv_response(exports.pnl_csv(period=period), f"pnl-{period.key}.csv")
        if download == "beancount":
            return _csv_response(
                exports.beancount_export(period=period), f"retailops-{period.key}.beancount", "text/plain"
            )
        tb = selectors.trial_balance(period=period)
        gl_rows = []
        running = ZERO
        for ln in gl[:500]:
            running += ln.debit - ln.credit
            gl_rows.append({"line": ln, "balance": running, "url": self.viewset_entry_url(ln.entry_id)})
        pnl = selectors.profit_and_loss(period=period)
        context = self.get_context_data(
            period=period,
            periods=_period_choices(),
            accounts=_account_choices(),
            account=account,
            location=location,
            channel=channel,
            tb=tb,
            tb_debit=sum((r.debit for r in tb), ZERO),
            tb_credit=sum((r.credit for r in tb), ZERO),
            gl_rows=gl_rows,
            pnl=pnl,
            pnl_total={
                "revenue": sum((r.revenue for r in pnl), ZERO),
                "returns": sum((r.returns for r in pnl), ZERO),
                "cogs": sum((r.cogs for r in pnl), ZERO),
                "other": sum((r.other_expenses for r in pnl), ZERO),
                "profit": sum((r.profit for r in pnl), ZERO),
            },
            query=f"period={period.key}&account={account}&location={location}&channel={channel}",
            currency=settings.COMPANY_CURRENCY,
        )
        return self.render_to_response(context)

    @staticmethod
    def viewset_entry_url(entry_id: int) -> str:
        return reverse("journal:ledger:detail", args=[entry_id])


class ManualEntryCreateView(TemplateView):
    """Finance writes a manual entry; it is saved as a draft and waits for another finance user's approval."""

    template_name = "journal/manual_entry_form.html"
    viewset: Any = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm("journal.add_journalentry"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from apps.journal.forms import ManualEntryForm

        return self.render_to_response(self._context(ManualEntryForm(initial={"date": timezone.localdate()})))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from apps.journal.forms import ManualEntryForm

        form = ManualEntryForm(request.POST)
        if form.is_valid():
            try:
                entry = services.manual_entry_create(
                    day=form.entry_date,
                    description=form.cleaned_data["description"],
                    currency=form.currency,
                    lines=form.cleaned_data["lines"],
                    author=request.user,
                )
            except DomainError as error:
                form.add_error(None, error.detail)
            else:
                messages.success(request, f"{entry.number} is saved as a draft; it posts when finance approves it.")
                return HttpResponseRedirect(self.viewset.reverse("detail", args=[entry.pk]))
        return self.render_to_response(self._context(form))

    def _context(self, form: Any) -> dict[str, Any]:
        return self.get_context_data(
            form=form, list_url=self.viewset.reverse("index"), currency=settings.COMPANY_CURRENCY
        )
