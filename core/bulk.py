"""Inserting many new rows of one model quickly.

``QuerySet.bulk_create`` prepares every value of every row through the field's
``pre_save`` and ``get_db_prep_save`` and compiles each into SQL: for the monitoring
intake's posts (25 columns, a thousand rows a batch) that is most of the time the write
takes, more than the database's own work. :func:`bulk_insert` prepares each column with
one function chosen once per field (plain values pass as they are, date-times go through
the backend's adapter, anything else through the field's own ``get_db_prep_save``) and
writes multi-row ``INSERT … RETURNING`` statements of as many rows as the backend takes
(on PostgreSQL, one ``COPY`` with ids taken from the sequence first).
It is for inserts of new objects, conflicts failing or ignored; anything else (objects
with a primary key, backends that cannot return the new ids) goes to ``bulk_create``.
"""

import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import connections, models, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.constants import OnConflict

ModelT = TypeVar("ModelT", bound=models.Model)

# Fields whose validated Python value is what the database adapter takes (exact types:
# a subclass may prepare its values otherwise).
_PLAIN = frozenset({models.CharField, models.TextField, models.FloatField, models.BooleanField})
_INTEGER = frozenset(
    {
        models.IntegerField,
        models.BigIntegerField,
        models.SmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
        models.PositiveSmallIntegerField,
    }
)


def _preparer(field: models.Field, connection: Any) -> Callable[[Any], Any] | None:
    """The function that turns a value of ``field`` into a query parameter, as
    ``field.get_db_prep_save`` would (None: the value as it is)."""
    kind, ops = type(field), connection.ops

    def generic(value: Any) -> Any:
        return field.get_db_prep_save(value, connection=connection)

    if kind in _PLAIN:
        return None
    if kind in _INTEGER:
        if type(ops).adapt_integerfield_value is BaseDatabaseOperations.adapt_integerfield_value:
            return None
        internal_type = field.get_internal_type()
        return lambda value: ops.adapt_integerfield_value(value, internal_type)
    if kind is models.DateTimeField and not (field.auto_now or field.auto_now_add):
        adapt = ops.adapt_datetimefield_value
        adapted: dict[Any, Any] = {}  # rows of a batch often share a moment (now)

        def moment(value: Any) -> Any:
            if value is None:
                return None
            if value.tzinfo is None:  # the field warns about a naive value
                return generic(value)
            result = adapted.get(value)
            if result is None:
                result = adapted[value] = adapt(value)
            return result

        return moment
    return generic


def bulk_insert(objs: Sequence[ModelT], *, ignore_conflicts: bool = False) -> list[ModelT]:
    """Insert ``objs`` (new objects of one model, without primary keys) and set their
    primary keys; answers them. Same result as ``bulk_create(objs)``; with
    ``ignore_conflicts``, as ``bulk_create(objs, ignore_conflicts=True)``: rows that
    would break a unique constraint are left out, and no primary key is set."""
    if not objs:
        return list(objs)
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    meta = model._meta
    if (
        not connection.features.can_return_rows_from_bulk_insert
        or any(obj.pk is not None for obj in objs)
        or meta.parents
        or not isinstance(meta.pk, models.AutoField)
    ):
        return model._default_manager.bulk_create(objs, ignore_conflicts=ignore_conflicts)
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                field.pre_save(obj, add=True)
    writers = (
        [_copy_writer(field, connection) for field in fields]
        if connection.vendor == "postgresql" and not ignore_conflicts
        else [None]
    )
    if None not in writers:
        _copy_in(connection, objs, fields, writers)
    else:
        _insert(connection, objs, fields, ignore_conflicts=ignore_conflicts)
    if not ignore_conflicts:
        for obj in objs:
            obj._state.adding = False
            obj._state.db = alias
    return list(objs)


