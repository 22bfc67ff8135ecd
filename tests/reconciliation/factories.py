"""Orders and returns as payments see them: only the fields matching reads are set meaningfully.

They are written directly (test setup, not a write path under test): reconciliation only reads them.
"""

from decimal import Decimal

import factory

from apps.orders.models import Order
from apps.returns.models import Return


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    channel = "web"
    external_id = factory.Sequence(lambda n: f"WEB-{n:06d}")
    request_hash = factory.Sequence(lambda n: f"{n:064d}")
    status = "shipped"
    customer_email = "ann@example.com"
    fulfillment_method = "ship"
    currency = "USD"
    total = Decimal("10.00")
    payment_method = "card"
    payment_reference = factory.Sequence(lambda n: f"pi_test_{n}")
    payment_amount = None


class ReturnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Return

    order = factory.SubFactory(OrderFactory)
    channel = "web"
    reason = "changed_mind"
    status = "refunded"
    customer_email = "ann@example.com"
    currency = "USD"
    risk_version = "v1"
    risk_score = 0
    risk_band = "auto_authorize"
    refund_amount = Decimal("10.00")
    refund_approval = "not_required"
    refund_payment_reference = factory.Sequence(lambda n: f"re_test_{n}")
