"""The v1 scorecard on its own: bands at their boundaries, the window rule and explainable reasons."""

import pytest

from apps.returns.scoring import score_return


def inputs(**change):
    base = {
        "customer_orders": 1,
        "customer_units_shipped": 1,
        "customer_units_returned": 0,
        "order_value": "50.00",
        "days_since_handover": 3,
        "window_days": 30,
        "channel": "store",
        "repeat_sku_returns": 0,
    }
    return base | change


@pytest.mark.parametrize(
    "change, score, band",
    [
        ({}, 0, "auto_authorize"),
        ({"channel": "marketplace", "order_value": "250.00"}, 15, "auto_authorize"),
        ({"channel": "web", "repeat_sku_returns": 1}, 25, "review"),
        ({"customer_orders": 4, "customer_units_shipped": 4, "customer_units_returned": 2}, 35, "review"),
        (
            {"customer_orders": 4, "customer_units_shipped": 4, "customer_units_returned": 2, "repeat_sku_returns": 2},
            75,
            "suggest_reject",
        ),
        ({"days_since_handover": 31}, 30, "review"),
        ({"days_since_handover": 25}, 10, "auto_authorize"),
    ],
    ids=["clean", "marketplace-mid-value", "web-repeat", "high-rate", "serial", "outside-window", "near-window-end"],
)
def test_bands(change, score, band):
    card = score_return(inputs(**change))
    assert (card.version, card.score, card.band) == ("v1", score, band)
    assert sum(r["points"] for r in card.reasons) == score
    assert all(r.keys() == {"feature", "value", "points", "why"} for r in card.reasons)


def test_the_window_not_the_age_alone_decides():
    card = score_return(inputs(days_since_handover=400, window_days=1000))
    assert card.band == "auto_authorize"
    card = score_return(inputs(days_since_handover=12, window_days=10))
    assert card.band == "review"


def test_few_orders_do_not_count_against_the_customer():
    card = score_return(inputs(customer_orders=1, customer_units_shipped=1, customer_units_returned=1))
    rate = card.reasons[0]
    assert (rate["feature"], rate["value"], rate["points"]) == ("return_rate", 1.0, 0)
