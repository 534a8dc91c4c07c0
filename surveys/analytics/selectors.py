"""Reading the analytics store: complete responses counted by their codes, in one GROUP BY.

`analytics_counts` answers what `statistics.selectors.grouped_counts` asks (the same groups, the
same codes) when the store covers every variable and filter, and None otherwise, so that the
caller reads the answers instead. Variables and filters come as plain sources (the
`SurveyVariable.source` tuples), so this package needs nothing of `surveys.variables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from surveys.analytics import columns as memory_columns
from surveys.analytics.layout import Column, Flag, Layout, Source
from surveys.analytics.memory import memory_count, micros
from surveys.core.databases import read_database
from surveys.models import AnalyticsTable, StatisticsVersion

Codes = tuple[str | None, ...]
# The response attributes the store holds, by the name of their source.
_ATTRIBUTES = {"language": "language"}
_COMPLETE = "complete"


@dataclass(frozen=True)
class Wanted:
    """A categorical variable to count by: its source, and whether it is a yes/no answer."""

    source: Source
    boolean: bool = False


@dataclass(frozen=True)
class Selection:
    """Which complete responses: a submission window, a language, and filters.

    A filter keeps responses whose value of its variable is one of its codes; filters on
    different variables must all hold (as `statistics_responses` narrows them).
    """

    submitted_from: datetime | None = None
    submitted_before: datetime | None = None
    language: str | None = None
    filters: tuple[tuple[Wanted, tuple[str, ...]], ...] = ()


_VERSION_SQL = f'SELECT version FROM "{StatisticsVersion._meta.db_table}" WHERE survey_id = %s'  # noqa: S608  # nosec B608  # a model's table


def statistics_version(*, survey_id: int) -> int:
    """The survey's data version: moved on by every write that changes its statistics."""
    # Read where the figures are read, so that a version is never newer than its figures; in
    # SQL written once (it is read on every landing page and statistics request).
    with connections[read_database()].cursor() as cursor:
        cursor.execute(_VERSION_SQL, [survey_id])
        found = cursor.fetchone()
    return int(found[0]) if found else 0


@dataclass(frozen=True)
class StoreState:
    """A survey's store as a reader finds it: its row, layout and build (rows change with it)."""

    id: int
    table: str
    layout: Layout
    built_at: datetime


def analytics_store_state(*, survey_id: int, using: str | None = None) -> StoreState | None:
    """The survey's store now, or None without a store or while it is stale.

    A reader of its rows checks `built_at` with them: a rebuild renumbers choice codes.
    """
    store = _store(survey_id, using or read_database())
    if store is None:
        return None
    return StoreState(store.pk, store.table, Layout.from_json(store.layout), store.built_at)


def _store(survey_id: int, using: str) -> AnalyticsTable | None:
    stores = AnalyticsTable.objects.using(using)
    return stores.filter(survey_id=survey_id, stale=False).first()


Held = Column | Flag | str


def _expression(layout: Layout, wanted: Wanted) -> Held | None:
    """The column, flag (or attribute name, or the constant status) holding `wanted`; None: not
    held."""
    origin = wanted.source[0] if wanted.source else ""
    if origin == "response":
        attribute = wanted.source[1]
        if attribute == "status":
            return _COMPLETE
        return _ATTRIBUTES.get(attribute)
    if origin == "answer":
        return layout.column(wanted.source, boolean=wanted.boolean)
    if origin == "flag":
        return layout.flag(wanted.source)
    return None


def _numbers(column: Column | Flag, codes: Sequence[str]) -> list[int]:
    """The integers a filter's codes stand for (a yes/no or flag code other than "1" is "0",
    as the filter on the answers reads it); codes the column never saw match nothing."""
    if isinstance(column, Flag) or column.mode != "choice":
        return sorted({1 if code == "1" else 0 for code in codes})
    return sorted({n for n in (column.encode(code) for code in codes) if n is not None})


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _flag_sql(flag: Flag) -> str:
    """A flag as 1 (chosen), 0 (answered without it) or NULL (not answered)."""
    name = _quote(flag.column.name)
    return f"CASE WHEN {name} IS NULL THEN NULL WHEN ({name} & {flag.bit}) <> 0 THEN 1 ELSE 0 END"


