"""Lean database helpers for hot write paths (order intake): what the ORM does, minus its per-call cost."""

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models, router

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
    model: type[models.Model], vendor: str, with_pk: bool = False
) -> tuple[tuple[models.Field, str, Callable[[Any], bool] | None], ...]:
    """(field, attname, check for values it passes through unprepared) per inserted column."""
    return tuple(
        (f, f.attname, _as_is_check(f, vendor))
        for f in model._meta.concrete_fields
        if with_pk or not (f.primary_key and f.auto_created)
    )


@lru_cache(maxsize=1024)
def _insert_sql(model: type[models.Model], rows: int, alias: str, with_pk: bool) -> str:
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = _insert_fields(model, connection.vendor, with_pk)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(str(f.column)) for f, _, _ in fields)}) "
        f"VALUES {', '.join([row] * rows)}"
    )
    return sql if with_pk else f"{sql} RETURNING {quote(str(model._meta.pk.column))}"


def bulk_insert(objs: Sequence[M]) -> Sequence[M]:
    """Insert new instances of one model with a single `INSERT … VALUES (…), (…) RETURNING pk`.

    The same statement and the same semantics as `Model.objects.bulk_create(objs)` (field
    `pre_save` and `get_db_prep_save`, no signals, primary keys set on the instances), without the
    query compilation bulk_create repeats on every call: on the 2-3 row inserts of order intake that
    compilation cost several times the database round trip. The SQL text depends only on the model
    and the row count, so the server can reuse its prepared plan. Works on PostgreSQL and SQLite
    (≥ 3.35, RETURNING); rows come back in VALUES order on both, which bulk_create relies on too.

    Instances that all have a primary key already (e.g. from `pks_allocate_sql`) are inserted with it and
    nothing is read back. Inside `pipeline()` the new keys are read when the block ends.
    """
    if not objs:
        return objs
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    with_pk = all(obj.pk is not None for obj in objs)
    params: list[Any] = []
    for obj in objs:
        for f, attname, as_is in _insert_fields(model, connection.vendor, with_pk):
            if as_is is not None:
                value = getattr(obj, attname)
                if as_is(value) or (value is None and f.null):  # what get_db_prep_save would return
                    params.append(value)
                    continue
            params.append(f.get_db_prep_save(f.pre_save(obj, True), connection))
    sql = _insert_sql(model, len(objs), alias, with_pk)
    pending = _pending_inserts(alias)
    if pending is not None and not with_pk:
        cursor = connection.cursor()
        pending.append((cursor, objs, alias))  # sent now; read and closed when the pipeline ends
        cursor.execute(sql, params)
        return objs
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if with_pk:
            _mark_saved(objs, alias)
        else:
            _set_pks(objs, cursor.fetchall(), alias)
    return objs


def _mark_saved(objs: Sequence[models.Model], alias: str) -> None:
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias


def _set_pks(objs: Sequence[models.Model], rows: Sequence[tuple[Any, ...]], alias: str) -> None:
    for obj, (pk,) in zip(objs, rows, strict=True):
        obj.pk = pk
    _mark_saved(objs, alias)


# Per thread: alias → the bulk_inserts of the open pipeline() block whose keys are still to be read.
_pipeline_local = threading.local()


def _pending_inserts(alias: str) -> list[Any] | None:
    return getattr(_pipeline_local, "pending", {}).get(alias)


@contextmanager
def pipeline(alias: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Send the block's statements without waiting for each one's result (psycopg's pipeline mode).

    For a run of writes whose results nothing in the block needs: one network round trip and one
    wake-up of the server instead of one per statement. Errors (a constraint, a deadlock) surface
    at the end of the block, as Django's exceptions. On other databases, or nested, the block
    simply runs. Inside it, do not read the keys of rows `bulk_insert` creates (they are set when
    the block ends) nor anything else that needs a result.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql" or _pending_inserts(alias) is not None:
        yield
        return
    connection.ensure_connection()
    pending: list[Any] = []
    if not hasattr(_pipeline_local, "pending"):
        _pipeline_local.pending = {}
    _pipeline_local.pending[alias] = pending
    try:
        with connection.wrap_database_errors, connection.connection.pipeline():
            yield
        for cursor, objs, obj_alias in pending:
            _set_pks(objs, cursor.fetchall(), obj_alias)
    finally:
        del _pipeline_local.pending[alias]
        for cursor, _, _ in pending:
            cursor.close()


@cache
def _pk_sequence(model: type[models.Model], alias: str) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, model._meta.pk.column])
        return cursor.fetchone()[0]


def pks_allocate_sql(counts: Sequence[tuple[type[models.Model], int]]) -> tuple[str, list[Any]] | None:
    """A statement that takes `n` new primary keys from each model's sequence (one array column per
    model), so related rows can be written together before any of them exists; None where keys
    come only from the INSERT (not PostgreSQL). Keys taken and not used are gaps, as after a rollback."""
    alias = router.db_for_write(counts[0][0])
    if connections[alias].vendor != "postgresql":
        return None
    columns = ", ".join(["ARRAY(SELECT nextval(%s) FROM generate_series(1, %s))"] * len(counts))
    return f"SELECT {columns}", [x for model, n in counts for x in (_pk_sequence(model, alias), n)]
