from decimal import Decimal

import pytest

from apps.suppliers.costing import fifo_value

D = Decimal
RECEIPTS = [(10, D("1.10")), (5, D("2.00")), (10, D("1.00"))]


@pytest.mark.parametrize(
    "skip, take, value",
    [
        (0, 10, D("11.00")),
        (0, 12, D("15.00")),
        (8, 10, D("2.20") + D("10.00") + D("3.00")),
        (15, 10, D("10.00")),
        (20, 10, D("5.00")),  # only 5 units are left to value
        (25, 3, D("0.00")),
        (0, 0, D("0.00")),
    ],
    ids=[
        "first receipt",
        "into the second",
        "across three",
        "last receipt",
        "more than received",
        "past the end",
        "none",
    ],
)
def test_units_are_valued_in_receipt_order(skip, take, value):
    assert fifo_value(RECEIPTS, skip=skip, take=take) == value