def _flag_condition(flag: Flag, values: Sequence[int]) -> str:
    name = _quote(flag.column.name)
    if len(values) == 2:
        return f"{name} IS NOT NULL"  # answered, with or without the option
    return f"({name} & {flag.bit}) {'<>' if values[0] else '='} 0"


def _conditions(
    db: BaseDatabaseWrapper, layout: Layout, selection: Selection
) -> tuple[list[str], list[Any]] | None:
    """WHERE conditions and parameters; None when a filter's variable is not in the store,
    ([\"1 = 0\"], []) when no response can match."""
    conditions: list[str] = []
    params: list[Any] = []
    adapt = db.ops.adapt_datetimefield_value
    if selection.submitted_from is not None:
        conditions.append("submitted_at >= %s")
        params.append(adapt(selection.submitted_from))
    if selection.submitted_before is not None:
        conditions.append("submitted_at < %s")
        params.append(adapt(selection.submitted_before))
    if selection.language is not None:
        conditions.append("language = %s")
        params.append(selection.language)
    for wanted, codes in selection.filters:
        held = _expression(layout, wanted)
        if held is None:
            return None
        if held == _COMPLETE:
            values: list[Any] = [1] if _COMPLETE in codes else []
            name = "1"
        elif isinstance(held, Flag):
            values = _numbers(held, codes)
            conditions.append(_flag_condition(held, values))
            continue
        elif isinstance(held, Column):
            values, name = _numbers(held, codes), _quote(held.name)
        else:
            values, name = sorted(set(codes)), _quote(held)
        if not values:
            return ["1 = 0"], []
        conditions.append(f"{name} IN ({', '.join(['%s'] * len(values))})")
        params += values
    return conditions, params


def _extra_expression(db: BaseDatabaseWrapper, name: str) -> tuple[str, list[Any]]:
    """A grouping by a response attribute: "language", or "day" (of submission, in the current
    time zone, as `TruncDate` reads it)."""
    if name == "language":
        return '"language"', []
    if name == "day":
        tzname = timezone.get_current_timezone_name() if settings.USE_TZ else None
        sql, params = db.ops.datetime_cast_date_sql('"submitted_at"', (), tzname)
        return sql, list(params)
    raise ValueError(f"Cannot group the store by {name!r}.")


def analytics_counts(
    *,
    survey_id: int,
    variables: Sequence[Wanted],
    selection: Selection,
    extra: Sequence[str] = (),
) -> list[tuple[Codes, int]] | None:
    """[((code of each variable, or None), number of responses)] read from the store.

    `extra` groups by response attributes too ("language", "day": see `_extra_expression`);
    their values, as strings, follow the variables' codes. None when the survey has no store,
    it is stale, or a variable or filter is not in it. Counted from the columns held in memory
    (`memory`) where it can, else by the store's `GROUP BY`; the same either way.
    """
    using = read_database()
    db = connections[using]
    store = _store(survey_id, using)
    if store is None:
        return None
    layout = Layout.from_json(store.layout)
    expressions = [_expression(layout, wanted) for wanted in variables]
    held = [h for h in expressions if h is not None]
    if len(held) < len(expressions):
        return None
    where = _conditions(db, layout, selection)
    if where is None:
        return None
    grouped = list(dict.fromkeys(h for h in held if h != _COMPLETE))
    rows = _memory_rows(db, store, layout, selection, grouped, extra)
    if rows is None:
        rows = _sql_rows(db, layout, where, grouped, extra)
    position = {h: i for i, h in enumerate(grouped)}
    # COUNT(*) without GROUP BY gives a row of 0 when nothing matches: no group at all.
    first_extra = len(grouped)
    return [
        (
            _decoded(held, position, row)
            + tuple(_text(value) for value in row[first_extra : first_extra + len(extra)]),
            int(row[-1]),
        )
        for row in rows
        if row[-1]
    ]


