"""Demo data: a retailer's locations, catalogue, opening stock, orders in every status, and demo users.

The one place where `core` imports domain apps: it is a composition root that only calls their
services (never writes their models), so the demo shows exactly what the real write paths produce.
Everything is derived from a seeded `random.Random`, so two runs on empty databases are identical.
"""

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from apps.accounts.services import user_assign_locations, user_grant_role
from apps.catalog.models import Channel, Location, LocationKind, Product
from apps.catalog.selectors import location_list, product_list
from apps.catalog.services import location_create, product_create
from apps.journal.demo import seed as journal_seed
from apps.orders.selectors import order_list
from apps.orders.services import (
    LineInput,
    OrderInput,
    order_cancel,
    order_close,
    order_collect,
    order_create,
    order_deliver,
    order_mark_ready,
    order_pick,
    order_ship,
)
from apps.orders.states import FulfillmentMethod, OrderStatus
from apps.reconciliation.demo import seed as seed_reconciliation
from apps.stock.models import AdjustmentReason, MovementKind
from apps.stock.selectors import stock_level_list
from apps.stock.services import (
    AdjustmentLineInput,
    CountLineInput,
    ReceiptLine,
    stock_adjustment_create,
    stock_count_submit,
    stock_receive,
)
from apps.suppliers.demo import seed as seed_procurement

DEFAULT_PASSWORD = "retailops-demo"  # noqa: S105 - a published demo password, overridable by DEMO_PASSWORD
RETAILER = "Harbor & Pine Outfitters"
CURRENCY = "USD"
S = OrderStatus
SHIP = FulfillmentMethod.SHIP
PICKUP = FulfillmentMethod.PICKUP

# (code, name, city/state): warehouses get priority 1..3, stores 50 upwards.
WAREHOUSES = [
    ("WH-EAST", "East Fulfillment Center", "Edison, NJ"),
    ("WH-CENTRAL", "Central Fulfillment Center", "Columbus, OH"),
    ("WH-WEST", "West Fulfillment Center", "Reno, NV"),
]
STORES = [
    ("ST-BOS", "Boston Newbury Street", "Boston, MA"),
    ("ST-NYC", "New York SoHo", "New York, NY"),
    ("ST-PHL", "Philadelphia Rittenhouse", "Philadelphia, PA"),
    ("ST-CHI", "Chicago Magnificent Mile", "Chicago, IL"),
    ("ST-MSP", "Minneapolis North Loop", "Minneapolis, MN"),
    ("ST-DEN", "Denver Larimer Square", "Denver, CO"),
    ("ST-AUS", "Austin South Congress", "Austin, TX"),
    ("ST-ATL", "Atlanta Ponce City", "Atlanta, GA"),
    ("ST-MIA", "Miami Design District", "Miami, FL"),
    ("ST-SEA", "Seattle Capitol Hill", "Seattle, WA"),
    ("ST-PDX", "Portland Pearl District", "Portland, OR"),
    ("ST-SFO", "San Francisco Hayes Valley", "San Francisco, CA"),
    ("ST-LAX", "Los Angeles Arts District", "Los Angeles, CA"),
    ("ST-SAN", "San Diego Little Italy", "San Diego, CA"),
    ("ST-NSH", "Nashville 12 South", "Nashville, TN"),
]

# SKU prefix → (category, nouns, price range in dollars).
CATEGORIES = {
    "APP": ("Apparel", ["Merino Crew Sweater", "Oxford Shirt", "Field Jacket", "Chino Pant", "Rain Shell"], (25, 220)),
    "FTW": ("Footwear", ["Trail Runner", "Leather Chelsea Boot", "Canvas Sneaker", "Hiking Boot"], (45, 260)),
    "OUT": ("Outdoor", ["2-Person Tent", "Down Sleeping Bag", "Trekking Poles", "Daypack 24L"], (30, 480)),
    "HOM": ("Home", ["Linen Duvet Cover", "Wool Throw", "Ceramic Table Lamp", "Cotton Bath Towel Set"], (20, 320)),
    "KIT": ("Kitchen", ["Cast Iron Skillet", "Pour-Over Coffee Set", "Chef's Knife", "Dutch Oven"], (18, 340)),
    "ELE": ("Electronics", ["Wireless Headphones", "Smart Watch", "Action Camera", "E-Reader", "Laptop"], (60, 1650)),
}
COLOURS = ["Black", "Navy", "Olive", "Sand", "Charcoal", "Rust", "Forest", "Stone"]
FIRST_NAMES = ["Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Priya", "Lucas", "Sofia", "Omar", "Hana", "Diego"]
LAST_NAMES = ["Nguyen", "Garcia", "Smith", "Okafor", "Rossi", "Kim", "Johnson", "Patel", "Müller", "Silva", "Chen"]
CARRIERS = ["UPS", "FedEx", "USPS", "DHL"]

