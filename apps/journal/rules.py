"""Posting rules: which operational event posts which lines. The whole policy, in one module.

Each rule is an outbox handler that reads only the event payload (the journal imports no domain
app) and hands `entry_post` a Posting keyed on (source type, source id, event), so a duplicate
delivery posts once. Amounts of sales and refunds are in the order currency and converted at the
event date; costs are in the company currency. Accounts by code (migration 0003):

  sale (orders.order.shipped / picked_up)
      Dr 1100 card clearing (card/wallet payments) or 1200 receivable (marketplace, invoice)  charged
      Cr 40x0 revenue of the channel, per fulfilling location      goods net of tax
      Cr 2200 sales tax payable                                    tax inside the tax-inclusive prices
      Cr 4100 shipping income                                      payment − goods total
      (a payment below the goods total is an unitemized discount: revenue is what was charged)
      Dr 5000 COGS / Cr 1300 inventory, per location               quantity × moving average cost
  goods receipt (stock.receipt.posted)
      Dr 1300 inventory (location) / Cr 2100 GRNI when source = purchase_order, else Cr 3000 opening equity
  return inspected (returns.return.inspected)
      restock:                 Dr 1300 inventory / Cr 5000 COGS        at the location's average cost
      write-off, to vendor:    Dr 5100 write-offs / Cr 5000 COGS       (the unit came back and was lost)
      refurbish:               nothing (not sellable stock)
  refund approved (returns.refund.approved)
      Dr 4500 returns and refunds (net of tax), Dr 2200 tax, Dr 4100 shipping refunded
      Cr 1100 clearing or 1200 receivable                          the refund amount
  stock adjustment posted (stock.adjustment.posted)
      loss: Dr 5100 write-offs / Cr 1300; gain: Dr 1300 / Cr 3100 inventory adjustments
  transfer (stock.transfer.dispatched / received)
      dispatch: Dr 1310 goods in transit / Cr 1300 (source); receipt: Dr 1300 (destination) / Cr 1310,
      short-received units: Dr 5100 / Cr 1310
  supplier invoice matched (suppliers.invoice.matched)
      Dr 2100 GRNI Σ received value (FIFO over the receipts), Dr/Cr 5200 price variance, Cr 2000 payables (total)
  payout settled (reconciliation.payout.settled)
      Dr 1000 bank (net), Dr 6000 payment fees, Cr 1100 card clearing (charges − refunds)

Sales tax: order prices are tax-inclusive and carry no tax amount, so the tax is split out with
`JOURNAL_SALES_TAX_RATE` (default 0: everything is revenue).
"""

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils import timezone

from apps.core.models import OutboxEvent
from apps.core.outbox import outbox_handler
from apps.journal.services import CENT, ZERO, CostBook, Line, Posting, entry_post, money

BANK, CLEARING, RECEIVABLE, INVENTORY, IN_TRANSIT = "1000", "1100", "1200", "1300", "1310"
PAYABLES, GRNI, TAX = "2000", "2100", "2200"
OPENING_EQUITY, INVENTORY_ADJUSTMENTS = "3000", "3100"
REVENUE = {"web": "4000", "store": "4010", "marketplace": "4020"}
SHIPPING, RETURNS = "4100", "4500"
COGS, WRITE_OFFS, PRICE_VARIANCE, FEES = "5000", "5100", "5200", "6000"


def _day(event: OutboxEvent) -> date:
    return timezone.localdate(event.created_at)