def _sql_rows(
    db: BaseDatabaseWrapper,
    layout: Layout,
    where: tuple[list[str], list[Any]],
    grouped: Sequence[Held],
    extra: Sequence[str],
) -> list[tuple[Any, ...]]:
    conditions, params = where
    names = [_selected(h) for h in grouped]
    extras = [_extra_expression(db, name) for name in extra]
    names += [sql for sql, _ in extras]
    params = [p for _, extra_params in extras for p in extra_params] + params
    sql = f"SELECT {', '.join([*names, 'COUNT(*)'])} FROM {_quote(layout.table)}"  # noqa: S608  # nosec B608  # quoted names of the layout, values are parameters
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    if names:  # by position: an expression with parameters is written once
        sql += " GROUP BY " + ", ".join(str(n) for n in range(1, len(names) + 1))
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _memory_rows(
    db: BaseDatabaseWrapper,
    store: AnalyticsTable,
    layout: Layout,
    selection: Selection,
    grouped: Sequence[Held],
    extra: Sequence[str],
) -> list[tuple[Any, ...]] | None:
    """The rows `_sql_rows` gives, counted from the columns in memory; None where it cannot."""
    conditions = _memory_conditions(layout, selection)
    if conditions is None:
        return []  # no response can match
    groups = [_memory_group(h) for h in grouped] + [_memory_extra(name) for name in extra]
    return memory_count(db, store, conditions, groups)


def _memory_group(held: Held) -> memory_columns.Group:
    if isinstance(held, Flag):
        return memory_columns.Group(held.column.name, held.bit)
    return memory_columns.Group(held.name if isinstance(held, Column) else held)


def _memory_extra(name: str) -> memory_columns.Group:
    """A grouping by a response attribute, as `_extra_expression` reads it in SQL."""
    if name == "day":  # in the current time zone, as `TruncDate` reads it
        zone = timezone.get_current_timezone_name() if settings.USE_TZ else "UTC"
        return memory_columns.Group(memory_columns.SUBMITTED, zone=zone)
    if name in _ATTRIBUTES:
        return memory_columns.Group(_ATTRIBUTES[name])
    raise ValueError(f"Cannot group the store by {name!r}.")


def _memory_conditions(
    layout: Layout, selection: Selection
) -> list[memory_columns.Condition] | None:
    """`_conditions` for the columns in memory (every filter's variable is held: the caller
    checked); None when no response can match."""
    out: list[memory_columns.Condition] = []
    start, end = selection.submitted_from, selection.submitted_before
    if start is not None or end is not None:
        out.append(
            memory_columns.Window(
                None if start is None else micros(start), None if end is None else micros(end)
            )
        )
    if selection.language is not None:
        out.append(memory_columns.In("language", (selection.language,)))
    for wanted, codes in selection.filters:
        held = _expression(layout, wanted)
        if held == _COMPLETE:
            if _COMPLETE not in codes:
                return None
        elif isinstance(held, Flag):
            values = _numbers(held, codes)
            chosen = None if len(values) == 2 else bool(values[0])
            out.append(memory_columns.Bit(held.column.name, held.bit, chosen))
        else:
            numbers = _numbers(held, codes) if isinstance(held, Column) else sorted(set(codes))
            if not numbers:
                return None
            name = held.name if isinstance(held, Column) else str(held)
            out.append(memory_columns.In(name, tuple(numbers)))
    return out


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _selected(held: Held) -> str:
    if isinstance(held, Flag):
        return _flag_sql(held)
    return _quote(held.name if isinstance(held, Column) else held)


def _decoded(held: Sequence[Held], position: dict[Any, int], row: Sequence[Any]) -> Codes:
    """A result row's codes, in the order of the variables asked for."""
    codes: list[str | None] = []
    for h in held:
        if isinstance(h, Column):
            codes.append(h.decode(row[position[h]]))
        elif isinstance(h, Flag):
            value = row[position[h]]
            codes.append(None if value is None else ("1" if value else "0"))
        elif h == _COMPLETE:
            codes.append(_COMPLETE)
        else:
            codes.append(row[position[h]] or None)
    return tuple(codes)
