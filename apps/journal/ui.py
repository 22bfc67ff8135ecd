"""The Ledger application of the staff portal: entries, period close and reports for finance."""

from django.urls import path
from viewflow.urls import ReadonlyModelViewset
from viewflow.utils import Icon

from apps.core.ui import PortalApplication, site
from apps.journal import views
from apps.journal.models import Account, JournalEntry, Period


class JournalEntryViewset(ReadonlyModelViewset):
    model = JournalEntry
    app_name = "ledger"
    title = "Entries"
    icon = Icon("menu_book")
    list_view_class = views.JournalEntryListView

    @property
    def detail_path(self):
        return path("<int:pk>/", views.JournalEntryDetailView.as_view(viewset=self), name="detail")

    @property
    def create_path(self):
        return path("new/", views.ManualEntryCreateView.as_view(viewset=self), name="add")

    def has_add_permission(self, user):
        return user.has_perm("journal.add_journalentry")

    @property
    def reverse_path(self):
        return path("<int:pk>/reverse/", views.JournalEntryReverseView.as_view(viewset=self), name="reverse")


class PeriodViewset(ReadonlyModelViewset):
    model = Period
    app_name = "periods"
    title = "Periods"
    icon = Icon("event_available")
    list_path = None
    detail_path = None

    @property
    def index_path(self):
        return path("", views.PeriodCloseView.as_view(viewset=self), name="index")

    @property
    def action_path(self):
        return path("<str:key>/<slug:action>/", views.PeriodActionView.as_view(viewset=self), name="action")

    def get_object_url(self, request, obj):
        return None


class ReportViewset(ReadonlyModelViewset):
    model = Account
    app_name = "reports"
    title = "Reports"
    icon = Icon("assessment")
    list_path = None
    detail_path = None

    @property
    def index_path(self):
        return path("", views.ReportsView.as_view(viewset=self), name="index")

    def has_view_permission(self, user, obj=None):
        return user.has_perm("journal.view_financial_reports")

    def get_object_url(self, request, obj):
        return None


@site.register
class JournalApplication(PortalApplication):
    title = "Ledger"
    icon = Icon("account_balance")
    app_name = "journal"
    permission = "journal.view_journalentry"
    menu_position = 40
    viewsets = [JournalEntryViewset(), PeriodViewset(), ReportViewset()]
