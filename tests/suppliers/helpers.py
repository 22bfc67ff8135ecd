"""Procurement test helpers: factories and a few shortcuts through the services."""

from datetime import date
from decimal import Decimal

import factory

from apps.accounts.services import user_grant_role
from apps.core.models import OutboxEvent
from apps.suppliers import services
from apps.suppliers.models import PurchaseOrder, Supplier
from tests.factories import UserFactory


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    code = factory.Sequence(lambda n: f"SUP-{n:03d}")
    name = factory.Sequence(lambda n: f"Supplier {n}")
    currency = "USD"
    lead_time_days = 10
    payment_terms_days = 30


def role_user(username: str, role: str):
    user = UserFactory(username=username)
    user_grant_role(user=user, role=role)
    return user


def draft_po(supplier, location, lines, *, actor=None, order_date=None) -> PurchaseOrder:
    """lines: [(product, quantity, unit_cost)]"""
    return services.purchase_order_create(
        supplier=supplier,
        location=location,
        lines=[services.POLineInput(product=p, quantity=q, unit_cost=Decimal(c)) for p, q, c in lines],
        actor=actor,
        order_date=order_date or date.today(),
    )


def sent_po(supplier, location, lines, *, buyer) -> PurchaseOrder:
    """A small (auto-approved) order, submitted and sent."""
    po = draft_po(supplier, location, lines, actor=buyer)
    services.purchase_order_submit(po_id=po.pk, actor=buyer)
    return services.purchase_order_send(po_id=po.pk, actor=buyer)


def event_names(prefix: str = "suppliers.") -> list[str]:
    return list(OutboxEvent.objects.filter(name__startswith=prefix).order_by("id").values_list("name", flat=True))