# Share of each (target status, fulfilment) in the order mix, out of 400.
ORDER_MIX: list[tuple[str, str, int]] = [
    (S.CLOSED, SHIP, 80),
    (S.CLOSED, PICKUP, 35),
    (S.DELIVERED, SHIP, 50),
    (S.SHIPPED, SHIP, 45),
    (S.PICKING, SHIP, 25),
    (S.PICKING, PICKUP, 8),
    (S.ALLOCATED, SHIP, 30),
    (S.ALLOCATED, PICKUP, 10),
    (S.READY_FOR_PICKUP, PICKUP, 25),
    (S.PICKED_UP, PICKUP, 30),
    (S.BACKORDERED, SHIP, 15),
    (S.BACKORDERED, PICKUP, 5),
    (S.CANCELLED, SHIP, 22),
    (S.CANCELLED, PICKUP, 8),
    (S.FRAUD_HOLD, SHIP, 12),
]
# The steps after intake that take an allocated order to each target status.
PATHS: dict[tuple[str, str], list[str]] = {
    (S.ALLOCATED, SHIP): [],
    (S.ALLOCATED, PICKUP): [],
    (S.PICKING, SHIP): ["pick"],
    (S.PICKING, PICKUP): ["pick"],
    (S.SHIPPED, SHIP): ["pick", "ship"],
    (S.DELIVERED, SHIP): ["pick", "ship", "deliver"],
    (S.CLOSED, SHIP): ["pick", "ship", "deliver", "close"],
    (S.READY_FOR_PICKUP, PICKUP): ["pick", "mark_ready"],
    (S.PICKED_UP, PICKUP): ["mark_ready", "collect"],
    (S.CLOSED, PICKUP): ["pick", "mark_ready", "collect", "close"],
}
CANCEL_REASONS = ["customer request", "payment declined", "address could not be verified", "duplicate order"]

# Demo users: username → (role, is_superuser). Roles are the groups of apps.accounts.roles.
USERS: dict[str, tuple[str, bool]] = {
    "admin": ("ops_admin", True),
    "store.manager": ("store_manager", False),
    "approver": ("approver", False),
    "finance": ("finance", False),
}
# The stores the demo store manager runs (the first ones seeded).
MANAGED_STORES = 3


@dataclass
class SeedResult:
    created: bool
    users: list[str]
    password: str
    warehouses: int = 0
    stores: int = 0
    products: int = 0
    orders: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD


def demo_users_ensure(*, password: str) -> dict[str, User]:
    """Create the demo users with their roles if missing. Existing users keep their password and rights."""
    user_model = get_user_model()
    users: dict[str, User] = {}
    for username, (role, superuser) in USERS.items():
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@example.com", "is_staff": True, "is_superuser": superuser},
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
            user_grant_role(user=user, role=role)
        users[username] = user
    return users


