"""The double-entry journal: chart of accounts, entries posted from operational events, periods, reports."""

from django.apps import AppConfig


class JournalConfig(AppConfig):
    name = "apps.journal"
    label = "journal"
    verbose_name = "Journal"

    def ready(self) -> None:
        from apps.approvals.registry import register_subject
        from apps.journal import rules, selectors, services  # noqa: F401 - rules register the outbox handlers

        # Manual entries wait for finance approval (never by their author); the outcome comes back here.
        register_subject(
            services.SUBJECT_MANUAL_ENTRY,
            label="Manual journal entry",
            on_approved=services.manual_entry_apply_approval,
            on_rejected=services.manual_entry_apply_rejection,
            describe=selectors.manual_entry_describe,
        )
