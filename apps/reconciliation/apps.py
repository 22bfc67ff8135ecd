"""Card settlement and bank statement reconciliation: imports, set-based matching, run records."""

from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "apps.reconciliation"
    label = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        from apps.core.selectors import register_incident_subject_url
        from apps.reconciliation import selectors

        # The exception queue links a run's incidents (and a missing payout's) to the run's page.
        register_incident_subject_url("reconciliation.reconciliationrun", selectors.run_url_for_incident)
        register_incident_subject_url("reconciliation.payout", selectors.payout_run_url_for_incident)
