"""Approvals: policy-driven, multi-level approval of any registered subject on django-viewflow's workflow."""

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "apps.approvals"
    label = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        # The flow class must exist before any task row is read (its reference is resolved on load).
        from apps.approvals import flows  # noqa: F401
