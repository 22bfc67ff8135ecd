"""Card settlement and bank statement reconciliation: imports, set-based matching, run records."""

from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "apps.reconciliation"
    label = "reconciliation"
    verbose_name = "Reconciliation"