def seed_demo(
    *,
    warehouses: int = 3,
    stores: int = 12,
    skus: int = 240,
    orders: int = 400,
    seed: int = 2024,
    password: str | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> SeedResult:
    """Seed an empty database with demo data through the domain services, in one transaction.

    Idempotent: users are only created if missing, and if any location, product or order exists
    the domain data is left alone (created=False). Outbox events stay pending for the worker.
    """
    if not 1 <= warehouses <= len(WAREHOUSES) or not 1 <= stores <= len(STORES):
        raise ValueError(f"between 1 and {len(WAREHOUSES)} warehouses and 1 and {len(STORES)} stores")
    if skus < 20 or orders < len(ORDER_MIX):
        raise ValueError(f"at least 20 SKUs and {len(ORDER_MIX)} orders (one per status mix entry)")
    started = time.monotonic()
    password = password or demo_password()
    with transaction.atomic():
        users = demo_users_ensure(password=password)
        result = SeedResult(created=False, users=list(users), password=password)
        if location_list().exists() or product_list().exists() or order_list().exists():
            log("Demo data (or other data) already present: skipping locations, products, stock and orders.")
        else:
            _seed_domain(
                rng=random.Random(seed),
                users=users,
                warehouses=warehouses,
                stores=stores,
                skus=skus,
                orders=orders,
                log=log,
            )
            result.created = True
    result.warehouses = location_list(kind=LocationKind.WAREHOUSE).count()
    result.stores = location_list(kind=LocationKind.STORE).count()
    result.products = product_list().count()
    result.orders = order_list().count()
    result.statuses = dict(Counter(order_list().values_list("status", flat=True)))
    result.seconds = time.monotonic() - started
    return result


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _seed_domain(
    *,
    rng: random.Random,
    users: dict[str, User],
    warehouses: int,
    stores: int,
    skus: int,
    orders: int,
    log: Callable[[str], None],
) -> None:
    wh = [
        location_create(code=code, name=f"{name} ({city})", kind=LocationKind.WAREHOUSE, priority=i + 1)
        for i, (code, name, city) in enumerate(WAREHOUSES[:warehouses])
    ]
    st = [
        location_create(code=code, name=f"{name} ({city})", kind=LocationKind.STORE, priority=50 + i)
        for i, (code, name, city) in enumerate(STORES[:stores])
    ]
    log(f"{RETAILER}: {len(wh)} warehouses, {len(st)} stores")
    user_assign_locations(user=users["store.manager"], location_ids=[loc.pk for loc in st[:MANAGED_STORES]])

    products = _products_create(rng=rng, count=skus)
    log(f"{len(products)} products")

    # A few new arrivals have no stock anywhere yet: orders for them wait as backorders until a
    # receipt arrives (which lets the worker allocate them, as in real life).
    unstocked = rng.sample(products, k=max(1, len(products) // 40))
    stocked = [p for p in products if p not in unstocked]
    store_stock = _opening_stock(rng=rng, warehouses=wh, stores=st, products=stocked)
    log(f"opening stock at {len(wh) + len(st)} locations ({len(unstocked)} SKUs not yet in stock)")

    plan = _order_plan(rng=rng, orders=orders)
    builder = _OrderBuilder(
        rng=rng, users=users, stores=st, stocked=stocked, unstocked=unstocked, store_stock=store_stock
    )
    for n, (target, method) in enumerate(plan, start=1):
        builder.build(n=n, target=target, method=method)
    log(f"{len(plan)} orders")
    _inventory_control(rng=rng, manager=users["store.manager"], store=st[0], products=stocked)
    seed_reconciliation(rng=rng, actor=users["finance"])
    seed_procurement(rng=rng, users=users, warehouses=wh, stores=st, products=products, unstocked=unstocked, log=log)
    journal_seed(author=users["finance"], approver=users["admin"], log=log)


def _inventory_control(*, rng: random.Random, manager: User, store: Location, products: list[Product]) -> None:
    """Adjustments in every approval band at the manager's first store, and a cycle count with a variance:
    the approver and finance find work waiting in their queues."""
    on_shelf = [lv for lv in stock_level_list(location=store.code) if lv.available >= 2]
    damaged = rng.choice(on_shelf)
    stock_adjustment_create(
        location=store,
        reason=AdjustmentReason.DAMAGE,
        note="dropped in the stock room",
        lines=[AdjustmentLineInput(product=damaged.product, quantity_delta=-1)],
        requested_by=manager,
    )
    for reason, target, note in (
        (AdjustmentReason.FOUND, Decimal("1200"), "unbooked delivery found in the back room"),
        (AdjustmentReason.FOUND, Decimal("6500"), "pallet booked to the wrong store"),
    ):
        product = max(rng.sample(products, 10), key=lambda p: p.cost)
        quantity = int(target / product.cost) + 1
        stock_adjustment_create(
            location=store,
            reason=reason,
            note=note,
            lines=[AdjustmentLineInput(product=product, quantity_delta=quantity)],
            requested_by=manager,
        )
    counted = rng.choice([lv for lv in on_shelf if lv.product_id != damaged.product_id])
    stock_count_submit(
        location=store,
        counted_by=manager,
        note="weekly count, aisle 3",
        lines=[CountLineInput(product=counted.product, counted=counted.on_hand + 1)],
    )


def _products_create(*, rng: random.Random, count: int) -> list[Product]:
    prefixes = list(CATEGORIES)
    products = []
    for i in range(count):
        prefix = prefixes[i % len(prefixes)]
        _, nouns, (low, high) = CATEGORIES[prefix]
        noun = nouns[(i // len(prefixes)) % len(nouns)]
        colour = rng.choice(COLOURS)
        # Prices cluster at the cheap end of each range, like a real assortment; .99 endings.
        price = _money(int(low + (high - low) * rng.random() ** 2) + 0.99)
        cost = _money(float(price) * rng.uniform(0.35, 0.62))
        products.append(product_create(sku=f"{prefix}-{i + 1:04d}", name=f"{noun}, {colour}", price=price, cost=cost))
    return products


def _opening_stock(
    *, rng: random.Random, warehouses: list[Location], stores: list[Location], products: list[Product]
) -> dict[int, dict[int, int]]:
    """Opening balances: every warehouse carries every stocked SKU, each store a part of the range.

    Returns store id → product id → quantity pickup orders may use, so they can fit their store.
    """
    store_stock: dict[int, dict[int, int]] = {}
    for location in [*warehouses, *stores]:
        is_store = location.kind == LocationKind.STORE
        assortment = rng.sample(products, k=int(len(products) * 0.6)) if is_store else products
        lines = [
            ReceiptLine(product=p, quantity=rng.randint(4, 24) if is_store else rng.randint(60, 180), unit_cost=p.cost)
            for p in sorted(assortment, key=lambda p: p.sku)
        ]
        stock_receive(
            location=location,
            reference=f"opening balance {location.code}",
            lines=lines,
            kind=MovementKind.OPENING,
            source="opening",
        )
        if is_store:
            # Pickup orders use at most half of a store's opening quantity: stock_consume lowers
            # on_hand in one UPDATE and reserved in the next, so under the CHECK reserved <= on_hand
            # a collect needs free stock at least equal to what is collected.
            store_stock[location.pk] = {ln.product.pk: ln.quantity // 2 for ln in lines}
    return store_stock


def _order_plan(*, rng: random.Random, orders: int) -> list[tuple[str, str]]:
    """`orders` (status, fulfilment) targets in ORDER_MIX proportions, at least one of each, shuffled."""
    total = sum(w for _, _, w in ORDER_MIX)
    counts = [max(1, w * orders // total) for _, _, w in ORDER_MIX]
    by_weight = sorted(range(len(ORDER_MIX)), key=lambda i: -ORDER_MIX[i][2])
    i = 0
    while sum(counts) != orders:
        k = by_weight[i % len(by_weight)]
        if sum(counts) < orders:
            counts[k] += 1
        elif counts[k] > 1:
            counts[k] -= 1
        i += 1
    plan = [(status, method) for (status, method, _), c in zip(ORDER_MIX, counts, strict=True) for _ in range(c)]
    rng.shuffle(plan)
    return plan


class _OrderBuilder:
    """Builds one order per plan entry through order_create and the transition services."""

    def __init__(
        self,
        *,
        rng: random.Random,
        users: dict[str, User],
        stores: list[Location],
        stocked: list[Product],
        unstocked: list[Product],
        store_stock: dict[int, dict[int, int]],
    ) -> None:
        self.rng = rng
        self.users = users
        self.stores = stores
        self.by_id = {p.pk: p for p in stocked}
        self.stocked = stocked
        self.unstocked = unstocked
        self.store_stock = store_stock
        self.threshold = settings.ORDER_REVIEW_THRESHOLD
        self.expensive = sorted(stocked, key=lambda p: p.price)[-max(3, len(stocked) // 20) :]
        self.cancelled = 0

    def build(self, *, n: int, target: str, method: str) -> None:
        rng = self.rng
        # Cancelled orders are cancelled from different points of their life.
        cancel_from = ""
        if target == S.CANCELLED:
            cancel_from = [S.ALLOCATED, S.PICKING, S.BACKORDERED, S.FRAUD_HOLD][self.cancelled % 4]
            if cancel_from == S.FRAUD_HOLD and method == PICKUP:
                cancel_from = S.ALLOCATED
            self.cancelled += 1
        intake = cancel_from or target

        pickup_store = rng.choice(self.stores) if method == PICKUP else None
        if intake == S.FRAUD_HOLD:
            lines = self._lines_over_threshold()
        elif intake == S.BACKORDERED:
            waiting = rng.choice(self.unstocked)
            lines = [LineInput(product=waiting, quantity=1, unit_price=waiting.price)]
            lines += self._lines(pickup_store, count=rng.randint(0, 2), skip={waiting.pk})
        else:
            lines = self._lines(pickup_store, count=rng.choice([1, 1, 1, 2, 2, 3, 4]))

        if method == PICKUP:
            channel = rng.choice([Channel.WEB, Channel.WEB, Channel.STORE])
        else:
            channel = rng.choice([Channel.WEB, Channel.WEB, Channel.WEB, Channel.MARKETPLACE, Channel.MARKETPLACE])
            if rng.random() < 0.1:
                channel = Channel.STORE  # endless aisle: sold in store, shipped from a warehouse
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        total = sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0.00"))
        data = OrderInput(
            channel=channel,
            external_id=f"{channel[:3].upper()}-{100000 + n}",
            currency=CURRENCY,
            customer_email=f"{first}.{last}.{n}@example.com".lower(),
            customer_name=f"{first} {last}",
            fulfillment_method=method,
            lines=lines,
            pickup_location=pickup_store,
            shipping_address=self._address(first, last) if method == SHIP else {},
            payment_method="marketplace" if channel == Channel.MARKETPLACE else rng.choice(["card", "card", "paypal"]),
            payment_reference=f"pay_{rng.getrandbits(48):012x}",
            payment_amount=total,
        )
        store_actor = self.users["store.manager"] if channel == Channel.STORE else None
        order, _ = order_create(data=data, actor=store_actor)
        if order.status != (intake if intake in (S.BACKORDERED, S.FRAUD_HOLD) else S.ALLOCATED):
            return  # the mix is built to avoid this; an order that did not allocate simply stays as it is

        if cancel_from:
            if cancel_from == S.PICKING:
                order_pick(order_id=order.pk, actor=self.users["admin"])
            actor = self.users["approver"] if cancel_from == S.FRAUD_HOLD else self.users["admin"]
            reason = "fraud review: declined" if cancel_from == S.FRAUD_HOLD else rng.choice(CANCEL_REASONS)
            order_cancel(order_id=order.pk, actor=actor, reason=reason)
            return
        for step in PATHS.get((target, method), []):
            self._step(order.pk, step, method)

    def _step(self, order_id: int, step: str, method: str) -> None:
        actor = self.users["store.manager"] if method == PICKUP else self.users["admin"]
        if step == "pick":
            order_pick(order_id=order_id, actor=actor)
        elif step == "ship":
            carrier = self.rng.choice(CARRIERS)
            tracking = f"{carrier[:2].upper()}{self.rng.getrandbits(40):012d}"
            order_ship(order_id=order_id, actor=actor, carrier=carrier, tracking_number=tracking)
        elif step == "deliver":
            order_deliver(order_id=order_id, actor=None, reason="carrier confirmed delivery")
        elif step == "mark_ready":
            order_mark_ready(order_id=order_id, actor=actor)
        elif step == "collect":
            order_collect(order_id=order_id, actor=actor)
        elif step == "close":
            order_close(order_id=order_id, actor=self.users["finance"], reason="settled")

    def _lines(self, pickup_store: Location | None, *, count: int, skip: set[int] | None = None) -> list[LineInput]:
        """Distinct stocked products in small quantities; for pickup, only what the store still has free."""
        skip = set(skip or ())
        lines: list[LineInput] = []
        budget = self.threshold * Decimal("0.6")
        for _ in range(count * 4):
            if len(lines) == count:
                break
            if pickup_store is not None:
                stock = self.store_stock[pickup_store.pk]
                pid = self.rng.choice(sorted(stock))
                product = self.by_id[pid]
            else:
                stock = None
                product = self.rng.choice(self.stocked)
            quantity = self.rng.choice([1, 1, 1, 2, 2, 3])
            spent = sum((ln.product.price * ln.quantity for ln in lines if ln.product is not None), Decimal("0"))
            if product.pk in skip or spent + product.price * quantity > budget:
                continue
            if stock is not None:
                if stock[product.pk] < quantity:
                    continue
                stock[product.pk] -= quantity
            skip.add(product.pk)
            lines.append(LineInput(product=product, quantity=quantity, unit_price=product.price))
        if not lines and count:
            # Everything drawn was too dear or sold out: one unit of the cheapest free product.
            candidates = (
                [self.by_id[pid] for pid, q in self.store_stock[pickup_store.pk].items() if q > 0]
                if pickup_store is not None
                else self.stocked
            )
            product = min((p for p in candidates if p.pk not in skip), key=lambda p: (p.price, p.sku))
            if pickup_store is not None:
                self.store_stock[pickup_store.pk][product.pk] -= 1
            lines.append(LineInput(product=product, quantity=1, unit_price=product.price))
        return lines

    def _lines_over_threshold(self) -> list[LineInput]:
        """An order large enough to be held for fraud review (no stock is reserved while held)."""
        product = self.rng.choice(self.expensive)
        quantity = int(self.threshold // product.price) + self.rng.randint(1, 3)
        return [LineInput(product=product, quantity=quantity, unit_price=product.price)]

    def _address(self, first: str, last: str) -> dict[str, str]:
        _, _, city = self.rng.choice(STORES)
        town, state = city.split(", ")
        return {
            "name": f"{first} {last}",
            "line1": f"{self.rng.randint(1, 9999)} {self.rng.choice(['Oak', 'Maple', 'Cedar', 'Elm', 'Pine'])} St",
            "city": town,
            "region": state,
            "postal_code": f"{self.rng.randint(10000, 99999)}",
            "country": "US",
        }
