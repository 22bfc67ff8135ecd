"""Orders: omnichannel intake, allocation against the stock ledger, fulfilment state machine."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "apps.orders"
    label = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from apps.orders import handlers  # noqa: F401 - registers outbox handlers
