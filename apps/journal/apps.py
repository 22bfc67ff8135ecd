"""The double-entry journal: chart of accounts, entries posted from operational events, periods, reports."""

from django.apps import AppConfig


class JournalConfig(AppConfig):
    name = "apps.journal"
    label = "journal"
    verbose_name = "Journal"
