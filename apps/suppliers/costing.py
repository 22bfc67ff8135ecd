"""What goods cost when they left GRNI: first in, first out over a PO line's receipts.

Each receipt credits GRNI with quantity × its landed cost (company currency at the receipt date). An
invoice relieves GRNI for the units it bills in receipt order, so GRNI always equals the value of the
received units no invoice has billed yet, whatever the rates of the receipts in between.
"""

from collections.abc import Iterable
from decimal import Decimal


def fifo_value(receipts: Iterable[tuple[int, Decimal]], *, skip: int, take: int) -> Decimal:
    """The value of units skip+1 … skip+take of the receipts (quantity, unit cost) in receipt order.
    Units beyond what was received have no value here (they were never in GRNI)."""
    value = Decimal("0.00")
    for quantity, unit_cost in receipts:
        if take <= 0:
            break
        if skip >= quantity:
            skip -= quantity
            continue
        used = min(quantity - skip, take)
        value += used * unit_cost
        take -= used
        skip = 0
    return value
