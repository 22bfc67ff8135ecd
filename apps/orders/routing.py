"""Where an order's stock comes from. Replaceable: settings.ORDER_ROUTING_POLICY names the class.

The default policy:
- pickup: only the pickup store, and only if it can fill every line;
- ship: the preferred (lowest priority, then code) single active location that fills every line;
  else line by line across locations in priority order, taking what each has;
- otherwise nothing: the order is backordered and reserves nothing.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from apps.catalog.models import Location
from apps.stock.models import StockLevel


@dataclass(frozen=True)
class Demand:
    line_index: int
    product_id: int
    quantity: int


@dataclass(frozen=True)
class Pick:
    line_index: int
    level: StockLevel
    quantity: int


class PriorityRouting:
    def route(
        self,
        *,
        demands: Sequence[Demand],
        levels: Sequence[StockLevel],
        locations: dict[int, Location],
        pickup_location_id: int | None,
    ) -> list[Pick] | None:
        def rank(location_id: int) -> tuple[int, str]:
            loc = locations[location_id]
            return (loc.priority, loc.code)

        usable = [lv for lv in levels if lv.location_id in locations and locations[lv.location_id].active]
        if pickup_location_id is not None:
            usable = [lv for lv in usable if lv.location_id == pickup_location_id]
        by_location: dict[int, dict[int, StockLevel]] = defaultdict(dict)
        for lv in usable:
            by_location[lv.location_id][lv.product_id] = lv
        need: dict[int, int] = defaultdict(int)
        for d in demands:
            need[d.product_id] += d.quantity

        for location_id in sorted(by_location, key=rank):
            stock = by_location[location_id]
            if all(pid in stock and stock[pid].available >= qty for pid, qty in need.items()):
                return [Pick(d.line_index, stock[d.product_id], d.quantity) for d in demands]
        if pickup_location_id is not None:
            return None

        remaining = {lv.pk: lv.available for lv in usable}
        picks: list[Pick] = []
        for d in demands:
            left = d.quantity
            candidates = sorted(
                (lv for lv in usable if lv.product_id == d.product_id), key=lambda lv: rank(lv.location_id)
            )
            for lv in candidates:
                take = min(left, remaining[lv.pk])
                if take > 0:
                    picks.append(Pick(d.line_index, lv, take))
                    remaining[lv.pk] -= take
                    left -= take
                if left == 0:
                    break
            if left:
                return None
        return picks


@lru_cache(maxsize=1)
def routing_policy() -> PriorityRouting:
    path = getattr(settings, "ORDER_ROUTING_POLICY", "apps.orders.routing.PriorityRouting")
    return import_string(path)()
