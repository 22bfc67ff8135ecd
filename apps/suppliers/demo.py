"""Procurement demo data: suppliers (one invoicing in EUR) with their catalogues, warehouse reorder rules,
purchase orders in every open status, a matched invoice and a price-variance exception, and one run of
the replenishment proposal.

Called by apps.core.demo (the composition root) on an empty database; only calls services, and draws
everything from the given seeded `random.Random`, so two runs on empty databases are identical.
"""

import random
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from apps.catalog.models import Location, Product
from apps.core.currency import currency_convert, exchange_rate_set
from apps.suppliers.models import PurchaseOrder, Supplier
from apps.suppliers.selectors import supplier_product_list
from apps.suppliers.services import (
    InvoiceLineInput,
    POLineInput,
    ReceiveLineInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_send,
    purchase_order_submit,
    purchase_orders_propose,
    reorder_rule_set,
    supplier_create,
    supplier_invoice_create,
    supplier_product_set,
)

CENT = Decimal("0.01")
# (code, name, currency, lead time days, payment terms days, SKU prefixes it is preferred for,
# minimum order quantity, pack size)
SUPPLIERS = [
    ("NORTHWIND", "Northwind Apparel Co.", "USD", 14, 45, ["APP"], 6, 6),
    ("STRIDE", "Stride Footwear Inc.", "USD", 21, 30, ["FTW"], 4, 2),
    ("ALPINA", "Alpina Outdoor GmbH", "EUR", 28, 60, ["OUT"], 4, 1),
    ("HEARTH", "Hearth & Table Goods", "USD", 10, 30, ["HOM", "KIT"], 6, 6),
    ("VOLTA", "Volta Electronics Ltd.", "USD", 7, 30, ["ELE"], 5, 1),
]
# EUR → USD by date (days before today): the EUR supplier's documents convert at their own date.
EUR_RATES = [(120, Decimal("1.0712")), (60, Decimal("1.0835")), (30, Decimal("1.0904")), (0, Decimal("1.0968"))]


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def seed(
    *,
    rng: random.Random,
    users: Mapping[str, User],
    warehouses: list[Location],
    stores: list[Location],
    products: list[Product],
    unstocked: list[Product],
    log: Callable[[str], None] = lambda message: None,
) -> None:
    today = timezone.localdate()
    buyer, finance = users["admin"], users["finance"]
    for days, rate in EUR_RATES:
        exchange_rate_set(currency="EUR", on=today - timedelta(days=days), rate=rate)

    suppliers = _suppliers_and_catalogue(rng=rng, products=products)
    log(f"{len(suppliers)} suppliers with catalogues (ALPINA invoices in EUR)")

    _reorder_rules(rng=rng, warehouses=warehouses, products=products, unstocked=unstocked)

    wh, store = warehouses[0], stores[0]
    other_wh = warehouses[1] if len(warehouses) > 1 else wh

    def order(code: str, location: Location, budget: int, note: str, count: int = 2) -> PurchaseOrder:
        return _order(
            rng=rng,
            supplier=suppliers[code],
            location=location,
            budget=Decimal(budget),
            count=count,
            note=note,
            actor=buyer,
            skip={p.pk for p in unstocked},  # receiving those would allocate the demo's backorders
        )

    def sent(po: PurchaseOrder) -> PurchaseOrder:
        purchase_order_submit(po_id=po.pk, actor=buyer)
        return purchase_order_send(po_id=po.pk, actor=buyer)

    def receive(po: PurchaseOrder, *, half: bool, reference: str) -> None:  # at the warehouse, by the buyer
        lines = [
            ReceiveLineInput(line_id=ln.pk, quantity=max(1, ln.quantity // 2) if half else ln.quantity)
            for ln in po.lines.order_by("line_no")
        ]
        purchase_order_receive(po_id=po.pk, lines=lines, actor=buyer, reference=reference)

    # draft: still being put together
    order("HEARTH", wh, 900, "spring table linen, check colours before submitting", count=3)
    # pending approval: one level (the approver's queue), and two levels (approver, then finance)
    purchase_order_submit(po_id=order("VOLTA", other_wh, 6_000, "holiday electronics").pk, actor=buyer)
    purchase_order_submit(po_id=order("ALPINA", wh, 30_000, "winter range", count=3).pk, actor=buyer)
    # approved within the first band, not sent yet
    purchase_order_submit(po_id=order("NORTHWIND", store, 1_200, "store top-up").pk, actor=buyer)
    # sent to the store manager's first store: waiting to be received there
    sent(order("STRIDE", store, 1_500, "window display"))
    # partially received at the warehouse
    partial = sent(order("HEARTH", wh, 1_800, "kitchen restock", count=3))
    receive(partial, half=True, reference="DN-HT-2041")
    # received, with a matching invoice (ready to pay)
    matched = sent(order("VOLTA", wh, 1_600, "audio restock"))
    receive(matched, half=False, reference="DN-VL-8812")
    _invoice(matched, number="VL-INV-30117", actor=finance, markup=Decimal("1"))
    # received from the EUR supplier, invoiced above the PO price: a price-variance exception for finance
    dearer = sent(order("ALPINA", wh, 1_500, "outdoor accessories"))
    receive(dearer, half=False, reference="DN-AL-5530")
    _invoice(dearer, number="AL-2026-0417", actor=finance, markup=Decimal("1.06"))
    log("purchase orders: draft, pending approval (1 and 2 levels), approved, sent, partially received, received")

    proposed = purchase_orders_propose(actor=None)
    log(f"replenishment proposal: {len(proposed)} draft purchase order(s)")


def _suppliers_and_catalogue(*, rng: random.Random, products: list[Product]) -> dict[str, Supplier]:
    """Each product's preferred supplier by category; about one in five is also sold, dearer, by another."""
    suppliers = {
        code: supplier_create(
            code=code,
            name=name,
            currency=currency,
            lead_time_days=lead,
            payment_terms_days=terms,
            email=f"orders@{code.lower()}.example.com",
        )
        for code, name, currency, lead, terms, _, _, _ in SUPPLIERS
    }
    rate = EUR_RATES[-1][1]
    by_prefix = {prefix: row for row in SUPPLIERS for prefix in row[5]}
    codes = [row[0] for row in SUPPLIERS]
    for product in products:
        prefix = product.sku.split("-")[0]
        code, _, currency, _, _, _, moq, pack = by_prefix[prefix]
        offers = [(code, Decimal("1"), True)]
        if rng.random() < 0.2:
            offers.append((rng.choice([c for c in codes if c != code]), Decimal(str(rng.uniform(1.04, 1.15))), False))
        for offer_code, markup, preferred in offers:
            supplier = suppliers[offer_code]
            cost = product.cost * markup
            if supplier.currency == "EUR":
                cost = cost / rate
            supplier_product_set(
                supplier=supplier,
                product=product,
                supplier_sku=f"{offer_code[:3]}-{product.sku}",
                cost=_money(cost),
                min_order_qty=moq if preferred else 1,
                pack_size=pack if preferred else 1,
                preferred=preferred,
            )
    return suppliers


def _reorder_rules(
    *, rng: random.Random, warehouses: list[Location], products: list[Product], unstocked: list[Product]
) -> None:
    """Rules for a third of the range at every warehouse. Warehouses open with 60-180 units per SKU, so
    rules with a point above that (and the new arrivals, with no stock at all) fall due at once."""
    for location in warehouses:
        for product in sorted(rng.sample(products, k=max(4, len(products) // 3)), key=lambda p: p.sku):
            due = product in unstocked or rng.random() < 0.15
            point = rng.randint(190, 240) if due else rng.randint(20, 50)
            reorder_rule_set(location=location, product=product, reorder_point=point, order_up_to=point + 120)


def _order(
    *,
    rng: random.Random,
    supplier: Supplier,
    location: Location,
    budget: Decimal,
    count: int,
    note: str,
    actor: User,
    skip: set[int],
) -> PurchaseOrder:
    """A draft of up to `count` of the supplier's catalogue products, worth at most `budget` in the company
    currency (so a budget within the first spend band stays within it)."""
    today = timezone.localdate()
    catalogue = [
        (item, currency_convert(amount=item.cost, currency=supplier.currency, on=today))
        for item in supplier_product_list(supplier_id=supplier.pk)
        if item.product_id not in skip and item.cost > 0
    ]
    count = min(count, len(catalogue))
    per_line = budget / count
    affordable = [(item, cost) for item, cost in catalogue if cost <= per_line]
    if len(affordable) < count:
        affordable = sorted(catalogue, key=lambda pair: (pair[1], pair[0].product.sku))[:count]
    lines = [
        POLineInput(product=item.product, quantity=max(1, int(per_line / cost)))
        for item, cost in rng.sample(affordable, k=count)
    ]
    return purchase_order_create(supplier=supplier, location=location, lines=lines, actor=actor, note=note)


def _invoice(po: PurchaseOrder, *, number: str, actor: User, markup: Decimal) -> None:
    """The supplier bills what was received, at the PO price times `markup`."""
    lines = [
        InvoiceLineInput(quantity=ln.received_quantity, unit_price=_money(ln.unit_cost * markup), po_line_id=ln.pk)
        for ln in po.lines.order_by("line_no")
        if ln.received_quantity
    ]
    supplier_invoice_create(
        supplier=po.supplier, number=number, invoice_date=timezone.localdate(), lines=lines, actor=actor
    )
