"""Approvals: policy-driven, multi-level approval of any registered subject on django-viewflow's workflow."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, using="default", **kwargs) -> None:
    # accounts re-syncs the roles after its own post_migrate, which runs before the permissions of
    # apps listed after it exist (stock's adjustment permissions, ours). This app is listed last, so
    # syncing again here gives the roles every permission they list on the very first migrate.
    from apps.accounts.roles import sync_roles

    sync_roles(using=using)


class ApprovalsConfig(AppConfig):
    name = "apps.approvals"
    label = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        # The flow class must exist before any task row is read (its reference is resolved on load).
        from apps.approvals import flows  # noqa: F401

        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="approvals.sync_roles")