def _tax_split(gross: Decimal) -> tuple[Decimal, Decimal]:
    """(net, tax) of a tax-inclusive amount at the configured rate."""
    rate = Decimal(str(settings.JOURNAL_SALES_TAX_RATE))
    net = (gross / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, gross - net


def _settlement_account(payment_method: str) -> str:
    return CLEARING if payment_method in settings.JOURNAL_CLEARING_PAYMENT_METHODS else RECEIVABLE


def _revenue_account(channel: str) -> str:
    return REVENUE.get(channel, REVENUE["web"])


def _costs(items: list[dict], location: str | None = None) -> CostBook:
    """Lock the moving average cost rows of the payload lines (at `location`, or each line's own)."""
    return CostBook(
        ((it["product_id"], location or it["location"]) for it in items),
        {it["product_id"]: it.get("sku", "") for it in items},
    )


def _post(event: OutboxEvent, *, source_type: str, source_id, description: str, currency: str, build, day=None):
    return entry_post(
        posting=Posting(
            source_type=source_type,
            source_id=str(source_id),
            event=event.name,
            date=day or _day(event),
            description=description,
            currency=currency or settings.COMPANY_CURRENCY,
            build=build,
            outbox_event_id=event.pk,
        )
    )


# --- sales ---------------------------------------------------------------------------------------
@outbox_handler("orders.order.shipped", "orders.order.picked_up")
def post_sale(event: OutboxEvent) -> None:
    p = event.payload
    if "fulfilment" not in p:
        return  # emitted before the payload carried lines: nothing to value
    channel = p["channel"]
    prices: dict[int, tuple[Decimal, int]] = defaultdict(lambda: (ZERO, 0))
    for ln in p["lines"]:
        value, qty = prices[ln["product_id"]]
        prices[ln["product_id"]] = (value + Decimal(ln["unit_price"]) * ln["quantity"], qty + ln["quantity"])
    goods_total = money(sum((v for v, _ in prices.values()), ZERO))
    charged = money(p["payment_amount"]) if p.get("payment_amount") not in (None, "") else goods_total
    # Paid above the goods: shipping. Paid below: a discount the order does not itemize, so revenue is
    # what was charged (clearing must agree with what the provider will settle).
    shipping = max(charged - goods_total, ZERO)
    revenue = min(charged, goods_total)
    rows = p["fulfilment"]

    def build() -> list[Line]:
        lines = [Line(_settlement_account(p.get("payment_method", "")), debit=charged, channel=channel)]
        # Revenue per fulfilling location, pro rata of the goods' value; the last row takes the rounding.
        remaining = revenue
        by_location: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for i, row in enumerate(rows):
            value, qty = prices[row["product_id"]]
            if i == len(rows) - 1:
                share = remaining
            else:
                share = money(value / qty * row["quantity"] * revenue / goods_total) if qty and goods_total else ZERO
            remaining -= share
            by_location[row["location"]] += share
        for location, gross in sorted(by_location.items()):
            net, tax = _tax_split(gross)
            lines.append(Line(_revenue_account(channel), credit=net, location=location, channel=channel))
            lines.append(Line(TAX, credit=tax, location=location, channel=channel))
        if shipping:
            lines.append(Line(SHIPPING, credit=shipping, channel=channel))
        book = _costs(rows)
        company = settings.COMPANY_CURRENCY
        for row in rows:
            cost = book.issue(product_id=row["product_id"], location=row["location"], quantity=row["quantity"])
            memo = f"{row['quantity']} × {row.get('sku', row['product_id'])}"
            lines.append(
                Line(
                    COGS,
                    debit=cost,
                    currency=company,
                    location=row["location"],
                    channel=channel,
                    memo=memo,
                    product_id=row["product_id"],
                )
            )
            lines.append(
                Line(
                    INVENTORY,
                    credit=cost,
                    currency=company,
                    location=row["location"],
                    channel=channel,
                    memo=memo,
                    product_id=row["product_id"],
                )
            )
        book.save()
        return lines

    verb = "shipped" if event.name.endswith("shipped") else "collected"
    _post(
        event,
        source_type="orders.order",
        source_id=p["order_id"],
        description=f"Order {p['number']} {verb} ({channel})",
        currency=p["currency"],
        build=build,
    )


# --- goods receipts ------------------------------------------------------------------------------
@outbox_handler("stock.receipt.posted")
def post_receipt(event: OutboxEvent) -> None:
    p = event.payload
    location = p["location"]
    lines_in = [ln for ln in p["lines"] if "product_id" in ln]
    if not lines_in:
        return
    from_po = p.get("source") == "purchase_order"
    credit_account = GRNI if from_po else OPENING_EQUITY

    def build() -> list[Line]:
        book = _costs(lines_in, location)
        lines = []
        for ln in lines_in:
            value = book.receive(
                product_id=ln["product_id"],
                location=location,
                quantity=ln["quantity"],
                unit_cost=Decimal(ln["unit_cost"]),
            )
            memo = f"{ln['quantity']} × {ln.get('sku', ln['product_id'])} @ {ln['unit_cost']}"
            lines.append(Line(INVENTORY, debit=value, location=location, memo=memo, product_id=ln["product_id"]))
            lines.append(Line(credit_account, credit=value, location=location, memo=memo))
        book.save()
        return lines

    what = f"purchase order {p.get('source_id')}" if from_po else (p.get("reference") or "receipt")
    _post(
        event,
        source_type="stock.receipt",
        source_id=p["receipt_id"],
        description=f"Goods received at {location}: {what}",
        currency=settings.COMPANY_CURRENCY,
        build=build,
    )


# --- returns -------------------------------------------------------------------------------------
@outbox_handler("returns.return.inspected")
def post_return_inspection(event: OutboxEvent) -> None:
    p = event.payload
    location = p.get("location", "")
    units = [u for u in p.get("dispositions", []) if u["disposition"] != "refurbish"]
    if not units or not location:
        return
    channel = p.get("channel", "")

    def build() -> list[Line]:
        book = _costs(units, location)
        lines = []
        for u in units:
            memo = f"{u['quantity']} × {u.get('sku', u['product_id'])} {u['disposition']}"
            if u["disposition"] == "restock":
                value = book.restore(product_id=u["product_id"], location=location, quantity=u["quantity"])
                lines.append(
                    Line(
                        INVENTORY,
                        debit=value,
                        location=location,
                        channel=channel,
                        memo=memo,
                        product_id=u["product_id"],
                    )
                )
            else:
                unit = book.unit_cost(product_id=u["product_id"], location=location)
                value = money(unit * u["quantity"])
                lines.append(Line(WRITE_OFFS, debit=value, location=location, channel=channel, memo=memo))
            lines.append(Line(COGS, credit=value, location=location, channel=channel, memo=memo))
        book.save()
        return lines

    _post(
        event,
        source_type="returns.return",
        source_id=p["return_id"],
        description=f"Return {p['number']} inspected at {location}",
        currency=settings.COMPANY_CURRENCY,
        build=build,
    )


@outbox_handler("returns.refund.approved")
def post_refund(event: OutboxEvent) -> None:
    p = event.payload
    amount = money(p["amount"])
    shipping = money(p.get("refund_shipping") or 0)
    goods = amount - shipping
    channel = p.get("channel", "")
    location = p.get("location", "")

    def build() -> list[Line]:
        net, tax = _tax_split(goods)
        return [
            Line(RETURNS, debit=net, location=location, channel=channel),
            Line(TAX, debit=tax, location=location, channel=channel),
            Line(SHIPPING, debit=shipping, channel=channel),
            Line(_settlement_account(p.get("payment_method", "")), credit=amount, channel=channel),
        ]

    _post(
        event,
        source_type="returns.return",
        source_id=p["return_id"],
        description=f"Refund approved for return {p['number']} (order {p.get('order_number', '')})",
        currency=p["currency"],
        build=build,
    )


# --- stock adjustments and transfers -------------------------------------------------------------
@outbox_handler("stock.adjustment.posted")
def post_adjustment(event: OutboxEvent) -> None:
    p = event.payload
    location = p["location"]
    changes = [ln for ln in p.get("lines", []) if ln["quantity_delta"]]
    if not changes:
        return

    def build() -> list[Line]:
        book = _costs(changes, location)
        lines = []
        for ln in changes:
            qty = ln["quantity_delta"]
            memo = f"{qty:+d} × {ln.get('sku', ln['product_id'])} ({p['reason']})"
            if qty < 0:
                value = book.issue(product_id=ln["product_id"], location=location, quantity=-qty)
                lines.append(Line(WRITE_OFFS, debit=value, location=location, memo=memo))
                lines.append(Line(INVENTORY, credit=value, location=location, memo=memo, product_id=ln["product_id"]))
            else:
                value = book.restore(product_id=ln["product_id"], location=location, quantity=qty)
                lines.append(Line(INVENTORY, debit=value, location=location, memo=memo, product_id=ln["product_id"]))
                lines.append(Line(INVENTORY_ADJUSTMENTS, credit=value, location=location, memo=memo))
        book.save()
        return lines

    _post(
        event,
        source_type="stock.adjustment",
        source_id=p["adjustment_id"],
        description=f"Stock adjustment {p['number']} at {location} ({p['reason']})",
        currency=settings.COMPANY_CURRENCY,
        build=build,
    )


@outbox_handler("stock.transfer.dispatched")
def post_transfer_dispatch(event: OutboxEvent) -> None:
    p = event.payload
    moved = [ln for ln in p.get("lines", []) if ln.get("dispatched")]
    if not moved:
        return
    source, destination = p["source"], p["destination"]

    def build() -> list[Line]:
        book = _costs(moved, source)
        lines = []
        for ln in moved:
            value = book.issue(product_id=ln["product_id"], location=source, quantity=ln["dispatched"])
            memo = f"{ln['dispatched']} × {ln.get('sku', ln['product_id'])} to {destination}"
            lines.append(Line(IN_TRANSIT, debit=value, location=destination, memo=memo, product_id=ln["product_id"]))
            lines.append(Line(INVENTORY, credit=value, location=source, memo=memo, product_id=ln["product_id"]))
        book.save()
        return lines

    _post(
        event,
        source_type="stock.transfer",
        source_id=p["transfer_id"],
        description=f"Transfer {p['number']} dispatched {source} → {destination}",
        currency=settings.COMPANY_CURRENCY,
        build=build,
    )


@outbox_handler("stock.transfer.received")
def post_transfer_receipt(event: OutboxEvent) -> None:
    """Received units enter the destination at the value they left the source with (read from the
    dispatch entry's transit lines, so transit clears to zero for this transfer)."""
    from apps.journal.selectors import transit_value_by_product

    p = event.payload
    moved = [ln for ln in p.get("lines", []) if ln.get("dispatched")]
    if not moved:
        return
    destination = p["destination"]

    def build() -> list[Line]:
        in_transit = transit_value_by_product(transfer_id=p["transfer_id"])
        book = _costs(moved, destination)
        lines = []
        for ln in moved:
            value = in_transit.get(ln["product_id"], ZERO)
            received = ln.get("received", 0)
            got = money(value * received / ln["dispatched"]) if ln["dispatched"] else ZERO
            if received:
                unit = got / received
                book.receive(product_id=ln["product_id"], location=destination, quantity=received, unit_cost=unit)
                memo = f"{received} × {ln.get('sku', ln['product_id'])} received"
                lines.append(Line(INVENTORY, debit=got, location=destination, memo=memo, product_id=ln["product_id"]))
                lines.append(Line(IN_TRANSIT, credit=got, location=destination, memo=memo, product_id=ln["product_id"]))
            if value - got:
                memo = f"{ln['dispatched'] - received} × {ln.get('sku', ln['product_id'])} short"
                lines.append(Line(WRITE_OFFS, debit=value - got, location=destination, memo=memo))
                lines.append(
                    Line(IN_TRANSIT, credit=value - got, location=destination, memo=memo, product_id=ln["product_id"])
                )
        book.save()
        return lines

    _post(
        event,
        source_type="stock.transfer",
        source_id=p["transfer_id"],
        description=f"Transfer {p['number']} received at {destination}",
        currency=settings.COMPANY_CURRENCY,
        build=build,
    )


# --- procurement and payouts ---------------------------------------------------------------------
def _grni_relief(line: dict) -> Decimal:
    """What one invoice line takes out of GRNI: the billed units' receipt value (first in, first out),
    or quantity × received unit cost in events from before that value was sent."""
    if "received_value" in line:
        return Decimal(line["received_value"])
    return Decimal(line["received_unit_cost"]) * line["quantity"]


@outbox_handler("suppliers.invoice.matched")
def post_supplier_invoice(event: OutboxEvent) -> None:
    p = event.payload
    # GRNI is relieved by what the billed units went in at (first in, first out over their receipts).
    received = money(sum((_grni_relief(ln) for ln in p["lines"]), ZERO))
    total = money(p["total"])
    company = settings.COMPANY_CURRENCY

    def build() -> list[Line]:
        variance = total - received
        return [
            Line(GRNI, debit=received, currency=company, memo=f"{len(p['lines'])} line(s) at receipt cost"),
            Line(PRICE_VARIANCE, debit=max(variance, ZERO), credit=max(-variance, ZERO), currency=company),
            Line(PAYABLES, credit=total, currency=company, memo=f"{p['supplier_code']} {p['invoice_number']}"),
        ]

    _post(
        event,
        source_type="suppliers.invoice",
        source_id=p["invoice_id"],
        description=f"Supplier invoice {p['invoice_number']} from {p['supplier_code']} matched",
        currency=company,
        build=build,
        day=date.fromisoformat(p["invoice_date"]),
    )


@outbox_handler("reconciliation.payout.settled")
def post_payout(event: OutboxEvent) -> None:
    p = event.payload
    charges, refunds, fees, net = (money(p[k]) for k in ("charges", "refunds", "fees", "net"))

    def build() -> list[Line]:
        return [
            Line(BANK, debit=net, memo=f"payout {p['payout_id']}"),
            Line(FEES, debit=fees, memo=f"payout {p['payout_id']}"),
            Line(CLEARING, debit=max(refunds - charges, ZERO), credit=max(charges - refunds, ZERO)),
        ]

    _post(
        event,
        source_type="reconciliation.payout",
        source_id=p["payout_id"],
        description=f"Payout {p['payout_id']} settled (run {p.get('run_id')})",
        currency=p["currency"],
        build=build,
        day=date.fromisoformat(p["paid_on"]),
    )
