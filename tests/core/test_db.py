"""bulk_insert writes exactly what bulk_create writes."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.db import bulk_insert, pipeline, pks_allocate_sql
from apps.core.models import Incident, OutboxEvent
from apps.orders.models import Order, OrderHistory

pytestmark = pytest.mark.django_db

COLUMNS = [f.attname for f in Order._meta.concrete_fields if not f.primary_key]


NOW = timezone.now()


def an_order(external_id: str, **overrides) -> Order:
    now = NOW
    fields = dict(
        channel="web",
        external_id=external_id,
        request_hash="h" * 64,
        customer_email="ann@example.com",
        customer_name="Ann",
        fulfillment_method="ship",
        shipping_address={"line1": "1 Main St", "nested": {"a": [1, 2]}},
        currency="USD",
        total=Decimal("12.50"),
        payment_amount=None,
        created_at=now,
        updated_at=now,
    )
    fields.update(overrides)
    return Order(**fields)


def stored(order_id: int) -> tuple:
    return Order.objects.filter(pk=order_id).values_list(*COLUMNS).get()


def test_the_rows_match_bulk_create_column_for_column(user):
    by_orm = Order.objects.bulk_create([an_order("A", payment_amount=Decimal("12.5"))])[0]
    ours = bulk_insert([an_order("B", payment_amount=Decimal("12.5"))])[0]
    a, b = stored(by_orm.pk), stored(ours.pk)
    assert a[:1] + a[2:] == b[:1] + b[2:]  # all but external_id
    assert ours.pk > by_orm.pk and ours._state.adding is False


def test_values_of_other_types_are_prepared_like_the_orm_prepares_them(user):
    order = bulk_insert([an_order("C")])[0]
    history = bulk_insert(
        [
            OrderHistory(order_id=order.pk, from_status="", to_status="received", actor_id=user.pk, reason="x"),
            OrderHistory(order_id=str(order.pk), from_status="", to_status="allocated", actor=None, reason=7),
        ]
    )
    assert list(OrderHistory.objects.order_by("id").values_list("pk", "order_id", "actor_id", "reason")) == [
        (history[0].pk, order.pk, user.pk, "x"),
        (history[1].pk, order.pk, None, "7"),
    ]


def test_json_is_stored_as_json_and_pks_come_back_in_order():
    events = bulk_insert(
        [OutboxEvent(name=f"e{i}", aggregate_type="t", aggregate_id=i, payload={"i": i}) for i in range(3)]
    )
    assert [(e.name, e.payload) for e in OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("id")] == [
        ("e0", {"i": 0}),
        ("e1", {"i": 1}),
        ("e2", {"i": 2}),
    ]
    assert [e.pk for e in events] == sorted(e.pk for e in events)


def test_a_constraint_violation_raises_the_django_error_and_writes_nothing():
    bulk_insert([an_order("D")])
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert([an_order("E"), an_order("D")])
    assert Order.objects.filter(external_id="E").count() == 0


def test_a_naive_datetime_is_made_aware_as_the_orm_makes_it():
    naive = datetime(2026, 3, 1, 12, 30)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        ours = bulk_insert([an_order("N", created_at=naive)])[0]
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        by_orm = Order.objects.bulk_create([an_order("M", created_at=naive)])[0]
    assert stored(ours.pk)[COLUMNS.index("created_at")] == stored(by_orm.pk)[COLUMNS.index("created_at")]


def test_a_decimal_that_is_not_a_number_is_refused_as_the_orm_refuses_it():
    with pytest.raises(ValidationError), transaction.atomic():
        bulk_insert([an_order("NaN", total=Decimal("NaN"))])
    with pytest.raises(ValidationError), transaction.atomic():
        Order.objects.bulk_create([an_order("NaN", total=Decimal("NaN"))])
    assert not Order.objects.filter(external_id="NaN").exists()


def test_auto_now_fields_get_the_time_of_the_insert_not_the_value_given():
    stale = timezone.now() - timedelta(days=3)
    before = timezone.now()
    incident = bulk_insert([Incident(kind="k", severity="low", title="t", due_at=before, updated_at=stale)])[0]
    assert Incident.objects.get(pk=incident.pk).updated_at >= before


def test_in_a_pipeline_keys_are_set_when_the_block_ends():
    with transaction.atomic(), pipeline():
        order = bulk_insert([an_order("P1")])[0]
        events = bulk_insert([OutboxEvent(name="e", aggregate_type="t", aggregate_id=1, payload={})])
        assert order.pk is None and events[0].pk is None  # nothing has been read back yet
    assert stored(order.pk)[COLUMNS.index("external_id")] == "P1"
    assert OutboxEvent.objects.get(pk=events[0].pk).name == "e"


def test_a_constraint_violation_in_a_pipeline_raises_the_django_error_at_the_end_and_writes_nothing():
    bulk_insert([an_order("P2")])
    with pytest.raises(IntegrityError), transaction.atomic(), pipeline():
        bulk_insert([an_order("P3")])
        bulk_insert([an_order("P2")])  # duplicate (channel, external_id)
        bulk_insert([an_order("P4")])
    assert list(Order.objects.filter(external_id__in=["P3", "P4"])) == []


def test_allocated_keys_are_used_as_given_and_nothing_is_read_back():
    sql, params = pks_allocate_sql([(Order, 1), (OrderHistory, 2)])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (order_pk,), history_pks = cursor.fetchone()
    assert len(history_pks) == 2 and len(set(history_pks)) == 2
    order = an_order("P5")
    order.pk = order_pk
    with CaptureQueriesContext(connection) as queries:
        bulk_insert([order])
    assert "RETURNING" not in queries[0]["sql"]
    assert (order._state.adding, stored(order_pk)[COLUMNS.index("external_id")]) == (False, "P5")
    history = [
        OrderHistory(pk=pk, order_id=order_pk, from_status="", to_status="received", reason="r", at=NOW)
        for pk in history_pks
    ]
    bulk_insert(history)
    assert sorted(OrderHistory.objects.filter(order_id=order_pk).values_list("pk", flat=True)) == sorted(history_pks)
    # the sequence moved past them: the next key the database hands out is new
    assert bulk_insert([an_order("P6")])[0].pk > order_pk