def _insert(
    connection: Any, objs: Sequence[models.Model], fields: list, *, ignore_conflicts: bool
) -> None:
    """Multi-row ``INSERT … RETURNING`` statements; the new primary keys set on ``objs``
    (none with ``ignore_conflicts``)."""
    meta = objs[0]._meta
    preparers = [(field.attname, _preparer(field, connection)) for field in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, connection.ops.bulk_batch_size(fields, objs))
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    ops = connection.ops
    # Only quoted names of the model's table and columns go into the text; values are
    # parameters.
    head = (
        f"{ops.insert_statement(on_conflict=on_conflict)} {quote(meta.db_table)} "
        f"({columns}) VALUES "
    )
    tail = ops.on_conflict_suffix_sql(fields, on_conflict, None, None) or ""
    if not ignore_conflicts:
        tail += f" RETURNING {quote(meta.pk.column)}"
    with connection.cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            params: list[Any] = []
            for obj in chunk:
                values = obj.__dict__
                params.extend(
                    values[name] if prepare is None else prepare(values[name])
                    for name, prepare in preparers
                )
            cursor.execute(head + ", ".join([row_sql] * len(chunk)) + tail, params)
            if not ignore_conflicts:
                for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                    obj.pk = pk


# --- PostgreSQL: COPY --------------------------------------------------------------------
# A multi-row INSERT of a thousand posts spends more time having psycopg2 quote its 25,000
# parameters and PostgreSQL parse them than inserting (bench/README.md has the figures).
# COPY takes the rows as tab-separated text: the ids are taken from the table's sequence
# first, then the rows are streamed in one COPY.

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """A value as COPY's text format writes it (``\\N`` is NULL)."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        # str.translate goes character by character; most values hold nothing to escape,
        # and four searches say so in a fraction of its time.
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # int, float


def _copy_writer(field: models.Field, connection: Any) -> Callable[[Any], str] | None:
    """How a value of ``field`` is written for COPY; None: not a kind COPY is used for."""
    kind = type(field)
    if kind in _PLAIN or kind in _INTEGER:
        return _copy_text
    if kind is models.DecimalField:  # rounded to the field's places, as an INSERT has it
        return lambda value: _copy_text(field.get_db_prep_save(value, connection=connection))
    if kind is models.DateTimeField and not (field.auto_now or field.auto_now_add):

        def moment(value: Any) -> str:
            if value is not None and value.tzinfo is None:  # made aware, with a warning
                value = field.get_prep_value(value)
            return _copy_text(value)

        return moment
    if kind is models.JSONField:
        encoder = field.encoder
        # Characters as they are, not \u escapes: the same JSON once stored, a third of
        # the text, and no backslashes for COPY to double.
        return lambda value: _copy_text(
            None if value is None else json.dumps(value, cls=encoder, ensure_ascii=False)
        )
    if kind in (models.ForeignKey, models.OneToOneField) and isinstance(
        field.target_field, models.AutoField
    ):
        return _copy_text
    return None


def _copy_in(
    connection: Any, objs: Sequence[models.Model], fields: list, writers: list[Callable[[Any], str]]
) -> None:
    """One ``COPY`` of ``objs``, with ids taken from the table's sequence first and set
    on them; ``writers`` write each field's values (:func:`_copy_writer`)."""
    meta = objs[0]._meta
    quote = connection.ops.quote_name
    named = list(zip((field.attname for field in fields), writers, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
        lines = io.StringIO()
        for obj, pk in zip(objs, ids, strict=True):
            values = obj.__dict__
            lines.write(f"{pk}\t")
            lines.write("\t".join(write(values[name]) for name, write in named))
            lines.write("\n")
        lines.seek(0)
        columns = ", ".join(quote(field.column) for field in (meta.pk, *fields))
        # Only the quoted names of the table and columns are in the statement. The raw
        # cursor's errors become Django's (IntegrityError …), as the wrapped cursor's do.
        with connection.wrap_database_errors:
            cursor.cursor.copy_expert(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN", lines)
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
