"""The hot transition's statements, built once per shape.

The ORM compiles every statement anew. On a step of a Task chain, compiling the five
statements of a completion (lock and read the execution, the attempt's fence, the
history, the next attempt, the execution) was most of a worker's time
(docs/benchmarks.md). These helpers build the SQL once per model and column list and
adapt every value with the field's own ``get_db_prep_save`` (writes) or the compiler's
converters (the read), as the ORM does, so they store and load exactly what
``bulk_create``, ``QuerySet.update`` and ``select_for_update().get()`` would. Models
with save signals or ``auto_now`` fields do not belong here.
"""

from __future__ import annotations

import weakref
from functools import cache, lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models


class _Read:
    """A compiled ``SELECT`` (``… FOR UPDATE``) of one row by primary key, for one
    connection."""

    def __init__(self, model: type[models.Model], pk: Any, lock: bool) -> None:
        manager = model._default_manager
        query = (manager.select_for_update() if lock else manager.all()).filter(pk=pk).query
        self.compiler = query.get_compiler(using=DEFAULT_DB_ALIAS)
        self.sql, _ = self.compiler.as_sql()
        columns = self.compiler.select[: self.compiler.col_count]
        self.converters = self.compiler.get_converters([c[0] for c in columns])
        self.attnames = [c[0].target.attname for c in columns]
        self.model = model

    def get(self, pk: Any) -> models.Model | None:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [self.model._meta.pk.get_db_prep_value(pk, connection)])
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row = next(iter(self.compiler.apply_converters([row], self.converters)))
        return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, row)


_reads: weakref.WeakKeyDictionary[Any, dict[tuple[type, bool], _Read]] = weakref.WeakKeyDictionary()


def _read(model: type[models.Model], pk: Any, lock: bool) -> models.Model | None:
    plans = _reads.setdefault(connections[DEFAULT_DB_ALIAS], {})
    read = plans.get((model, lock))
    if read is None:
        read = plans[model, lock] = _Read(model, pk, lock)
    return read.get(pk)


def get(model: type[models.Model], pk: Any) -> models.Model | None:
    """``model.objects.filter(pk=pk).first()``."""
    return _read(model, pk, lock=False)


def select_for_update(model: type[models.Model], pk: Any) -> models.Model | None:
    """``model.objects.select_for_update().filter(pk=pk).first()``, inside a transaction."""
    return _read(model, pk, lock=True)


# Rows per INSERT: a fan-out's attempts go in batches of this shape, which keeps every
# statement under SQLite's parameter limit and the cached statement texts few and small.
BATCH = 64


def insert(objs: list[models.Model]) -> None:
    """``bulk_create`` for rows of one model with an auto primary key, which is set on
    each object (from ``RETURNING``)."""
    if not objs:
        return
    model = type(objs[0])
    if not connection.features.can_return_rows_from_bulk_insert:
        model._default_manager.bulk_create(objs)
        return
    fields = _insert_fields(model)
    size = max(1, min(BATCH, connection.ops.bulk_batch_size(fields, objs)))
    for start in range(0, len(objs), size):
        _insert_batch(model, fields, objs[start : start + size])


def _insert_batch(model: type[models.Model], fields: list[models.Field], objs: list[Any]) -> None:
    sql = _insert_sql(model, len(objs), connection.vendor)
    params = [
        f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in objs for f in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def update(
    model: type[models.Model], pk: Any, values: dict[str, Any], where: dict[str, Any] | None = None
) -> int:
    """``model.objects.filter(pk=pk, **where).update(**values)``; returns the rows changed."""
    where = where or {}
    meta = model._meta
    nulls = tuple(name for name, v in where.items() if v is None)
    sql = _update_sql(model, tuple(values), tuple(where), nulls, connection.vendor)
    params = [meta.get_field(name).get_db_prep_save(v, connection) for name, v in values.items()]
    params.append(meta.pk.get_db_prep_value(pk, connection))
    params += [
        meta.get_field(name).get_db_prep_value(v, connection)
        for name, v in where.items()
        if v is not None
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@cache
def _insert_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f is not model._meta.pk]


@lru_cache(maxsize=256)
def _insert_sql(model: type[models.Model], rows: int, vendor: str) -> str:
    quote = connection.ops.quote_name
    fields = _insert_fields(model)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 - names from the model
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * rows)} RETURNING {quote(model._meta.pk.column)}"
    )


@lru_cache(maxsize=256)
def _update_sql(
    model: type[models.Model],
    columns: tuple[str, ...],
    where: tuple[str, ...],
    nulls: tuple[str, ...],
    vendor: str,
) -> str:
    quote = connection.ops.quote_name
    meta = model._meta
    sets = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in columns)
    conditions = [f"{quote(meta.pk.column)} = %s"]
    conditions += [
        f"{quote(meta.get_field(name).column)} {'IS NULL' if name in nulls else '= %s'}"
        for name in where
    ]
    return (
        f"UPDATE {quote(meta.db_table)} SET {sets} "  # noqa: S608 - names from the model
        f"WHERE {' AND '.join(conditions)}"
    )
