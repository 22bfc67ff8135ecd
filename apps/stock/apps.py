"""Stock: levels per location, the append-only movement ledger, reservations and receipts."""

from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "apps.stock"
    label = "stock"
    verbose_name = "Stock"

    def ready(self) -> None:
        from apps.approvals.registry import register_subject
        from apps.stock import selectors, services

        # Adjustments above the approval policy wait for apps.approvals; the outcome comes back here.
        register_subject(
            services.SUBJECT_ADJUSTMENT,
            label="Stock adjustment",
            on_approved=services.stock_adjustment_apply_approval,
            on_rejected=services.stock_adjustment_apply_rejection,
            describe=selectors.stock_adjustment_describe,
        )
        # Transfers above the value threshold or below a source's minimum wait for apps.approvals.
        register_subject(
            services.SUBJECT_TRANSFER,
            label="Stock transfer",
            on_approved=services.stock_transfer_apply_approval,
            on_rejected=services.stock_transfer_apply_rejection,
            describe=selectors.stock_transfer_describe,
        )
        # The journal checks its inventory account against on-hand × moving average cost; it imports no
        # domain app, so stock hands it the quantities.
        from apps.journal.integrity import register_on_hand_provider

        register_on_hand_provider(selectors.stock_on_hand_by_location)
