"""Database routing: public pages and exports may read from a replica."""

from typing import Any

from django.conf import settings

# The largest value of a bigint column (ids): a larger one would fail in the database.
BIGINT_MAX = 2**63 - 1


def replica_alias() -> str:
    """The alias for lag-tolerant reads (public pages, exports): the replica when configured."""
    return "replica" if "replica" in settings.DATABASES else "default"


class ReplicaRouter:
    """Writes and ordinary reads use the primary; lag-tolerant reads opt in with
    `.using(replica_alias())`, so a request never misses its own write."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == "default"


class CompiledQuery:
    """A read query that the ORM writes once per database and the hot path runs many times.

    `build` receives one placeholder per name in `placeholders` and returns a `.values()`
    queryset; the compiled statement is kept, and `rows()` runs it with new values in the
    placeholders' places, converting the columns as the ORM would. Building and compiling a
    queryset costs several times what running it does, which matters only on the few paths that
    run on every request. Each placeholder must reach the statement as a parameter, unchanged:
    a build that folds one into the SQL or transforms it is refused when first compiled.
    """

    def __init__(self, build: Any, placeholders: dict[str, Any]) -> None:
        self._build = build
        self._placeholders = placeholders
        self._compiled: dict[str, tuple[str, list[Any], dict[int, Any], list[str]]] = {}

    def _compile(self, alias: str) -> tuple[str, list[Any], dict[int, Any], list[str]]:
        query = self._build(**self._placeholders).using(alias).query
        compiler = query.get_compiler(alias)
        sql, params = compiler.as_sql()
        slots: list[Any] = []
        for value in params:
            named = [
                name
                for name, placeholder in self._placeholders.items()
                if type(placeholder) is type(value) and placeholder == value
            ]
            slots.append(_Slot(named[0]) if named else value)
        missing = set(self._placeholders) - {slot.name for slot in slots if isinstance(slot, _Slot)}
        if missing:
            raise ValueError(f"placeholders not passed as parameters: {sorted(missing)}")
        columns = [select[0] for select in compiler.select[: compiler.col_count]]
        converters = compiler.get_converters(columns)
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        self._compiled[alias] = entry = (sql, slots, converters, names)
        return entry

    def rows(self, alias: str = "default", **values: Any) -> list[dict[str, Any]]:
        from django.db import connections

        sql, slots, converters, names = self._compiled.get(alias) or self._compile(alias)
        params = [values[slot.name] if isinstance(slot, _Slot) else slot for slot in slots]
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        result = []
        for row in fetched:
            converted = list(row)
            for index, (functions, expression) in converters.items():
                for function in functions:
                    converted[index] = function(converted[index], expression, connection)
            result.append(dict(zip(names, converted, strict=True)))
        return result


class _Slot:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class CompiledInsert:
    """One row of a model inserted by the statement the ORM writes for it, compiled once per
    database. The values go through each field's `pre_save` and `get_db_prep_save` as in
    `Model.save()`, and the returned columns (the id) are set on the instance. No signals are
    sent: it is meant for the models of a hot path that has none. A value that is an expression,
    or a database that cannot return the id from the insert, takes `Model.save()` instead.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self._compiled: dict[str, tuple[str, list[Any], tuple[Any, ...], list[Any]] | None] = {}
        self._pairs: dict[str, tuple[str, int, int] | None] = {}

    def _compile(self, alias: str) -> tuple[str, list[Any], tuple[Any, ...], list[Any]] | None:
        from django.db import connections
        from django.db.models.sql import InsertQuery

        connection = connections[alias]
        meta = self.model._meta
        compiled = None
        if connection.features.can_return_columns_from_insert:
            fields = [
                field
                for field in meta.local_concrete_fields
                if field not in meta.pk_fields and not field.generated
            ]
            query = InsertQuery(self.model)
            query.insert_values(fields, [self.model()], raw=False)
            compiler = query.get_compiler(alias)
            compiler.returning_fields = meta.db_returning_fields
            ((sql, params),) = compiler.as_sql()
            returning = tuple(getattr(compiler, "returning_params", ()))
            if len(params) == len(fields) + len(returning) and "VALUES (%s" in sql:
                compiled = (sql, fields, returning, list(meta.db_returning_fields))
        self._compiled[alias] = compiled
        return compiled

    def _values(self, obj: Any, compiled: Any, connection: Any) -> list[Any] | None:
        """The row's parameters, as `Model.save()` prepares them; None if one is an expression."""
        values = []
        for field in compiled[1]:
            value = field.pre_save(obj, add=True)
            if hasattr(value, "resolve_expression"):
                return None
            values.append(field.get_db_prep_save(value, connection=connection))
        obj._prepare_related_fields_for_save(operation_name="save")
        return values

    def _returned(self, obj: Any, row: Any, connection: Any, using: str) -> Any:
        for field, value in zip(self._compiled[using][3], row, strict=True):  # type: ignore[index]
            col = field.get_col(self.model._meta.db_table)
            for converter in connection.ops.get_db_converters(col) + col.get_db_converters(
                connection
            ):
                value = converter(value, col, connection)
            setattr(obj, field.attname, value)
        obj._state.adding = False
        obj._state.db = using
        return obj

    def insert(self, obj: Any, using: str = "default") -> Any:
        from django.db import connections

        compiled = self._compiled[using] if using in self._compiled else self._compile(using)
        connection = connections[using]
        values = None if compiled is None else self._values(obj, compiled, connection)
        if compiled is None or values is None:
            obj.save(force_insert=True, using=using)
            return obj
        sql, _fields, returning, _returning_fields = compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values, *returning])
            row = connection.ops.fetch_returned_insert_columns(  # type: ignore[attr-defined]
                cursor, returning
            )
        return self._returned(obj, row, connection, using)

    def insert_with(
        self, obj: Any, child: "CompiledInsert", child_obj: Any, link: str, using: str = "default"
    ) -> tuple[Any, Any]:
        """Insert `obj` and `child_obj`, whose foreign key `link` points at `obj`, as one unit.

        On PostgreSQL it is one statement (the child's insert reads the parent's id from a
        data-modifying WITH), so it needs no transaction of its own: a request pays one round
        trip instead of four (BEGIN, two inserts, COMMIT). Elsewhere, or when a value is an
        expression, the two inserts run in a transaction."""
        from django.db import connections, transaction

        connection = connections[using]
        pair = self._pair(child, link, using)
        values = child_values = None
        if pair is not None:
            values = self._values(obj, self._compiled[using], connection)
            child_fields = child._compiled[using][1]  # type: ignore[index]
            setattr(child_obj, child_fields[pair[1]].attname, 0)  # replaced by the parent's id
            child_values = child._values(child_obj, child._compiled[using], connection)
        if pair is None or values is None or child_values is None:
            with transaction.atomic(using=using):
                self.insert(obj, using)
                setattr(child_obj, link, obj)
                child.insert(child_obj, using)
            return obj, child_obj
        sql, link_index, parent_width = pair
        del child_values[link_index]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values, *child_values])
            row = cursor.fetchone()
        self._returned(obj, row[:parent_width], connection, using)
        setattr(child_obj, link, obj)
        child._returned(child_obj, row[parent_width:], connection, using)
        return obj, child_obj

    def _pair(self, child: "CompiledInsert", link: str, using: str) -> tuple[str, int, int] | None:
        """(statement, index of the link among the child's fields, parent's returned width)."""
        key = f"{using}:{child.model._meta.label}.{link}"
        if key in self._pairs:
            return self._pairs[key]
        from django.db import connections

        connection = connections[using]
        parent = self._compiled[using] if using in self._compiled else self._compile(using)
        kid = child._compiled[using] if using in child._compiled else child._compile(using)
        pair = None
        if connection.vendor == "postgresql" and parent is not None and kid is not None:
            fk = child.model._meta.get_field(link)
            quote = connection.ops.quote_name
            parent_sql, _fields, parent_returning, parent_returned = parent
            child_sql, child_fields, child_returning, child_returned = kid
            head, _, tail = child_sql.partition(" VALUES (")
            placeholders, _, returned = tail.rpartition(") RETURNING ")
            slots = placeholders.split(", ")
            if (
                not parent_returning
                and not child_returning
                and fk in child_fields
                and slots == ["%s"] * len(child_fields)
                and fk.target_field in parent_returned
            ):
                index = child_fields.index(fk)
                slots[index] = f"parent.{quote(fk.target_field.column)}"
                columns = [f"parent.{quote(f.column)}" for f in parent_returned] + [
                    f"child.{quote(f.column)}" for f in child_returned
                ]
                # Every part is the ORM's own SQL or a quoted column name; values stay parameters.
                sql = (
                    f"WITH parent AS ({parent_sql}), "  # noqa: S608
                    f"child AS ({head} SELECT {', '.join(slots)} FROM parent RETURNING {returned}) "
                    f"SELECT {', '.join(columns)} FROM parent, child"
                )
                pair = (sql, index, len(parent_returned))
        self._pairs[key] = pair
        return pair
