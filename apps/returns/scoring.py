"""The return risk scorecard, version v1: explainable points per feature, then a band.

`score_return(inputs)` is pure: the caller gathers the inputs (apps.returns.selectors.risk_inputs)
and stores inputs, score, version and reasons on the return, so every verdict can be explained
and replayed. Change the weights by adding a new version, never by editing v1 in place.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apps.returns.states import Band

VERSION = "v1"
REVIEW_AT = 25  # score ≥ 25: a person decides
SUGGEST_REJECT_AT = 60  # score ≥ 60: a person decides, and the scorecard advises against


@dataclass(frozen=True)
class Scorecard:
    version: str
    score: int
    band: str
    reasons: list[dict[str, Any]] = field(default_factory=list)


def _reason(feature: str, value: Any, points: int, why: str) -> dict[str, Any]:
    return {"feature": feature, "value": value, "points": points, "why": why}


def score_return(inputs: dict[str, Any]) -> Scorecard:
    """inputs: customer_orders, customer_units_shipped, customer_units_returned, order_value, days_since_handover,
    window_days, channel, repeat_sku_returns."""
    reasons: list[dict[str, Any]] = []

    orders, shipped, returned = (
        inputs["customer_orders"],
        inputs["customer_units_shipped"],
        inputs["customer_units_returned"],
    )
    rate = round(returned / shipped, 2) if shipped else 0.0
    if orders < 2:
        reasons.append(_reason("return_rate", rate, 0, f"only {orders} fulfilled order(s): too few to judge"))
    elif rate >= 0.5:
        reasons.append(_reason("return_rate", rate, 35, "customer returned half or more of the units shipped"))
    elif rate >= 0.25:
        reasons.append(_reason("return_rate", rate, 15, "customer returned a quarter or more of the units shipped"))
    else:
        reasons.append(_reason("return_rate", rate, 0, "customer's return rate is low"))

    value = Decimal(str(inputs["order_value"]))
    if value > Decimal("500"):
        reasons.append(_reason("order_value", str(value), 15, "order value above 500.00"))
    elif value > Decimal("200"):
        reasons.append(_reason("order_value", str(value), 5, "order value above 200.00"))
    else:
        reasons.append(_reason("order_value", str(value), 0, "order value 200.00 or less"))

    days, window = inputs["days_since_handover"], inputs["window_days"]
    if days > window:
        reasons.append(_reason("days_since_handover", days, 30, f"outside the {window}-day return window"))
    elif days > window * 0.8:
        reasons.append(_reason("days_since_handover", days, 10, "near the end of the return window"))
    else:
        reasons.append(_reason("days_since_handover", days, 0, "well inside the return window"))

    channel_points = {"marketplace": 10, "web": 5, "store": 0}.get(inputs["channel"], 5)
    channel_why = {
        "marketplace": "initiated on a marketplace: goods not seen by staff",
        "web": "initiated online: goods not seen by staff",
        "store": "initiated at a store desk: staff see the goods",
    }.get(inputs["channel"], "unknown channel")
    reasons.append(_reason("channel", inputs["channel"], channel_points, channel_why))

    repeats = inputs["repeat_sku_returns"]
    if repeats:
        reasons.append(_reason("repeat_sku", repeats, min(20 * repeats, 40), "customer returned the same SKU before"))
    else:
        reasons.append(_reason("repeat_sku", 0, 0, "no earlier return of these SKUs"))

    score = sum(r["points"] for r in reasons)
    if score >= SUGGEST_REJECT_AT:
        band = Band.SUGGEST_REJECT
    elif score >= REVIEW_AT:
        band = Band.REVIEW
    else:
        band = Band.AUTO_AUTHORIZE
    if days > window and band == Band.AUTO_AUTHORIZE:
        # The window is a policy, not a weight: outside it a person always decides.
        band = Band.REVIEW
        reasons.append(_reason("return_window", days, 0, "outside the return window: at least review"))
    return Scorecard(version=VERSION, score=score, band=str(band), reasons=reasons)
