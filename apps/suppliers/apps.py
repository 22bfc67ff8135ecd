"""Procurement: suppliers, purchase orders under spend approvals, goods receipts, three-way match."""

from django.apps import AppConfig


class SuppliersConfig(AppConfig):
    name = "apps.suppliers"
    label = "suppliers"
    verbose_name = "Procurement"

    def ready(self) -> None:
        from apps.approvals.registry import register_subject
        from apps.suppliers import describe, services

        register_subject(
            services.SUBJECT_PURCHASE_ORDER,
            label="Purchase order",
            on_approved=services.purchase_order_apply_approval,
            on_rejected=services.purchase_order_apply_rejection,
            describe=describe.purchase_order_describe,
        )
        register_subject(
            services.SUBJECT_INVOICE_VARIANCE,
            label="Supplier invoice variance",
            on_approved=services.supplier_invoice_apply_approval,
            on_rejected=services.supplier_invoice_apply_rejection,
            describe=describe.invoice_variance_describe,
        )
        # The journal checks its GRNI account against what was received and not yet invoiced; it imports
        # no domain app, so procurement hands it the figure.
        from apps.journal.integrity import register_received_not_invoiced_provider
        from apps.suppliers.selectors import received_not_invoiced_value

        register_received_not_invoiced_provider(received_not_invoiced_value)
