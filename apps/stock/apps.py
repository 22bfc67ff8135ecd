"""Stock: levels per location, the append-only movement ledger, reservations and receipts."""

from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "apps.stock"
    label = "stock"
    verbose_name = "Stock"
