"""Lean database helpers for hot write paths (order intake): what the ORM does, minus its per-call cost."""

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)


def _of_type(tp: type) -> Callable[[Any], bool]:
    return lambda value: type(value) is tp


def _finite_decimal(value: Any) -> bool:  # DecimalField.to_python keeps it as it is; no backend adapts it
    return type(value) is Decimal and value.is_finite()


def _aware_datetime(value: Any) -> bool:
    return type(value) is datetime and value.tzinfo is not None


# Field classes whose `pre_save` is a plain attribute read and whose `get_db_prep_save` returns a
# value unchanged when it passes the check (exact classes only: a subclass may prepare differently).
_AS_IS: dict[type[models.Field], Callable[[Any], bool]] = {
    models.CharField: _of_type(str),
    models.TextField: _of_type(str),
    models.EmailField: _of_type(str),
    models.SlugField: _of_type(str),
    models.IntegerField: _of_type(int),
    models.BigIntegerField: _of_type(int),
    models.SmallIntegerField: _of_type(int),
    models.PositiveIntegerField: _of_type(int),
    models.PositiveBigIntegerField: _of_type(int),
    models.PositiveSmallIntegerField: _of_type(int),
    models.BooleanField: _of_type(bool),
    models.DecimalField: _finite_decimal,
}


def _as_is_check(field: models.Field, vendor: str) -> Callable[[Any], bool] | None:
    """Which values `field` passes to the driver unprepared on this backend (None: prepare all)."""
    if isinstance(field, models.ForeignKey) and type(field.target_field) in (models.AutoField, models.BigAutoField):
        return _of_type(int)
    # PostgreSQL's adapt_datetimefield_value returns an aware datetime unchanged (SQLite's makes a
    # string); auto_now fields compute their value in pre_save, so they always take the long way.
    if type(field) is models.DateTimeField and vendor == "postgresql" and not (field.auto_now or field.auto_now_add):
        return _aware_datetime
    return _AS_IS.get(type(field))


@cache
def _insert_fields(
    model: type[models.Model], vendor: str
) -> tuple[tuple[models.Field, str, Callable[[Any], bool] | None], ...]:
    """(field, attname, check for values it passes through unprepared) per inserted column."""
    return tuple(
        (f, f.attname, _as_is_check(f, vendor))
        for f in model._meta.concrete_fields
        if not (f.primary_key and f.auto_created)
    )


@lru_cache(maxsize=1024)
def _insert_sql(model: type[models.Model], rows: int, alias: str) -> str:
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = _insert_fields(model, connection.vendor)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(str(f.column)) for f, _, _ in fields)}) "
        f"VALUES {', '.join([row] * rows)} RETURNING {quote(str(model._meta.pk.column))}"
    )


def bulk_insert(objs: Sequence[M]) -> Sequence[M]:
    """Insert new instances of one model with a single `INSERT … VALUES (…), (…) RETURNING pk`.

    The same statement and the same semantics as `Model.objects.bulk_create(objs)` (field
    `pre_save` and `get_db_prep_save`, no signals, primary keys set on the instances), without the
    query compilation bulk_create repeats on every call: on the 2-3 row inserts of order intake that
    compilation cost several times the database round trip. The SQL text depends only on the model
    and the row count, so the server can reuse its prepared plan. Works on PostgreSQL and SQLite
    (≥ 3.35, RETURNING); rows come back in VALUES order on both, which bulk_create relies on too.
    """
    if not objs:
        return objs
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    params: list[Any] = []
    for obj in objs:
        for f, attname, as_is in _insert_fields(model, connection.vendor):
            if as_is is not None:
                value = getattr(obj, attname)
                if as_is(value) or (value is None and f.null):  # what get_db_prep_save would return
                    params.append(value)
                    continue
            params.append(f.get_db_prep_save(f.pre_save(obj, True), connection))
    sql = _insert_sql(model, len(objs), alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pks = cursor.fetchall()
    for obj, (pk,) in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = alias
    return objs
