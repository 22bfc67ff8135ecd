"""Returns (RMA): authorization by risk scorecard, receipt, inspection with dispositions, refunds."""

from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "apps.returns"
    label = "returns"
    verbose_name = "Returns"

    def ready(self) -> None:
        from apps.approvals.registry import register_subject
        from apps.returns import selectors, services

        # Refunds above the policy (or of risky returns) wait for apps.approvals; the outcome comes back here.
        register_subject(
            services.SUBJECT_REFUND,
            label="Return refund",
            on_approved=services.return_refund_apply_approval,
            on_rejected=services.return_refund_apply_rejection,
            describe=selectors.return_refund_describe,
        )
