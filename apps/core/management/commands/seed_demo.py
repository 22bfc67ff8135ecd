"""Seed demo locations, products, opening stock, orders and users (idempotent; see apps.core.demo)."""

from django.core.management.base import BaseCommand

from apps.core.demo import seed_demo


class Command(BaseCommand):
    help = (
        "Seed an empty database with demo data through the domain services: warehouses, stores, SKUs, "
        "opening stock, orders in every status and demo users (password: DEMO_PASSWORD, else the default). "
        "Does nothing to domain data that already exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--warehouses", type=int, default=3)
        parser.add_argument("--stores", type=int, default=12)
        parser.add_argument("--skus", type=int, default=240)
        parser.add_argument("--orders", type=int, default=400)
        parser.add_argument("--seed", type=int, default=2024, help="random seed (same seed, same data)")

    def handle(self, *args, warehouses: int, stores: int, skus: int, orders: int, seed: int, **options):
        result = seed_demo(
            warehouses=warehouses,
            stores=stores,
            skus=skus,
            orders=orders,
            seed=seed,
            log=lambda message: self.stdout.write(f"  {message}"),
        )
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Seeded demo data in {result.seconds:.1f}s."))
        else:
            self.stdout.write(self.style.WARNING("Nothing seeded: the database already has data."))
        self.stdout.write(
            f"  {result.warehouses} warehouses, {result.stores} stores, {result.products} products, "
            f"{result.orders} orders"
        )
        for status, count in sorted(result.statuses.items()):
            self.stdout.write(f"    {status:<18} {count}")
        self.stdout.write(f"Demo users (password {result.password!r} unless changed since they were created):")
        for username in result.users:
            self.stdout.write(f"  {username}")
