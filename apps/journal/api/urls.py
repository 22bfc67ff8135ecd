"""Journal API routes."""

from django.urls import path

from apps.journal.api import views

urlpatterns = [
    path("accounts/", views.AccountListApi.as_view(), name="account-list"),
    path("journal-entries/", views.JournalEntryListCreateApi.as_view(), name="journal-entry-list"),
    path("journal-entries/<int:entry_id>/", views.JournalEntryDetailApi.as_view(), name="journal-entry-detail"),
    path(
        "journal-entries/<int:entry_id>/reverse/", views.JournalEntryReverseApi.as_view(), name="journal-entry-reverse"
    ),
    path("reports/trial-balance/", views.TrialBalanceApi.as_view(), name="report-trial-balance"),
    path("periods/", views.PeriodListApi.as_view(), name="period-list"),
    path("periods/<str:period>/close/", views.PeriodCloseApi.as_view(), name="period-close"),
]
