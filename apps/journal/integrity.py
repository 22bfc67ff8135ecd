"""Integrity checks of the ledger against itself and against operations; drift becomes an incident.

- trial balance: Σ debit = Σ credit over every booked line, and per period;
- inventory: the inventory account per location = Σ on_hand × moving average cost of its products;
- GRNI: the GRNI account = the value received on purchase orders and not yet invoiced.

The journal imports no domain app, so the operational figures come from providers the owning apps
register from their AppConfig.ready() (the same direction as approval subjects): stock registers the
on-hand quantities, procurement the received-not-invoiced value. A check whose provider is not
registered is reported as skipped, never as passing.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Sum

from apps.journal import selectors
from apps.journal.models import ProductCost

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
INCIDENT_KIND = "journal.integrity_drift"

# (location code, product id, on hand) for every stock level
QuantityProvider = Callable[[], list[tuple[str, int, int]]]
# value received on purchase orders and not yet invoiced, in the company currency
ReceivedNotInvoicedProvider = Callable[[], Decimal]

_providers: dict[str, Any] = {}


def register_on_hand_provider(func: QuantityProvider) -> QuantityProvider:
    _providers["on_hand"] = func
    return func


def register_received_not_invoiced_provider(func: ReceivedNotInvoicedProvider) -> ReceivedNotInvoicedProvider:
    _providers["received_not_invoiced"] = func
    return func


@dataclass
class CheckResult:
    check: str
    ok: bool | None  # None: skipped (no provider)
    figures: dict = field(default_factory=dict)


def check_trial_balance() -> CheckResult:
    totals = selectors.booked_lines().aggregate(debit=Sum("debit"), credit=Sum("credit"))
    debit, credit = totals["debit"] or ZERO, totals["credit"] or ZERO
    periods = [
        {"period": f"{r['entry__period__start']:%Y-%m}", "debit": str(r["debit"]), "credit": str(r["credit"])}
        for r in selectors.booked_lines()
        .values("entry__period__start")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
        .order_by("entry__period__start")
        if r["debit"] != r["credit"]
    ]
    return CheckResult(
        "trial_balance",
        debit == credit and not periods,
        {"debit": str(debit), "credit": str(credit), "difference": str(debit - credit), "periods_off": periods},
    )


def check_inventory() -> CheckResult:
    provider = _providers.get("on_hand")
    if provider is None:
        return CheckResult("inventory", None, {"reason": "no on-hand provider registered"})
    costs = {(c.location, c.product_id): c for c in ProductCost.objects.all()}
    expected: dict[str, Decimal] = defaultdict(lambda: ZERO)
    quantity_mismatch: dict[str, list[dict]] = defaultdict(list)
    for location, product_id, on_hand in provider():
        cost = costs.get((location, product_id))
        if cost is None:
            if on_hand:
                quantity_mismatch[location].append({"product_id": product_id, "on_hand": on_hand, "journal": 0})
            continue
        unit = cost.value / cost.quantity if cost.quantity > 0 else cost.unit_cost
        expected[location] += (Decimal(on_hand) * unit).quantize(CENT, rounding=ROUND_HALF_UP)
        if cost.quantity != on_hand:
            quantity_mismatch[location].append({"product_id": product_id, "on_hand": on_hand, "journal": cost.quantity})
    ledger = selectors.inventory_by_location()
    rows = []
    for location in sorted(set(expected) | {loc for loc, v in ledger.items() if v}):
        book, want = ledger.get(location, ZERO), expected.get(location, ZERO)
        # Rounding of on_hand × average per product may differ from the posted cents by < 1 cent each.
        tolerance = CENT * max(1, sum(1 for (loc, _) in costs if loc == location))
        if abs(book - want) > tolerance:
            rows.append(
                {
                    "location": location,
                    "ledger": str(book),
                    "on_hand_x_mac": str(want),
                    "difference": str(book - want),
                    "quantity_mismatches": quantity_mismatch.get(location, [])[:20],
                }
            )
    return CheckResult("inventory", not rows, {"locations_off": rows, "locations_checked": len(expected)})


def check_grni() -> CheckResult:
    provider = _providers.get("received_not_invoiced")
    if provider is None:
        return CheckResult("grni", None, {"reason": "no received-not-invoiced provider registered"})
    ledger = -selectors.account_balance(code="2100")  # a liability: credit balance
    want = Decimal(provider()).quantize(CENT)
    return CheckResult(
        "grni",
        ledger == want,
        {"ledger": str(ledger), "received_not_invoiced": str(want), "difference": str(ledger - want)},
    )


def journal_verify_integrity() -> list[CheckResult]:
    """Run every check; each one that drifts opens (or counts another occurrence of) one incident."""
    from apps.core.services import incident_raise

    results = [check_trial_balance(), check_inventory(), check_grni()]
    for r in results:
        if r.ok is False:
            incident_raise(
                kind=INCIDENT_KIND,
                severity="high",
                title=f"Ledger integrity: {r.check.replace('_', ' ')} drifted",
                details={"check": r.check, **r.figures},
                dedupe_key=f"{INCIDENT_KIND}:{r.check}",
                owner_team="finance",
            )
    return results
